// The datagram data path of one socket: synchronous zero-copy sends with a
// queue behind them for EAGAIN, and the receive loop that fills the socket's
// receive memory with recvmmsg and delivers batches, copies and iterator
// items. It is a readiness source: it says when it needs the socket readable
// (someone consumes datagrams) or writable (sends are queued). Native calls
// return negative errno; errors are built here.
import os from 'node:os'
import { constants } from './constants.js'
import { abortError, bufferDetached, bufferOutOfBounds, callError, invalidArgType, systemError } from './errors.js'
import { type Message, MessageIterator } from './message-iterator.js'
import { addon, type Bytes } from './native.js'
import { READABLE, WRITABLE, type ReadinessSource } from './readiness.js'
import { readAncillary, RecvBatch, RecvMemory, type Ancillary } from './recv-batch.js'
import { SendQueue } from './send-queue.js'
import type { SocketCore } from './socket-core.js'
import { decodeSender, decodeSockaddr, SockaddrCache, type RemoteInfo } from './sockaddr.js'
import { type SocketStats, STAT } from './stats.js'
import { unusableBytes, validateAddress, validateBytes, validateInteger } from './validate.js'

const EAGAIN = -os.constants.errno.EAGAIN
const EIO = -os.constants.errno.EIO
const EACCES = -os.constants.errno.EACCES
const BROADCAST_HINT = "sending to a broadcast address needs SO_BROADCAST: createSocket({ broadcast: true }) or setOption('SO_BROADCAST', true)"
const L = addon.recvLayout
const { maxBatch: MAX_BATCH, maxUdpPayload: MAX_GSO_BYTES, maxGsoSegments: MAX_GSO_SEGMENTS, addrStride: ADDR_STRIDE } = addon.limits
/** Receive batches handled per readiness event before yielding to the loop. */
const ROUNDS_PER_WAKEUP = 8

/** What the data path needs from its socket. */
export interface DatagramHost {
  readonly core: SocketCore
  /** Emits on the public socket. */
  emit(event: string | symbol, ...args: unknown[]): boolean
  /** Re-evaluates what the socket polls for (after a send queued). */
  updateReadiness(): void
}

/** Listener counts of the events the data path serves; kept by the Socket as listeners come and go. */
export interface DatagramListeners {
  message: number
  batch: number
  error: number
}

/**
 * An entry of sendMany: bytes (an `ArrayBufferView` or `ArrayBuffer`),
 * optionally with their own destination.
 */
export type SendManyEntry =
  | Bytes
  | {
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

/** Receive memory per socket, validated by createSocket. */
export interface RecvMemoryOptions {
  /** Datagrams per recvmmsg call (default 64, at most 1024). */
  batchSize: number
  /** Bytes per receive slot (default 65535: no UDP datagram or GRO train is cut). */
  messageSize: number
}

const byteLengthOf = (data: Bytes): number => data.byteLength

function viewOf(data: Bytes, offset: number, length: number): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset + offset, length)
  return new Uint8Array(data, offset, length)
}

export class DatagramIo implements ReadinessSource {
  #host: DatagramHost
  #core: SocketCore
  #listeners: DatagramListeners
  #stats: SocketStats
  #cache: SockaddrCache | null
  #lastPort: unknown = undefined
  #lastAddress: unknown = undefined
  #last: Uint8Array | undefined = undefined
  #queue: SendQueue
  /** GSO on this socket: probed on first use (getsockopt UDP_SEGMENT). */
  #gso: boolean | undefined = undefined
  #memoryOptions: RecvMemoryOptions
  #memory: RecvMemory | null = null
  #batch: RecvBatch | null = null
  /** Receive memory could not be allocated: reading stopped (reported once as 'error'). */
  #memoryFailed = false
  #iterators = new Set<MessageIterator>()
  // Copies of datagrams read from the kernel after their consumer went away
  // mid-batch (a once('message') listener, a throwing one): handed to the
  // next consumer first.
  #backlog: Message[] = []
  #backlogScheduled = false
  #recvMeta = new Int32Array(L.stride)
  #recvAddr = new Uint8Array(ADDR_STRIDE)

  constructor(host: DatagramHost, listeners: DatagramListeners, stats: SocketStats, memory: RecvMemoryOptions) {
    this.#host = host
    this.#core = host.core
    this.#listeners = listeners
    this.#stats = stats
    this.#cache = this.#core.family === 0 ? null : new SockaddrCache(this.#core.info.domain)
    this.#memoryOptions = memory
    this.#queue = new SendQueue({
      sent: (datagrams, bytes) => this.#sent(datagrams, bytes),
      blocked: () => this.#stats.raw[STAT.eagain]++,
      failed: (err) => this.#failed(err),
      error: (rc, addr) => this.#sendError(rc, 'sendmmsg', addr),
    })
  }

  // ---- send ----------------------------------------------------------------

  /** The encoded destination, or undefined for "the connected peer". */
  destination(port: unknown, address: unknown, name = 'port'): Uint8Array | undefined {
    if (port === undefined && address === undefined) return undefined
    // The same destination as last time was validated then: skip the checks.
    if (port === this.#lastPort && address === this.#lastAddress && this.#last) return this.#last
    if (!this.#cache) throw invalidArgType(name, 'undefined on this socket (it sends to its bound or connected peer)', port)
    const family = this.#core.family as 4 | 6
    const p = validateInteger(port, name, 0, 65535)
    const host = address === undefined ? (family === 4 ? '127.0.0.1' : '::1') : validateAddress(address, 'address', family)
    const encoded = this.#cache.get(host, p)
    this.#lastPort = port
    this.#lastAddress = address
    this.#last = encoded
    return encoded
  }

  #sent(datagrams: number, bytes: number): void {
    this.#stats.raw[STAT.sent] += datagrams
    this.#stats.raw[STAT.bytesSent] += bytes
  }

  #queued(view: Uint8Array, addr: Uint8Array | undefined): void {
    this.#queue.push(view, addr)
    this.#stats.raw[STAT.queued] = this.#queue.size
  }

  #queueAndWait(view: Uint8Array, addr: Uint8Array | undefined): false {
    this.#queued(view, addr)
    this.#host.updateReadiness()
    return false
  }

  send(data: Bytes, offset: number, length: number, addr: Uint8Array | undefined): boolean {
    if (this.#queue.size > 0) return this.#queueAndWait(viewOf(data, offset, length), addr)
    const rc = addon.send(this.#core.fd, data, offset, length, addr)
    if (rc >= 0) {
      this.#sent(1, rc)
      return true
    }
    if (rc === EAGAIN) {
      this.#stats.raw[STAT.eagain]++
      return this.#queueAndWait(viewOf(data, offset, length), addr)
    }
    throw this.#sendError(rc, 'sendto', addr)
  }

  #sendError(rc: number, syscall: string, addr: Uint8Array | undefined): Error {
    // udp_sendmsg/raw_sendmsg refuse a broadcast destination with EACCES
    // unless SO_BROADCAST is set (man 7 ip, "SO_BROADCAST").
    const hint = rc === EACCES && this.#core.family === 4 ? BROADCAST_HINT : undefined
    if (!addr) return callError(rc, syscall, { hint })
    const { address, port } = decodeSockaddr(addr, 0, addr.byteLength)
    return callError(rc, syscall, { address, port, hint })
  }

  sendMany(list: readonly SendManyEntry[], port: unknown, address: unknown): number {
    if (!Array.isArray(list)) throw invalidArgType('list', 'an array', list)
    const shared = this.destination(port, address)
    const count = list.length
    const datas: Bytes[] = new Array(count)
    const lengths: number[] = new Array(count)
    let addrs: Uint8Array | (Uint8Array | undefined)[] | undefined = shared
    for (let i = 0; i < count; i++) {
      const entry = list[i]
      if (ArrayBuffer.isView(entry) || entry instanceof ArrayBuffer) {
        // Only an empty view can be detached: check (and build the name) just then.
        datas[i] = entry.byteLength > 0 ? entry : validateBytes(entry, `list[${i}]`)
      } else {
        if (entry === null || typeof entry !== 'object' || !('data' in entry)) {
          throw invalidArgType(`list[${i}]`, 'bytes or { data, port?, address? }', entry)
        }
        datas[i] = validateBytes(entry.data, `list[${i}].data`)
        if (entry.port !== undefined || entry.address !== undefined) {
          if (!Array.isArray(addrs)) addrs = new Array(count).fill(shared)
          addrs[i] = this.destination(entry.port ?? port, entry.address ?? address, `list[${i}].port`)
        }
      }
      if (Array.isArray(addrs) && addrs[i] === undefined) addrs[i] = shared
      lengths[i] = datas[i].byteLength
    }
    // Getters on later entries ran after earlier ones were checked: make sure
    // none of them detached or shrank an earlier entry's buffer.
    for (let i = 0; i < count; i++) {
      if (datas[i].byteLength === lengths[i]) continue
      const why = unusableBytes(datas[i])
      throw why === 'detached' ? bufferDetached(`list[${i}]`) : bufferOutOfBounds(`list[${i}]`)
    }
    const addrAt = (i: number): Uint8Array | undefined => (Array.isArray(addrs) ? addrs[i] : addrs)
    let sent = 0
    if (this.#queue.size === 0) {
      while (sent < count) {
        const rc = addon.sendMany(this.#core.fd, datas, addrs, sent, Math.min(count - sent, MAX_BATCH))
        if (rc > 0) {
          let bytes = 0
          for (let i = sent; i < sent + rc; i++) bytes += lengths[i]
          this.#sent(rc, bytes)
          sent += rc
          continue
        }
        if (rc === EAGAIN) {
          this.#stats.raw[STAT.eagain]++
          break
        }
        const err = this.#sendError(rc, 'sendmmsg', addrAt(sent)) as Error & { sent: number }
        err.sent = sent // how many went before the failing datagram; the rest were not sent
        throw err
      }
    }
    for (let i = sent; i < count; i++) this.#queued(viewOf(datas[i], 0, byteLengthOf(datas[i])), addrAt(i))
    if (sent < count) this.#host.updateReadiness()
    return sent
  }

  /** True while sendSegments uses GSO on this socket (probed once, on the socket itself). */
  get gso(): boolean {
    if (this.#gso === undefined) {
      const kind = this.#core.info.kind
      const probe = new Int32Array(1)
      this.#gso =
        (kind === 'udp4' || kind === 'udp6') && constants.UDP_SEGMENT !== undefined && addon.getsockopt(this.#core.fd, constants.IPPROTO_UDP, constants.UDP_SEGMENT, probe) >= 0
    }
    return this.#gso
  }

  sendSegments(data: Bytes, segment: number, addr: Uint8Array | undefined): boolean {
    const total = byteLengthOf(data)
    const perCall = Math.max(1, Math.min(MAX_GSO_SEGMENTS, Math.floor(MAX_GSO_BYTES / segment))) * segment
    let offset = 0
    if (this.#queue.size === 0) {
      while (offset < total) {
        const chunk = Math.min(perCall, total - offset)
        // One datagram needs no GSO; several use it when the socket has it.
        const useGso = chunk > segment && this.gso
        const rc = addon.sendSegments(this.#core.fd, data, offset, chunk, segment, addr, useGso ? 1 : 0)
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
          this.#stats.raw[STAT.eagain]++
          break
        }
        throw this.#sendError(rc, useGso ? 'sendmsg' : 'sendmmsg', addr)
      }
    }
    if (offset >= total) return true
    for (let at = offset; at < total; at += segment) this.#queued(viewOf(data, at, Math.min(segment, total - at)), addr)
    this.#host.updateReadiness()
    return false
  }

  #failed(err: Error): void {
    this.#stats.raw[STAT.queued] = this.#queue.size
    // While closing, an error nobody listens for is not thrown at close().
    if (this.#core.closed && this.#listeners.error === 0) return
    this.#host.emit('error', err)
  }

  /** Sends what the queue holds; emits 'drain' when it empties. */
  #flush(): void {
    if (this.#queue.size === 0) return // nothing was waiting: no 'drain' owed
    const fd = this.#core.fd
    const emptied = this.#queue.flush(fd, () => this.#core.fd === fd)
    this.#stats.raw[STAT.queued] = this.#queue.size
    if (emptied && !this.#core.closed) this.#host.emit('drain')
  }

  // ---- readiness -----------------------------------------------------------

  /** Someone consumes datagrams: 'message' or 'batch' listeners, or an iterator with room. */
  get #wantsReadable(): boolean {
    if (this.#memoryFailed) return false
    if (this.#listeners.message > 0 || this.#listeners.batch > 0) return true
    for (const it of this.#iterators) if (!it.full) return true
    return false
  }

  interest(): number {
    return (this.#wantsReadable ? READABLE : 0) | (this.#queue.size > 0 ? WRITABLE : 0)
  }

  onReady(events: number): void {
    if (events & WRITABLE) this.#flush()
    if (events & READABLE) this.#receive()
  }

  // ---- receive -------------------------------------------------------------

  /** The receive memory, made when reading starts (and again if it was detached); null when it cannot be. */
  #receiveMemory(): RecvMemory | null {
    if (this.#memory?.usable) return this.#memory
    try {
      this.#memory = new RecvMemory(this.#memoryOptions.batchSize, this.#memoryOptions.messageSize)
      this.#batch = new RecvBatch(this.#memory, this.#core.info.domain)
      return this.#memory
    } catch (cause) {
      // Too large for this process (ulimit -v, a huge recvBatchSize x recvMessageSize).
      this.#memoryFailed = true
      const { batchSize, messageSize } = this.#memoryOptions
      const err = Object.assign(new RangeError(`Cannot allocate ${batchSize} x ${messageSize} bytes of receive memory; reading stopped (choose a smaller recvBatchSize or recvMessageSize)`, { cause }), {
        code: 'ERR_NETSOCK_RECV_MEMORY',
      })
      this.#receiveError(err)
      return null
    }
  }

  #receive(): void {
    for (let round = 0; round < ROUNDS_PER_WAKEUP; round++) {
      const fd = this.#core.fd
      if (fd < 0 || !this.#wantsReadable) return
      const mem = this.#receiveMemory()
      if (!mem) return
      const n = addon.recvMany(fd, mem.data, mem.slot, mem.capacity, mem.meta, mem.addrs)
      if (n === EAGAIN) return
      if (n === addon.ERR_DETACHED) continue // transferred away between reads: made anew above
      if (n < 0) {
        this.#receiveError(systemError(n, 'recvmmsg'))
        return
      }
      this.#account(this.#batch!, n)
      this.#deliver(this.#batch!, fd)
      if (n < mem.capacity) return
    }
  }

  #account(batch: RecvBatch, received: number): void {
    const count = batch.load(received)
    const raw = this.#stats.raw
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
    if (!iterating || this.#listeners.error > 0) this.#host.emit('error', err)
  }

  #consumers(): boolean {
    return this.#listeners.message > 0 || this.#iterators.size > 0
  }

  /** Gives one copy to the 'message' listeners and the iterators with room. */
  #hand(message: Message): void {
    if (this.#listeners.message > 0) this.#host.emit('message', message.data, message.rinfo)
    // Reading pauses when every iterator is full, so one batch in flight can
    // land on top of highWaterMark; past that (other listeners keep reading)
    // a full iterator misses datagrams, counted, and its memory stays bounded.
    const limit = this.#memoryOptions.batchSize - 1
    for (const it of this.#iterators) {
      if (it.size >= it.highWaterMark + limit) this.#stats.raw[STAT.overflow]++
      else it.push(message)
    }
  }

  #copy(batch: RecvBatch, i: number): Message {
    return { data: Buffer.from(batch.data(i)), rinfo: Object.assign(batch.rinfo(i), batch.ancillary(i)) }
  }

  #deliver(batch: RecvBatch, fd: number): void {
    // A throwing 'batch' listener must not take the batch from 'message'
    // listeners and iterators: they get it first, then the error goes on.
    let batchError: { error: unknown } | null = null
    if (this.#listeners.batch > 0) {
      try {
        this.#host.emit('batch', batch)
      } catch (error) {
        batchError = { error }
      }
    }
    if (this.#consumers()) {
      // Datagrams kept from an earlier batch go first, so order is kept.
      while (this.#backlog.length > 0 && this.#consumers() && this.#core.fd === fd) this.#hand(this.#backlog.shift()!)
      let i = 0
      try {
        for (; i < batch.length && this.#core.fd === fd; i++) {
          if (!this.#consumers() || this.#backlog.length > 0) {
            // The consumer left mid-batch: keep the rest (bounded by one batch) for the next one.
            this.#backlog.push(this.#copy(batch, i))
            continue
          }
          this.#hand(this.#copy(batch, i))
        }
      } catch (error) {
        // A throwing 'message' listener: what it did not see waits for the next consumer.
        for (i++; i < batch.length; i++) this.#backlog.push(this.#copy(batch, i))
        this.offerBacklog()
        throw error
      }
    }
    if (batchError) throw batchError.error
  }

  /** Delivers datagrams kept from an earlier batch, soon, if someone now consumes them. */
  offerBacklog(): void {
    if (this.#backlog.length === 0 || this.#backlogScheduled) return
    this.#backlogScheduled = true
    setImmediate(() => {
      this.#backlogScheduled = false
      while (this.#backlog.length > 0 && this.#consumers() && this.#core.fd >= 0) this.#hand(this.#backlog.shift()!)
    })
  }

  recvInto(buf: Bytes, offset: number, length: number): RecvIntoResult | null {
    const kept = this.#backlog.shift()
    if (kept) {
      const bytes = Math.min(kept.data.length, length)
      viewOf(buf, offset, bytes).set(kept.data.subarray(0, bytes))
      return { bytes, size: kept.rinfo.size, truncated: kept.rinfo.size > bytes, rinfo: kept.rinfo }
    }
    const rc = addon.recvInto(this.#core.fd, buf, offset, length, this.#recvMeta, this.#recvAddr)
    if (rc === EAGAIN) return null
    if (rc < 0) throw callError(rc, 'recvmsg', {}, 'buf')
    const meta = this.#recvMeta
    const size = meta[L.length]
    const bytes = Math.min(size, length)
    const truncated = size > length
    this.#stats.raw[STAT.received]++
    this.#stats.raw[STAT.bytesReceived] += bytes
    if (truncated) this.#stats.raw[STAT.truncated]++
    const rinfo = decodeSender(this.#recvAddr, 0, meta[L.addrLen], size, this.#core.info.domain)
    return { bytes, size, truncated, rinfo: Object.assign(rinfo, readAncillary(meta, 0)) }
  }

  /** An iteration over copies; `signal` ends it with an AbortError. */
  iterate(highWaterMark: number, signal: AbortSignal | undefined): AsyncIterableIterator<Message> {
    const it = new MessageIterator(highWaterMark, (i) => {
      if (i.done) this.#iterators.delete(i)
      this.offerBacklog()
      this.#host.updateReadiness()
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
    this.offerBacklog()
    this.#host.updateReadiness()
    return it
  }

  /**
   * Last non-blocking flush of the send queue (the socket is already marked
   * closed; `fd` is still open); what the kernel does not take is discarded
   * and counted. Iterators end.
   */
  close(fd: number): void {
    this.#queue.flush(fd, () => true, true)
    this.#stats.raw[STAT.discarded] += this.#queue.discard()
    this.#stats.raw[STAT.queued] = 0
    this.#backlog = []
    for (const it of this.#iterators) it.end()
    this.#iterators.clear()
  }
}

export type { Message }
