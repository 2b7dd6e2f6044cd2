// The receive half of the datagram path: recvmmsg into the socket's
// receive memory, then delivery to 'batch' listeners (zero-copy views),
// 'message' listeners and async iterators (copies), plus recvInto.
import os from 'node:os'
import { constants } from './constants.js'
import { abortError, callError, stale, systemError } from './errors.js'
import { type Message, MessageIterator } from './message-iterator.js'
import { addon, type Bytes } from './native.js'
import { readAncillary, RecvBatch, RecvMemory, type Ancillary } from './recv-batch.js'
import type { SocketCore } from './socket-core.js'
import { decodeSender, type RemoteInfo } from './sockaddr.js'
import { type SocketStats, STAT } from './stats.js'

const EAGAIN = -os.constants.errno.EAGAIN
const L = addon.recvLayout
const ADDR_STRIDE = addon.limits.addrStride
/** Receive batches handled per readiness event before yielding to the loop. */
const ROUNDS_PER_WAKEUP = 8

/** Listener counts of the events the data path serves; kept by the Socket as listeners come and go. */
export interface DatagramListeners {
  message: number
  batch: number
  error: number
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

/** What the receiver needs from its socket. */
export interface ReceiverHost {
  /** Emits on the public socket. */
  emit(event: string | symbol, ...args: unknown[]): boolean
  /** Re-evaluates what the socket polls for (an iterator came, went or made room). */
  updateReadiness(): void
}

function viewOf(data: Bytes, offset: number, length: number): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset + offset, length)
  return new Uint8Array(data, offset, length)
}

export class DatagramReceiver {
  #core: SocketCore
  #host: ReceiverHost
  #listeners: DatagramListeners
  #stats: SocketStats
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

  constructor(core: SocketCore, host: ReceiverHost, listeners: DatagramListeners, stats: SocketStats, memory: RecvMemoryOptions) {
    this.#core = core
    this.#host = host
    this.#listeners = listeners
    this.#stats = stats
    this.#memoryOptions = memory
  }

  /** Someone consumes datagrams: 'message' or 'batch' listeners, or an iterator with room. */
  get wantsReadable(): boolean {
    if (this.#memoryFailed || this.#core.readShutdown) return false
    if (this.#listeners.message > 0 || this.#listeners.batch > 0) return true
    for (const it of this.#iterators) if (!it.full) return true
    return false
  }

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
      const err = Object.assign(
        new RangeError(
          `Cannot allocate ${batchSize} x ${messageSize} bytes of receive memory; reading stopped (choose a smaller recvBatchSize or recvMessageSize)`,
          { cause },
        ),
        {
          code: 'ERR_NETSOCK_RECV_MEMORY',
        },
      )
      this.#receiveError(err)
      return null
    }
  }

  /** Reads and delivers what the kernel holds (a readiness event). */
  receive(): void {
    for (let round = 0; round < ROUNDS_PER_WAKEUP; round++) {
      const fd = this.#core.fd
      if (fd < 0 || !this.wantsReadable) return
      const mem = this.#receiveMemory()
      if (!mem) return
      const n = addon.recvMany(fd, mem.all, mem.slot, mem.capacity, mem.metaOffset, mem.addrsOffset)
      if (n === EAGAIN) return
      if (n === addon.ERR_DETACHED) continue // transferred away between reads: made anew above
      if (stale(n, !this.#core.connected)) {
        // On an unconnected socket: an ICMP report for a datagram it sent to some
        // destination, left pending in SO_ERROR (IP_RECVERR; reading cleared it, and it
        // is in the error queue too), not a receive failure. Told to an 'error'
        // listener, if there is one; reading goes on. (A connected socket's peer
        // refusing is a receive error, as dgram reports it.)
        if (this.#listeners.error > 0) this.#host.emit('error', systemError(n, 'recvmmsg'))
        continue
      }
      if (n < 0) {
        this.#receiveError(systemError(n, 'recvmmsg'))
        return
      }
      const received = this.#seqpacket ? this.#beforeEof(mem, n) : n
      if (received > 0) {
        this.#account(this.#batch!, received)
        this.#deliver(this.#batch!, fd)
      }
      if (received < n) return this.#ended()
      // A short batch does not end the wake-up: read until EAGAIN, as libuv
      // does for dgram. What the handlers sent may have been answered by now
      // (a peer on this CPU runs as soon as it is woken), and reading it here
      // saves a trip through epoll and the event loop.
    }
  }

  get #seqpacket(): boolean {
    return this.#core.info.type === constants.SOCK_SEQPACKET
  }

  /** SOCK_SEQPACKET: an empty message is the peer's end (man 2 recv); the messages before it. */
  #beforeEof(mem: RecvMemory, n: number): number {
    for (let m = 0; m < n; m++) if (mem.meta[m * L.stride + L.length] === 0) return m
    return n
  }

  /** Nothing more will arrive: iterators end and reading stops. */
  #ended(): void {
    this.#core.readShutdown = true
    for (const it of this.#iterators) it.end()
    this.#iterators.clear()
    this.#host.updateReadiness()
  }

  #account(batch: RecvBatch, received: number): void {
    const raw = this.#stats.raw
    raw[STAT.received] += batch.load(received)
    raw[STAT.bytesReceived] += batch.loadedBytes
    raw[STAT.truncated] += batch.loadedTruncated + batch.lostSegments
    if (batch.drops > raw[STAT.dropped]) raw[STAT.dropped] = batch.drops
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
    if (this.#listeners.message > 0) {
      this.#host.emit('message', message.data, message.rinfo)
      // Each kind of consumer owns its copy: what a listener does to it, an iterator does not see.
      if (this.#iterators.size > 0) message = { data: Buffer.from(message.data), rinfo: { ...message.rinfo } }
    }
    if (this.#iterators.size === 0) return
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
    return { data: batch.copy(i), rinfo: batch.received(i) }
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

  /** Iterators end and kept datagrams are dropped (the socket is closing). */
  close(): void {
    this.#backlog = []
    for (const it of this.#iterators) it.end()
    this.#iterators.clear()
  }
}
