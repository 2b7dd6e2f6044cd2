// Latency mode, after sockperf's ping-pong and under-load tests: the client
// sends probes on a UDP stream, a netsock perf server echoes each one, and
// the client measures round trips.
//
// Probe: 'NSLP' (u32), sequence (u32), the server's hold time in µs
// (float64, written by the server), padding to the probe size. Each probe is
// sent with its own call, right after its send time is read.
//
// The receive times are the kernel's (SO_TIMESTAMPNS), on both ends, so a
// reply waiting for the event loop does not count. The server writes into
// each echo how long it held the probe (kernel receive to just before its
// send), and the client takes that out. Send times are taken in software
// just before the send call, unless the socket offers kernel transmit
// timestamps (SO_TIMESTAMPING through `socket.setTimestamping({ tx: true })`
// and 'txtimestamp' events): then those replace them (see tx-stamps.ts).
import { createSocket } from '../create.js'
import type { RecvBatch } from '../recv-batch.js'
import type { Socket } from '../socket.js'
import { nowMs } from './clock.js'
import { PerfError } from './errors.js'
import { zeroCounters, type Endpoint, type PerfStream, type StreamCounters } from './stream.js'
import { kernelTxStamps } from './tx-stamps.js'
import type { PerfLatency } from './types.js'
import { UdpReceiveStats } from './udp-stats.js'

export const PROBE_MAGIC = 0x4e534c50 // 'NSLP'
export const PROBE_HEADER = 16
const RING = 1 << 16
/** Pending round trips wait this long for a kernel transmit timestamp before the software one is used. */
const TX_STAMP_WAIT_MS = 200
/** Loopback datagrams used to calibrate the software clock against the kernel's. */
const CALIBRATION_ROUNDS = 200

/**
 * Time relative to the stream's creation, in µs, on the clock the kernel
 * stamps with (CLOCK_REALTIME). `fromKernel` converts a SO_TIMESTAMPNS value;
 * `now` reads the time in software. performance.timeOrigin can be tens of
 * µs off the kernel's clock, so `now` is calibrated once against it: datagrams
 * sent to this host's loopback and read back with their kernel receive stamps
 * give the offset (the smallest stamp-minus-send-time seen, which also holds
 * the few µs the send call takes to reach the kernel's stamp: `now` is then
 * an estimate of when the kernel would stamp a datagram sent at once).
 */
export class RelativeClock {
  readonly #perfBase = performance.now()
  readonly #wallBaseNs = BigInt(Math.round((performance.timeOrigin + this.#perfBase) * 1e6))
  #offsetUs = 0
  /** True when the calibration against the kernel clock worked. */
  readonly calibrated: boolean

  constructor(family: 4 | 6 = 4) {
    this.calibrated = this.#calibrate(family)
  }

  now(): number {
    return (performance.now() - this.#perfBase) * 1000 + this.#offsetUs
  }

  fromKernel(ns: bigint): number {
    return Number(ns - this.#wallBaseNs) / 1000
  }

  #calibrate(family: 4 | 6): boolean {
    const host = family === 6 ? '::1' : '127.0.0.1'
    let rx: Socket | null = null
    let tx: Socket | null = null
    try {
      rx = createSocket({ type: family === 6 ? 'udp6' : 'udp4' }).bind(0, host)
      rx.setAncillary({ timestamp: true })
      tx = createSocket({ type: family === 6 ? 'udp6' : 'udp4' })
      void tx.connect(rx.address().port, host) // UDP: connects at once, throws on failure
      const out = Buffer.alloc(16)
      const into = Buffer.alloc(64)
      let best = Infinity
      for (let i = 0; i < CALIBRATION_ROUNDS; i++) {
        const t = (performance.now() - this.#perfBase) * 1000
        tx.send(out)
        let r = rx.recvInto(into)
        for (let spin = 0; r === null && spin < 1000; spin++) r = rx.recvInto(into)
        const ts = r?.rinfo.timestampNs
        if (ts !== undefined) best = Math.min(best, this.fromKernel(ts) - t)
      }
      if (!Number.isFinite(best)) return false
      this.#offsetUs = best
      return true
    } catch {
      return false // no loopback here: software time as it is
    } finally {
      rx?.close()
      tx?.close()
    }
  }
}

function endpoints(sock: Socket): { local: Endpoint; remote: Endpoint } {
  const l = sock.address()
  const r = sock.remoteAddress()
  return { local: { address: l.address, port: l.port }, remote: { address: r.address, port: r.port } }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

class Samples {
  #data = new Float64Array(1024)
  length = 0
  push(v: number): void {
    if (this.length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2)
      bigger.set(this.#data)
      this.#data = bigger
    }
    this.#data[this.length++] = v
  }
  sorted(): Float64Array {
    return this.#data.slice(0, this.length).sort()
  }
  clear(): void {
    this.length = 0
  }
}

export class LatencyClientStream implements PerfStream {
  readonly sender = true
  readonly socket: number
  readonly local: Endpoint
  readonly remote: Endpoint
  lastReceive = nowMs()
  onError: (err: Error) => void = () => {}
  #sock: Socket
  #size: number
  #rate: number
  #probeTimeoutMs: number
  #clock: RelativeClock
  #txUs = new Float64Array(RING)
  #txSeq = new Float64Array(RING).fill(-1)
  #sent = 0
  #bytes = 0
  #echoed = 0
  #lostNow = 0
  #running = false
  #t0 = 0
  #timer: NodeJS.Timeout | null = null
  #interval = { rtt: new Samples(), hold: new Samples(), app: new Samples() }
  #total = { rtt: new Samples(), hold: new Samples(), app: new Samples() }
  #kernelTx: boolean
  #rxKernel = false
  /** Kernel transmit stamps: send index -> probe sequence, and probes waiting for their stamp. */
  #sendIndex = 0
  #indexSeq = new Float64Array(RING).fill(-1)
  #pending = new Map<number, { rxUs: number; holdUs: number; at: number }>()

  /** `rate` in bits per second: 0 for ping-pong (one probe in flight), else probes paced to it. */
  constructor(
    sock: Socket,
    readonly id: number,
    size: number,
    rate: number,
    probeTimeoutMs: number,
  ) {
    if (size < PROBE_HEADER) throw new RangeError(`latency probes need at least ${PROBE_HEADER} bytes, got ${size}`)
    this.#sock = sock
    this.socket = sock.fd
    ;({ local: this.local, remote: this.remote } = endpoints(sock))
    this.#size = size
    this.#rate = rate
    this.#probeTimeoutMs = probeTimeoutMs
    this.#clock = new RelativeClock(sock.address().family === 'IPv6' ? 6 : 4)
    sock.setAncillary({ timestamp: true })
    sock.on('batch', this.#onBatch)
    sock.on('error', (err) => {
      if (!this.#running) return
      this.stop()
      this.onError(new PerfError('ERR_PERF_STREAM', `latency stream failed: ${err.message}`, { cause: err }))
    })
    this.#kernelTx = kernelTxStamps(sock, (index, ns) => this.#onTxStamp(index, ns))
  }

  #probe(seq: number): Buffer {
    const b = Buffer.alloc(this.#size)
    b.writeUInt32BE(PROBE_MAGIC, 0)
    b.writeUInt32BE(seq >>> 0, 4)
    return b
  }

  /**
   * Sends probes `first`..`first+count-1`, one call each so each has its own
   * send time; returns false if the socket queued one (then wait for 'drain').
   */
  #send(first: number, count: number): boolean {
    for (let i = 0; i < count; i++) {
      const seq = first + i
      const probe = this.#probe(seq)
      if (this.#kernelTx) this.#indexSeq[this.#sendIndex++ % RING] = seq
      this.#txSeq[seq % RING] = seq
      this.#txUs[seq % RING] = this.#clock.now()
      let taken: boolean
      try {
        taken = this.#sock.send(probe)
      } catch (err) {
        this.stop()
        this.onError(new PerfError('ERR_PERF_STREAM', `unable to write to stream socket: ${(err as Error).message}`, { cause: err }))
        return false
      }
      this.#sent++
      this.#bytes += this.#size
      if (!taken) return false
    }
    return true
  }

  start(): void {
    this.#running = true
    this.#t0 = nowMs()
    if (this.#rate > 0) this.#pace()
    else this.#pingPong()
  }

  #pingPong(): void {
    if (!this.#running) return
    if (this.#timer) clearTimeout(this.#timer)
    this.#send(this.#sent + 1, 1)
    const seq = this.#sent
    this.#timer = setTimeout(() => {
      // No echo in time: lost; go on with the next probe.
      if (this.#txSeq[seq % RING] === seq) {
        this.#txSeq[seq % RING] = -1 // a late echo is not a round trip
        this.#lostNow++
      }
      this.#pingPong()
    }, this.#probeTimeoutMs)
  }

  #pace = (): void => {
    this.#timer = null
    if (!this.#running) return
    const due = Math.floor((((nowMs() - this.#t0) / 1000) * this.#rate) / (8 * this.#size))
    const n = Math.min(1024, due - this.#sent)
    if (n > 0 && !this.#send(this.#sent + 1, n)) {
      this.#sock.once('drain', () => this.#pace())
      return
    }
    const nextDue = this.#t0 + ((this.#sent + 1) * 8 * this.#size * 1000) / this.#rate
    this.#timer = setTimeout(this.#pace, Math.max(0, nextDue - nowMs()))
  }

  #onBatch = (batch: RecvBatch): void => {
    this.lastReceive = nowMs()
    const buf = batch.buffer
    let awaited = false
    // When JavaScript sees the echoes: the application's round trip, event loops included.
    const handled = this.#clock.now()
    for (let i = 0; i < batch.length; i++) {
      if (batch.size(i) < PROBE_HEADER) continue
      const at = batch.offset(i)
      if (buf.readUInt32BE(at) !== PROBE_MAGIC) continue
      const seq = buf.readUInt32BE(at + 4)
      if (this.#txSeq[seq % RING] !== seq) continue // a duplicate, or older than the ring
      const holdUs = buf.readDoubleBE(at + 8)
      const ts = batch.ancillary(i).timestampNs
      let rxUs: number
      if (ts !== undefined) {
        rxUs = this.#clock.fromKernel(ts)
        this.#rxKernel = true
      } else rxUs = this.#clock.now()
      this.#txSeq[seq % RING] = -1
      this.#echoed++
      this.#interval.app.push(handled - this.#txUs[seq % RING])
      this.#total.app.push(handled - this.#txUs[seq % RING])
      if (this.#kernelTx) this.#pending.set(seq, { rxUs, holdUs, at: nowMs() })
      else this.#record(rxUs - this.#txUs[seq % RING], holdUs)
      if (seq === this.#sent) awaited = true
    }
    if (this.#kernelTx) this.#settlePending(false)
    if (awaited && this.#rate === 0 && this.#running) this.#pingPong()
  }

  #record(rttUs: number, holdUs: number): void {
    const rtt = Math.max(0, rttUs - (Number.isFinite(holdUs) && holdUs > 0 ? holdUs : 0))
    this.#interval.rtt.push(rtt)
    this.#total.rtt.push(rtt)
    this.#interval.hold.push(holdUs)
    this.#total.hold.push(holdUs)
  }

  #onTxStamp(index: number, ns: bigint): void {
    const seq = this.#indexSeq[index % RING]
    if (seq < 0) return
    this.#txUs[seq % RING] = this.#clock.fromKernel(ns)
    const p = this.#pending.get(seq)
    if (p) {
      this.#pending.delete(seq)
      this.#record(p.rxUs - this.#txUs[seq % RING], p.holdUs)
    }
  }

  /** Round trips whose kernel transmit stamp never came use the software send time. */
  #settlePending(all: boolean): void {
    const old = nowMs() - TX_STAMP_WAIT_MS
    for (const [seq, p] of this.#pending) {
      if (!all && p.at > old) continue
      this.#pending.delete(seq)
      this.#record(p.rxUs - this.#txUs[seq % RING], p.holdUs)
    }
  }

  stop(): void {
    // Echoes still in flight are taken in; only sending stops.
    this.#running = false
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }

  #stats(s: { rtt: Samples; hold: Samples; app: Samples }, lost: number): PerfLatency {
    const rtt = s.rtt.sorted()
    const hold = s.hold.sorted()
    const app = s.app.sorted()
    const sum = rtt.reduce((a, v) => a + v, 0)
    return {
      samples: rtt.length,
      lost,
      minUs: rtt.length ? rtt[0] : 0,
      meanUs: rtt.length ? sum / rtt.length : 0,
      p50Us: percentile(rtt, 0.5),
      p90Us: percentile(rtt, 0.9),
      p99Us: percentile(rtt, 0.99),
      p999Us: percentile(rtt, 0.999),
      maxUs: rtt.length ? rtt[rtt.length - 1] : 0,
      serverHoldP50Us: percentile(hold, 0.5),
      appP50Us: percentile(app, 0.5),
      appP99Us: percentile(app, 0.99),
      txTimestamps: this.#kernelTx ? 'kernel' : 'software',
      rxTimestamps: this.#rxKernel ? 'kernel' : 'software',
    }
  }

  interval(): PerfLatency {
    if (this.#kernelTx) this.#settlePending(false)
    const out = this.#stats(this.#interval, this.#lostNow)
    this.#interval.rtt.clear()
    this.#interval.hold.clear()
    this.#interval.app.clear()
    this.#lostNow = 0
    return out
  }

  total(): PerfLatency {
    if (this.#kernelTx) this.#settlePending(true)
    return this.#stats(this.#total, Math.max(0, this.#sent - this.#echoed))
  }

  counters(): StreamCounters {
    return { ...zeroCounters(), bytes: this.#bytes, packets: this.#sent }
  }

  close(): void {
    this.stop()
    this.#sock.close()
  }
}

/** The server's side: echoes every probe at once, with the time it held it. */
export class LatencyEchoStream implements PerfStream {
  readonly sender = false
  readonly socket: number
  readonly local: Endpoint
  readonly remote: Endpoint
  lastReceive = nowMs()
  onError: (err: Error) => void = () => {}
  #sock: Socket
  #clock: RelativeClock
  #stats = new UdpReceiveStats()
  #running = false

  constructor(
    sock: Socket,
    readonly id: number,
  ) {
    this.#sock = sock
    this.socket = sock.fd
    ;({ local: this.local, remote: this.remote } = endpoints(sock))
    this.#clock = new RelativeClock(sock.address().family === 'IPv6' ? 6 : 4)
    sock.setAncillary({ timestamp: true })
    sock.on('batch', this.#onBatch)
    sock.on('error', (err) => {
      if (this.#running) this.onError(new PerfError('ERR_PERF_STREAM', `latency stream failed: ${err.message}`, { cause: err }))
    })
  }

  #onBatch = (batch: RecvBatch): void => {
    this.lastReceive = nowMs()
    const buf = batch.buffer
    const replies: Buffer[] = []
    const rx: number[] = []
    for (let i = 0; i < batch.length; i++) {
      const size = batch.size(i)
      if (size < PROBE_HEADER) continue
      const at = batch.offset(i)
      if (buf.readUInt32BE(at) !== PROBE_MAGIC) continue
      // A copy: the batch's memory is reused once this handler returns, and a queued send keeps its buffer.
      replies.push(Buffer.from(batch.data(i)))
      const ts = batch.ancillary(i).timestampNs
      rx.push(ts === undefined ? this.#clock.now() : this.#clock.fromKernel(ts))
      if (this.#running) this.#stats.add(buf.readUInt32BE(at + 4), size, 0)
    }
    if (replies.length === 0) return
    const sendAt = this.#clock.now()
    for (let i = 0; i < replies.length; i++) replies[i].writeDoubleBE(sendAt - rx[i], 8)
    try {
      this.#sock.sendMany(replies)
    } catch (err) {
      if (this.#running) this.onError(new PerfError('ERR_PERF_STREAM', `unable to write to stream socket: ${(err as Error).message}`, { cause: err }))
    }
  }

  start(): void {
    this.#running = true
  }

  stop(): void {
    this.#running = false
  }

  counters(): StreamCounters {
    const s = this.#stats
    return { ...zeroCounters(), bytes: s.bytes, packets: s.packets, received: s.received, lost: s.lost, outOfOrder: s.outOfOrder, duplicates: s.duplicates }
  }

  close(): void {
    this.stop()
    this.#sock.close()
  }
}
