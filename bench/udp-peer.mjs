// The JS side of the UDP benchmark that has to run in its own process:
//
//   pingpong         a ping-pong client (netsock 'batch', netsock 'message'
//                    or node:dgram), so it can be pinned to a CPU with taskset
//                    next to the echo server, like the C client;
//   softpath         the same clients' own path per round trip, against an
//                    echo in the same process (no wake-up in the figure);
//   recv, blast, pingpong-server
//                    netsock stand-ins for the C reference's peers, used only
//                    when no C compiler is available (bench/c/build.mjs).
//
// Same command line and protocol as bench/c/udpref.c: `--option value`
// pairs, "ready <port>" on stderr once bound (recv, pingpong-server), one JSON
// line on stdout. Loopback only; every loop is bounded in count and time.
//
//   node bench/udp-peer.mjs pingpong --impl netsock-batch --port P --count 20000 --size 64
import dgram from 'node:dgram'
import { createSocket } from '../dist/esm/index.mjs'

const WARMUP_ROUNDS = 1000 // as udpref.c: round trips not measured
const ROUND_TRIP_TIMEOUT_MS = 2000
const SO_RCVBUFFORCE = 33 // asm-generic/socket.h; used only when SO_RCVBUF is capped by rmem_max
const SOL_SOCKET = 1

const [mode, ...rest] = process.argv.slice(2)
const opts = {}
for (let i = 0; i < rest.length; i += 2) {
  if (!rest[i]?.startsWith('--') || rest[i + 1] === undefined) fail(`bad arguments: ${rest.join(' ')}`)
  opts[rest[i].slice(2)] = rest[i + 1]
}
const num = (name, dflt) => {
  const v = opts[name] === undefined ? dflt : Number(opts[name])
  if (!Number.isFinite(v)) fail(`--${name} must be a number`)
  return v
}
const addr = opts.addr ?? '127.0.0.1'
if (addr !== '127.0.0.1' && addr !== '::1') fail(`--addr ${addr} is not loopback`)

function fail(message) {
  process.stderr.write(`udp-peer ${mode}: ${message}\n`)
  process.exit(1)
}

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`)
const payload = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff))

/** Nearest-rank percentile of sorted samples, as udpref.c. */
function percentile(sorted, p) {
  const k = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)))
  return sorted[k - 1]
}

/** Asks for `bytes` of receive buffer on a netsock socket, forcing past rmem_max when allowed (as udpref.c). */
function setRecvBuffer(sock, bytes) {
  if (sock.getOption('SO_RCVBUF') < 2 * bytes) {
    try {
      sock.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, bytes)
    } catch {}
  }
  return sock.getOption('SO_RCVBUF')
}

// ------------------------------------------------------------------ client

async function pingpong() {
  const port = num('port'),
    count = num('count'),
    size = num('size', 64),
    impl = opts.impl ?? 'netsock-batch'
  const maxMs = num('max-seconds', 60) * 1000
  const total = count + WARMUP_ROUNDS
  const rtt = new Float64Array(count)
  const out = payload(size)
  let i = 0
  let t0 = 0
  let lastProgress = performance.now()
  let sock
  let stopWatchdog = () => {}
  let cpu0 = null // CPU use when the measured round trips start
  const started = performance.now()

  const finished = new Promise((resolve, reject) => {
    // One reply per round trip; the next ping leaves from inside the handler.
    const onReply = (bytes) => {
      const t1 = performance.now()
      if (bytes !== size) return reject(new Error(`reply of ${bytes} bytes, sent ${size}`))
      if (i >= WARMUP_ROUNDS) rtt[i - WARMUP_ROUNDS] = t1 - t0
      else if (i === WARMUP_ROUNDS - 1) cpu0 = process.cpuUsage()
      lastProgress = t1
      if (++i === total) return resolve()
      t0 = performance.now()
      sock.send(out)
    }
    const watchdog = setInterval(() => {
      const now = performance.now()
      if (now - lastProgress > ROUND_TRIP_TIMEOUT_MS) reject(new Error(`no reply within ${ROUND_TRIP_TIMEOUT_MS} ms at round trip ${i}`))
      else if (now - started > maxMs) reject(new Error(`--max-seconds passed after ${i} round trips`))
    }, 250)
    stopWatchdog = () => clearInterval(watchdog)

    if (impl === 'dgram') {
      sock = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4')
      sock.on('error', reject)
      sock.on('message', (msg) => onReply(msg.length))
      sock.bind(0, addr, () =>
        sock.connect(port, addr, () => {
          t0 = performance.now()
          sock.send(out)
        }),
      )
    } else {
      // Connected, like the C client: send() needs no destination.
      sock = createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4' }).bind(0, addr)
      sock.connect(port, addr)
      sock.on('error', reject)
      if (impl === 'netsock-batch') {
        sock.on('batch', (batch) => {
          for (let k = 0; k < batch.length && i < total; k++) onReply(batch.size(k))
        })
      } else if (impl === 'netsock-message') {
        sock.on('message', (msg) => onReply(msg.length))
      } else {
        reject(new Error(`unknown --impl ${impl}`))
      }
      // Reading starts on the next tick after the listener is added.
      setImmediate(() => {
        t0 = performance.now()
        sock.send(out)
      })
    }
  })
  let cpu
  try {
    await finished
    cpu = process.cpuUsage(cpu0)
  } finally {
    stopWatchdog()
    sock?.close()
  }
  const sum = rtt.reduce((a, b) => a + b, 0)
  rtt.sort()
  const us = (ms) => Number((ms * 1000).toFixed(2))
  print({
    mode: 'pingpong',
    impl,
    size,
    count,
    warmup: WARMUP_ROUNDS,
    p50Us: us(percentile(rtt, 0.5)),
    p99Us: us(percentile(rtt, 0.99)),
    meanUs: us(sum / count),
    minUs: us(rtt[0]),
    maxUs: us(rtt[count - 1]),
    cpuUser: cpu.user / 1e6,
    cpuSys: cpu.system / 1e6,
  })
}

// ------------------------------------------------- client software path

/**
 * softpath: the client's own path per round trip, in one process. A netsock
 * echo socket answers each ping from a setImmediate, that is after the client
 * went back to the event loop, as a reply from another process arrives; the
 * client measures from the moment the reply is in its socket to its handler
 * (the loop's epoll, the receive call, delivery). No wake-up is in it.
 */
async function softpath() {
  const count = num('count'),
    size = num('size', 32),
    impl = opts.impl ?? 'netsock-batch'
  const type = addr.includes(':') ? 'udp6' : 'udp4'
  const total = count + WARMUP_ROUNDS
  const samples = new Float64Array(count)
  const out = payload(size)
  const echo = createSocket({ type }).bind(0, addr)
  const inbox = Buffer.alloc(2048)
  let queuedAt = 0
  let i = 0
  let sock
  const answer = () => {
    const r = echo.recvInto(inbox)
    if (r === null) return fail('the echo found no ping')
    echo.send(inbox.subarray(0, r.bytes))
    queuedAt = performance.now() // the reply is in the client's socket: loopback delivery is synchronous
  }
  await new Promise((resolve, reject) => {
    const onReply = (bytes) => {
      const t = performance.now()
      if (bytes !== size) return reject(new Error(`reply of ${bytes} bytes, sent ${size}`))
      if (i >= WARMUP_ROUNDS) samples[i - WARMUP_ROUNDS] = t - queuedAt
      if (++i === total) return resolve()
      sock.send(out)
      setImmediate(answer)
    }
    const start = (port) => {
      echo.connect(port, addr)
      sock.send(out)
      setImmediate(answer)
    }
    if (impl === 'dgram') {
      sock = dgram.createSocket(type)
      sock.on('error', reject)
      sock.on('message', (msg) => onReply(msg.length))
      sock.bind(0, addr, () => sock.connect(echo.address().port, addr, () => start(sock.address().port)))
    } else {
      sock = createSocket({ type }).bind(0, addr)
      sock.connect(echo.address().port, addr)
      sock.on('error', reject)
      if (impl === 'netsock-batch')
        sock.on('batch', (b) => {
          for (let k = 0; k < b.length; k++) onReply(b.size(k))
        })
      else if (impl === 'netsock-message') sock.on('message', (msg) => onReply(msg.length))
      else return reject(new Error(`unknown --impl ${impl}`))
      setImmediate(() => start(sock.address().port)) // reading starts on the next tick after the listener is added
    }
  })
  sock.close()
  echo.close()
  const sum = samples.reduce((a, b) => a + b, 0)
  samples.sort()
  const us = (ms) => Number((ms * 1000).toFixed(3))
  print({ mode: 'softpath', impl, size, count, p50Us: us(percentile(samples, 0.5)), p99Us: us(percentile(samples, 0.99)), meanUs: us(sum / count) })
}

// ------------------------------------------------------- stand-in peers

/** recv: netsock 'batch', count only, reported like udpref recv. */
async function recv() {
  const seconds = num('seconds'),
    idle = num('idle', 0.5),
    wait = num('wait', 10)
  const s = createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4', recvBufferSize: num('rcvbuf', 4 << 20) })
  const rcvbuf = setRecvBuffer(s, num('rcvbuf', 4 << 20))
  s.bind(num('port'), addr)
  let received = 0,
    bytes = 0,
    first = 0,
    last = 0
  s.on('batch', (b) => {
    const t = performance.now()
    if (!first) first = t
    last = t
    received += b.length
    for (let k = 0; k < b.length; k++) bytes += b.size(k)
  })
  process.stderr.write(`ready ${s.address().port}\n`)
  const cpu0 = process.cpuUsage()
  const started = performance.now()
  const stop = await new Promise((resolve) => {
    setInterval(() => {
      const t = performance.now()
      if (!first && t - started > wait * 1000) resolve('nothing-arrived')
      else if (first && t - first >= seconds * 1000) resolve('time')
      else if (first && t - last >= idle * 1000) resolve('idle')
    }, 20)
  })
  const secs = first ? (last - first) / 1000 : 0
  const out = {
    mode: 'recv',
    impl: 'netsock',
    port: s.address().port,
    received,
    bytes,
    seconds: secs,
    pps: secs > 0 ? Math.round(received / secs) : 0,
    kernelDrops: s.stats.dropped,
    rcvbuf,
    stop,
    cpuUser: process.cpuUsage(cpu0).user / 1e6,
    cpuSys: process.cpuUsage(cpu0).system / 1e6,
  }
  s.close()
  print(out)
  if (!first) fail(`no datagram arrived within ${wait} s`)
  process.exit(0)
}

/** blast: netsock sendMany paced against the clock (1 ms steps), reported like udpref blast. */
async function blast() {
  const rate = num('rate'),
    seconds = num('seconds'),
    size = num('size'),
    port = num('port')
  const s = createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4' }).bind(0, addr)
  const list = new Array(64).fill(payload(size))
  const total = Math.floor(rate * seconds)
  let offered = 0,
    calls = 0
  const start = performance.now(),
    end = start + seconds * 1000
  await new Promise((resolve) => {
    const tick = () => {
      const t = performance.now()
      let due = Math.min(total, Math.floor(((t - start) / 1000) * rate)) - offered
      while (due > 0) {
        const n = Math.min(due, 64)
        s.sendMany(n === 64 ? list : list.slice(0, n), port, addr) // the rest, if any, is queued and counted when sent
        calls++
        offered += n
        due -= n
        if (s.stats.queued > 0) break
      }
      if (offered >= total || t >= end) return resolve()
      if (s.stats.queued > 0) s.once('drain', tick)
      else setTimeout(tick, 1)
    }
    tick()
  })
  if (s.stats.queued > 0) await new Promise((resolve) => s.once('drain', resolve))
  const secs = (performance.now() - start) / 1000
  const sent = s.stats.sent
  s.close()
  print({ mode: 'blast', impl: 'netsock', size, rate, sent, seconds: secs, achievedRate: Math.round(sent / secs), calls })
}

/** pingpong-server: netsock echo of count + warm-up datagrams back to their senders. */
async function pingpongServer() {
  const count = num('count'),
    wait = num('wait', 10)
  const s = createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4' }).bind(num('port'), addr)
  const total = count + WARMUP_ROUNDS
  let echoed = 0,
    last = performance.now()
  let stopTimer = () => {}
  const done = new Promise((resolve, reject) => {
    s.on('batch', (b) => {
      for (let k = 0; k < b.length && echoed < total; k++) {
        const from = b.rinfo(k)
        s.send(b.data(k), from.port, from.address)
        echoed++
      }
      last = performance.now()
      if (echoed >= total) resolve()
    })
    const started = performance.now()
    const timer = setInterval(() => {
      const t = performance.now()
      if (echoed === 0 && t - started > wait * 1000) reject(new Error(`no datagram for ${wait} s`))
      else if (echoed > 0 && t - last > ROUND_TRIP_TIMEOUT_MS) reject(new Error(`no datagram for 2 s after ${echoed} echoes (expected ${total})`))
    }, 100)
    stopTimer = () => clearInterval(timer)
  })
  process.stderr.write(`ready ${s.address().port}\n`)
  try {
    await done
  } finally {
    stopTimer()
  }
  const port = s.address().port
  s.close()
  print({ mode: 'pingpong-server', impl: 'netsock', port, echoed })
}

const modes = { pingpong, softpath, recv, blast, 'pingpong-server': pingpongServer }
if (!modes[mode]) fail(`usage: node bench/udp-peer.mjs <${Object.keys(modes).join('|')}> --option value ...`)
modes[mode]().catch((err) => fail(err.message))
