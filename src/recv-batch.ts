// Receive memory and the zero-copy batch view over it. The memory is
// allocated once per socket and filled by the addon's recvmmsg; a batch
// indexes datagrams inside it (splitting GRO-coalesced ones back into their
// segments) and decodes senders and ancillary data only when asked.
import { markAsUntransferable } from 'node:worker_threads'
import { addon } from './native.js'
import { formatIPv6, type RemoteInfo, SenderDecoder } from './sockaddr.js'

const L = addon.recvLayout
const ADDR_STRIDE = addon.limits.addrStride

/** Every ArrayBuffer that is netsock receive memory: views of it are copied before they are queued for sending. */
const receiveMemory = new WeakSet<ArrayBufferLike>()

/** True for the ArrayBuffer under some socket's receive memory. */
export function isReceiveMemory(buffer: ArrayBufferLike): boolean {
  return receiveMemory.has(buffer)
}

/**
 * Receive memory of one socket: `capacity` slots of `slot` bytes, then the
 * metadata and the sender addresses, all in one ArrayBuffer (the addon reads
 * one view per receive call, not three).
 */
export class RecvMemory {
  /** The whole memory, as the addon takes it. */
  readonly all: Uint8Array
  /** The datagram slots. */
  readonly data: Uint8Array
  readonly meta: Int32Array
  readonly addrs: Uint8Array
  /** Where `meta` and `addrs` start in `all`. */
  readonly metaOffset: number
  readonly addrsOffset: number
  constructor(
    readonly capacity: number,
    readonly slot: number,
  ) {
    const round8 = (n: number): number => Math.ceil(n / 8) * 8
    this.metaOffset = round8(capacity * slot)
    this.addrsOffset = round8(this.metaOffset + capacity * L.stride * 4)
    // Pages of a large, zero-filled ArrayBuffer are only backed once touched, so
    // 64 KiB slots cost resident memory only for the bytes datagrams really use.
    const buffer = new ArrayBuffer(this.addrsOffset + capacity * ADDR_STRIDE)
    this.all = new Uint8Array(buffer)
    this.data = new Uint8Array(buffer, 0, capacity * slot)
    this.meta = new Int32Array(buffer, this.metaOffset, capacity * L.stride)
    this.addrs = new Uint8Array(buffer, this.addrsOffset, capacity * ADDR_STRIDE)
    // A 'batch' handler may not transfer the memory away (postMessage,
    // structuredClone with transfer): the receive loop writes into it.
    markAsUntransferable(buffer)
    receiveMemory.add(buffer)
  }

  /** False once the memory was detached anyway (ArrayBuffer.prototype.transfer ignores the mark). */
  get usable(): boolean {
    return this.data.byteLength === this.capacity * this.slot
  }
}

/** Ancillary data of one datagram, present when enabled with `socket.setAncillary()`. */
export interface Ancillary {
  /** IP TTL / IPv6 hop limit. */
  ttl?: number
  /** IP TOS / IPv6 traffic class byte; its low two bits are the ECN codepoint. */
  tos?: number
  /** The ECN codepoint (RFC 3168) of `tos`: 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE. */
  ecn?: 0 | 1 | 2 | 3
  /** Local address the datagram was sent to, and the interface index it arrived on (pktinfo). */
  destination?: string
  /** Index of the interface the datagram arrived on (pktinfo). */
  ifindex?: number
  /** Kernel receive time in nanoseconds since the epoch (SO_TIMESTAMPNS). */
  timestampNs?: bigint
}

/**
 * The datagrams of one receive call. Views returned by `data(i)` (and by
 * iteration) point into the socket's receive memory and stay valid only
 * until the `'batch'` handler returns: copy what you keep.
 *
 * @example
 * s.on('batch', (batch) => {
 *   for (let i = 0; i < batch.length; i++) handle(batch.data(i), batch.rinfo(i).port)
 * })
 */
export class RecvBatch implements Iterable<Buffer> {
  #mem: RecvMemory
  #count = 0
  // Per datagram: its offset in the memory, byte length, and receive slot.
  #offset = new Int32Array(64)
  #length = new Int32Array(64)
  #slotOf = new Int32Array(64)
  #original = new Int32Array(64)
  #lost = 0
  #bytes = 0
  #truncated = 0
  #drops = -1
  #buffer: Buffer
  #senders = new SenderDecoder()

  #domain: number

  /** @internal `domain`: the receiving socket's, reported for senders the kernel gives no address for. */
  constructor(mem: RecvMemory, domain: number) {
    this.#mem = mem
    this.#domain = domain
    this.#buffer = Buffer.from(mem.data.buffer, mem.data.byteOffset, mem.data.byteLength)
  }

  /**
   * @internal Indexes the `received` messages the addon just wrote; returns
   * the datagram count. Totals for the socket's counters come from the same
   * pass: `loadedBytes`, `loadedTruncated`, `lostSegments`, `drops`.
   */
  load(received: number): number {
    const { meta, slot } = this.#mem
    let count = 0
    let lost = 0
    let bytes = 0
    let truncated = 0
    let drops = -1
    for (let m = 0; m < received; m++) {
      const base = m * L.stride
      const real = meta[base + L.length] // MSG_TRUNC: the size before any cut
      const stored = Math.min(real, slot)
      if (meta[base + L.dropped] > drops) drops = meta[base + L.dropped]
      // A GRO train is split back into its segments; a plain datagram is one piece.
      const segment = meta[base + L.segment] > 0 ? meta[base + L.segment] : Math.max(real, 1)
      const pieces = Math.max(1, Math.ceil(stored / segment))
      lost += Math.max(0, Math.ceil(real / segment) - pieces) // whole segments past the slot
      if (count + pieces > this.#offset.length) this.#reserve(count + pieces)
      for (let p = 0; p < pieces; p++) {
        const start = p * segment
        const length = Math.min(segment, stored - start)
        const original = Math.min(segment, real - start)
        this.#offset[count] = m * slot + start
        this.#length[count] = length
        this.#original[count] = original
        this.#slotOf[count] = m
        bytes += length
        if (length < original) truncated++
        count++
      }
    }
    this.#count = count
    this.#lost = lost
    this.#bytes = bytes
    this.#truncated = truncated
    this.#drops = drops
    return count
  }

  /** @internal Segments of GRO trains that did not fit the receive slot at all, in the last load. */
  get lostSegments(): number {
    return this.#lost
  }

  /** @internal Bytes stored, in the last load. */
  get loadedBytes(): number {
    return this.#bytes
  }

  /** @internal Datagrams truncated (cut to the receive slot), in the last load. */
  get loadedTruncated(): number {
    return this.#truncated
  }

  /** @internal Highest SO_RXQ_OVFL drop count in the last load, or -1. */
  get drops(): number {
    return this.#drops
  }

  #reserve(n: number): void {
    if (n <= this.#offset.length) return
    const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(Math.max(n, a.length * 2))
      b.set(a)
      return b
    }
    this.#offset = grow(this.#offset)
    this.#length = grow(this.#length)
    this.#slotOf = grow(this.#slotOf)
    this.#original = grow(this.#original)
  }

  /** Number of datagrams (GRO-coalesced ones count once per segment). */
  get length(): number {
    return this.#count
  }

  /** The receive memory itself, for readers that index with `offset(i)` and `size(i)` and want no view objects. */
  get buffer(): Buffer {
    return this.#buffer
  }

  #check(i: number): number {
    if (!(i >= 0 && i < this.#count)) throw new RangeError(`The value of "index" is out of range. It must be >= 0 && < ${this.#count}. Received ${i}`)
    return this.#slotOf[i]
  }

  /**
   * Offset of datagram i in `buffer`.
   * @example const first = batch.buffer[batch.offset(i)]   // no view object made
   */
  offset(i: number): number {
    this.#check(i)
    return this.#offset[i]
  }

  /**
   * Bytes of datagram i that were received (the stored bytes; see `truncated`).
   * @example total += batch.size(i)
   */
  size(i: number): number {
    this.#check(i)
    return this.#length[i]
  }

  /**
   * A view of datagram i: valid until the handler returns.
   * @example kept.push(Buffer.from(batch.data(i)))   // copy to keep it
   */
  data(i: number): Buffer {
    this.#check(i)
    return this.#buffer.subarray(this.#offset[i], this.#offset[i] + this.#length[i])
  }

  /**
   * True when datagram i was larger than the receive slot and its tail was cut off (MSG_TRUNC).
   * @example if (batch.truncated(i)) console.warn(`cut: ${batch.size(i)} of ${batch.originalSize(i)} bytes`)
   */
  truncated(i: number): boolean {
    this.#check(i)
    return this.#length[i] < this.#original[i]
  }

  /**
   * The datagram's real size: larger than `size(i)` when truncated.
   * @example const lost = batch.originalSize(i) - batch.size(i)
   */
  originalSize(i: number): number {
    this.#check(i)
    return this.#original[i]
  }

  /**
   * GRO segment size of the coalesced datagram i came from, or 0.
   * @example const coalesced = batch.segmentSize(i) > 0
   */
  segmentSize(i: number): number {
    const m = this.#check(i)
    return this.#mem.meta[m * L.stride + L.segment]
  }

  /**
   * The sender, decoded from the raw sockaddr now (not before).
   * @example const { address, port } = batch.rinfo(i)
   */
  rinfo(i: number): RemoteInfo {
    const m = this.#check(i)
    return this.#senders.decode(this.#mem.addrs, m * ADDR_STRIDE, this.#mem.meta[m * L.stride + L.addrLen], this.#original[i], this.#domain)
  }

  /** @internal A copy of datagram i, for 'message' listeners and iterators (no intermediate view of the memory). */
  copy(i: number): Buffer {
    this.#check(i)
    const start = this.#offset[i]
    const out = Buffer.allocUnsafe(this.#length[i])
    out.set(this.#mem.data.subarray(start, start + this.#length[i]))
    return out
  }

  /** @internal rinfo(i) with the ancillary fields on it, as 'message' listeners get it. */
  received(i: number): RemoteInfo & Ancillary {
    const info = this.rinfo(i) as RemoteInfo & Ancillary
    addAncillary(info, this.#mem.meta, this.#slotOf[i] * L.stride)
    return info
  }

  /**
   * Ancillary data of datagram i: only the fields the kernel delivered.
   * @example const { ttl, tos } = batch.ancillary(i)   // after s.setAncillary({ ttl: true, tos: true })
   */
  ancillary(i: number): Ancillary {
    return readAncillary(this.#mem.meta, this.#check(i) * L.stride)
  }

  /**
   * Views of every datagram, valid until the handler returns.
   * @example for (const view of batch) hash.update(view)
   */
  *[Symbol.iterator](): Iterator<Buffer> {
    for (let i = 0; i < this.#count; i++) yield this.data(i)
  }
}

/** The ancillary fields present in the metadata of one datagram at meta[base]. */
export function readAncillary(meta: Int32Array, base: number): Ancillary {
  return addAncillary({}, meta, base)
}

/** Sets on `out` the ancillary fields present in the metadata at meta[base]; returns `out`. */
export function addAncillary<T extends Ancillary>(out: T, meta: Int32Array, base: number): T {
  if (meta[base + L.ttl] >= 0) out.ttl = meta[base + L.ttl]
  if (meta[base + L.tos] >= 0) {
    out.tos = meta[base + L.tos]
    out.ecn = (out.tos & 3) as 0 | 1 | 2 | 3
  }
  if (meta[base + L.ifindex] >= 0) out.ifindex = meta[base + L.ifindex]
  const family = meta[base + L.dstFamily]
  if (family !== 0) {
    const bytes = new Uint8Array(meta.buffer, meta.byteOffset + (base + L.dst) * 4, 16)
    out.destination = family === 4 ? `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}` : formatIPv6(bytes, 0)
  }
  if (meta[base + L.tsNsec] >= 0) {
    const sec = (BigInt(meta[base + L.tsSecHigh] >>> 0) << 32n) | BigInt(meta[base + L.tsSecLow] >>> 0)
    out.timestampNs = sec * 1_000_000_000n + BigInt(meta[base + L.tsNsec])
  }
  return out
}
