// TCP suite:
//  1. keepalive tuning calls per second on a live loopback connection:
//     netsock setKeepAlive vs the `net-keepalive` package (ffi-rs setsockopt)
//     vs Node's own socket.setKeepAlive(true, ms), the same settings in the
//     same run, each verified by reading the kernel's values back first;
//  2. UDP receive throughput through the reuseport helper (serveReusePort,
//     worker_threads reading with netsock's recvmmsg 'batch' path) with 1 and
//     2 workers, offered load from the C reference sender (udpref blast).
// Ratios are between medians of this run; nothing is asserted about speed.
import { createRequire } from 'node:module'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { isMainThread, parentPort } from 'node:worker_threads'
import { bench, group, run as runMitata, summary } from 'mitata'
import { createSocket, fdOf, getKeepAlive, reusePortWorker, serveReusePort, setKeepAlive } from '../dist/esm/index.mjs'
import { startRef } from './c/run.mjs'
import { formatNs, formatOps, formatRatio, formatSpread, mitataOptions, reportHead, resultsByName, table } from './common.mjs'

const require = createRequire(import.meta.url)

export const name = 'tcp'
export const title = 'tcp: keepalive tuning calls vs net-keepalive and Node, UDP receive through reuseport workers'
export const measures = 'keepalive tuning calls vs Node and net-keepalive; UDP receive through reuseport workers'
export const estimateSeconds = 25

/** Lines for the closing summary of `npm run bench`. */
export function headline(res) {
  const rows = Object.fromEntries((res.keepalive?.rows ?? []).map((r) => [r.id, r]))
  const out = []
  if (rows.netsock_A && rows.node_setKeepAlive) {
    const f = rows.node_setKeepAlive.median_ns / rows.netsock_A.median_ns
    out.push(`keepalive as Node sets it: netsock ${f >= 1 ? `${formatRatio(f)} faster` : `${formatRatio(1 / f)} slower`} than socket.setKeepAlive`)
  }
  const runs = res.reuseport_udp?.runs ?? []
  const one = runs.find((u) => u.workers === 1)
  const two = runs.find((u) => u.workers === 2 && u.steering === 'random')
  if (one && two) out.push(`reuseport UDP receive: 1 worker ${formatOps(one.received_pps)}/s, 2 workers (random) ${formatOps(two.received_pps)}/s`)
  else if (res.reuseport_udp?.note) out.push(res.reuseport_udp.note)
  return out
}

// ------------------------------------------------------- reuseport worker side
// serveReusePort runs this same file in each worker thread; only there does
// this branch do anything (bench/index.mjs imports suites in the main thread).
if (!isMainThread) {
  let info = null
  try {
    info = reusePortWorker()
  } catch {}
  if (info) {
    const socket = createSocket({ fd: info.fd, recvBatchSize: 256, recvMessageSize: 2048 })
    let received = 0
    socket.on('batch', (batch) => {
      received += batch.length
    })
    parentPort.on('message', (m) => {
      if (m === 'count') parentPort.postMessage({ received })
    })
    parentPort.postMessage('ready')
  }
}

// ------------------------------------------------------------ 1. keepalive

const IDLE = 30_000
// Node's setKeepAlive(true, ms) also sets TCP_KEEPINTVL 1 s and TCP_KEEPCNT 10 (libuv), so
// "what Node sets" is four options; the netsock and net-keepalive rows set the same four.
// Node remembers the last (enable, delay) it set and skips the system calls when asked for the
// same again, so every row alternates the idle time between two values (30 s, 31 s): each call
// really reaches the kernel, for every contender alike.
const IDLES = [IDLE, IDLE + 1000]
const nodeSet = (idleMs) => ({ enable: true, idleMs, intervalMs: 1000, count: 10 })
const full = (idleMs) => ({ enable: true, idleMs, intervalMs: 5000, count: 4, userTimeoutMs: 20_000 })

function loadNetKeepalive() {
  try {
    return { nk: require('net-keepalive'), why: null }
  } catch (err) {
    return { nk: null, why: `net-keepalive could not be loaded (${err.code ?? err.message}); install it with npm install --save-dev net-keepalive` }
  }
}

async function loopbackPair() {
  const server = net.createServer((c) => c.on('error', () => {}))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = net.connect(server.address().port, '127.0.0.1')
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject))
  return { server, client }
}

/** A row whose call alternates between the two idle times; last() is what its latest call set. */
function row(id, group, label, settingsFor, call, extra = {}) {
  let i = 0
  const presets = IDLES.map(settingsFor)
  return {
    id,
    group,
    label,
    ...extra,
    last: () => presets[i],
    fn: () => {
      i ^= 1
      call(presets[i], IDLES[i])
    },
  }
}

function keepaliveBenches(client, nk) {
  const fd = fdOf(client)
  const rows = [
    // group A: the settings Node's own call makes
    row(
      'node_setKeepAlive',
      'A',
      `socket.setKeepAlive(true, ${IDLE / 1000}|${IDLE / 1000 + 1} s) [Node]`,
      nodeSet,
      (_, idle) => client.setKeepAlive(true, idle),
      { base: true },
    ),
    row('netsock_A', 'A', 'setKeepAlive(socket, {enable, idle, interval 1 s, count 10}) [netsock]', nodeSet, (o) => setKeepAlive(client, o)),
    row('netsock_A_fd', 'A', 'setKeepAlive(fd, same) [netsock]', nodeSet, (o) => setKeepAlive(fd, o)),
  ]
  if (nk) {
    rows.push(
      row('nk_A', 'A', 'Node setKeepAlive + net-keepalive interval/probes', nodeSet, (_, idle) => {
        client.setKeepAlive(true, idle)
        nk.setKeepAliveInterval(client, 1000)
        nk.setKeepAliveProbes(client, 10)
      }),
    )
  }
  // group B: full tuning (Node alone cannot set interval, count or user timeout)
  rows.push(row('netsock_B', 'B', 'setKeepAlive(socket, {enable, idle, interval, count, userTimeout}) [netsock]', full, (o) => setKeepAlive(client, o)))
  if (nk) {
    rows.push(
      row(
        'nk_B',
        'B',
        'Node setKeepAlive + net-keepalive interval/probes/userTimeout',
        full,
        (_, idle) => {
          client.setKeepAlive(true, idle)
          nk.setKeepAliveInterval(client, 5000)
          nk.setKeepAliveProbes(client, 4)
          nk.setUserTimeout(client, 20_000)
        },
        { base: true },
      ),
    )
  }
  // group C: one option, one setsockopt each (alternating 15 s / 16 s)
  const ut = (idle) => ({ userTimeoutMs: idle / 2 })
  rows.push(row('netsock_C', 'C', 'setKeepAlive(socket, { userTimeoutMs }) [netsock]', ut, (o) => setKeepAlive(client, o)))
  if (nk) rows.push(row('nk_C', 'C', 'net-keepalive setUserTimeout(socket, ms)', ut, (o) => nk.setUserTimeout(client, o.userTimeoutMs), { base: true }))
  return rows
}

/** Runs each call on a reset socket and checks the kernel holds what it claims to set. */
function verifyKeepalive(client, rows) {
  const readBack = {}
  for (const r of rows) {
    for (let k = 0; k < 3; k++) {
      client.setKeepAlive(false) // Node's own memory of what it set, too
      setKeepAlive(client, { enable: false, idleMs: 7_000, intervalMs: 7_000, count: 7, userTimeoutMs: 7_000 })
      r.fn()
      const got = getKeepAlive(client)
      for (const [key, v] of Object.entries(r.last())) {
        if (got[key] !== v) throw new Error(`${r.label}: ${key} reads back ${got[key]}, expected ${v}`)
      }
      readBack[r.id] = got
    }
  }
  return readBack
}

// ------------------------------------------------------- 2. reuseport UDP

const UDP_RATE = 1_000_000 // offered datagrams per second (udpref blast paces to it)
const UDP_SECONDS = 3
const UDP_SIZE = 64

function ask(worker, message, reply) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (reply(m)) {
        worker.off('message', on)
        resolve(m)
      }
    }
    worker.on('message', on)
    if (message !== undefined) worker.postMessage(message)
  })
}

async function udpRun(workers, steering) {
  const server = await serveReusePort({
    type: 'udp4',
    count: workers,
    address: '127.0.0.1',
    steering,
    recvBufferSize: 8 << 20,
    worker: fileURLToPath(import.meta.url),
  })
  try {
    await Promise.all(server.workers.map((w) => ask(w, undefined, (m) => m === 'ready')))
    const blast = await startRef(['blast', '--port', server.port, '--addr', '127.0.0.1', '--rate', UDP_RATE, '--seconds', UDP_SECONDS, '--size', UDP_SIZE], {
      timeoutMs: (UDP_SECONDS + 30) * 1000,
    })
    const sent = await blast.result
    await new Promise((r) => setTimeout(r, 300)) // let the workers drain their buffers
    const counts = (await Promise.all(server.workers.map((w) => ask(w, 'count', (m) => typeof m === 'object' && m !== null && 'received' in m)))).map(
      (m) => m.received,
    )
    const received = counts.reduce((a, b) => a + b, 0)
    return {
      workers,
      steering,
      offered_pps: sent.achievedRate,
      sent: sent.sent,
      seconds: sent.seconds,
      received,
      per_worker: counts,
      received_pps: received / sent.seconds,
      loss: sent.sent > 0 ? 1 - received / sent.sent : 0,
    }
  } finally {
    await server.close()
  }
}

// --------------------------------------------------------------------- run

export async function run() {
  const { nk, why } = loadNetKeepalive()
  if (why) console.log(`note: ${why}; its columns are skipped`)
  const { server, client } = await loopbackPair()
  let rows
  let readBack
  let r
  let context
  try {
    rows = keepaliveBenches(client, nk)
    readBack = verifyKeepalive(client, rows)
    const titles = {
      A: `keepalive as Node sets it (enable, idle ${IDLE / 1000}|${IDLE / 1000 + 1} s, interval 1 s, count 10)`,
      B: 'full tuning (enable, idle 30|31 s, interval 5 s, count 4, user timeout 20 s)',
      C: 'one option: TCP_USER_TIMEOUT (15|15.5 s)',
    }
    for (const g of ['A', 'B', 'C']) {
      group(titles[g], () => {
        summary(() => {
          for (const row of rows.filter((x) => x.group === g)) {
            const m = bench(row.label, row.fn)
            if (row.base) m.baseline()
          }
        })
      })
    }
    ;({ context, benchmarks: r } = await runMitata(mitataOptions()))
    r = resultsByName(r)
  } finally {
    client.destroy()
    server.close()
  }

  const udp = []
  let udpNote = null
  try {
    udp.push(await udpRun(1, 'hash'))
    udp.push(await udpRun(2, 'random'))
    udp.push(await udpRun(2, 'hash'))
  } catch (err) {
    udpNote = `UDP reuseport runs failed: ${err.message}`
    console.log(udpNote)
  }
  return report({ context, r, rows, readBack, udp, udpNote, nkWhy: why })
}

// ------------------------------------------------------------------ report

function report({ context, r, rows, readBack, udp, udpNote, nkWhy }) {
  const { env, lines } = reportHead(title, context, require)
  const say = (s = '') => lines.push(s)
  say(
    'ops/s = 1e9 / median ns per call (one call = all the options of its row); ratios compare medians from this same run. Every row was checked by reading the kernel values back before timing.',
  )
  if (nkWhy) say(`(${nkWhy}: net-keepalive rows skipped)`)

  const resultRows = rows.map((row) => ({ id: row.id, group: row.group, call: row.label, settings: row.last(), ...r.get(row.label) }))
  const byId = Object.fromEntries(resultRows.map((x) => [x.id, x]))
  say()
  say('### Keepalive tuning calls on a live loopback connection')
  say()
  say(
    table(
      ['group', 'call', '>median', '>IQR', '>calls/s'],
      resultRows.map((x) => [x.group, x.call, formatNs(x.median_ns), formatSpread(x.spread), formatOps(x.ops_per_sec)]),
    ),
  )
  say()
  const ratio = (a, b, what) => {
    if (!byId[a] || !byId[b]) return
    // Always a factor above 1: '2.00x slower', never '0.50x slower'.
    const f = byId[b].median_ns / byId[a].median_ns
    say(
      `- ${what}: netsock ${f >= 1 ? `${formatRatio(f)} faster` : `${formatRatio(1 / f)} slower`} (${formatOps(byId[a].ops_per_sec)} vs ${formatOps(byId[b].ops_per_sec)} calls/s)`,
    )
  }
  ratio('netsock_A', 'node_setKeepAlive', "A, vs Node's socket.setKeepAlive(true, ms)")
  ratio('netsock_A_fd', 'node_setKeepAlive', "A, fd target, vs Node's socket.setKeepAlive(true, ms)")
  ratio('netsock_A', 'nk_A', 'A, vs Node setKeepAlive + net-keepalive')
  ratio('netsock_B', 'nk_B', 'B, vs Node setKeepAlive + net-keepalive (Node alone cannot set these)')
  ratio('netsock_C', 'nk_C', 'C, vs net-keepalive setUserTimeout')

  say()
  say(
    `### UDP receive through serveReusePort (worker_threads, netsock recvmmsg), ${UDP_SIZE} B datagrams, udpref blast at ${formatOps(UDP_RATE)} pps for ${UDP_SECONDS} s`,
  )
  say()
  if (udpNote) say(udpNote)
  if (udp.length) {
    // per_worker holds datagram counts; shown as rates over the same seconds, so they add up to the total.
    say(
      table(
        ['workers', 'steering', '>offered pps', '>received pps', '>per worker pps', '>loss'],
        udp.map((u) => [
          u.workers,
          u.steering,
          formatOps(u.offered_pps),
          formatOps(u.received_pps),
          u.per_worker.map((c) => formatOps(c / u.seconds)).join(' / '),
          `${(u.loss * 100).toFixed(1)}%`,
        ]),
      ),
    )
    say()
    const one = udp.find((u) => u.workers === 1)
    const two = udp.find((u) => u.workers === 2 && u.steering === 'random')
    if (one && two) say(`- 2 workers (random steering) / 1 worker: ${formatRatio(two.received_pps / one.received_pps)} the received rate`)
    say(
      `- one sender is one flow: with the default hash steering all of it lands on one worker, so the 2-worker 'hash' row shows no spread; 'random' (SKF_AD_RANDOM) spreads it`,
    )
    say(`- ${env.cpus} CPUs shared by the sender, the workers and the main thread: with as many busy threads as cores, adding a worker cannot add a core`)
  }

  return {
    summary: lines.join('\n'),
    results: {
      suite: name,
      environment: env,
      method: 'mitata medians (p50) per call; UDP: datagrams counted by the workers / blast seconds',
      keepalive: { rows: resultRows, read_back: readBack, net_keepalive: nkWhy ?? 'loaded' },
      reuseport_udp: { rate: UDP_RATE, seconds: UDP_SECONDS, size: UDP_SIZE, runs: udp, note: udpNote },
    },
  }
}
