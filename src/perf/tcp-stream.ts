// TCP data streams: Node's net.Socket carries the bytes (a receiver reads
// into one reused buffer through `onread`, so counting allocates nothing);
// netsock opens and tunes the socket before Node adopts it, and reads
// struct tcp_info for retransmits, congestion window and RTT, the figures
// iperf3 reports for a TCP sender.
import crypto from 'node:crypto'
import net from 'node:net'
import { createSocket } from '../create.js'
import { fdOf } from '../fdof.js'
import { tcpInfo } from '../tcp-info.js'
import { nowMs } from './clock.js'
import { PerfError } from './errors.js'
import { zeroCounters, type Endpoint, type PerfStream, type StreamCounters } from './stream.js'

const SLICE_MS = 2

/** A connected descriptor handed to Node, reading into one buffer; `reader` may be swapped later. */
export interface AdoptedTcp {
  socket: net.Socket
  reader: (bytes: Buffer) => void
}

export function adoptTcp(fd: number, readBuffer: number): AdoptedTcp {
  const adopted: AdoptedTcp = { socket: null as unknown as net.Socket, reader: () => {} }
  const buffer = Buffer.allocUnsafe(readBuffer)
  adopted.socket = new net.Socket({
    fd,
    readable: true,
    writable: true,
    onread: {
      buffer,
      callback: (n: number, buf: Uint8Array) => {
        adopted.reader(Buffer.from(buf.buffer, buf.byteOffset, n))
        return true
      },
    },
  } as net.SocketConstructorOpts)
  return adopted
}

function endpoints(s: net.Socket): { local: Endpoint; remote: Endpoint } {
  return {
    local: { address: s.localAddress ?? '', port: s.localPort ?? 0 },
    remote: { address: s.remoteAddress ?? '', port: s.remotePort ?? 0 },
  }
}

/** The congestion control algorithm of a Node TCP socket (TCP_CONGESTION), or undefined. */
export function congestionOf(s: net.Socket): string | undefined {
  try {
    const view = createSocket({ fd: fdOf(s), owned: false })
    try {
      return String(view.getOption('TCP_CONGESTION'))
    } finally {
      view.close()
    }
  } catch {
    return undefined
  }
}

abstract class TcpStream {
  readonly socket: number
  readonly local: Endpoint
  readonly remote: Endpoint
  onError: (err: Error) => void = () => {}
  protected running = false
  protected readonly tcp: AdoptedTcp

  constructor(
    tcp: AdoptedTcp,
    readonly id: number,
  ) {
    this.tcp = tcp
    this.socket = fdOf(tcp.socket)
    ;({ local: this.local, remote: this.remote } = endpoints(tcp.socket))
    tcp.socket.on('error', (err) => {
      if (this.running) this.onError(new PerfError('ERR_PERF_STREAM', `stream socket failed: ${err.message}`, { cause: err }))
    })
  }

  stop(): void {
    this.running = false
  }

  /** The congestion control algorithm in use (TCP_CONGESTION). */
  congestion(): string | undefined {
    return congestionOf(this.tcp.socket)
  }

  close(): void {
    this.stop()
    this.tcp.socket.destroy()
  }
}

export class TcpOutStream extends TcpStream implements PerfStream {
  readonly sender = true
  readonly lastReceive = 0
  #block: Buffer
  #rate: number
  #written = 0
  #t0 = 0
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null
  #waiting = false

  /** `rate` in bits per second (0: as fast as TCP takes it). */
  constructor(tcp: AdoptedTcp, id: number, blksize: number, rate: number) {
    super(tcp, id)
    this.#block = crypto.randomFillSync(Buffer.allocUnsafe(blksize))
    this.#rate = rate
    tcp.socket.on('drain', () => {
      this.#waiting = false
      if (this.running) this.#pump()
    })
  }

  start(): void {
    this.#t0 = nowMs()
    this.running = true
    this.#timer = setImmediate(this.#pump)
  }

  override stop(): void {
    super.stop()
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout)
      clearImmediate(this.#timer as NodeJS.Immediate)
      this.#timer = null
    }
  }

  #pump = (): void => {
    this.#timer = null
    if (!this.running || this.#waiting) return
    const s = this.tcp.socket
    const size = this.#block.length
    const sliceEnd = nowMs() + SLICE_MS
    while (nowMs() < sliceEnd) {
      if (this.#rate > 0 && ((nowMs() - this.#t0) / 1000) * (this.#rate / 8) < this.#written + size) break
      this.#written += size
      // The same block each time: Node keeps a reference while it waits, and TCP payload is never looked at.
      if (!s.write(this.#block)) {
        this.#waiting = true
        return
      }
    }
    if (this.#rate === 0) this.#timer = setImmediate(this.#pump)
    else {
      const nextDue = this.#t0 + ((this.#written + size) * 8 * 1000) / this.#rate
      this.#timer = setTimeout(this.#pump, Math.max(0, nextDue - nowMs()))
    }
  }

  counters(): StreamCounters {
    const c = zeroCounters()
    // Bytes the kernel took, as iperf3 counts write() results: Node's count
    // less what it still holds (a chunk libuv is partway through counts as
    // held), unless tcp_info says exactly: sent once or more, plus not yet sent.
    c.bytes = Math.max(0, this.#written - this.tcp.socket.writableLength)
    try {
      const info = tcpInfo(this.tcp.socket)
      if (info.bytes_sent !== undefined && info.bytes_retrans !== undefined && info.notsent_bytes !== undefined) {
        c.bytes = info.bytes_sent - info.bytes_retrans + info.notsent_bytes
      }
      c.retransmits = info.total_retrans
      c.cwnd = info.snd_cwnd * info.snd_mss
      c.sndWnd = info.snd_wnd ?? 0
      c.rtt = info.rtt
      c.rttvar = info.rttvar
      c.pmtu = info.pmtu
    } catch {
      // the socket is already closed: keep Node's byte count
    }
    return c
  }
}

export class TcpInStream extends TcpStream implements PerfStream {
  readonly sender = false
  lastReceive = nowMs()
  #bytes = 0

  constructor(tcp: AdoptedTcp, id: number) {
    super(tcp, id)
    tcp.reader = (bytes) => {
      this.lastReceive = nowMs()
      if (this.running) this.#bytes += bytes.length
    }
  }

  start(): void {
    this.running = true
  }

  counters(): StreamCounters {
    return { ...zeroCounters(), bytes: this.#bytes }
  }
}
