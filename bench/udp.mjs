// UDP suite: netsock's data path against C and node:dgram on loopback, in one run.
//  1. single send, 64 B and 1200 B: C sendto vs netsock send() vs dgram.send;
//  2. batched send, 1200 B: C sendmmsg (64) and C GSO (40 x 1200) vs netsock
//     sendMany (64) and sendSegments (48,000 B / 1200), dgram.send for reference;
//  3. per-datagram control, 1200 B, ECN ECT(0) and the source address on
//     every datagram (IP_TOS + IP_PKTINFO control messages): C sendmsg vs
//     netsock sendMessage(), C sendmmsg (64) vs netsock sendMany() with
//     per-entry control (dgram has no per-datagram control);
//  4. receive at one fixed offered load from the C blaster, chosen in this run
//     as the lowest rate of a ladder where dgram loses: C recvmmsg vs netsock
//     'batch' vs netsock 'message' vs dgram 'message';
//  5. ping-pong round trip, 32 B, against the C echo server: C client vs
//     netsock clients vs dgram client (clients run in bench/udp-peer.mjs),
//     with both ends pinned to different CPUs and to one CPU: on a VM, waking
//     an idle vCPU costs more than the whole software path, so placement is
//     stated, not left to the scheduler. Beside it, the clients' own software
//     path per round trip, which no wake-up blurs: in one process on one CPU,
//     the time from a reply entering the client's socket to the client's
//     handler (epoll, the receive call, delivery).
// Every sender sends to a fresh C `recv` sink, the sender pinned to the last
// CPU and the sink to CPU 0 (taskset; the in-process senders pin the main
// thread); senders count only what the kernel took (a send that returns
// false waits for 'drain'). Each figure is
// the median of REPS runs taken in turn (C, netsock, dgram, C, ...), so a
// noisy moment hits one run, not one column. Beside rates, each sender and
// receiver reports its CPU per datagram (user + kernel, from getrusage /
// process.cpuUsage), which a busy neighbour barely moves. Without a C
// compiler the C rows are skipped and the sink, blaster and echo server are
// netsock stand-ins (bench/udp-peer.mjs); NETSOCK_BENCH_NO_C=1 forces that.
// Writes results/latest.json and results/latest.svg besides results/udp.json.
// No timing is asserted.
import dgram from 'node:dgram'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildReference } from './c/build.mjs'
import { canPin, pinMainThread, runRef, startRef } from './c/run.mjs'
import { createSocket, fdOf } from '../dist/esm/index.mjs'
import { benchDir, environment, formatOps, formatRatio, loadedAddon, resultsDir, table, writeResults } from './common.mjs'

const require = createRequire(import.meta.url)
const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'udp-peer.mjs')

export const name = 'udp'
export const title = 'udp: send, batched send, per-datagram control, receive and round trip vs C and node:dgram (loopback)'
export const measures = 'UDP send, batched send, per-datagram control (ECN + source), receive, round trip: netsock vs C and node:dgram'
export const estimateSeconds = 240

/** Lines for the closing summary of `npm run bench`. */
export function headline(res) {
  const t = res.targets ?? []
  const met = t.filter((x) => x.met === true).length
  const untestable = t.filter((x) => x.untestable).length
  return [
    `${met} of ${t.length} targets met${untestable ? `, ${untestable} not testable this run` : ''} (chart: ${path.relative(path.dirname(benchDir), path.join(resultsDir, 'latest.svg'))})`,
  ]
}

const ADDR = '127.0.0.1'
const RCVBUF = 4 << 20 // requested of every receiver (the kernel reports twice this, man 7 socket)
const REPS = 3
// One datagram per call is the noisiest send figure (a system call each, on a
// loaded 2-CPU VM): sections 1 and 3 take more runs.
const SINGLE_REPS = 5
// 1. single send
const SEND_SIZES = [64, 1200]
const SINGLE_COUNT = 200_000
const DGRAM_IN_FLIGHT = 256 // dgram sends whose callback has not run yet, at most
// 2. batched send
const BATCH_SIZE = 1200
const BATCH = 64
const BATCH_COUNT = 256_000 // 4000 sendmmsg calls
const GSO_SEGMENT = 1200
const GSO_SEGMENTS = 40 // 48,000 B per call
const GSO_COUNT = 960_000 // 24,000 GSO calls (GSO runs ~4x faster: longer count, similar time)
// 3. per-datagram control
const CONTROL_SIZE = 1200
const CONTROL_COUNT = 200_000 // sendMessage: one sendmsg per datagram
const CONTROL_TOS = 2 // ECT(0) in the TOS byte's ECN bits
const CONTROL_SOURCE = ADDR
// 4. receive
const RECV_SIZE = 64
const RECV_SECONDS = 2
const RATE_LADDER = [300_000, 400_000, 500_000, 600_000, 700_000]
const CALIBRATE_SECONDS = 1
const DGRAM_LOSES = 0.02 // the calibration stops at the first rate where dgram loses more than this
// 5. round trip
const RTT_COUNT = 10_000
const RTT_SIZE = 32
// Wake-ups make different-CPU figures the noisiest: more, shorter runs taken
// in turn, so a slow spell of the host lands in one run of each client.
const RTT_CROSS_REPS = 9
const RTT_SAME_REPS = 5
const SOFTPATH_COUNT = 20_000
// Bounds: no send loop runs longer than this, no drain is awaited longer.
const MAX_SEND_MS = 20_000
const DRAIN_TIMEOUT_MS = 5_000

const TARGET = {
  single: 0.9, // netsock.send >= 0.9x C sendto
  control: 0.85, // sendMessage >= 0.85x C sendmsg, sendMany >= 0.85x C sendmmsg, with the same control messages
  gsoVsC: 0.85, // sendSegments >= 0.85x C GSO
  gsoVsDgram: 2.5, // sendSegments >= 2.5x dgram
  recvVsC: 0.9, // netsock receive >= 0.9x C recvmmsg ...
  recvLoss: 0.01, // ... with < 1% loss at the rate where dgram loses
  rtt: 1.2, // round trip p50 <= 1.2x C ...
  rttVsDgram: 1, // ... and no slower than dgram
}

/** Fixed payload bytes (not zeroed pages), as udpref.c fills them. */
const payload = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** CPU seconds (user, system) this process used since `start` (process.cpuUsage()). */
function cpuSince(start) {
  const d = process.cpuUsage(start)
  return { cpu_user: d.user / 1e6, cpu_sys: d.system / 1e6 }
}

function drained(sock) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off('drain', done)
      reject(new Error(`no 'drain' within ${DRAIN_TIMEOUT_MS} ms (${sock.stats.queued} datagrams queued)`))
    }, DRAIN_TIMEOUT_MS)
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    sock.once('drain', done)
  })
}

// ----------------------------------------------------------------- senders
// Each resolves to { sent, seconds, pps, ... }: sent = datagrams the kernel
// took, timed from the first call to the last acceptance.

/** C reference senders (udpref send/sendmmsg/gso), on the senders' CPU when sends are pinned. */
async function cSender(ctx, args) {
  const j = await runRef(args, { cpus: ctx.sendCpus?.sender })
  if (j.error) return { sent: 0, seconds: 0, pps: 0, error: j.error }
  return { sent: j.count, seconds: j.seconds, pps: j.pps, cpu_user: j.cpuUser, cpu_sys: j.cpuSys, retries: j.retries, complete: j.complete }
}

function netsockSocket() {
  return createSocket({ type: 'udp4' }).bind(0, ADDR)
}

/**
 * Times one netsock sender on a fresh socket: `sender(s)` gives the call to
 * repeat, which offers `perCall` datagrams and says whether the kernel took
 * them all (else the rest is queued, and the loop waits for 'drain'). Stops
 * after `count` datagrams or MAX_SEND_MS.
 */
async function timeNetsock(count, perCall, sender) {
  const s = netsockSocket()
  try {
    const offer = sender(s)
    let waits = 0
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const deadline = t0 + MAX_SEND_MS
    for (let offered = 0, calls = 0; offered < count; offered += perCall, calls++) {
      if (!offer()) {
        waits++
        await drained(s)
      }
      if ((calls & 1023) === 1023 && performance.now() > deadline) break
    }
    const seconds = (performance.now() - t0) / 1000
    const { sent, eagain } = s.stats
    return { sent, seconds, pps: sent / seconds, ...cpuSince(cpu0), eagain, drainWaits: waits, gso: s.gso }
  } finally {
    s.close()
  }
}

/** netsock send(), one datagram per call. */
function netsockSend(port, size, count) {
  const buf = payload(size)
  return timeNetsock(count, 1, (s) => () => s.send(buf, port, ADDR))
}

/** netsock sendMany() in batches of BATCH views of one buffer (as C sendmmsg sends one buffer BATCH times). */
function netsockSendMany(port, size, count) {
  const list = new Array(BATCH).fill(payload(size))
  return timeNetsock(count, BATCH, (s) => () => s.sendMany(list, port, ADDR) === BATCH)
}

/** netsock sendSegments(): GSO_SEGMENTS x GSO_SEGMENT bytes per call. */
function netsockSendSegments(port, segment, count) {
  const big = payload(segment * GSO_SEGMENTS)
  return timeNetsock(count, GSO_SEGMENTS, (s) => () => s.sendSegments(big, segment, port, ADDR))
}

/**
 * netsock sendMessage() with ECN ECT(0) and the source address: one message
 * object, reused as a sender that fills its datagrams in place would.
 */
function netsockSendMessage(port, size, count) {
  const message = { data: payload(size), port, address: ADDR, ecn: 'ect0', source: CONTROL_SOURCE }
  return timeNetsock(count, 1, (s) => () => s.sendMessage(message))
}

/** netsock sendMany() in batches of BATCH entries, each { data, ecn: 'ect0', source } (its own control messages). */
function netsockSendManyControl(port, size, count) {
  const data = payload(size)
  const list = Array.from({ length: BATCH }, () => ({ data, ecn: 'ect0', source: CONTROL_SOURCE }))
  return timeNetsock(count, BATCH, (s) => () => s.sendMany(list, port, ADDR) === BATCH)
}

/** dgram.send with a callback each, at most DGRAM_IN_FLIGHT outstanding; counts completions without error. */
async function dgramSend(port, size, count) {
  const s = dgram.createSocket('udp4')
  await new Promise((resolve) => s.bind(0, ADDR, resolve))
  try {
    const buf = payload(size)
    let issued = 0,
      inFlight = 0,
      done = 0,
      failed = 0
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const deadline = t0 + MAX_SEND_MS
    let t1 = t0
    await new Promise((resolve) => {
      const pump = () => {
        if (performance.now() > deadline) issued = count // stop issuing; let the in-flight ones finish
        while (inFlight < DGRAM_IN_FLIGHT && issued < count) {
          issued++
          inFlight++
          s.send(buf, port, ADDR, onSent)
        }
      }
      const onSent = (err) => {
        inFlight--
        if (err) failed++
        else {
          done++
          t1 = performance.now()
        }
        if (issued < count) pump()
        else if (inFlight === 0) resolve()
      }
      pump()
    })
    const cpu = cpuSince(cpu0) // until now, not t1: a few microseconds more, negligible
    const seconds = (t1 - t0) / 1000
    return { sent: done, seconds, pps: done / seconds, ...cpu, failed }
  } finally {
    s.close()
  }
}

/** One send measurement against a fresh sink (udpref recv, or its JS stand-in); adds what the sink received. */
async function withSink(ctx, send) {
  const sink = await startRef(['recv', '--port', 0, '--seconds', 60, '--idle', 0.2, '--wait', 10, '--rcvbuf', RCVBUF], {
    program: ctx.peerProgram,
    timeoutMs: 90_000,
    cpus: ctx.sendCpus?.sink,
  })
  let r
  try {
    r = await send(sink.port)
  } catch (err) {
    await sink.stop()
    throw err
  }
  if (!(r.sent > 0)) {
    await sink.stop()
    return { ...r, delivered: 0 }
  }
  const got = await sink.result
  return { ...r, delivered: got.received, sinkDrops: got.kernelDrops }
}

/** Warms the JIT for a JS sender (a few thousand datagrams to a socket nobody reads), outside any timing. */
async function warm(send) {
  const sink = createSocket({ type: 'udp4' }).bind(0, ADDR)
  try {
    await send(sink.address().port)
  } finally {
    sink.close()
  }
}

/** Runs each sender `reps` times in turn; returns per sender { runs, pps (median), ... }. */
async function measureSenders(ctx, senders, reps = REPS) {
  for (const s of senders) if (s.warm && s.available) await warm(s.warm)
  const runs = Object.fromEntries(senders.map((s) => [s.id, []]))
  for (let rep = 0; rep < reps; rep++) {
    for (const s of senders) {
      if (!s.available) continue
      // An in-process sender (netsock, dgram) runs on the senders' CPU like the C one.
      const unpin = s.kind !== 'c' && ctx.sendCpus ? pinMainThread(ctx.sendCpus.sender) : () => {}
      try {
        runs[s.id].push(await withSink(ctx, s.run))
      } finally {
        unpin()
      }
    }
  }
  const out = {}
  for (const s of senders) {
    if (!s.available) {
      out[s.id] = { id: s.id, label: s.label, kind: s.kind, skipped: s.skipped }
      continue
    }
    const r = runs[s.id]
    const ok = r.filter((x) => x.sent > 0)
    out[s.id] = {
      id: s.id,
      label: s.label,
      kind: s.kind,
      pps: ok.length ? median(ok.map((x) => x.pps)) : null,
      min_pps: ok.length ? Math.min(...ok.map((x) => x.pps)) : null,
      max_pps: ok.length ? Math.max(...ok.map((x) => x.pps)) : null,
      delivered_fraction: ok.length ? median(ok.map((x) => x.delivered / x.sent)) : null,
      // CPU per datagram, ns: what the sender itself spent, robust to a busy neighbour stealing the core.
      user_ns: ok.length && ok[0].cpu_user != null ? median(ok.map((x) => (x.cpu_user * 1e9) / x.sent)) : null,
      sys_ns: ok.length && ok[0].cpu_sys != null ? median(ok.map((x) => (x.cpu_sys * 1e9) / x.sent)) : null,
      error: r.find((x) => x.error)?.error,
      runs: r,
    }
  }
  return out
}

// ---------------------------------------------------------- 1 and 2: send

async function sectionSingle(ctx) {
  const bySize = {}
  for (const size of SEND_SIZES) {
    console.log(`single send, ${size} B: ${SINGLE_REPS} runs each of ${ctx.haveC ? 'C sendto, ' : ''}netsock send(), dgram.send (${SINGLE_COUNT} datagrams)`)
    bySize[size] = await measureSenders(
      ctx,
      [
        {
          id: 'c',
          kind: 'c',
          label: 'C sendto',
          available: ctx.haveC,
          skipped: ctx.noC,
          run: (port) => cSender(ctx, ['send', '--size', size, '--count', SINGLE_COUNT, '--port', port]),
        },
        {
          id: 'netsock',
          kind: 'netsock',
          label: 'netsock send()',
          available: true,
          warm: (port) => netsockSend(port, size, 5000),
          run: (port) => netsockSend(port, size, SINGLE_COUNT),
        },
        {
          id: 'dgram',
          kind: 'dgram',
          label: 'dgram.send',
          available: true,
          warm: (port) => dgramSend(port, size, 5000),
          run: (port) => dgramSend(port, size, SINGLE_COUNT),
        },
      ],
      SINGLE_REPS,
    )
  }
  return bySize
}

async function sectionBatched(ctx) {
  console.log(`batched send, ${BATCH_SIZE} B: ${REPS} runs each of ${ctx.haveC ? 'C sendmmsg, C GSO, ' : ''}netsock sendMany(), sendSegments(), dgram.send`)
  return measureSenders(ctx, [
    {
      id: 'c_sendmmsg',
      kind: 'c',
      label: `C sendmmsg (batch ${BATCH})`,
      available: ctx.haveC,
      skipped: ctx.noC,
      run: (port) => cSender(ctx, ['sendmmsg', '--size', BATCH_SIZE, '--count', BATCH_COUNT, '--batch', BATCH, '--port', port]),
    },
    {
      id: 'c_gso',
      kind: 'c',
      label: `C GSO (${GSO_SEGMENTS} x ${GSO_SEGMENT} B)`,
      available: ctx.haveC,
      skipped: ctx.noC,
      run: (port) => cSender(ctx, ['gso', '--size', GSO_SEGMENT, '--segments', GSO_SEGMENTS, '--count', GSO_COUNT, '--port', port]),
    },
    {
      id: 'netsock_sendMany',
      kind: 'netsock',
      label: `netsock sendMany() (batch ${BATCH})`,
      available: true,
      warm: (port) => netsockSendMany(port, BATCH_SIZE, 100 * BATCH),
      run: (port) => netsockSendMany(port, BATCH_SIZE, BATCH_COUNT),
    },
    {
      id: 'netsock_sendSegments',
      kind: 'netsock',
      label: `netsock sendSegments() (${GSO_SEGMENT * GSO_SEGMENTS} B / ${GSO_SEGMENT})`,
      available: true,
      warm: (port) => netsockSendSegments(port, GSO_SEGMENT, 100 * GSO_SEGMENTS),
      run: (port) => netsockSendSegments(port, GSO_SEGMENT, GSO_COUNT),
    },
    {
      id: 'dgram',
      kind: 'dgram',
      label: 'dgram.send',
      available: true,
      warm: (port) => dgramSend(port, BATCH_SIZE, 5000),
      run: (port) => dgramSend(port, BATCH_SIZE, SINGLE_COUNT),
    },
  ])
}

// ------------------------------------------------- 3: per-datagram control

async function sectionControl(ctx) {
  console.log(
    `per-datagram control, ${CONTROL_SIZE} B, ECN ECT(0) + source address: ${SINGLE_REPS} runs each of ${ctx.haveC ? 'C sendmsg, C sendmmsg, ' : ''}netsock sendMessage(), sendMany()`,
  )
  const cmsgs = ['--tos', CONTROL_TOS, '--source', CONTROL_SOURCE]
  return measureSenders(
    ctx,
    [
      {
        id: 'c_sendmsg',
        kind: 'c',
        label: 'C sendmsg (IP_TOS + IP_PKTINFO)',
        available: ctx.haveC,
        skipped: ctx.noC,
        run: (port) => cSender(ctx, ['sendmsg', '--size', CONTROL_SIZE, '--count', CONTROL_COUNT, ...cmsgs, '--port', port]),
      },
      {
        id: 'netsock_sendMessage',
        kind: 'netsock',
        label: "netsock sendMessage({ ecn: 'ect0', source })",
        available: true,
        warm: (port) => netsockSendMessage(port, CONTROL_SIZE, 5000),
        run: (port) => netsockSendMessage(port, CONTROL_SIZE, CONTROL_COUNT),
      },
      {
        id: 'c_sendmmsg',
        kind: 'c',
        label: `C sendmmsg (batch ${BATCH}, IP_TOS + IP_PKTINFO each)`,
        available: ctx.haveC,
        skipped: ctx.noC,
        run: (port) => cSender(ctx, ['sendmmsg', '--size', CONTROL_SIZE, '--count', BATCH_COUNT, '--batch', BATCH, ...cmsgs, '--port', port]),
      },
      {
        id: 'netsock_sendMany',
        kind: 'netsock',
        label: `netsock sendMany() (batch ${BATCH}, ecn + source each)`,
        available: true,
        warm: (port) => netsockSendManyControl(port, CONTROL_SIZE, 100 * BATCH),
        run: (port) => netsockSendManyControl(port, CONTROL_SIZE, BATCH_COUNT),
      },
    ],
    SINGLE_REPS,
  )
}

// ------------------------------------------------------------- 4: receive

/** Drops counted by the kernel for the UDP socket bound to 127.0.0.1:port (/proc/net/udp, last column), or null. */
function procDrops(port) {
  try {
    const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
    for (const line of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[1] === want) return Number(f.at(-1))
    }
  } catch {}
  return null
}

/** SO_RCVBUF as udpref sets it: RCVBUF asked with SO_RCVBUF, forced past rmem_max (SO_RCVBUFFORCE) when capped and allowed. */
function setRecvBuffer(sock) {
  const SO_RCVBUFFORCE = 33
  if (sock.getOption('SO_RCVBUF') < 2 * RCVBUF) {
    try {
      sock.setsockopt(1 /* SOL_SOCKET */, SO_RCVBUFFORCE, RCVBUF)
    } catch {}
  }
  return sock.getOption('SO_RCVBUF')
}

/** The JS receivers, each { port, count(), drops(), rcvbuf, close() }. */
const receivers = {
  async netsock_batch() {
    const s = createSocket({ type: 'udp4', recvBufferSize: RCVBUF }).bind(0, ADDR)
    const rcvbuf = setRecvBuffer(s)
    let n = 0
    s.on('batch', (b) => {
      n += b.length
    })
    return { port: s.address().port, rcvbuf, count: () => n, drops: () => s.stats.dropped, close: () => s.close() }
  },
  async netsock_message() {
    const s = createSocket({ type: 'udp4', recvBufferSize: RCVBUF }).bind(0, ADDR)
    const rcvbuf = setRecvBuffer(s)
    let n = 0
    s.on('message', () => {
      n++
    })
    return { port: s.address().port, rcvbuf, count: () => n, drops: () => s.stats.dropped, close: () => s.close() }
  },
  async dgram() {
    const d = dgram.createSocket({ type: 'udp4', recvBufferSize: RCVBUF })
    await new Promise((resolve) => d.bind(0, ADDR, resolve))
    // Same buffer as the others even where rmem_max caps SO_RCVBUF: set it on dgram's fd through netsock.
    const borrowed = createSocket({ type: 'udp4', fd: fdOf(d), owned: false })
    const rcvbuf = setRecvBuffer(borrowed)
    borrowed.close() // owned: false, so this lets go of the fd without closing it
    let n = 0
    d.on('message', () => {
      n++
    })
    const port = d.address().port
    return { port, rcvbuf, count: () => n, drops: () => procDrops(port), close: () => d.close() }
  },
}

/** One receive run: the blaster offers `rate` datagrams/s for `seconds` to the receiver `which`. */
async function receiveOnce(ctx, which, rate, seconds) {
  const blastArgs = (port) => ['blast', '--port', port, '--rate', rate, '--seconds', seconds, '--size', RECV_SIZE]
  if (which === 'c') {
    const rx = await startRef(['recv', '--port', 0, '--seconds', seconds + 5, '--idle', 0.3, '--rcvbuf', RCVBUF], { program: ctx.peerProgram })
    let blast
    try {
      blast = await runRef(blastArgs(rx.port), { program: ctx.peerProgram })
    } catch (err) {
      await rx.stop()
      throw err
    }
    const r = await rx.result
    return summarizeReceive(which, rate, blast, r.received, r.kernelDrops, r.rcvbuf, { cpu_user: r.cpuUser, cpu_sys: r.cpuSys })
  }
  const rx = await receivers[which]()
  try {
    await sleep(50) // reading starts on the next tick after the listener is added
    const blaster = await startRef(blastArgs(rx.port), { program: ctx.peerProgram })
    const cpu0 = process.cpuUsage() // after the spawn: forking the blaster is not receive work
    const blast = await blaster.result
    // Let the receiver finish what is queued: until the count stops moving (at most 3 s).
    for (let last = -1, t = 0; last !== rx.count() && t < 30; t++) {
      last = rx.count()
      await sleep(100)
    }
    return summarizeReceive(which, rate, blast, rx.count(), rx.drops(), rx.rcvbuf, cpuSince(cpu0))
  } finally {
    rx.close()
  }
}

function summarizeReceive(which, rate, blast, received, kernelDrops, rcvbuf, cpu) {
  return {
    // The receiving process's CPU per datagram received (user, kernel), ns.
    user_ns: cpu.cpu_user != null && received > 0 ? (cpu.cpu_user * 1e9) / received : null,
    sys_ns: cpu.cpu_sys != null && received > 0 ? (cpu.cpu_sys * 1e9) / received : null,
    receiver: which,
    rate,
    offered: blast.sent,
    achieved_rate: blast.achievedRate,
    blast_seconds: blast.seconds,
    received,
    delivered_pps: received / blast.seconds,
    loss: blast.sent > 0 ? (blast.sent - received) / blast.sent : null,
    kernel_drops: kernelDrops,
    rcvbuf,
  }
}

async function sectionReceive(ctx) {
  // The rate: the lowest of the ladder at which dgram loses more than DGRAM_LOSES.
  console.log(`receive: finding the rate where dgram loses (> ${DGRAM_LOSES * 100}%), ${CALIBRATE_SECONDS} s per step`)
  const calibration = []
  let rate = null
  for (const r of RATE_LADDER) {
    const run = await receiveOnce(ctx, 'dgram', r, CALIBRATE_SECONDS)
    calibration.push(run)
    console.log(`  ${formatOps(r)}/s offered (${formatOps(run.achieved_rate)}/s achieved): dgram lost ${(run.loss * 100).toFixed(2)}%`)
    if (run.achieved_rate < 0.95 * r) break // the blaster cannot offer more on this machine
    rate = r
    if (run.loss > DGRAM_LOSES) break
  }
  const last = calibration.at(-1)
  const dgramLoses = calibration.some((c) => c.rate === rate && c.loss > DGRAM_LOSES)
  rate ??= RATE_LADDER[0]
  console.log(
    `receive at ${formatOps(rate)}/s x ${RECV_SECONDS} s, ${RECV_SIZE} B: ${REPS} runs each of ${ctx.haveC ? 'C recvmmsg, ' : ''}netsock 'batch', netsock 'message', dgram 'message'`,
  )
  const rows = [
    { id: 'c', kind: 'c', label: 'C recvmmsg (batch 64)', available: ctx.haveC },
    { id: 'netsock_batch', kind: 'netsock', label: "netsock 'batch' (count only)", available: true },
    { id: 'netsock_message', kind: 'netsock', label: "netsock 'message'", available: true },
    { id: 'dgram', kind: 'dgram', label: "dgram 'message'", available: true },
  ]
  const runs = Object.fromEntries(rows.map((r) => [r.id, []]))
  for (let rep = 0; rep < REPS; rep++) {
    for (const row of rows) if (row.available) runs[row.id].push(await receiveOnce(ctx, row.id, rate, RECV_SECONDS))
  }
  const out = {}
  for (const row of rows) {
    const r = runs[row.id]
    out[row.id] = row.available
      ? {
          id: row.id,
          label: row.label,
          kind: row.kind,
          delivered_pps: median(r.map((x) => x.delivered_pps)),
          loss: median(r.map((x) => x.loss)),
          user_ns: r[0].user_ns == null ? null : median(r.map((x) => x.user_ns)),
          sys_ns: r[0].sys_ns == null ? null : median(r.map((x) => x.sys_ns)),
          max_loss: Math.max(...r.map((x) => x.loss)),
          offered_pps: median(r.map((x) => x.achieved_rate)),
          rcvbuf: r[0].rcvbuf,
          runs: r,
        }
      : { id: row.id, label: row.label, kind: row.kind, skipped: ctx.noC }
  }
  return {
    rate,
    seconds: RECV_SECONDS,
    size: RECV_SIZE,
    dgram_loses: dgramLoses,
    blaster_limit: last.achieved_rate < 0.95 * last.rate ? last.achieved_rate : null,
    calibration,
    rows: out,
  }
}

// ---------------------------------------------------------- 5: round trip

async function roundTrip(ctx, client, cpus) {
  const server = await startRef(['pingpong-server', '--port', 0, '--count', RTT_COUNT], { program: ctx.peerProgram, cpus: cpus?.server })
  try {
    const args = ['pingpong', '--port', server.port, '--count', RTT_COUNT, '--size', RTT_SIZE]
    const j =
      client === 'c'
        ? await runRef(args, { cpus: cpus?.client })
        : await runRef([...args, '--impl', client.replace('_', '-')], { program: [process.execPath, PEER], cpus: cpus?.client })
    await server.result
    return j
  } catch (err) {
    await server.stop()
    throw err
  }
}

async function sectionRoundTrip(ctx) {
  const n = os.availableParallelism()
  const pin = canPin()
  // On a VM, waking an idle vCPU costs tens of microseconds, more than the
  // whole software path: where the two ends run decides the figure. Pinning
  // makes that a stated condition instead of scheduler luck.
  // Cross-CPU round trips are ~10x slower (wake-ups), so they get fewer runs.
  const placements = !pin
    ? [{ id: 'unpinned', label: 'unpinned (no taskset)', cpus: null, reps: REPS }]
    : n < 2
      ? [{ id: 'same_cpu', label: 'same CPU', cpus: { server: 0, client: 0 }, reps: REPS }]
      : [
          { id: 'cross_cpu', label: `different CPUs (server CPU 0, client CPU ${n - 1})`, cpus: { server: 0, client: n - 1 }, reps: RTT_CROSS_REPS },
          { id: 'same_cpu', label: `same CPU (both on CPU ${n - 1})`, cpus: { server: n - 1, client: n - 1 }, reps: RTT_SAME_REPS },
        ]
  const clients = [
    { id: 'c', kind: 'c', label: 'C client (send + recv)', available: ctx.haveC },
    { id: 'netsock_batch', kind: 'netsock', label: "netsock client ('batch')", available: true },
    { id: 'netsock_message', kind: 'netsock', label: "netsock client ('message')", available: true },
    { id: 'dgram', kind: 'dgram', label: "dgram client ('message')", available: true },
  ]
  const out = {}
  for (const p of placements) {
    console.log(`round trip, ${p.label}: ${p.reps} runs each of ${RTT_COUNT} round trips (after 1000 warm-up), ${RTT_SIZE} B`)
    const runs = Object.fromEntries(clients.map((c) => [c.id, []]))
    for (let rep = 0; rep < p.reps; rep++) {
      for (const c of clients) if (c.available) runs[c.id].push(await roundTrip(ctx, c.id, p.cpus))
    }
    out[p.id] = { id: p.id, label: p.label, cpus: p.cpus, reps: p.reps, clients: {} }
    for (const c of clients) {
      const r = runs[c.id]
      out[p.id].clients[c.id] = c.available
        ? {
            id: c.id,
            label: c.label,
            kind: c.kind,
            p50_us: median(r.map((x) => x.p50Us)),
            p99_us: median(r.map((x) => x.p99Us)),
            mean_us: median(r.map((x) => x.meanUs)),
            min_p50_us: Math.min(...r.map((x) => x.p50Us)),
            // The client process's CPU per round trip (user + kernel); on a VM it also counts time the host took the vCPU away.
            cpu_us: r[0].cpuUser == null ? null : median(r.map((x) => ((x.cpuUser + x.cpuSys) * 1e6) / RTT_COUNT)),
            runs: r,
          }
        : { id: c.id, label: c.label, kind: c.kind, skipped: ctx.noC }
    }
  }
  return { count: RTT_COUNT, size: RTT_SIZE, warmup: 1000, placements: out, software_path: await softwarePath(pin) }
}

/**
 * The event-loop clients' own path per round trip, without wake-ups: in one
 * process pinned to one CPU, a netsock echo socket answers each ping from a
 * setImmediate (after the client went back to the loop, as a remote reply
 * arrives) and the client measures from that reply entering its socket to
 * its handler: epoll, the receive call, delivery. Runs in turn, medians.
 */
async function softwarePath(pin) {
  const impls = [
    { id: 'netsock_batch', kind: 'netsock', label: "netsock 'batch'" },
    { id: 'netsock_message', kind: 'netsock', label: "netsock 'message'" },
    { id: 'dgram', kind: 'dgram', label: "dgram 'message'" },
  ]
  console.log(`client software path per round trip, in one process${pin ? ' on one CPU' : ''}: ${REPS} runs each of ${impls.map((i) => i.label).join(', ')}`)
  const runs = Object.fromEntries(impls.map((i) => [i.id, []]))
  for (let rep = 0; rep < REPS; rep++) {
    for (const i of impls) {
      const args = ['softpath', '--impl', i.id.replace('_', '-'), '--count', SOFTPATH_COUNT, '--size', RTT_SIZE]
      runs[i.id].push(await runRef(args, { program: [process.execPath, PEER], cpus: pin ? os.availableParallelism() - 1 : undefined }))
    }
  }
  const out = {}
  for (const i of impls) {
    const r = runs[i.id]
    out[i.id] = { ...i, p50_us: median(r.map((x) => x.p50Us)), mean_us: median(r.map((x) => x.meanUs)), runs: r }
  }
  return { count: SOFTPATH_COUNT, size: RTT_SIZE, clients: out }
}

// --------------------------------------------------------------------- run

function machine(ctx) {
  const read = (f) => {
    try {
      return fs.readFileSync(f, 'utf8').trim()
    } catch {
      return null
    }
  }
  return {
    kernel: os.release(),
    memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    rmem_max: Number(read('/proc/sys/net/core/rmem_max')),
    wmem_max: Number(read('/proc/sys/net/core/wmem_max')),
    cpuidle_driver: read('/sys/devices/system/cpu/cpuidle/current_driver'),
    c_reference: ctx.haveC ? path.relative(path.dirname(benchDir), ctx.bin) : null,
    peers: ctx.haveC ? 'C udpref' : 'netsock stand-ins (bench/udp-peer.mjs): no C compiler',
    taskset: canPin(),
  }
}

/**
 * Makes child processes (ping-pong clients, stand-in peers) load the very
 * addon this process loaded, from a private copy: a rebuild running
 * meanwhile deletes build/ and node-gyp-build would silently fall back to
 * another binary. Returns the undo. An explicit NETSOCK_ADDON is kept.
 */
function shareAddonWithChildren() {
  const loaded = Object.keys(require.cache).find((k) => k.endsWith('.node'))
  if (!loaded || process.env.NETSOCK_ADDON) return () => {}
  const copy = path.join(os.tmpdir(), `netsock-bench-${process.pid}.node`)
  fs.copyFileSync(loaded, copy)
  process.env.NETSOCK_ADDON = copy
  return () => {
    delete process.env.NETSOCK_ADDON
    fs.rmSync(copy, { force: true })
  }
}

export async function run() {
  const started = performance.now()
  const unshare = shareAddonWithChildren()
  try {
    return await runSuite(started)
  } finally {
    unshare()
  }
}

async function runSuite(started) {
  // NETSOCK_BENCH_NO_C=1 runs the suite as it runs without a compiler.
  const bin = process.env.NETSOCK_BENCH_NO_C ? null : await buildReference()
  const ctx = {
    bin,
    haveC: bin != null,
    noC: 'skipped (no compiler)',
    // Without C, the sink, blaster and echo server are netsock processes.
    peerProgram: bin ? undefined : [process.execPath, PEER],
    // Sections 1-3: every sender on the last CPU, its sink on CPU 0. Left to
    // the scheduler, sender and sink sometimes share a CPU and sometimes not,
    // and a run's rate depends on which (2x on this VM): pinning makes it a
    // stated condition, the same for C, netsock and dgram.
    sendCpus: canPin() && os.availableParallelism() >= 2 ? { sender: os.availableParallelism() - 1, sink: 0 } : null,
  }
  if (!ctx.haveC) console.log('no C reference: C columns are skipped; sink, blaster and echo server are netsock processes')
  const sectionSeconds = {}
  const timed = async (id, fn) => {
    const t0 = performance.now()
    const r = await fn(ctx)
    sectionSeconds[id] = (performance.now() - t0) / 1000
    return r
  }
  const single = await timed('single send', sectionSingle)
  const batched = await timed('batched send', sectionBatched)
  const control = await timed('per-datagram control', sectionControl)
  const receive = await timed('receive', sectionReceive)
  const rtt = await timed('round trip', sectionRoundTrip)
  const env = { ...environment(loadedAddon(require)), ...machine(ctx) }
  const seconds = (performance.now() - started) / 1000
  const targets = evaluateTargets(ctx, { single, batched, control, receive, rtt })
  const results = {
    suite: name,
    timestamp: new Date().toISOString(),
    environment: env,
    method: {
      summary: `median of ${REPS} runs (${SINGLE_REPS} for single sends and per-datagram control, ${RTT_CROSS_REPS}/${RTT_SAME_REPS} for round trips on different CPUs / one CPU), taken in turn; senders count what the kernel took, timed first call to last acceptance; each send run goes to a fresh C recv sink${ctx.sendCpus ? `; senders pinned to CPU ${ctx.sendCpus.sender}, sinks to CPU ${ctx.sendCpus.sink}` : ''}`,
      send_cpus: ctx.sendCpus,
      single_count: SINGLE_COUNT,
      batch_count: BATCH_COUNT,
      gso_count: GSO_COUNT,
      dgram_in_flight: DGRAM_IN_FLIGHT,
      rcvbuf_requested: RCVBUF,
      receive_seconds: RECV_SECONDS,
      rate_ladder: RATE_LADDER,
      round_trips: RTT_COUNT,
      round_trip_size: RTT_SIZE,
      control: { size: CONTROL_SIZE, count: CONTROL_COUNT, tos: CONTROL_TOS, source: CONTROL_SOURCE },
    },
    targets,
    section_seconds: sectionSeconds,
    single_send: single,
    batched_send: batched,
    control_send: control,
    receive,
    round_trip: rtt,
    seconds: Number(seconds.toFixed(1)),
  }
  const summary = report(ctx, results)
  const jsonFile = writeResults('latest', results)
  const svgFile = path.join(resultsDir, 'latest.svg')
  fs.writeFileSync(`${svgFile}.tmp`, svg(ctx, results))
  fs.renameSync(`${svgFile}.tmp`, svgFile)
  return { summary: `${summary}\n\nAlso written: ${jsonFile}, ${path.relative(path.dirname(benchDir), svgFile)}`, results }
}

// ------------------------------------------------------------------ targets

function evaluateTargets(ctx, { single, batched, control, receive, rtt }) {
  const t = []
  // A ratio that could not be measured (no C compiler) is not testable, never MISSED.
  const add = (section, what, ratio, target, op, extra = {}) =>
    t.push({
      section,
      what,
      target: `${op} ${target}x`,
      ratio,
      met: ratio == null ? null : op === '>=' ? ratio >= target : ratio <= target,
      ...(ratio == null ? { untestable: 'no C compiler: no reference' } : {}),
      ...extra,
    })
  for (const size of SEND_SIZES) {
    const r = single[size]
    add('single_send', `netsock send() / C sendto, ${size} B`, ctx.haveC ? r.netsock.pps / r.c.pps : null, TARGET.single, '>=')
  }
  add(
    'batched_send',
    'netsock sendSegments() / C GSO',
    ctx.haveC && batched.c_gso.pps ? batched.netsock_sendSegments.pps / batched.c_gso.pps : null,
    TARGET.gsoVsC,
    '>=',
  )
  add('batched_send', 'netsock sendSegments() / dgram.send', batched.netsock_sendSegments.pps / batched.dgram.pps, TARGET.gsoVsDgram, '>=')
  add(
    'control_send',
    'netsock sendMessage() / C sendmsg, ECN + source',
    ctx.haveC ? control.netsock_sendMessage.pps / control.c_sendmsg.pps : null,
    TARGET.control,
    '>=',
  )
  add(
    'control_send',
    'netsock sendMany() / C sendmmsg, ECN + source per entry',
    ctx.haveC ? control.netsock_sendMany.pps / control.c_sendmmsg.pps : null,
    TARGET.control,
    '>=',
  )
  for (const id of ['netsock_batch', 'netsock_message']) {
    const row = receive.rows[id]
    const ratio = ctx.haveC ? row.delivered_pps / receive.rows.c.delivered_pps : null
    const lossOk = row.loss < TARGET.recvLoss
    // The target applies where dgram loses; when it lost at no offered rate the
    // condition was never reached: not testable this run (not MISSED). Without
    // C the ratio half cannot be judged: missed if the loss half fails, else not testable.
    const untestable = !receive.dgram_loses
      ? 'dgram lost at no offered rate: the condition was not reached'
      : ratio == null && lossOk
        ? 'no C compiler: no reference'
        : undefined
    t.push({
      section: 'receive',
      what: `${row.label} / C recvmmsg at ${formatOps(receive.rate)}/s, loss < 1%`,
      target: `>= ${TARGET.recvVsC}x and loss < 1%`,
      ratio,
      loss: row.loss,
      met: untestable ? null : ratio == null ? false : ratio >= TARGET.recvVsC && lossOk,
      ...(untestable ? { untestable } : {}),
    })
  }
  for (const p of Object.values(rtt.placements)) {
    for (const id of ['netsock_batch', 'netsock_message']) {
      const c = p.clients.c
      add('round_trip', `${p.clients[id].label} p50 / C p50, ${p.label}`, ctx.haveC ? p.clients[id].p50_us / c.p50_us : null, TARGET.rtt, '<=')
      add('round_trip', `${p.clients[id].label} p50 / dgram p50, ${p.label}`, p.clients[id].p50_us / p.clients.dgram.p50_us, TARGET.rttVsDgram, '<=')
    }
  }
  return t
}

// ------------------------------------------------------------------- report

const pct = (x) => (x == null ? '-' : `${(x * 100).toFixed(2)}%`)
const us = (x) => (x == null ? '-' : `${x.toFixed(x < 10 ? 2 : 1)} µs`)
const verdict = (t) => (t.untestable ? `not testable (${t.untestable})` : t.met ? 'MET' : 'MISSED')
const ratioCell = (a, b) => (a == null || b == null || !b ? '-' : formatRatio(a / b))
const cpuCell = (x) => (x.user_ns == null ? '-' : `${Math.round(x.user_ns)} + ${Math.round(x.sys_ns)} ns`)

function report(ctx, res) {
  const lines = []
  const say = (s = '') => lines.push(s)
  const env = res.environment
  const { single_send: single, batched_send: batched, control_send: control, receive, round_trip: rtt } = res
  const targetOf = (section, what) => res.targets.find((t) => t.section === section && t.what.startsWith(what))

  say(`## ${title}`)
  say()
  say(
    `${env.node}, ${env.platform}, ${env.cpu} (${env.cpus} CPUs), kernel ${env.kernel}, load ${env.loadavg.join(' ')}, addon ${env.addon}; peers: ${env.peers}`,
  )
  say(
    `Every figure is the median of runs taken in turn (${SINGLE_REPS} for sections 1 and 3, ${REPS} for 2 and 4, ${RTT_CROSS_REPS} and ${RTT_SAME_REPS} for the two round-trip placements). Send: datagrams the kernel took per second of the sender's own loop, each run into a fresh ${ctx.haveC ? 'C `recv`' : 'netsock stand-in'} sink ("delivered" = what the sink got)${ctx.sendCpus ? `; every sender (C, netsock, dgram) runs on CPU ${ctx.sendCpus.sender} and its sink on CPU ${ctx.sendCpus.sink} (taskset), since a sender sharing its sink's CPU runs at a different rate` : ''}. dgram keeps at most ${DGRAM_IN_FLIGHT} sends in flight. CPU/datagram: the sender process's user and kernel CPU time over its loop (getrusage), which a busy neighbour on the core barely moves: the user part is the library's own cost, the kernel part is the same system call work for all.`,
  )
  say(
    `Sections took ${Object.entries(res.section_seconds)
      .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
      .join(', ')}.`,
  )

  // 1
  say()
  say(`### 1. Single send (unconnected, ${SINGLE_COUNT.toLocaleString('en')} datagrams per run)`)
  for (const size of SEND_SIZES) {
    const r = single[size]
    say()
    say(`**${size} B**`)
    say()
    say(
      table(
        ['sender', '>datagrams/s', '>runs min–max', '>delivered', '>CPU/datagram user + sys', '>vs C', '>vs dgram'],
        ['c', 'netsock', 'dgram'].map((id) => {
          const x = r[id]
          if (x.skipped) return [x.label, x.skipped, '', '', '', '', '']
          return [
            x.label,
            formatOps(x.pps),
            `${formatOps(x.min_pps)}–${formatOps(x.max_pps)}`,
            pct(x.delivered_fraction),
            cpuCell(x),
            ctx.haveC ? ratioCell(x.pps, r.c.pps) : '-',
            ratioCell(x.pps, r.dgram.pps),
          ]
        }),
      ),
    )
    const t = targetOf('single_send', `netsock send() / C sendto, ${size} B`)
    say()
    say(
      `netsock / C = ${t.ratio == null ? '-' : formatRatio(t.ratio)} (target ≥ ${TARGET.single}x: **${verdict(t)}**); netsock / dgram = ${formatRatio(r.netsock.pps / r.dgram.pps)}`,
    )
  }

  // 2
  say()
  say(`### 2. Batched send, ${BATCH_SIZE} B`)
  say()
  const bIds = ['c_sendmmsg', 'c_gso', 'netsock_sendMany', 'netsock_sendSegments', 'dgram']
  say(
    table(
      ['sender', '>datagrams/s', '>runs min–max', '>delivered', '>CPU/datagram user + sys', '>vs C (same method)', '>vs dgram'],
      bIds.map((id) => {
        const x = batched[id]
        if (x.skipped) return [x.label, x.skipped, '', '', '', '', '']
        if (x.pps == null) return [x.label, `unsupported: ${x.error ?? 'no result'}`, '', '', '', '', '']
        const cRef = id === 'netsock_sendMany' ? batched.c_sendmmsg : id === 'netsock_sendSegments' ? batched.c_gso : null
        return [
          x.label,
          formatOps(x.pps),
          `${formatOps(x.min_pps)}–${formatOps(x.max_pps)}`,
          pct(x.delivered_fraction),
          cpuCell(x),
          cRef && !cRef.skipped ? ratioCell(x.pps, cRef.pps) : '-',
          ratioCell(x.pps, batched.dgram.pps),
        ]
      }),
    ),
  )
  const g1 = targetOf('batched_send', 'netsock sendSegments() / C GSO')
  const g2 = targetOf('batched_send', 'netsock sendSegments() / dgram')
  say()
  say(
    `sendSegments / C GSO = ${g1.ratio == null ? '-' : formatRatio(g1.ratio)} (target ≥ ${TARGET.gsoVsC}x: **${verdict(g1)}**); sendSegments / dgram = ${formatRatio(g2.ratio)} (target ≥ ${TARGET.gsoVsDgram}x: **${verdict(g2)}**); sendSegments used GSO: ${batched.netsock_sendSegments.runs[0]?.gso}`,
  )
  if (!ctx.haveC) {
    // nothing more
  } else {
    say(`sendMany / C sendmmsg = ${ratioCell(batched.netsock_sendMany.pps, batched.c_sendmmsg.pps)} (no target set)`)
  }

  // 3
  say()
  say(`### 3. Per-datagram control, ${CONTROL_SIZE} B: ECN ECT(0) and the source address ${CONTROL_SOURCE} on every datagram`)
  say()
  say(
    `Each datagram carries IP_TOS (${CONTROL_TOS}: ECT(0)) and IP_PKTINFO (ipi_spec_dst ${CONTROL_SOURCE}) control messages; C builds them per datagram, netsock from the message's \`ecn\` and \`source\` (sendMessage reuses one message object; sendMany sends ${BATCH} { data, ecn, source } entries per call). node:dgram has no per-datagram control.`,
  )
  say()
  say(
    table(
      ['sender', '>datagrams/s', '>runs min–max', '>delivered', '>CPU/datagram user + sys', '>vs C (same control messages)'],
      ['c_sendmsg', 'netsock_sendMessage', 'c_sendmmsg', 'netsock_sendMany'].map((id) => {
        const x = control[id]
        if (x.skipped) return [x.label, x.skipped, '', '', '', '']
        const cRef = id === 'netsock_sendMessage' ? control.c_sendmsg : id === 'netsock_sendMany' ? control.c_sendmmsg : null
        return [
          x.label,
          formatOps(x.pps),
          `${formatOps(x.min_pps)}–${formatOps(x.max_pps)}`,
          pct(x.delivered_fraction),
          cpuCell(x),
          cRef && !cRef.skipped ? ratioCell(x.pps, cRef.pps) : '-',
        ]
      }),
    ),
  )
  say()
  for (const what of ['netsock sendMessage() / C sendmsg', 'netsock sendMany() / C sendmmsg']) {
    const t = targetOf('control_send', what)
    say(`- ${t.what} = ${t.ratio == null ? '-' : formatRatio(t.ratio)} (target ≥ ${TARGET.control}x: **${verdict(t)}**)`)
  }

  // 4
  say()
  say(
    `### 4. Receive, ${RECV_SIZE} B at ${formatOps(receive.rate)}/s offered for ${RECV_SECONDS} s (SO_RCVBUF ${RCVBUF >> 20} MiB requested for every receiver)`,
  )
  say()
  say(
    `Rate chosen in this run: the lowest of ${RATE_LADDER.map((r) => formatOps(r)).join(', ')}/s where dgram lost > ${DGRAM_LOSES * 100}% in a ${CALIBRATE_SECONDS} s probe (` +
      receive.calibration.map((c) => `${formatOps(c.rate)}/s: ${pct(c.loss)}`).join(', ') +
      ')' +
      (receive.dgram_loses
        ? ''
        : '. dgram did not lose at any rate the blaster reached: the receive target is not testable this run (marked so below and in the chart)') +
      (receive.blaster_limit ? `; the blaster topped out at ${formatOps(receive.blaster_limit)}/s` : '') +
      '.',
  )
  say()
  const rIds = ['c', 'netsock_batch', 'netsock_message', 'dgram']
  say(
    table(
      ['receiver', '>delivered/s', '>loss (median)', '>loss (worst run)', '>SO_RCVBUF', '>CPU/datagram user + sys', '>vs C', '>vs dgram'],
      rIds.map((id) => {
        const x = receive.rows[id]
        if (x.skipped) return [x.label, x.skipped, '', '', '', '', '', '']
        return [
          x.label,
          formatOps(x.delivered_pps),
          pct(x.loss),
          pct(x.max_loss),
          `${(x.rcvbuf / 2 ** 20).toFixed(0)} MiB`,
          cpuCell(x),
          ctx.haveC ? ratioCell(x.delivered_pps, receive.rows.c.delivered_pps) : '-',
          ratioCell(x.delivered_pps, receive.rows.dgram.delivered_pps),
        ]
      }),
    ),
  )
  say()
  for (const id of ['netsock_batch', 'netsock_message']) {
    const t = res.targets.find((x) => x.section === 'receive' && x.what.startsWith(receive.rows[id].label))
    say(
      `- ${receive.rows[id].label}: vs C ${t.ratio == null ? '-' : formatRatio(t.ratio)}, loss ${pct(t.loss)} (target ≥ ${TARGET.recvVsC}x C with < 1% loss where dgram loses: **${verdict(t)}**)`,
    )
  }
  say(
    "(At a fixed offered load a receiver that keeps up delivers the offered rate: the ratio shows who keeps up, loss shows by how much the others do not. CPU/datagram is the receiving process's CPU over the run per datagram received; at a rate below capacity it includes sleeping and waking, which is the same for all.)",
  )

  // 5
  say()
  say(
    `### 5. UDP round trip, ${RTT_SIZE} B, ${ctx.haveC ? 'C' : 'netsock stand-in'} echo server, ${RTT_COUNT.toLocaleString('en')} round trips after 1000 warm-up${Object.values(rtt.placements)[0].cpus ? ', both ends pinned with taskset' : ''}`,
  )
  for (const p of Object.values(rtt.placements)) {
    say()
    say(`**${p.label}** (median of ${p.reps} runs)`)
    say()
    const c = p.clients.c
    say(
      table(
        ['client', '>p50', '>p50 best run', '>p99', '>mean', '>client CPU/round trip', '>p50 vs C', '>p99 vs C', '>p50 vs dgram'],
        ['c', 'netsock_batch', 'netsock_message', 'dgram'].map((id) => {
          const x = p.clients[id]
          if (x.skipped) return [x.label, x.skipped, '', '', '', '', '', '', '']
          return [
            x.label,
            us(x.p50_us),
            us(x.min_p50_us),
            us(x.p99_us),
            us(x.mean_us),
            us(x.cpu_us),
            ctx.haveC ? ratioCell(x.p50_us, c.p50_us) : '-',
            ctx.haveC ? ratioCell(x.p99_us, c.p99_us) : '-',
            ratioCell(x.p50_us, p.clients.dgram.p50_us),
          ]
        }),
      ),
    )
    say()
    for (const id of ['netsock_batch', 'netsock_message']) {
      const t = res.targets.find((x) => x.section === 'round_trip' && x.what === `${p.clients[id].label} p50 / C p50, ${p.label}`)
      const d = res.targets.find((x) => x.section === 'round_trip' && x.what === `${p.clients[id].label} p50 / dgram p50, ${p.label}`)
      say(
        `- ${p.clients[id].label}: p50 ${t.ratio == null ? '-' : formatRatio(t.ratio)} C (target ≤ ${TARGET.rtt}x: **${verdict(t)}**), ${formatRatio(d.ratio)} dgram (target ≤ ${TARGET.rttVsDgram}x: **${verdict(d)}**)`,
      )
    }
    if (ctx.haveC)
      say(
        `- dgram, Node's own UDP path, is at ${ratioCell(p.clients.dgram.p50_us, c.p50_us)} C: a client driven by the event loop pays an epoll round and a callback into JS per reply, which the blocking C client does not.`,
      )
  }
  const sp = rtt.software_path
  say()
  say(
    `**The clients' software path per round trip** (one process${Object.values(rtt.placements)[0].cpus ? ' pinned to one CPU' : ''}, ${sp.count.toLocaleString('en')} round trips, median of ${REPS} runs): from a ${sp.size} B reply entering the client's socket (a netsock echo socket answers each ping from a setImmediate, after the client went back to the loop) to the client's handler: the event loop's epoll, the receive call and delivery. No wake-up is in it, so the host's scheduling does not blur it.`,
  )
  say()
  say(
    table(
      ['client', '>p50', '>mean', '>p50 vs dgram'],
      ['netsock_batch', 'netsock_message', 'dgram'].map((id) => {
        const x = sp.clients[id]
        return [x.label, us(x.p50_us), us(x.mean_us), ratioCell(x.p50_us, sp.clients.dgram.p50_us)]
      }),
    ),
  )

  // targets
  say()
  say('### Targets')
  say()
  say(
    table(
      ['section', 'measure', '>ratio', 'target', 'result'],
      res.targets.map((t) => [t.section, t.what, t.ratio == null ? '-' : formatRatio(t.ratio), t.target, verdict(t)]),
    ),
  )
  return lines.join('\n')
}

// ---------------------------------------------------------------------- svg

const COLORS = { c: '#6e6e6e', netsock: '#1f63c6', netsock2: '#7aa7e8', dgram: '#e07b26', target: '#c0392b' }
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const metWord = (t) => (t.untestable ? 'not testable' : t.met ? 'met' : 'missed')

/** The chart's content: sections of blocks of bars; each block has its own scale. */
function chartModel(ctx, res) {
  const { single_send: single, batched_send: batched, control_send: control, receive, round_trip: rtt } = res
  const fmtPps = (v) => `${formatOps(v)}/s`
  const rel = (v, base, what) => (base ? `${formatRatio(v / base)} ${what}` : null)
  const target = (section, what) => res.targets.find((t) => t.section === section && t.what.startsWith(what))
  // Within a block the first netsock bar is dark blue, a second one light blue.
  const painter = () => {
    let n = 0
    return (kind) => (kind === 'netsock' ? (n++ % 2 ? COLORS.netsock2 : COLORS.netsock) : COLORS[kind])
  }
  const sendRows = (rows, cBase, dgramBase) => {
    const paint = painter()
    return rows.map((x) => ({
      label: x.label,
      color: paint(x.kind),
      value: x.skipped || x.pps == null ? null : x.pps,
      text: x.skipped
        ? x.skipped
        : x.pps == null
          ? 'unsupported'
          : [fmtPps(x.pps), x.kind !== 'c' && rel(x.pps, cBase(x), 'C'), x.kind !== 'dgram' && rel(x.pps, dgramBase, 'dgram')].filter(Boolean).join(' · '),
    }))
  }
  const sections = []

  sections.push({
    title: '1. Single send: datagrams/s (higher is better)',
    blocks: SEND_SIZES.map((size) => {
      const r = single[size]
      const t = target('single_send', `netsock send() / C sendto, ${size} B`)
      return {
        title: `${size} B`,
        rows: sendRows([r.c, r.netsock, r.dgram], () => (ctx.haveC ? r.c.pps : null), r.dgram.pps),
        target: ctx.haveC ? { value: TARGET.single * r.c.pps, label: `target ≥ ${TARGET.single}x C: ${metWord(t)}` } : null,
      }
    }),
  })

  const g1 = target('batched_send', 'netsock sendSegments() / C GSO')
  const g2 = target('batched_send', 'netsock sendSegments() / dgram')
  const cOf = (x) => (!ctx.haveC ? null : x.id === 'netsock_sendMany' ? batched.c_sendmmsg.pps : x.id === 'netsock_sendSegments' ? batched.c_gso.pps : null)
  sections.push({
    title: `2. Batched send, ${BATCH_SIZE} B: datagrams/s (higher is better; netsock ratios to C use the same method)`,
    blocks: [
      {
        title: '',
        rows: sendRows(
          ['c_sendmmsg', 'c_gso', 'netsock_sendMany', 'netsock_sendSegments', 'dgram'].map((id) => batched[id]),
          cOf,
          batched.dgram.pps,
        ),
        target:
          ctx.haveC && batched.c_gso.pps
            ? {
                value: TARGET.gsoVsC * batched.c_gso.pps,
                label: `sendSegments target ≥ ${TARGET.gsoVsC}x C GSO: ${metWord(g1)}; ≥ ${TARGET.gsoVsDgram}x dgram: ${metWord(g2)}`,
              }
            : null,
      },
    ],
  })

  if (control) {
    const m1 = target('control_send', 'netsock sendMessage()')
    const m2 = target('control_send', 'netsock sendMany()')
    sections.push({
      title: `3. Per-datagram control, ${CONTROL_SIZE} B, ECN ECT(0) + source address on every datagram: datagrams/s (higher is better)`,
      blocks: [
        {
          title: 'one datagram per call (IP_TOS + IP_PKTINFO)',
          rows: sendRows([control.c_sendmsg, control.netsock_sendMessage], () => (ctx.haveC ? control.c_sendmsg.pps : null), null),
          target: ctx.haveC ? { value: TARGET.control * control.c_sendmsg.pps, label: `target ≥ ${TARGET.control}x C: ${metWord(m1)}` } : null,
        },
        {
          title: `batches of ${BATCH}, control messages per datagram`,
          rows: sendRows([control.c_sendmmsg, control.netsock_sendMany], () => (ctx.haveC ? control.c_sendmmsg.pps : null), null),
          target: ctx.haveC ? { value: TARGET.control * control.c_sendmmsg.pps, label: `target ≥ ${TARGET.control}x C: ${metWord(m2)}` } : null,
        },
      ],
    })
  }

  const rt = (id) => res.targets.find((t) => t.section === 'receive' && t.what.startsWith(receive.rows[id].label))
  const recvPaint = painter()
  sections.push({
    title: `4. Receive ${RECV_SIZE} B at ${formatOps(receive.rate)}/s offered for ${RECV_SECONDS} s: delivered/s (higher is better)`,
    blocks: [
      {
        title: '',
        rows: ['c', 'netsock_batch', 'netsock_message', 'dgram'].map((id) => {
          const x = receive.rows[id]
          return {
            label: x.label,
            color: recvPaint(x.kind),
            value: x.skipped ? null : x.delivered_pps,
            text: x.skipped
              ? x.skipped
              : [
                  fmtPps(x.delivered_pps),
                  `loss ${pct(x.loss)}`,
                  x.kind !== 'c' && ctx.haveC && rel(x.delivered_pps, receive.rows.c.delivered_pps, 'C'),
                  x.kind === 'netsock' && rel(x.delivered_pps, receive.rows.dgram.delivered_pps, 'dgram'),
                ]
                  .filter(Boolean)
                  .join(' · '),
          }
        }),
        target: ctx.haveC
          ? {
              value: TARGET.recvVsC * receive.rows.c.delivered_pps,
              label: `target ≥ ${TARGET.recvVsC}x C with loss < 1%: 'batch' ${metWord(rt('netsock_batch'))}, 'message' ${metWord(rt('netsock_message'))}`,
            }
          : null,
      },
    ],
  })

  sections.push({
    title: `5. Round trip, ${RTT_SIZE} B, ${ctx.haveC ? 'C' : 'netsock stand-in'} echo server: p50 bar, p99 whisker, µs (lower is better)`,
    blocks: Object.values(rtt.placements).map((p) => {
      const paint = painter()
      const tt = (id) => res.targets.find((t) => t.section === 'round_trip' && t.what === `${p.clients[id].label} p50 / C p50, ${p.label}`)
      const td = (id) => res.targets.find((t) => t.section === 'round_trip' && t.what === `${p.clients[id].label} p50 / dgram p50, ${p.label}`)
      return {
        title: p.label,
        rows: ['c', 'netsock_batch', 'netsock_message', 'dgram'].map((id) => {
          const x = p.clients[id]
          return {
            label: x.label,
            color: paint(x.kind),
            value: x.skipped ? null : x.p50_us,
            whisker: x.skipped ? null : x.p99_us,
            text: x.skipped
              ? x.skipped
              : [
                  `p50 ${us(x.p50_us)}`,
                  `p99 ${us(x.p99_us)}`,
                  x.kind !== 'c' && ctx.haveC && rel(x.p50_us, p.clients.c.p50_us, 'C'),
                  x.kind === 'netsock' && rel(x.p50_us, p.clients.dgram.p50_us, 'dgram'),
                ]
                  .filter(Boolean)
                  .join(' · '),
          }
        }),
        target: ctx.haveC
          ? {
              value: TARGET.rtt * p.clients.c.p50_us,
              label: `target p50 ≤ ${TARGET.rtt}x C: 'batch' ${metWord(tt('netsock_batch'))}, 'message' ${metWord(tt('netsock_message'))}; ≤ dgram: 'batch' ${metWord(td('netsock_batch'))}, 'message' ${metWord(td('netsock_message'))}`,
            }
          : null,
      }
    }),
  })
  const sp = rtt.software_path
  if (sp) {
    const paint = painter()
    sections.at(-1).blocks.push({
      title: "the clients' software path per round trip: reply in the socket to handler, one process, no wake-up (p50)",
      rows: ['netsock_batch', 'netsock_message', 'dgram'].map((id) => {
        const x = sp.clients[id]
        return {
          label: x.label,
          color: paint(x.kind),
          value: x.p50_us,
          text: [`p50 ${us(x.p50_us)}`, x.kind === 'netsock' && rel(x.p50_us, sp.clients.dgram.p50_us, 'dgram')].filter(Boolean).join(' · '),
        }
      }),
      target: null,
    })
  }
  return sections
}

/**
 * The chart of a results object (bench/results/latest.json) as SVG text, e.g.
 * to redraw it: renderChart(JSON.parse(fs.readFileSync('bench/results/latest.json')))
 */
export function renderChart(res) {
  const haveC = res.environment.c_reference != null
  return svg({ haveC, noC: 'skipped (no compiler)' }, res)
}

/** A horizontal bar chart as SVG text: one group per section, values and ratios written on the bars. */
function svg(ctx, res) {
  const sections = chartModel(ctx, res)
  const W = 1060,
    LABEL = 300,
    X0 = LABEL + 12,
    BAR = 400,
    ROW = 22,
    BARH = 15
  const parts = []
  let y = 64
  for (const s of sections) {
    y += 18
    parts.push(`<text x="16" y="${y}" class="section">${esc(s.title)}</text>`)
    y += 6
    for (const b of s.blocks) {
      if (b.title) {
        y += 18
        parts.push(`<text x="28" y="${y}" class="block">${esc(b.title)}</text>`)
      }
      y += 6
      const top = y
      const values = b.rows.map((r) => r.value ?? 0)
      const whiskers = b.rows.map((r) => r.whisker ?? 0)
      // Whiskers may run to 3x the longest bar; longer ones are cut and marked, their value is in the text.
      const max = Math.max(...values, Math.min(Math.max(...whiskers), 3 * Math.max(...values)), b.target?.value ?? 0) * 1.02 || 1
      const sx = (v) => X0 + (Math.min(v, max) / max) * BAR
      const bars = [],
        texts = []
      for (const r of b.rows) {
        texts.push(`<text x="${LABEL}" y="${y + 12}" class="label" text-anchor="end">${esc(r.label)}</text>`)
        let end = X0
        if (r.value != null) {
          end = sx(r.value)
          bars.push(`<rect x="${X0}" y="${y + 1}" width="${Math.max(1, end - X0).toFixed(1)}" height="${BARH}" fill="${r.color}" rx="2"/>`)
          if (r.whisker != null && r.whisker > r.value) {
            const wy = y + 1 + BARH / 2
            const wx = sx(r.whisker)
            bars.push(`<line x1="${end.toFixed(1)}" y1="${wy}" x2="${wx.toFixed(1)}" y2="${wy}" stroke="${r.color}" stroke-width="2"/>`)
            bars.push(
              r.whisker > max
                ? `<path d="M${(wx - 6).toFixed(1)},${wy - 5} L${wx.toFixed(1)},${wy} L${(wx - 6).toFixed(1)},${wy + 5}" fill="none" stroke="${r.color}" stroke-width="2"/>`
                : `<line x1="${wx.toFixed(1)}" y1="${wy - 5}" x2="${wx.toFixed(1)}" y2="${wy + 5}" stroke="${r.color}" stroke-width="2"/>`,
            )
            end = wx
          }
        }
        texts.push(`<text x="${(end + 6).toFixed(1)}" y="${y + 12}" class="value${r.value == null ? ' skipped' : ''}">${esc(r.text)}</text>`)
        y += ROW
      }
      parts.push(...bars)
      if (b.target) {
        const tx = sx(b.target.value).toFixed(1)
        parts.push(`<line x1="${tx}" y1="${top - 3}" x2="${tx}" y2="${y + 1}" class="target"/>`)
        texts.push(`<text x="${tx}" y="${y + 12}" class="tlabel" text-anchor="middle">${esc(b.target.label)}</text>`)
        y += 16
      }
      parts.push(...texts)
    }
    y += 6
  }
  const env = res.environment
  y += 16
  parts.push(
    `<text x="16" y="${y}" class="foot">${esc(`${res.timestamp} · Node ${env.node} · ${env.cpu} × ${env.cpus} · kernel ${env.kernel} · load ${env.loadavg.join(' ')} · peers: ${env.peers}`)}</text>`,
  )
  y += 14
  parts.push(
    `<text x="16" y="${y}" class="foot">${esc(`Medians of ${REPS}-${RTT_CROSS_REPS} runs; each block is drawn to its own scale; ratios compare medians of this run. Numbers: ${path.relative(path.dirname(benchDir), path.join(resultsDir, 'latest.json'))}`)}</text>`,
  )
  y += 12
  const legend = `<rect x="16" y="36" width="12" height="12" fill="${COLORS.c}" rx="2"/><text x="33" y="46" class="label">C (udpref)</text>
<rect x="120" y="36" width="12" height="12" fill="${COLORS.netsock}" rx="2"/><rect x="134" y="36" width="12" height="12" fill="${COLORS.netsock2}" rx="2"/><text x="151" y="46" class="label">netsock (first / second API in a block)</text>
<rect x="420" y="36" width="12" height="12" fill="${COLORS.dgram}" rx="2"/><text x="437" y="46" class="label">node:dgram</text>
<line x1="540" y1="36" x2="540" y2="49" class="target"/><text x="548" y="46" class="label">target for netsock</text>`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 17px; font-weight: bold; fill: #111; }
  .section { font-size: 14px; font-weight: bold; fill: #111; }
  .block { font-size: 12px; font-weight: bold; fill: #444; }
  .label { font-size: 12px; fill: #222; }
  .value { font-size: 11.5px; fill: #111; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
  .skipped { fill: #999; font-style: italic; }
  .target { stroke: ${COLORS.target}; stroke-width: 1.5; stroke-dasharray: 4 3; }
  .tlabel { font-size: 10.5px; fill: ${COLORS.target}; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
  .foot { font-size: 10.5px; fill: #666; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="24" class="title">netsock UDP data path vs C and node:dgram on loopback</text>
${legend}
${parts.join('\n')}
</svg>
`
}
