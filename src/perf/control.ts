// The control connection: exact-length reads with a deadline, one-byte
// states and length-prefixed JSON (iperf3's Nread/Nwrite, JSON_read/JSON_write).
import type net from 'node:net'
import { PerfError } from './errors.js'
import { iperfErrorText, IperfErrno } from './protocol.js'

/** Largest JSON document accepted from a peer: iperf3's are a few kB. */
const MAX_JSON = 16 << 20

interface Waiter {
  n: number
  resolve: (b: Buffer) => void
  reject: (e: Error) => void
  timer?: NodeJS.Timeout
}

export class ControlChannel {
  readonly socket: net.Socket
  #chunks: Buffer[] = []
  #have = 0
  #waiter: Waiter | null = null
  #failure: Error | null = null
  #timeoutMs: number
  /** What the peer is called in messages ('server' or 'client'). */
  #peer: string

  /**
   * Reads what arrives on `socket` ('data' events), or only what `feed()`
   * is given when `fed` is true (a socket reading through `onread`).
   */
  constructor(socket: net.Socket, timeoutMs: number, peer: 'server' | 'client', fed = false) {
    this.socket = socket
    this.#timeoutMs = timeoutMs
    this.#peer = peer
    if (!fed) socket.on('data', (d: Buffer) => this.feed(d, false))
    const closed = (err?: Error): void => {
      if (this.#failure) return
      this.#failure = new PerfError(
        'ERR_PERF_CONTROL_CLOSED',
        `${iperfErrorText(IperfErrno.IECTRLCLOSE)} (the ${peer} closed it${err ? `: ${err.message}` : ''})`,
        {
          cause: err,
          iperfErrno: IperfErrno.IECTRLCLOSE,
        },
      )
      this.#serve()
    }
    socket.on('end', () => closed())
    socket.on('close', () => closed())
    socket.on('error', (err) => closed(err))
  }

  /** Bytes that arrived; copied unless `copy` is false (the caller gives them up). */
  feed(bytes: Buffer, copy = true): void {
    if (bytes.length === 0) return
    this.#chunks.push(copy ? Buffer.from(bytes) : bytes)
    this.#have += bytes.length
    this.#serve()
  }

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.#have
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks)
    const out = all.subarray(0, n)
    const rest = all.subarray(n)
    this.#chunks = rest.length ? [rest] : []
    this.#have = rest.length
    return out
  }

  #serve(): void {
    const w = this.#waiter
    if (!w) return
    if (this.#have >= w.n) {
      this.#waiter = null
      if (w.timer) clearTimeout(w.timer)
      w.resolve(this.#take(w.n))
    } else if (this.#failure) {
      this.#waiter = null
      if (w.timer) clearTimeout(w.timer)
      w.reject(this.#failure)
    }
  }

  /** Exactly `n` bytes, or a PerfError when the peer closes or stays silent past the deadline. */
  read(n: number, timeoutMs = this.#timeoutMs, what = 'a control message'): Promise<Buffer> {
    if (this.#waiter) return Promise.reject(new Error('ControlChannel: one read at a time'))
    return new Promise<Buffer>((resolve, reject) => {
      const w: Waiter = { n, resolve, reject }
      if (Number.isFinite(timeoutMs)) {
        w.timer = setTimeout(() => {
          if (this.#waiter !== w) return
          this.#waiter = null
          reject(new PerfError('ERR_PERF_TIMEOUT', `no ${what} from the ${this.#peer} within ${timeoutMs} ms`, { iperfErrno: IperfErrno.IENOMSG }))
        }, timeoutMs)
      }
      this.#waiter = w
      this.#serve()
    })
  }

  /** Gives up a pending read (its promise never settles). */
  cancelRead(): void {
    const w = this.#waiter
    if (w?.timer) clearTimeout(w.timer)
    this.#waiter = null
  }

  /** The next state byte, signed. */
  async readState(timeoutMs?: number): Promise<number> {
    return (await this.read(1, timeoutMs, 'control message')).readInt8(0)
  }

  /** A 32-bit big-endian integer (SERVER_ERROR's i_errno and errno). */
  async readInt32(timeoutMs?: number): Promise<number> {
    return (await this.read(4, timeoutMs)).readInt32BE(0)
  }

  /** A length-prefixed JSON document. */
  async readJson(timeoutMs?: number, what = 'JSON document'): Promise<Record<string, unknown>> {
    const size = (await this.read(4, timeoutMs, what)).readUInt32BE(0)
    if (size === 0 || size > MAX_JSON) throw new PerfError('ERR_PERF_PROTOCOL', `the ${this.#peer} sent a ${what} of ${size} bytes: not iperf3's protocol`)
    const text = (await this.read(size, timeoutMs, what)).toString('utf8')
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new PerfError('ERR_PERF_PROTOCOL', `the ${this.#peer} sent a ${what} that is not JSON: not iperf3's protocol`)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new PerfError('ERR_PERF_PROTOCOL', `the ${this.#peer} sent a ${what} that is not a JSON object`)
    }
    return value as Record<string, unknown>
  }

  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }

  writeState(state: number): void {
    const b = Buffer.alloc(1)
    b.writeInt8(state)
    this.write(b)
  }

  writeInt32(value: number): void {
    const b = Buffer.alloc(4)
    b.writeInt32BE(value)
    this.write(b)
  }

  writeJson(value: unknown): void {
    const body = Buffer.from(JSON.stringify(value), 'utf8')
    const head = Buffer.alloc(4)
    head.writeUInt32BE(body.length)
    this.write(Buffer.concat([head, body]))
  }

  /** Resolves once everything written has been handed to the kernel (or the socket is gone). */
  flushed(): Promise<void> {
    const s = this.socket
    if (s.destroyed || s.writableLength === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        s.off('drain', done)
        s.off('close', done)
        resolve()
      }
      s.once('drain', done)
      s.once('close', done)
    })
  }

  close(): void {
    this.cancelRead()
    this.socket.destroy()
  }
}
