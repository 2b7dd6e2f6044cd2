// The datagram data path of one socket: synchronous zero-copy sends with a
// queue behind them for EAGAIN, and the receive loop that fills the socket's
// receive memory with recvmmsg and delivers batches, copies and iterator items.
// Native calls return negative errno; errors are built here.
import os from 'node:os'
import { constants } from './constants.js'
import { abortError, invalidArgType, systemError } from './errors.js'
import { addon, type Bytes } from './native.js'
import { readAncillary, RecvBatch, RecvMemory, type Ancillary } from './recv-batch.js'
import { decodeSockaddr, SockaddrCache, type RemoteInfo } from './sockaddr.js'
import { SocketStats, STAT } from './stats.js'
import { validateAddress, validateBytes, validateInteger } from './validate.js'

const EAGAIN = -os.constants.errno.EAGAIN
const EIO = -os.constants.errno.EIO
const EACCES = -os.constants.errno.EACCES
const BROADCAST_HINT = "sending to a broadcast address needs SO_BROADCAST: createSocket({ broadcast: true }) or setOption('SO_BROADCAST', true)"
const L = addon.ioLayout
/** Largest UDP payload over IPv4, and so the most one GSO send may carry. */
const MAX_GSO_BYTES = 65507
/** Segments per GSO send the kernel accepts everywhere (UDP_MAX_SEGMENTS). */
const MAX_GSO_SEGMENTS = 64
/** Receive batches handled per readiness event before yielding to the loop. */
const ROUNDS_PER_WAKEUP = 8

/** What the data path needs from its socket. */
export interface DatagramHost {
  readonly fd: number
  emit(event: string | symbol, ...args: unknown[]): boolean
  listenerCount(event: string | symbol): number
  updatePoll(): void
}

/** A datagram as 'message' and async iteration deliver it: a copy, with its sender. */
export interface Message {
  /** The datagram's bytes (a copy the receiver owns). */
  data: Buffer
  /** The sender, and the ancillary data chosen with `setAncillary()`. */
  rinfo: RemoteInfo & Ancillary
}

/**
 * An entry of sendMany: bytes (an `ArrayBufferView` or `ArrayBuffer`),
 * optionally with their own destination.
 */
export type SendManyEntry = Bytes | {
  /** The datagram's bytes. */
  data: Bytes
  /** Destination port; defaults to the `port` given to sendMany. */
  port?: number
  /** Destination address; defaults to the `address` given to sendMany. */
  address?: string
}

/** Result of recvInto. */
export interface RecvIntoResult {
  /** Bytes written into the buffer. */
  bytes: number
  /** The datagram's real size (larger than `bytes` when truncated). */
  size: number
  /** True when the datagram was larger than the buffer and its tail was lost (MSG_TRUNC). */
  truncated: boolean
  /** The sender, and the ancillary data chosen with `setAncillary()`. */
  rinfo: RemoteInfo & Ancillary
}

export interface RecvMemoryOptions {
  /** Datagrams per recvmmsg call (default 64, at most 1024). */
  batchSize?: number
  /** Bytes per receive slot (default 65535: no UDP datagram or GRO train is cut). */
  messageSize?: number
}

const byteLengthOf = (data: Bytes): number => data.byteLength

const detachedError = (): Error =>
  Object.assign(new Error("A queued datagram's buffer was detached before it could be sent"), { code: 'ERR_BUFFER_DETACHED' })

function viewOf(data: Bytes, offset: number, length: number): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset + offset, length)
  return new Uint8Array(data, offset, length)
}

class MessageIterator implements AsyncIterableIterator<Message> {
  queue: Message[] = []
  head = 0
  waiting: { resolve: (r: IteratorResult<Message>) => void; reject: (e: Error) => void } | null = null
  done = false
  failure: Error | null = null

  /** Runs once when the iteration ends, however it ends (removes the abort listener). */
  onEnd: (() => void) | null = null

  constructor(
    readonly highWaterMark: number,
    private readonly detach: (it: MessageIterator) => void,
  ) {}

  get size(): number {
    return this.queue.length - this.head
  }

  get full(): boolean {
    return this.size >= this.highWaterMark
  }

  push(m: Message): void {
    if (this.waiting) {
      const w = this.waiting
      this.waiting = null
      w.resolve({ value: m, done: false })
    } else this.queue.push(m)
  }

  end(err?: Error): void {
    if (this.done) return
    this.done = true
    this.onEnd?.()
    this.onEnd = null
    const w = this.waiting
    this.waiting = null
    if (err && !w) this.failure = err // a waiting next() takes the error; otherwise the next call does
    if (w) {
      if (err) w.reject(err)
      else w.resolve({ value: undefined, done: true })
    }
    this.detach(this) // an ended iteration no longer reads
  }

  next(): Promise<IteratorResult<Message>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      this.detach(this) // lets the socket resume reading if it had paused for us
      return Promise.resolve({ value, done: false })
    }
    if (this.failure) {
      const err = this.failure
      this.failure = null
      this.detach(this)
      return Promise.reject(err)
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }))
  }

  return(): Promise<IteratorResult<Message>> {
    this.end()
    this.queue = []
    this.head = 0
    this.detach(this)
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}

export class DatagramIo {
  readonly stats = new SocketStats()
  #host: DatagramHost
  #family: 4 | 6 | 0
  #cache: SockaddrCache | null
  #lastPort: unknown = undefined
  #lastAddress: unknown = undefined
  #last: Uint8Array | undefined = undefined
  // The send queue: parallel arrays from #head on.
  #queueViews: Uint8Array[] = []
  #queueLengths: number[] = []
  #queueAddrs: (Uint8Array | undefined)[] = []
  #head = 0
  #gso: boolean
  #memOptions: Required<RecvMemoryOptions>
  #mem: RecvMemory | null = null
  #batch: RecvBatch | null = null
  #iterators = new Set<MessageIterator>()
  // Copies of datagrams read from the kernel after their consumer went away
  // mid-batch (a once('message') listener): handed to the next consumer first.
  #backlog: Message[] = []
  #backlogScheduled = false
  #recvMeta = new Int32Array(L.metaStride)
  #recvAddr = new Uint8Array(L.addrStride)

  constructor(host: DatagramHost, domain: number, family: 4 | 6 | 0, gso: boolean, memory: RecvMemoryOptions = {}) {
    this.#host = host
    this.#family = family
    this.#cache = family === 0 ? null : new SockaddrCache(domain)
    this.#gso = gso
    this.#memOptions = {
      batchSize: validateInteger(memory.batchSize ?? 64, 'options.recvBatchSize', 1, L.maxBatch),
      messageSize: validateInteger(memory.messageSize ?? 65535, 'options.recvMessageSize', 1, 1 << 20),
    }
  }

  // ---- send ----------------------------------------------------------------

  /** The encoded destination, or undefined for "the connected peer". */
  destination(port: unknown, address: unknown, name = 'port'): Uint8Array | undefined {
    if (port === undefined && address === undefined) return undefined
    // The same destination as last time was validated then: skip the checks.
    if (port === this.#lastPort && address === this.#lastAddress && this.#last) return this.#last
    if (!this.#cache) throw invalidArgType(name, 'undefined on this socket (it sends to its bound or connected peer)', port)
    const p = validateInteger(port, name, 0, 65535)
    const host = address === undefined ? (this.#family === 4 ? '127.0.0.1' : '::1') : validateAddress(address, 'address', this.#family as 4 | 6)
    const encoded = this.#cache.get(host, p)
    this.#lastPort = port
    this.#lastAddress = address
    this.#last = encoded
    return encoded
  }

  get queued(): number {
    return this.#queueViews.length - this.#head
  }

  #enqueue(view: Uint8Array, addr: Uint8Array | undefined): void {
    // A view of this socket's receive memory (echoing batch.data(i)) would be
    // overwritten by the next receive while it waits: queue a copy instead.
    if (this.#mem && view.buffer === this.#mem.data.buffer) view = view.slice()
    this.#queueViews.push(view)
    this.#queueLengths.push(view.byteLength)
    this.#queueAddrs.push(addr)
    this.stats.raw[STAT.queued] = this.queued
  }

  #sent(datagrams: number, bytes: number): void {
    this.stats.raw[STAT.sent] += datagrams
    this.stats.raw[STAT.bytesSent] += bytes
  }

  #queueAndWait(view: Uint8Array, addr: Uint8Array | undefined): false {
    this.#enqueue(view, addr)
    this.#host.updatePoll()
    return false
  }

  send(data: Bytes, offset: number, length: number, addr: Uint8Array | undefined): boolean {
    if (this.queued > 0) return this.#queueAndWait(viewOf(data, offset, length), addr)
    const rc = addon.send(this.#host.fd, data, offset, length, addr)
    if (rc >= 0) {
      this.#sent(1, rc)
      return true
    }
    if (rc === EAGAIN) {
      this.stats.raw[STAT.eagain]++
      return this.#queueAndWait(viewOf(data, offset, length), addr)
    }
    throw this.#sendError(rc, 'sendto', addr)
  }

  #sendError(rc: number, syscall: string, addr: Uint8Array | undefined): Error {
    // udp_sendmsg/raw_sendmsg refuse a broadcast destination with EACCES
    // unless SO_BROADCAST is set (man 7 ip, "SO_BROADCAST").
    const hint = rc === EACCES && this.#family === 4 ? BROADCAST_HINT : undefined
    if (!addr) return systemError(rc, syscall, { hint })
    const { address, port } = decodeSockaddr(addr, 0, 0)
    return systemError(rc, syscall, { address, port, hint })
  }

  sendMany(list: readonly SendManyEntry[], port: unknown, address: unknown): number {
    if (!Array.isArray(list)) throw invalidArgType('list', 'an array', list)
    const shared = this.destination(port, address)
    const datas: Bytes[] = new Array(list.length)
    let addrs: Uint8Array | (Uint8Array | undefined)[] | undefined = shared
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]
      if (ArrayBuffer.isView(entry) || entry instanceof ArrayBuffer) {
        // Only an empty view can be detached: check (and build the name) just then.
        datas[i] = entry.byteLength > 0 ? entry : validateBytes(entry, `list[${i}]`)
        if (Array.isArray(addrs)) addrs[i] = shared
        continue
      }
      if (entry === null || typeof entry !== 'object' || !('data' in entry)) {
        throw invalidArgType(`list[${i}]`, 'bytes or { data, port?, address? }', entry)
      }
      datas[i] = validateBytes(entry.data, `list[${i}].data`)
      if (entry.port !== undefined || entry.address !== undefined) {
        if (!Array.isArray(addrs)) addrs = new Array(list.length).fill(shared)
        addrs[i] = this.destination(entry.port ?? port, entry.address ?? address, `list[${i}].port`)
      } else if (Array.isArray(addrs)) addrs[i] = shared
    }
    const addrAt = (i: number): Uint8Array | undefined => (Array.isArray(addrs) ? addrs[i] : addrs)
    let sent = 0
    if (this.queued === 0) {
      while (sent < datas.length) {
        const rc = addon.sendMany(this.#host.fd, datas, addrs, sent, Math.min(datas.length - sent, L.maxBatch))
        if (rc > 0) {
          let bytes = 0
          for (let i = sent; i < sent + rc; i++) bytes += byteLengthOf(datas[i])
          this.#sent(rc, bytes)
          sent += rc
          continue
        }
        if (rc === EAGAIN) {
          this.stats.raw[STAT.eagain]++
          break
        }
        const err = this.#sendError(rc, 'sendmmsg', addrAt(sent)) as Error & { sent: number }
        err.sent = sent // how many went before the failing datagram; the rest were not sent
        throw err
      }
    }
    for (let i = sent; i < datas.length; i++) this.#enqueue(viewOf(datas[i], 0, byteLengthOf(datas[i])), addrAt(i))
    if (sent < datas.length) this.#host.updatePoll()
    return sent
  }

  sendSegments(data: Bytes, segment: number, addr: Uint8Array | undefined): boolean {
    const total = byteLengthOf(data)
    const perCall = Math.max(1, Math.min(MAX_GSO_SEGMENTS, Math.floor(MAX_GSO_BYTES / segment))) * segment
    let offset = 0
    if (this.queued === 0) {
      while (offset < total) {
        const chunk = Math.min(perCall, total - offset)
        // One datagram needs no GSO; several use it when the kernel has it.
        const useGso = this.#gso && chunk > segment
        const rc = addon.sendSegments(this.#host.fd, data, offset, chunk, segment, addr, useGso)
        if (rc >= 0) {
          this.#sent(Math.ceil(rc / segment), rc)
          offset += rc
          continue
        }
        if (rc === EIO && useGso) {
          // The route's device cannot offload the checksum: fall back to sendmmsg for good.
          this.#gso = false
          continue
        }
        if (rc === EAGAIN) {
          this.stats.raw[STAT.eagain]++
          break
        }
        throw this.#sendError(rc, useGso ? 'sendmsg' : 'sendmmsg', addr)
      }
    }
    if (offset >= total) return true
    for (let at = offset; at < total; at += segment) this.#enqueue(viewOf(data, at, Math.min(segment, total - at)), addr)
    this.#host.updatePoll()
    return false
  }

  get gso(): boolean {
    return this.#gso
  }

  /** Sends what the queue holds, in batches; emits 'drain' when it empties. */
  #flush(): void {
    const fd = this.#host.fd
    if (this.queued === 0) return // nothing was waiting: no 'drain' owed
    while (this.queued > 0 && this.#host.fd === fd && fd >= 0) {
      const i = this.#head
      if (this.#queueViews[i].byteLength !== this.#queueLengths[i]) {
        // The buffer was detached (transferred) while queued: nothing left to send.
        this.#dropHead(detachedError())
        continue
      }
      let count = 1
      while (count < L.maxBatch && i + count < this.#queueViews.length && this.#queueViews[i + count].byteLength === this.#queueLengths[i + count]) count++
      const rc = addon.sendMany(fd, this.#queueViews, this.#queueAddrs, i, count)
      if (rc === EAGAIN) {
        this.stats.raw[STAT.eagain]++
        return
      }
      if (rc < 0) {
        this.#dropHead(this.#sendError(rc, 'sendmmsg', this.#queueAddrs[i]))
        continue
      }
      let bytes = 0
      for (let k = i; k < i + rc; k++) bytes += this.#queueLengths[k]
      this.#sent(rc, bytes)
      this.#advance(rc)
    }
    if (this.queued === 0 && this.#host.fd >= 0) this.#host.emit('drain')
  }

  #dropHead(err: Error): void {
    this.#advance(1)
    this.#host.emit('error', err)
  }

  #advance(n: number): void {
    for (let k = this.#head; k < this.#head + n; k++) {
      this.#queueViews[k] = undefined as never // let the buffer go
      this.#queueAddrs[k] = undefined
    }
    this.#head += n
    if (this.#head === this.#queueViews.length) {
      this.#queueViews = []
      this.#queueLengths = []
      this.#queueAddrs = []
      this.#head = 0
    } else if (this.#head > 4096 && this.#head * 2 > this.#queueViews.length) {
      this.#queueViews = this.#queueViews.slice(this.#head)
      this.#queueLengths = this.#queueLengths.slice(this.#head)
      this.#queueAddrs = this.#queueAddrs.slice(this.#head)
      this.#head = 0
    }
    this.stats.raw[STAT.queued] = this.queued
  }

  // ---- receive -------------------------------------------------------------

  get wantsWritable(): boolean {
    return this.queued > 0
  }

  get wantsReadable(): boolean {
    if (this.#host.listenerCount('message') > 0 || this.#host.listenerCount('batch') > 0) return true
    for (const it of this.#iterators) if (!it.full) return true
    return false
  }

  #memory(): RecvMemory {
    if (!this.#mem) {
      this.#mem = new RecvMemory(this.#memOptions.batchSize, this.#memOptions.messageSize)
      this.#batch = new RecvBatch(this.#mem)
    }
    return this.#mem
  }

  onWritable(): void {
    this.#flush()
  }

  onReadable(): void {
    const host = this.#host
    const mem = this.#memory()
    const batch = this.#batch!
    for (let round = 0; round < ROUNDS_PER_WAKEUP; round++) {
      const fd = host.fd
      if (fd < 0 || !this.wantsReadable) return
      const n = addon.recv(fd, mem.data, mem.slot, mem.capacity, mem.meta, mem.addrs)
      if (n === EAGAIN) return
      if (n < 0) {
        this.#receiveError(systemError(n, 'recvmmsg'))
        return
      }
      this.#account(batch, n)
      this.#deliver(batch, fd)
      if (n < mem.capacity) return
    }
  }

  #account(batch: RecvBatch, received: number): void {
    const count = batch.load(received)
    const raw = this.stats.raw
    raw[STAT.received] += count
    for (let i = 0; i < count; i++) {
      raw[STAT.bytesReceived] += batch.size(i)
      if (batch.truncated(i)) raw[STAT.truncated]++
    }
    raw[STAT.truncated] += batch.lostSegments
    const drops = batch.dropCount(received)
    if (drops > raw[STAT.dropped]) raw[STAT.dropped] = drops
  }

  /** A receive error goes to waiting iterators, and to 'error' unless only iterators were there to take it. */
  #receiveError(err: Error): void {
    const iterating = this.#iterators.size > 0
    for (const it of this.#iterators) it.end(err)
    if (!iterating || this.#host.listenerCount('error') > 0) this.#host.emit('error', err)
  }

  #consumers(): boolean {
    return this.#host.listenerCount('message') > 0 || this.#iterators.size > 0
  }

  /** Gives one copy to the 'message' listeners and the iterators with room. */
  #hand(message: Message): void {
    if (this.#host.listenerCount('message') > 0) this.#host.emit('message', message.data, message.rinfo)
    // Reading pauses when every iterator is full, so one batch in flight can
    // land on top of highWaterMark; past that (other listeners keep reading)
    // a full iterator misses datagrams, counted, and its memory stays bounded.
    const limit = this.#memOptions.batchSize - 1
    for (const it of this.#iterators) {
      if (it.size >= it.highWaterMark + limit) this.stats.raw[STAT.overflow]++
      else it.push(message)
    }
  }

  #deliver(batch: RecvBatch, fd: number): void {
    const host = this.#host
    if (host.listenerCount('batch') > 0) host.emit('batch', batch)
    if (!this.#consumers()) return
    // Datagrams kept from an earlier batch go first, so order is kept.
    while (this.#backlog.length > 0 && this.#consumers() && host.fd === fd) this.#hand(this.#backlog.shift()!)
    for (let i = 0; i < batch.length && host.fd === fd; i++) {
      const message = { data: Buffer.from(batch.data(i)), rinfo: Object.assign(batch.rinfo(i), batch.ancillary(i)) }
      if (!this.#consumers() || this.#backlog.length > 0) {
        // The consumer left mid-batch: keep the rest (bounded by one batch) for the next one.
        this.#backlog.push(message)
        continue
      }
      this.#hand(message)
    }
  }

  /** Delivers datagrams kept from an earlier batch, soon, if someone now consumes them. */
  offerBacklog(): void {
    if (this.#backlog.length === 0 || this.#backlogScheduled) return
    this.#backlogScheduled = true
    setImmediate(() => {
      this.#backlogScheduled = false
      while (this.#backlog.length > 0 && this.#consumers() && this.#host.fd >= 0) this.#hand(this.#backlog.shift()!)
    })
  }

  recvInto(buf: Bytes, offset: number, length: number): RecvIntoResult | null {
    const kept = this.#backlog.shift()
    if (kept) {
      const bytes = Math.min(kept.data.length, length)
      viewOf(buf, offset, bytes).set(kept.data.subarray(0, bytes))
      return { bytes, size: kept.rinfo.size, truncated: kept.rinfo.size > bytes, rinfo: kept.rinfo }
    }
    const rc = addon.recvInto(this.#host.fd, buf, offset, length, this.#recvMeta, this.#recvAddr)
    if (rc === EAGAIN) return null
    if (rc < 0) throw systemError(rc, 'recvmsg')
    const meta = this.#recvMeta
    const size = meta[L.length]
    const bytes = Math.min(size, length)
    const truncated = size > length
    this.stats.raw[STAT.received]++
    this.stats.raw[STAT.bytesReceived] += bytes
    if (truncated) this.stats.raw[STAT.truncated]++
    const rinfo = decodeSockaddr(this.#recvAddr, 0, size)
    return { bytes, size, truncated, rinfo: Object.assign(rinfo, readAncillary(meta, 0)) }
  }

  /** An iteration over copies; `signal` ends it with an AbortError. */
  iterate(highWaterMark: number, signal: AbortSignal | undefined): AsyncIterableIterator<Message> {
    const it = new MessageIterator(highWaterMark, (i) => {
      if (i.done) this.#iterators.delete(i)
      this.#host.updatePoll()
    })
    if (signal?.aborted) {
      it.end(abortError(signal))
      return it
    }
    if (signal) {
      const abort = (): void => it.end(abortError(signal))
      signal.addEventListener('abort', abort, { once: true })
      it.onEnd = () => signal.removeEventListener('abort', abort)
    }
    this.#iterators.add(it)
    this.#host.updatePoll()
    return it
  }

  /**
   * Last non-blocking flush of the send queue; what the kernel does not take
   * is discarded and counted. Iterators end.
   */
  close(fd: number): void {
    while (this.queued > 0) {
      // Send only up to the first buffer detached while queued: it has nothing left to send.
      let count = 0
      while (count < Math.min(this.queued, L.maxBatch) && this.#queueViews[this.#head + count].byteLength === this.#queueLengths[this.#head + count]) count++
      if (count === 0) {
        // Detached while queued: nothing to send. Reported to an 'error' listener
        // if there is one; the socket is closing, so it is not thrown at close().
        this.#advance(1)
        if (this.#host.listenerCount('error') > 0) this.#host.emit('error', detachedError())
        continue
      }
      const rc = addon.sendMany(fd, this.#queueViews, this.#queueAddrs, this.#head, count)
      if (rc <= 0) break
      let bytes = 0
      for (let k = this.#head; k < this.#head + rc; k++) bytes += this.#queueLengths[k]
      this.#sent(rc, bytes)
      this.#advance(rc)
    }
    this.stats.raw[STAT.discarded] += this.queued
    this.#advance(this.queued)
    this.#backlog = []
    for (const it of this.#iterators) it.end()
    this.#iterators.clear()
  }
}

