// The send half of the datagram path: synchronous zero-copy sends (send,
// sendMany, sendSegments, sendMessage with per-datagram control), and the
// queue behind them for EAGAIN. The caller's bytes go to the kernel as they
// are; only a send the kernel refuses waits, in order, for 'drain'.
import os from 'node:os'
import { constants } from './constants.js'
import { bufferDetached, bufferOutOfBounds, callError, invalidArgType, stale, type SystemError } from './errors.js'
import { addon, type Bytes } from './native.js'
import { CONTROL_FIELDS, encodeControl, isV4Mapped, type OutgoingMessage } from './send-control.js'
import { SendQueue } from './send-queue.js'
import { slotAddress, slotControlFrom } from './send-slot.js'
import { spansOf } from './send-spans.js'
import type { SocketCore } from './socket-core.js'
import { decodeSockaddr, SockaddrCache } from './sockaddr.js'
import { type SocketStats, STAT } from './stats.js'
import { safeByteLength, typedArrayBytes, unusableBytes, validateAddress, validateBytes, validateInteger, validateObject } from './validate.js'

const EAGAIN = -os.constants.errno.EAGAIN
const EIO = -os.constants.errno.EIO
const EACCES = -os.constants.errno.EACCES
const EMSGSIZE = -os.constants.errno.EMSGSIZE
const BROADCAST_HINT = "sending to a broadcast address needs SO_BROADCAST: createSocket({ broadcast: true }) or setOption('SO_BROADCAST', true)"
const C = addon.sendLayout
// Read once here: the hot path then loads them from this module's scope.
const native = addon
const { sent: SENT, bytesSent: BYTES_SENT } = STAT
const { maxBatch: MAX_BATCH, maxUdpPayload: MAX_GSO_BYTES, maxGsoSegments: MAX_GSO_SEGMENTS } = addon.limits

/**
 * An entry of sendMany: bytes (an `ArrayBufferView` or `ArrayBuffer`), or an
 * `OutgoingMessage` with its own destination and control (ecn, tos, ttl,
 * source, interface, segmentSize).
 */
export type SendManyEntry = Bytes | OutgoingMessage

/** What the sender reports to its socket. */
export interface SenderHost {
  /** Re-evaluates what the socket polls for (a send queued). */
  updateReadiness(): void
  /** Makes sure the socket can wait to be writable; throws when it cannot (see Readiness.prepare). */
  prepareToWait(): void
  /** A queued send failed for good. */
  failed(err: Error): void
}

/** Bytes of a typed array, DataView or ArrayBuffer (a typed array's read the fast way). */
function byteLength(data: Bytes): number {
  const n = typedArrayBytes(data)
  return n >= 0 ? n : safeByteLength(data)
}

function viewOf(data: Bytes, offset: number, length: number): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset + offset, length)
  return new Uint8Array(data, offset, length)
}

const hasControl = (entry: object): boolean => CONTROL_FIELDS.some((f) => f in entry)

export class DatagramSender {
  #core: SocketCore
  #stats: SocketStats
  #host: SenderHost
  #cache: SockaddrCache | null
  // The last destination validated (undefined, undefined: the connected peer).
  #lastPort: unknown = undefined
  #lastAddress: unknown = undefined
  #last: Uint8Array | undefined = undefined
  #raw: Float64Array
  #queue: SendQueue
  /** GSO on this socket: probed on first use (getsockopt UDP_SEGMENT on the socket itself). */
  #gso: boolean | undefined = undefined
  /** Send-control records: one for sendMessage (copied to the send slot for each call), a batch's worth for sendMany. */
  #control = new Int32Array(C.stride)
  #controls = new Int32Array(0)
  #controlsBusy = false

  constructor(core: SocketCore, stats: SocketStats, host: SenderHost) {
    this.#core = core
    this.#stats = stats
    this.#raw = stats.raw
    this.#host = host
    this.#cache = core.family === 0 ? null : new SockaddrCache(core.info.domain)
    this.#queue = new SendQueue({
      sent: (datagrams, bytes) => this.#sent(datagrams, bytes),
      blocked: () => this.#stats.raw[STAT.eagain]++,
      failed: (err) => {
        this.#stats.raw[STAT.queued] = this.#queue.size
        host.failed(err)
      },
      error: (rc, addr) => this.#error(rc, 'sendmmsg', addr),
    })
  }

  /** Datagrams waiting for the socket to be writable. */
  get queued(): number {
    return this.#queue.size
  }

  /** The encoded destination, or undefined for "the connected peer". */
  destination(port: unknown, address: unknown, name = 'port'): Uint8Array | undefined {
    // The same destination as last time was validated then: skip the checks.
    if (port === this.#lastPort && address === this.#lastAddress) return this.#last
    if (port === undefined && address === undefined) return undefined
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

  #enqueue(view: Uint8Array, addr: Uint8Array | undefined, controls?: Int32Array, index = 0): void {
    this.#queue.push(view, addr, controls, index)
    this.#stats.raw[STAT.queued] = this.#queue.size
  }

  /**
   * Before the first datagram is queued: a socket this event loop cannot
   * watch (adopted with owned: false from a Node socket) cannot wait for
   * 'drain', so the kernel's EAGAIN is thrown and nothing is queued.
   */
  #mayQueue(syscall: string, sent?: number): void {
    if (this.#queue.size > 0) return
    try {
      this.#host.prepareToWait()
    } catch {
      const err = callError(EAGAIN, syscall, {
        hint: "the socket buffer is full, and a socket adopted with owned: false cannot wait for 'drain'; retry later",
      }) as Error & { sent?: number }
      if (sent !== undefined) err.sent = sent
      throw err
    }
  }

  #wait(): false {
    this.#host.updateReadiness()
    return false
  }

  send(data: Bytes, offset: number, length: number, addr: Uint8Array | undefined): boolean {
    if (this.#queue.size > 0) return (this.#enqueue(viewOf(data, offset, length), addr), this.#wait())
    const fd = this.#core.fd
    let rc = addon.send(fd, data, offset, length, addr)
    if (rc < 0 && stale(rc, addr !== undefined)) rc = addon.send(fd, data, offset, length, addr)
    if (rc >= 0) {
      this.#sent(1, rc)
      return true
    }
    return this.#refused(rc, viewOf(data, offset, length), addr)
  }

  /**
   * send(data, port?, address?) of a whole non-empty view: the hot path. It
   * reads as little memory as it can (this object, the socket's counters, the
   * view), since after each system call that memory is cold, and hands the
   * addon three arguments, not five.
   */
  sendView(data: ArrayBufferView, port: unknown, address: unknown): boolean {
    const addr = port === this.#lastPort && address === this.#lastAddress ? this.#last : this.destination(port, address)
    const raw = this.#raw
    if (this.#queue.size > 0) return (this.#enqueue(viewOf(data, 0, data.byteLength), addr), this.#wait())
    const fd = this.#core.fd
    let rc = native.sendTo(fd, data, slotAddress(addr))
    if (rc < 0 && stale(rc, addr !== undefined)) rc = native.sendTo(fd, data, slotAddress(addr))
    if (rc < 0) return this.#refused(rc, viewOf(data, 0, data.byteLength), addr)
    raw[SENT]++
    raw[BYTES_SENT] += rc
    return true
  }

  /** A send the kernel refused: queued on EAGAIN (false), else the error thrown. */
  #refused(rc: number, view: Uint8Array, addr: Uint8Array | undefined): false {
    if (rc !== EAGAIN) throw this.#error(rc, 'sendto', addr)
    this.#stats.raw[STAT.eagain]++
    this.#mayQueue('sendto')
    this.#enqueue(view, addr)
    return this.#wait()
  }

  /** The error for a failed send: the broadcast hint for EACCES, the path MTU for EMSGSIZE. */
  #error(rc: number, syscall: string, addr: Uint8Array | undefined): Error {
    // udp_sendmsg/raw_sendmsg refuse a broadcast destination with EACCES
    // unless SO_BROADCAST is set (man 7 ip, "SO_BROADCAST").
    const hint = rc === EACCES && this.#core.family === 4 ? BROADCAST_HINT : undefined
    const { address, port } = addr ? decodeSockaddr(addr, 0, addr.byteLength) : { address: undefined, port: undefined }
    const err = callError(rc, syscall, { address, port, hint }) as SystemError & { mtu?: number }
    if (rc === EMSGSIZE) {
      const mtu = this.pathMtu(addr)
      if (mtu > 0) {
        err.mtu = mtu
        err.message += ` (path MTU ${mtu})`
      }
    }
    return err
  }

  /**
   * The path MTU the kernel knows toward `addr` (or the connected peer):
   * IP_MTU / IPV6_MTU (man 7 ip). For an unconnected socket it is read
   * through a scratch socket connected to the same destination (connecting a
   * UDP socket sends nothing); 0 when it cannot be known.
   */
  pathMtu(addr: Uint8Array | undefined): number {
    const { domain } = this.#core.info
    const mapped = isV4Mapped(addr)
    const [level, name] = this.#core.family === 4 || mapped ? [constants.IPPROTO_IP, constants.IP_MTU] : [constants.IPPROTO_IPV6, constants.IPV6_MTU]
    const out = new Int32Array(1)
    if (!addr) return addon.getsockopt(this.#core.fd, level, name, out) === 4 ? out[0] : 0
    const { address, port } = decodeSockaddr(addr, 0, addr.byteLength)
    const fd = addon.open(domain, constants.SOCK_DGRAM, 0)
    if (fd < 0) return 0
    try {
      if (addon.connect(fd, domain, address, port) < 0) return 0
      return addon.getsockopt(fd, level, name, out) === 4 ? out[0] : 0
    } finally {
      addon.close(fd)
    }
  }

  /** IPv4 control levels apply: an IPv4 socket, or a v4-mapped destination (or connected peer). */
  #v4(addr: Uint8Array | undefined): boolean {
    return this.#core.family === 4 || (addr ? isV4Mapped(addr) : this.#core.peerV4Mapped)
  }

  /** One datagram (or one GSO train) with its own destination and control messages. */
  sendMessage(message: OutgoingMessage): boolean {
    const m = validateObject(message, 'message') as unknown as OutgoingMessage
    const family = this.#core.family
    if (family === 0) throw invalidArgType('message', 'sent on an IP socket (control messages are IP ones)', message)
    const { data, port, address } = m
    const addr = port === this.#lastPort && address === this.#lastAddress ? this.#last : this.destination(port, address, 'message.port')
    const controlled = encodeControl(m, family, this.#v4(addr), this.#control, 0, 'message')
    // Validated after the control fields: their getters may have changed the bytes.
    // Only an empty view can be detached: check (and build the name) just then.
    let length = typedArrayBytes(data)
    const bytes = length > 0 ? (data as ArrayBufferView) : validateBytes(data, 'message.data')
    if (length <= 0) length = byteLength(bytes)
    if (!controlled) return this.send(bytes, 0, length, addr)
    const segment = this.#control[C.flags] & C.SEGMENT ? this.#control[C.segment] : 0
    if (segment === 0) return this.#sendOne(bytes, length, addr, 1) // one datagram, the common case
    if (segment > 0 && (length <= segment || length > MAX_GSO_BYTES || Math.ceil(length / segment) > MAX_GSO_SEGMENTS || !this.gso)) {
      // One datagram needs no GSO; a train the kernel cannot take in one call goes as datagrams.
      this.#control[C.flags] &= ~C.SEGMENT
      if (length <= segment) return this.#sendOne(bytes, length, addr, 1)
      return this.#sendPieces(bytes, length, segment, addr)
    }
    return this.#sendOne(bytes, length, addr, segment > 0 ? Math.ceil(length / segment) : 1)
  }

  /** sendmsg of `bytes` with the control in this.#control; `datagrams`: how many it makes (a GSO train, more than one). */
  #sendOne(bytes: Bytes, length: number, addr: Uint8Array | undefined, datagrams: number): boolean {
    // The counters are read before the call: after a system call the memory
    // it did not touch is cold, so the success path touches only them.
    const raw = this.#raw
    if (this.#queue.size > 0) {
      this.#enqueue(viewOf(bytes, 0, length), addr, this.#control, 0)
      return this.#wait()
    }
    const fd = this.#core.fd
    slotControlFrom(this.#control)
    const rc = native.sendMsg(fd, bytes, slotAddress(addr))
    if (rc < 0) return this.#msgRefused(rc, bytes, length, addr, datagrams)
    raw[SENT] += datagrams
    raw[BYTES_SENT] += rc
    return true
  }

  /**
   * A sendmsg (of this.#control) the kernel refused with `rc`: tried once
   * more for a stale error, datagrams instead of GSO on EIO, queued on
   * EAGAIN (false), else the error thrown.
   */
  #msgRefused(rc: number, bytes: Bytes, length: number, addr: Uint8Array | undefined, datagrams: number): boolean {
    if (stale(rc, addr !== undefined)) {
      slotControlFrom(this.#control)
      rc = native.sendMsg(this.#core.fd, bytes, slotAddress(addr))
      if (rc >= 0) {
        this.#sent(datagrams, rc)
        return true
      }
    }
    if (rc === EIO && datagrams > 1) {
      // The route's device cannot offload the checksum: datagrams instead, and no GSO from now on.
      this.#gso = false
      const segment = this.#control[C.segment]
      this.#control[C.flags] &= ~C.SEGMENT
      return this.#sendPieces(bytes, length, segment, addr)
    }
    if (rc !== EAGAIN) throw this.#error(rc, 'sendmsg', addr)
    this.#stats.raw[STAT.eagain]++
    this.#mayQueue('sendmsg')
    this.#enqueue(viewOf(bytes, 0, length), addr, this.#control, 0)
    return this.#wait()
  }

  /** A train as separate datagrams of `segment` bytes, each with this.#control (no GSO), in one sendmmsg list. */
  #sendPieces(bytes: Bytes, length: number, segment: number, addr: Uint8Array | undefined): boolean {
    const pieces: Uint8Array[] = []
    for (let at = 0; at < length; at += segment) pieces.push(viewOf(bytes, at, Math.min(segment, length - at)))
    const controls = this.#controlsFor(pieces.length)
    try {
      for (let i = 0; i < pieces.length; i++) controls.set(this.#control, i * C.stride)
      return (
        this.#sendList(
          pieces,
          addr,
          controls,
          pieces.map((p) => p.byteLength),
          null,
        ) === pieces.length
      )
    } finally {
      this.#release(controls)
    }
  }

  /**
   * Records for `count` datagrams: the reused array, or, when a send made
   * from a getter of an entry runs while it is in use, one of its own.
   */
  #controlsFor(count: number): Int32Array {
    if (this.#controlsBusy) return new Int32Array(count * C.stride)
    this.#controlsBusy = true
    if (this.#controls.length < count * C.stride) this.#controls = new Int32Array(Math.max(count, 64) * C.stride)
    return this.#controls
  }

  /** Ends a use of #controlsFor's array. */
  #release(controls: Int32Array | null): void {
    if (controls === this.#controls) this.#controlsBusy = false
  }

  sendMany(list: readonly SendManyEntry[], port: unknown, address: unknown): number {
    if (!Array.isArray(list)) throw invalidArgType('list', 'an array', list)
    const held: { controls: Int32Array | null } = { controls: null }
    try {
      return this.#sendMany(list, port, address, held)
    } finally {
      this.#release(held.controls)
    }
  }

  #sendMany(list: readonly SendManyEntry[], port: unknown, address: unknown, held: { controls: Int32Array | null }): number {
    const shared = this.destination(port, address)
    const family = this.#core.family
    const count = list.length
    const datas: Bytes[] = new Array(count)
    const lengths: number[] = new Array(count)
    let addrs: Uint8Array | (Uint8Array | undefined)[] | undefined = shared
    let controls: Int32Array | null = null
    /** Datagrams each entry makes: > 1 for a GSO train; null while every entry is one. */
    let trains: number[] | null = null
    for (let i = 0; i < count; i++) {
      const entry = list[i]
      // Only an empty view can be detached: check (and build the name) just then.
      let n = typedArrayBytes(entry)
      if (n > 0) datas[i] = entry as ArrayBufferView
      else if (ArrayBuffer.isView(entry) || entry instanceof ArrayBuffer) {
        datas[i] = validateBytes(entry, `list[${i}]`)
        n = byteLength(datas[i])
      } else {
        if (entry === null || typeof entry !== 'object' || !('data' in entry)) {
          throw invalidArgType(`list[${i}]`, 'bytes or { data, port?, address?, ecn?, tos?, ttl?, source?, interface?, segmentSize? }', entry)
        }
        const { data, port: p, address: a } = entry
        if (p !== undefined || a !== undefined) {
          if (!Array.isArray(addrs)) addrs = new Array(count).fill(shared)
          addrs[i] = this.destination(p ?? port, a ?? address, `list[${i}].port`)
        }
        if (family === 0) {
          if (hasControl(entry)) throw invalidArgType(`list[${i}]`, 'bytes on a socket that is not IP (control messages are IP ones)', entry)
        } else {
          // Records of entries without control stay zero (no flags: no control messages).
          if (!controls) {
            controls = held.controls = this.#controlsFor(count)
            controls.fill(0, 0, count * C.stride)
          }
          // Errors name the entry list[i]; the name is built only then.
          if (encodeControl(entry, family, this.#v4(Array.isArray(addrs) ? addrs[i] : addrs), controls, i) && controls[i * C.stride + C.flags] & C.SEGMENT) {
            ;(trains ??= new Array(count).fill(1))[i] = -1
          }
        }
        n = typedArrayBytes(data)
        if (n > 0) datas[i] = data
        else {
          datas[i] = validateBytes(data, `list[${i}].data`)
          n = byteLength(datas[i])
        }
      }
      if (Array.isArray(addrs) && addrs[i] === undefined) addrs[i] = shared
      lengths[i] = n
    }
    // Getters on later entries ran after earlier ones were checked: make sure
    // none of them detached or shrank an earlier entry's buffer.
    for (let i = 0; i < count; i++) {
      if (byteLength(datas[i]) === lengths[i]) continue
      const why = unusableBytes(datas[i])
      throw why === 'detached' ? bufferDetached(`list[${i}]`) : bufferOutOfBounds(`list[${i}]`)
    }
    if (trains) this.#planTrains(datas, lengths, controls!, trains)
    return this.#sendList(datas, addrs, controls, lengths, trains)
  }

  /** GSO entries: how many datagrams each makes; without GSO on this socket, a train is refused. */
  #planTrains(datas: Bytes[], lengths: number[], controls: Int32Array, trains: number[]): void {
    for (let i = 0; i < trains.length; i++) {
      if (trains[i] !== -1) continue
      const segment = controls[i * C.stride + C.segment]
      const n = Math.ceil(lengths[i] / segment)
      if (n <= 1) {
        controls[i * C.stride + C.flags] &= ~C.SEGMENT
        trains[i] = 1
      } else if (!this.gso || lengths[i] > MAX_GSO_BYTES || n > MAX_GSO_SEGMENTS) {
        throw Object.assign(
          new RangeError(
            `list[${i}]: a GSO train of ${n} segments cannot go in one sendmmsg entry here (${this.gso ? `at most ${MAX_GSO_SEGMENTS} segments and ${MAX_GSO_BYTES} bytes` : 'no UDP GSO on this socket'}); send it with sendMessage or sendSegments`,
          ),
          { code: 'ERR_OUT_OF_RANGE' },
        )
      } else trains[i] = n
    }
  }

  /** sendmmsg over the list in batches; the rest queued in order on EAGAIN. Returns the entries the kernel took now. */
  #sendList(
    datas: Bytes[],
    addrs: Uint8Array | (Uint8Array | undefined)[] | undefined,
    controls: Int32Array | null,
    lengths: number[],
    trains: number[] | null,
  ): number {
    const count = datas.length
    const addrAt = (i: number): Uint8Array | undefined => (Array.isArray(addrs) ? addrs[i] : addrs)
    const raw = this.#raw // read before the system call, like the rest the success path uses
    let sent = 0
    if (this.#queue.size === 0) {
      const fd = this.#core.fd
      const { sources, spans } = spansOf(datas, lengths)
      const control = controls ?? undefined
      while (sent < count) {
        const n = count - sent < MAX_BATCH ? count - sent : MAX_BATCH // no built-in between the table and the send
        let rc = native.sendMany(fd, sources, addrs, sent, n, control, spans)
        if (stale(rc, addrs !== undefined)) rc = native.sendMany(fd, sources, addrs, sent, n, control, spans)
        if (rc > 0) {
          let bytes = 0
          let datagrams = 0
          for (let i = sent; i < sent + rc; i++) {
            bytes += lengths[i]
            datagrams += trains ? trains[i] : 1
          }
          raw[SENT] += datagrams
          raw[BYTES_SENT] += bytes
          sent += rc
          continue
        }
        if (rc === EAGAIN) {
          this.#stats.raw[STAT.eagain]++
          break
        }
        const err = this.#error(rc, 'sendmmsg', addrAt(sent)) as Error & { sent: number }
        err.sent = sent // how many went before the failing datagram; the rest were not sent
        throw err
      }
    }
    if (sent < count) this.#mayQueue('sendmmsg', sent)
    for (let i = sent; i < count; i++) this.#enqueue(viewOf(datas[i], 0, lengths[i]), addrAt(i), controls ?? undefined, i)
    if (sent < count) this.#wait()
    return sent
  }

  /** True while sendSegments uses GSO on this socket (probed once, on the socket itself). */
  get gso(): boolean {
    if (this.#gso === undefined) {
      const kind = this.#core.info.kind
      this.#gso =
        (kind === 'udp4' || kind === 'udp6') &&
        constants.UDP_SEGMENT !== undefined &&
        addon.getsockopt(this.#core.fd, constants.IPPROTO_UDP, constants.UDP_SEGMENT, new Int32Array(1)) >= 0
    }
    return this.#gso
  }

  sendSegments(data: Bytes, segment: number, addr: Uint8Array | undefined): boolean {
    const total = data.byteLength
    const perCall = Math.max(1, Math.min(MAX_GSO_SEGMENTS, Math.floor(MAX_GSO_BYTES / segment))) * segment
    let offset = 0
    if (this.#queue.size === 0) {
      while (offset < total) {
        const chunk = Math.min(perCall, total - offset)
        // One datagram needs no GSO; several use it when the socket has it.
        const useGso = chunk > segment && this.gso
        let rc = addon.sendSegments(this.#core.fd, data, offset, chunk, segment, addr, useGso ? 1 : 0)
        if (stale(rc, addr !== undefined)) rc = addon.sendSegments(this.#core.fd, data, offset, chunk, segment, addr, useGso ? 1 : 0)
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
        throw this.#error(rc, useGso ? 'sendmsg' : 'sendmmsg', addr)
      }
    }
    if (offset >= total) return true
    this.#mayQueue('sendmmsg', Math.ceil(offset / segment))
    for (let at = offset; at < total; at += segment) this.#enqueue(viewOf(data, at, Math.min(segment, total - at)), addr)
    return this.#wait()
  }

  /** Sends what the queue holds; true when it emptied (a 'drain' is owed). */
  flush(): boolean {
    if (this.#queue.size === 0) return false // nothing was waiting: no 'drain' owed
    const fd = this.#core.fd
    const emptied = this.#queue.flush(fd, () => this.#core.fd === fd)
    this.#stats.raw[STAT.queued] = this.#queue.size
    return emptied
  }

  /**
   * Last non-blocking flush (the socket is already marked closed; `fd` is
   * still open); what the kernel does not take is discarded and counted.
   */
  close(fd: number): void {
    this.#queue.flush(fd, () => true, true)
    this.#stats.raw[STAT.discarded] += this.#queue.discard()
    this.#stats.raw[STAT.queued] = 0
  }
}
