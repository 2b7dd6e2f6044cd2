// UDP data streams on netsock's batched path. The sender writes iperf3's
// header into a run of datagrams laid end to end in one buffer and hands the
// run to sendSegments (UDP GSO: up to 64 datagrams per system call, sendmmsg
// where GSO is missing), paced to the target rate. The receiver reads with
// the zero-copy 'batch' event (recvmmsg, UDP GRO trains split back) and takes
// each datagram's arrival time from the kernel (SO_TIMESTAMPNS), so jitter
// does not include the event loop.
import crypto from 'node:crypto'
import type { RecvBatch } from '../recv-batch.js'
import type { Socket } from '../socket.js'
import { nowMs, wallUs } from './clock.js'
import { PerfError } from './errors.js'
import { readUdpSeq, readUdpTimeUs, udpHeaderSize, writeUdpHeader } from './protocol.js'
import { zeroCounters, type Endpoint, type PerfStream, type StreamCounters } from './stream.js'
import { UdpReceiveStats } from './udp-stats.js'

/** Bytes of datagrams prepared per send call: several GSO calls' worth, bounded for large datagrams. */
const RUN_BYTES = 256 * 1024
const MAX_RUN = 128
/** Longest stretch an unlimited sender keeps the event loop, in ms. */
const SLICE_MS = 2

function endpoints(sock: Socket): { local: Endpoint; remote: Endpoint } {
  const l = sock.address()
  const r = sock.remoteAddress()
  return { local: { address: l.address, port: l.port }, remote: { address: r.address, port: r.port } }
}

function streamError(err: unknown, what: 'write to' | 'read from'): PerfError {
  const e = err as Error & { code?: string }
  return new PerfError('ERR_PERF_STREAM', `unable to ${what} stream socket: ${e.message}`, { cause: err })
}

export class UdpOutStream implements PerfStream {
  readonly sender = true
  readonly socket: number
  readonly local: Endpoint
  readonly remote: Endpoint
  readonly lastReceive = 0
  onError: (err: Error) => void = () => {}
  #sock: Socket
  #blksize: number
  #rate: number
  #counter64: boolean
  #run: number
  #buf: Buffer
  #packets = 0
  #bytes = 0
  #t0 = 0
  #running = false
  #draining = false
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null

  /** `rate` in bits per second (0: as fast as the socket takes them). */
  constructor(
    sock: Socket,
    readonly id: number,
    blksize: number,
    rate: number,
    counter64: boolean,
  ) {
    this.#sock = sock
    this.socket = sock.fd
    ;({ local: this.local, remote: this.remote } = endpoints(sock))
    this.#blksize = blksize
    this.#rate = rate
    this.#counter64 = counter64
    this.#run = Math.max(1, Math.min(MAX_RUN, Math.floor(RUN_BYTES / blksize)))
    this.#buf = this.#newBuffer()
    sock.on('error', (err) => this.#fail(err))
  }

  #newBuffer(): Buffer {
    // Random payload, as iperf3 sends, so nothing on the path compresses it.
    return crypto.randomFillSync(Buffer.allocUnsafe(this.#run * this.#blksize))
  }

  #fail(err: unknown): void {
    if (!this.#running) return
    this.stop()
    this.onError(streamError(err, 'write to'))
  }

  start(): void {
    this.#t0 = nowMs()
    this.#running = true
    this.#timer = setImmediate(this.#pump)
  }

  stop(): void {
    this.#running = false
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout)
      clearImmediate(this.#timer as NodeJS.Immediate)
      this.#timer = null
    }
  }

  /** How many datagrams the rate allows now. */
  #owed(now: number): number {
    if (this.#rate === 0) return this.#run
    const due = Math.floor((((now - this.#t0) / 1000) * this.#rate) / (8 * this.#blksize))
    return Math.min(this.#run, due - this.#packets)
  }

  #pump = (): void => {
    this.#timer = null
    if (!this.#running || this.#draining) return
    const sliceEnd = nowMs() + SLICE_MS
    for (;;) {
      const now = nowMs()
      const n = this.#owed(now)
      if (n <= 0 || now >= sliceEnd) break
      const size = this.#blksize
      // One send time for the run: its datagrams leave in the same system calls.
      const t = wallUs()
      for (let i = 0; i < n; i++) writeUdpHeader(this.#buf, i * size, t, this.#packets + 1 + i, this.#counter64)
      let ok: boolean
      try {
        ok = this.#sock.sendSegments(this.#buf.subarray(0, n * size), size)
      } catch (err) {
        this.#fail(err)
        return
      }
      this.#packets += n
      this.#bytes += n * size
      if (!ok) {
        // The socket queued the rest with a reference to this buffer: leave it
        // alone and write the next runs into a fresh one, after 'drain'.
        this.#buf = this.#newBuffer()
        this.#draining = true
        this.#sock.once('drain', () => {
          this.#draining = false
          if (this.#running) this.#pump()
        })
        return
      }
    }
    if (this.#rate === 0) {
      this.#timer = setImmediate(this.#pump)
    } else {
      const nextDue = this.#t0 + ((this.#packets + 1) * 8 * this.#blksize * 1000) / this.#rate
      this.#timer = setTimeout(this.#pump, Math.max(0, nextDue - nowMs()))
    }
  }

  counters(): StreamCounters {
    return { ...zeroCounters(), bytes: this.#bytes, packets: this.#packets }
  }

  close(): void {
    this.stop()
    this.#sock.close()
  }
}

export class UdpInStream implements PerfStream {
  readonly sender = false
  readonly socket: number
  readonly local: Endpoint
  readonly remote: Endpoint
  lastReceive = nowMs()
  onError: (err: Error) => void = () => {}
  #sock: Socket
  #counter64: boolean
  #stats = new UdpReceiveStats()
  #running = false
  #baseNs: bigint | null = null
  #baseSentUs = NaN

  constructor(
    sock: Socket,
    readonly id: number,
    counter64: boolean,
  ) {
    this.#sock = sock
    this.socket = sock.fd
    ;({ local: this.local, remote: this.remote } = endpoints(sock))
    this.#counter64 = counter64
    sock.setAncillary({ timestamp: true })
    try {
      // GSO trains from the sender arrive whole and are split in the batch.
      sock.setOption('UDP_GRO', true)
    } catch {
      // kernels before 5.0: datagrams arrive one by one
    }
    sock.on('batch', this.#onBatch)
    sock.on('error', (err) => {
      if (this.#running) this.onError(streamError(err, 'read from'))
    })
  }

  #onBatch = (batch: RecvBatch): void => {
    this.lastReceive = nowMs()
    if (!this.#running) return
    const buf = batch.buffer
    const header = udpHeaderSize(this.#counter64)
    const stats = this.#stats
    for (let i = 0; i < batch.length; i++) {
      const size = batch.size(i)
      if (size < header) continue
      const at = batch.offset(i)
      const sentUs = readUdpTimeUs(buf, at)
      const seq = readUdpSeq(buf, at, this.#counter64)
      const ts = batch.ancillary(i).timestampNs
      let arrivalUs: number
      if (ts !== undefined) {
        // Relative to the first arrival, so the microseconds keep their precision.
        if (this.#baseNs === null) this.#baseNs = ts
        arrivalUs = Number(ts - this.#baseNs) / 1000
      } else arrivalUs = nowMs() * 1000
      if (Number.isNaN(this.#baseSentUs)) this.#baseSentUs = sentUs
      stats.add(seq, size, arrivalUs - (sentUs - this.#baseSentUs))
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
    return {
      ...zeroCounters(),
      bytes: s.bytes,
      packets: s.packets,
      received: s.received,
      lost: s.lost,
      outOfOrder: s.outOfOrder,
      duplicates: s.duplicates,
      jitterMs: s.jitterUs / 1000,
    }
  }

  close(): void {
    this.stop()
    this.#sock.close()
  }
}
