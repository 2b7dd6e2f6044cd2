// The Socket class: one file descriptor plus the lifecycle around it (bind,
// connect, listen, accept, shutdown, close), its options, and readiness
// waiting through one native poll handle.
import { EventEmitter } from 'node:events'
import os from 'node:os'
import { capabilities } from './capabilities.js'
import { constants } from './constants.js'
import { abortError, check, socketClosed, systemError, wrongSocketType } from './errors.js'
import { addon, type NativeAddress, type NativePoller } from './native.js'
import type { OptionValue } from './option-table.js'
import { getOptionFd, getsockoptFd, setOptionFd, setsockoptFd, type SockoptKind, type SockoptValue } from './options.js'
import { attachFilterFd, detachFilterFd, lockFilterFd, type BpfProgram } from './bpf.js'
import { readErrorQueueFd, type ErrorQueueMessage } from './errqueue.js'
import { DatagramIo, type Message, type RecvIntoResult, type RecvMemoryOptions, type SendManyEntry } from './datagram-io.js'
import * as multicast from './multicast.js'
import type { RecvBatch } from './recv-batch.js'
import type { RemoteInfo } from './sockaddr.js'
import { ipFamily, isStream, type KindInfo } from './socket-kind.js'
import { SocketStats } from './stats.js'
import { validateAbortSignal, validateAddress, validateBoolean, validateBytes, validateInteger, validateObject, validatePort, validateString } from './validate.js'

const EAGAIN = -os.constants.errno.EAGAIN
const EINPROGRESS = -os.constants.errno.EINPROGRESS

/** A local or remote address, shaped like `net`'s AddressInfo. */
export interface AddressInfo {
  /** The IP address as a literal, e.g. `'127.0.0.1'` or `'::1'`. */
  address: string
  /** The address family. */
  family: 'IPv4' | 'IPv6'
  /** The port, in host byte order. */
  port: number
  /** IPv6 flow information (sin6_flowinfo); IPv6 only. */
  flowinfo?: number
  /** IPv6 scope (interface index) of a link-local address (sin6_scope_id); IPv6 only. */
  scopeId?: number
}

/** The address of an AF_PACKET socket (man 7 packet, struct sockaddr_ll). */
export interface PacketAddressInfo {
  /** Always `'packet'`. */
  family: 'packet'
  /** Interface index (sll_ifindex). */
  ifindex: number
  /** Ethernet protocol (sll_protocol, e.g. 0x0800 for IPv4), in host byte order. */
  protocol: number
  /** ARP hardware type (sll_hatype, e.g. 1 for Ethernet, 772 for loopback). */
  hatype: number
  /** Packet type (sll_pkttype: PACKET_HOST, PACKET_BROADCAST, ...). */
  pkttype: number
  /** Hardware address as colon-separated hex. */
  address: string
}

/** Options of a call that waits: `connect()` of a TCP socket, `accept()`. */
export interface WaitOptions {
  /** Abort the wait: the promise rejects with an AbortError and the socket stays usable. */
  signal?: AbortSignal
}

/** Which ancillary data to receive with each datagram (see `setAncillary`). */
export interface AncillaryOptions {
  /** TTL / hop limit (IP_RECVTTL, IPV6_RECVHOPLIMIT). */
  ttl?: boolean
  /** TOS / traffic class, with the ECN bits (IP_RECVTOS, IPV6_RECVTCLASS). */
  tos?: boolean
  /** Destination address and interface index (IP_PKTINFO, IPV6_RECVPKTINFO). */
  pktinfo?: boolean
  /** Kernel receive timestamp in nanoseconds (SO_TIMESTAMPNS). */
  timestamp?: boolean
}

/** Options of `messages()`, the async iterator over received datagrams. */
export interface IterateOptions extends WaitOptions {
  /** Datagrams held for a slow consumer before reading pauses (default 1024). */
  highWaterMark?: number
}

interface Waiter {
  resolve: (value: never) => void
  reject: (err: Error) => void
  /** Address and port for errors of a connect. */
  context?: { address: string; port: number }
}

/**
 * A socket of any family, type and protocol. Create one with `createSocket()`
 * or `socket()`; every socket is non-blocking and close-on-exec.
 *
 * Events: `'message'` (msg, rinfo) and `'batch'` (batch) deliver received
 * datagrams, `'drain'` follows a send that returned false, `'error'` reports
 * a failed queued send, `'errorqueue'` says the error queue has entries, and
 * `'close'` follows `close()` or `detach()`.
 *
 * @example
 * const s = createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
 * s.on('message', (msg, rinfo) => console.log(rinfo.address, rinfo.port, msg))
 */
export class Socket extends EventEmitter {
  #fd: number
  #info: KindInfo
  #poller: NativePoller | null = null
  /** Events the poll handle is started with; 0 when stopped. */
  #polling = 0
  #referenced = true
  #acceptWaiters: Waiter[] = []
  #connectWaiter: Waiter | null = null
  #owned: boolean
  #data: DatagramIo | null = null
  #memory: RecvMemoryOptions

  /** @internal Use createSocket() or socket(). */
  constructor(fd: number, info: KindInfo, owned = true, memory: RecvMemoryOptions = {}) {
    super()
    this.#fd = fd
    this.#info = info
    this.#owned = owned
    this.#memory = memory
    // Drop counts ride along with received datagrams once SO_RXQ_OVFL is on
    // (man 7 socket); set at once so drops before the first reader count too.
    if (owned && !isStream(info)) addon.setsockopt(fd, constants.SOL_SOCKET, constants.SO_RXQ_OVFL, 1)
    // Reading starts when someone listens for datagrams and stops when nobody does.
    const watch = (event: string | symbol): void => {
      if (event === 'message' || event === 'batch' || event === 'errorqueue') process.nextTick(() => this.#updatePoll())
    }
    this.on('newListener', watch).on('removeListener', watch)
    if (owned) unclosed.register(this, fd, this)
  }

  /** The datagram data path, made on first use (not for stream sockets). */
  #io(operation: string): DatagramIo {
    this.#open(operation)
    if (this.#data) return this.#data
    if (isStream(this.#info)) throw wrongSocketType(operation, this.type)
    const self = this
    const host = {
      get fd() {
        return self.#fd
      },
      emit: (event: string | symbol, ...args: unknown[]) => this.emit(event, ...args),
      listenerCount: (event: string | symbol) => this.listenerCount(event),
      updatePoll: () => this.#updatePoll(),
    }
    const gso = this.#info.kind === 'udp4' || this.#info.kind === 'udp6' ? capabilities().gso : false
    this.#data = new DatagramIo(host, this.#info.domain, ipFamily(this.#info), gso, this.#memory)
    return this.#data
  }

  /** The kind this socket was created as: 'udp4', 'tcp6', 'raw4', 'packet', ... or 'other'. */
  get type(): KindInfo['kind'] {
    return this.#info.kind
  }

  /** socket(2) domain, type and protocol. */
  get domain(): number {
    return this.#info.domain
  }
  /** The socket(2) type, e.g. `constants.SOCK_DGRAM`. */
  get socketType(): number {
    return this.#info.type
  }
  /** The socket(2) protocol, e.g. `constants.IPPROTO_UDP` (0 when the kernel chose). */
  get protocol(): number {
    return this.#info.protocol
  }

  /** The file descriptor; -1 once closed or detached. */
  get fd(): number {
    return this.#fd
  }

  /** True after close() or detach(). */
  get closed(): boolean {
    return this.#fd < 0
  }

  #open(operation: string): number {
    if (this.#fd < 0) throw socketClosed(operation)
    return this.#fd
  }

  #family(operation: string): 4 | 6 {
    const family = ipFamily(this.#info)
    if (family === 0) throw wrongSocketType(operation, this.type)
    return family
  }

  /**
   * Binds to a local address (default: all addresses) and port (default 0,
   * any free port). For a packet socket, binds to an interface by name or
   * index instead: `bind('eth0')`.
   *
   * @example
   * const s = createSocket({ type: 'udp4', reuseAddr: true }).bind(5000, '127.0.0.1')
   */
  bind(port?: number, address?: string): this
  bind(iface: string | number, protocol?: number): this
  bind(portOrIface: number | string = 0, addressOrProtocol?: string | number): this {
    const fd = this.#open('bind')
    if (this.#info.kind === 'packet') return this.#bindPacket(fd, portOrIface, addressOrProtocol)
    const family = this.#family('bind')
    const port = validatePort(portOrIface)
    const address =
      addressOrProtocol === undefined ? (family === 4 ? '0.0.0.0' : '::') : validateAddress(addressOrProtocol, 'address', family)
    check(addon.bind(fd, this.#info.domain, address, port), 'bind', { address, port })
    return this
  }

  #bindPacket(fd: number, iface: unknown, protocol: unknown): this {
    const ifindex = typeof iface === 'number' ? validateInteger(iface, 'iface', 0, 2 ** 31 - 1) : this.#ifindex(iface)
    const proto = protocol === undefined ? 0 : validateInteger(protocol, 'protocol', 0, 0xffff)
    check(addon.bindPacket(fd, ifindex, proto), 'bind', { address: String(iface) })
    return this
  }

  #ifindex(name: unknown): number {
    const iface = validateString(name, 'iface')
    return check(addon.ifNameToIndex(iface), 'if_nametoindex', { address: iface })
  }

  /**
   * Connects to a remote address (default: loopback). Datagram and raw
   * sockets connect synchronously: a system error throws, and the returned
   * promise is already resolved. A TCP socket connects without blocking and
   * the promise settles when the handshake does (rejecting with a system
   * error such as ECONNREFUSED). Aborting a TCP connect dissolves it, leaving
   * the socket free to connect again.
   *
   * @example
   * const c = createSocket({ type: 'tcp4' })
   * await c.connect(8080, '127.0.0.1')
   */
  connect(port: number, address?: string, options: WaitOptions = {}): Promise<void> {
    const fd = this.#open('connect')
    const family = this.#family('connect')
    validatePort(port)
    const host = address === undefined ? (family === 4 ? '127.0.0.1' : '::1') : validateAddress(address, 'address', family)
    const signal = validateAbortSignal(options.signal)
    if (!isStream(this.#info)) {
      check(addon.connect(fd, this.#info.domain, host, port), 'connect', { address: host, port })
      return Promise.resolve()
    }
    if (this.#connectWaiter) return Promise.reject(Object.assign(new Error('A connect is already in progress'), { code: 'ERR_SOCKET_CONNECTING' }))
    if (signal?.aborted) return Promise.reject(abortError(signal))
    const rc = addon.connect(fd, this.#info.domain, host, port)
    if (rc === 0) return Promise.resolve()
    if (rc !== EINPROGRESS) return Promise.reject(systemError(rc, 'connect', { address: host, port }))
    return new Promise<void>((resolve, reject) => {
      const waiter = this.#makeWaiter(
        resolve as (v: never) => void,
        reject,
        signal,
        () => {
          this.#connectWaiter = null
          this.#updatePoll()
        },
        () => {
          // Abandon the half-open connect. tcp_disconnect() leaves ECONNRESET
          // pending in SO_ERROR for a SYN_SENT socket; read it away so the
          // aborted socket reports no error (a new connect would clear it too).
          addon.connect(fd, constants.AF_UNSPEC)
          getsockoptFd(fd, constants.SOL_SOCKET, constants.SO_ERROR, 'int')
        },
      )
      waiter.context = { address: host, port }
      this.#connectWaiter = waiter
      this.#updatePoll()
    })
  }

  /**
   * Dissolves a datagram socket's connection (connect with AF_UNSPEC,
   * man 2 connect), so it can send to any address again.
   *
   * @example
   * s.connect(53, '127.0.0.1')
   * s.disconnect().send(buf, 5000, '127.0.0.1')
   */
  disconnect(): this {
    const fd = this.#open('disconnect')
    check(addon.connect(fd, constants.AF_UNSPEC), 'connect')
    return this
  }

  /**
   * Marks a stream socket as accepting connections.
   * @example createSocket({ type: 'tcp4', reuseAddr: true }).bind(0, '127.0.0.1').listen()
   */
  listen(backlog = 511): this {
    const fd = this.#open('listen')
    validateInteger(backlog, 'backlog', 0, 2 ** 31 - 1)
    check(addon.listen(fd, backlog), 'listen')
    return this
  }

  /**
   * Accepts the next connection on a listening socket: a promise of a new,
   * connected netsock Socket. Several accepts may wait at once; they are
   * served in order.
   *
   * @example
   * const client = await server.accept()
   * const node = new net.Socket({ fd: client.detach() })   // hand the stream to Node
   */
  accept(options: WaitOptions = {}): Promise<Socket> {
    const fd = this.#open('accept')
    const signal = validateAbortSignal(options.signal)
    if (signal?.aborted) return Promise.reject(abortError(signal))
    if (this.#acceptWaiters.length === 0) {
      const client = this.#tryAccept(fd)
      if (client instanceof Socket) return Promise.resolve(client)
      if (client !== null) return Promise.reject(client)
    }
    return new Promise<Socket>((resolve, reject) => {
      const waiter = this.#makeWaiter(resolve as (v: never) => void, reject, signal, () => {
        const i = this.#acceptWaiters.indexOf(waiter)
        if (i !== -1) this.#acceptWaiters.splice(i, 1)
        this.#updatePoll()
      })
      this.#acceptWaiters.push(waiter)
      this.#updatePoll()
    })
  }

  /** A Socket, an Error, or null when nothing is waiting (EAGAIN). */
  #tryAccept(fd: number): Socket | Error | null {
    const client = addon.accept(fd)
    if (client >= 0) return new Socket(client, this.#info)
    if (client === EAGAIN) return null
    return systemError(client, 'accept')
  }

  /**
   * A pending wait. `remove` takes it out of its queue (on any outcome);
   * `onAbort` undoes what an aborted operation left behind.
   */
  #makeWaiter(
    resolve: (value: never) => void,
    reject: (err: Error) => void,
    signal: AbortSignal | undefined,
    remove: () => void,
    onAbort?: () => void,
  ): Waiter {
    const abort = (): void => {
      remove()
      onAbort?.()
      reject(abortError(signal))
    }
    signal?.addEventListener('abort', abort, { once: true })
    const settle = (): void => {
      signal?.removeEventListener('abort', abort)
      remove()
    }
    return {
      resolve: (value: never) => {
        settle()
        resolve(value)
      },
      reject: (err: Error) => {
        settle()
        reject(err)
      },
    }
  }

  /** Starts, changes or stops the poll handle to match what is waiting. */
  #updatePoll(): void {
    if (this.#fd < 0) return
    if (!this.#data && (this.listenerCount('message') > 0 || this.listenerCount('batch') > 0) && !isStream(this.#info)) this.#io('receive')
    const data = this.#data
    data?.offerBacklog()
    const readable = this.#acceptWaiters.length > 0 || (data !== null && data.wantsReadable)
    const writable = this.#connectWaiter !== null || (data !== null && data.wantsWritable)
    // POLLERR (error queue not empty) wakes any started poll; POLLPRI alone asks for nothing else.
    // Stream sockets are left out: a closed TCP socket reports POLLHUP, which
    // libuv would turn into an endless 'errorqueue' wake-up.
    const errors = this.listenerCount('errorqueue') > 0 && !isStream(this.#info) ? addon.UV_PRIORITIZED : 0
    const events = (readable ? addon.UV_READABLE : 0) | (writable ? addon.UV_WRITABLE : 0) | errors
    if (events === 0) {
      // Close rather than stop: a stopped poller still holds its callback, and
      // through it this socket, which could then never be garbage-collected.
      this.#poller?.close()
      this.#poller = null
      this.#polling = 0
      return
    }
    if (!this.#poller) {
      const poller = new addon.Poller((status, ready) => this.#onPoll(status, ready))
      check(poller.open(this.#fd), 'uv_poll_init')
      if (!this.#referenced) poller.unref()
      this.#poller = poller
    }
    // uv_poll_start re-registers the fd with epoll even for the same mask, so
    // call it only when the mask changes: one epoll_ctl per change, not per event.
    if (events !== this.#polling) {
      check(this.#poller.start(events), 'uv_poll_start')
      this.#polling = events
    }
  }

  #onPoll(status: number, events: number): void {
    // libuv reports POLLERR as status UV_EBADF and stops the handle; the
    // socket's own calls (SO_ERROR, accept, recv) then say what really
    // happened. While POLLPRI is watched, libuv reports POLLERR as
    // UV_PRIORITIZED with status 0 (it merges the watched events into a bare
    // POLLERR). A handler that throws must not leave the socket deaf, so the
    // poll is re-armed in `finally`.
    if (status < 0) {
      events = addon.UV_READABLE | addon.UV_WRITABLE
      this.#polling = 0 // libuv stopped the handle
    }
    try {
      this.#dispatch(status, events)
    } finally {
      if (status < 0 && this.#fd >= 0) this.#clearPollError()
      this.#updatePoll()
    }
  }

  #dispatch(status: number, events: number): void {
    // Listeners drain the error queue first, which also clears the pending socket error.
    if ((status < 0 || events & addon.UV_PRIORITIZED) && this.listenerCount('errorqueue') > 0) {
      this.emit('errorqueue')
      if (this.#fd < 0) return
    }
    if (events & addon.UV_WRITABLE && this.#connectWaiter) {
      const soError = getsockoptFd(this.#fd, constants.SOL_SOCKET, constants.SO_ERROR, 'int') as number
      const waiter = this.#connectWaiter
      if (soError === 0) waiter.resolve(undefined as never)
      else waiter.reject(systemError(-soError, 'connect', waiter.context))
    }
    if (this.#data) {
      if (events & addon.UV_WRITABLE) this.#data.onWritable()
      if (events & addon.UV_READABLE) this.#data.onReadable()
    }
    if (events & addon.UV_READABLE) {
      while (this.#acceptWaiters.length && this.#fd >= 0) {
        const client = this.#tryAccept(this.#fd)
        if (client === null) break
        const waiter = this.#acceptWaiters[0]
        if (client instanceof Socket) waiter.resolve(client as never)
        else waiter.reject(client)
      }
    }
  }

  /**
   * POLLERR that nobody consumed (an error queue with no 'errorqueue'
   * listener, or a pending error no receive picked up) stays set and would
   * wake the loop forever: drain the queue and clear the error, reporting it
   * to an 'error' listener if there is one.
   */
  #clearPollError(): void {
    if (this.listenerCount('errorqueue') === 0) while (readErrorQueueFd(this.#fd) !== null);
    if (this.#connectWaiter) return // the connect reads SO_ERROR itself
    const soError = getsockoptFd(this.#fd, constants.SOL_SOCKET, constants.SO_ERROR, 'int') as number
    if (soError !== 0 && this.listenerCount('error') > 0) this.emit('error', systemError(-soError, 'poll'))
  }

  /**
   * Shuts down one or both directions of a connection (man 2 shutdown).
   * @example conn.shutdown('write')   // send FIN, keep reading
   */
  shutdown(how: 'read' | 'write' | 'both' = 'both'): void {
    const fd = this.#open('shutdown')
    const value = { read: constants.SHUT_RD, write: constants.SHUT_WR, both: constants.SHUT_RDWR }[how]
    if (value === undefined) throw Object.assign(new TypeError(`The argument 'how' must be 'read', 'write' or 'both'. Received ${String(how)}`), { code: 'ERR_INVALID_ARG_VALUE' })
    check(addon.shutdown(fd, value), 'shutdown')
  }

  /**
   * The local address of an IP socket (getsockname).
   * @example createSocket({ type: 'udp4' }).bind(0).address() // { address: '0.0.0.0', family: 'IPv4', port: 41234 }
   */
  address(): AddressInfo {
    const fd = this.#open('address')
    if (this.#info.kind === 'packet') throw wrongSocketType('address() (use packetAddress())', 'packet')
    return this.#name(addon.getsockname(fd), 'getsockname') as AddressInfo
  }

  /**
   * The interface, protocol and hardware address a packet socket is bound to
   * (getsockname on AF_PACKET, man 7 packet).
   * @example createSocket({ type: 'packet', protocol: 'ip' }).bind('lo').packetAddress().ifindex // 1
   */
  packetAddress(): PacketAddressInfo {
    const fd = this.#open('packetAddress')
    if (this.#info.kind !== 'packet') throw wrongSocketType('packetAddress()', this.type)
    return this.#name(addon.getsockname(fd), 'getsockname') as PacketAddressInfo
  }

  /**
   * The remote address of a connected socket (getpeername); ENOTCONN otherwise.
   * @example conn.remoteAddress() // { address: '127.0.0.1', family: 'IPv4', port: 51234 }
   */
  remoteAddress(): AddressInfo {
    return this.#name(addon.getpeername(this.#open('remoteAddress')), 'getpeername') as AddressInfo
  }

  #name(result: NativeAddress | number, syscall: string): AddressInfo | PacketAddressInfo {
    if (typeof result === 'number') throw systemError(result, syscall)
    return result as AddressInfo | PacketAddressInfo
  }

  /**
   * setsockopt(2) with a numeric level and option. `value`: a number (C int),
   * a boolean (0/1), raw bytes, `{ onoff, linger }` or `{ sec, usec }`.
   * @example s.setsockopt(constants.SOL_SOCKET, constants.SO_PRIORITY, 4)
   */
  setsockopt(level: number, name: number, value: SockoptValue): this {
    setsockoptFd(this.#open('setsockopt'), level, name, value)
    return this
  }

  /**
   * getsockopt(2), decoded as `kind`: 'int' (default), 'bool', 'linger',
   * 'timeval', 'string', 'buffer', or a byte count for a Buffer of that size.
   * @example s.getsockopt(constants.SOL_SOCKET, constants.SO_RCVBUF) // 212992
   */
  getsockopt(level: number, name: number, kind: SockoptKind = 'int'): unknown {
    return getsockoptFd(this.#open('getsockopt'), level, name, kind)
  }

  /**
   * Sets a socket option by its man-page name, with its value checked against
   * the option table (see `optionTable`).
   * @example s.setOption('SO_REUSEPORT', true).setOption('IP_TTL', 32)
   */
  setOption(name: string, value: OptionValue): this {
    setOptionFd(this.#open('setOption'), name, value)
    return this
  }

  /**
   * Reads a socket option by its man-page name, decoded per the option table.
   * @example s.getOption('TCP_KEEPIDLE') // 7200
   */
  getOption(name: string): OptionValue {
    return getOptionFd(this.#open('getOption'), name)
  }

  /**
   * Sends one datagram, synchronously and without copying: the kernel reads
   * the bytes straight from `data`. Returns true when the kernel took it;
   * then the caller may reuse `data` at once. Returns false when the socket
   * buffer was full (EAGAIN): the datagram is queued, `data` is kept alive and
   * must not be modified until `'drain'`. Later sends queue behind it, so
   * order is kept. A kernel error throws (a queued datagram's error is emitted
   * as `'error'`). Without port/address, sends to the connected peer.
   *
   * @example
   * s.send(Buffer.from('hello'), 5000, '127.0.0.1')
   * s.send(packet, 0, 64, 5000, '127.0.0.1')   // bytes 0..63 only
   */
  send(data: ArrayBufferView | ArrayBuffer | string, port?: number, address?: string): boolean
  send(data: ArrayBufferView | ArrayBuffer, offset: number, length: number, port?: number, address?: string): boolean
  send(data: ArrayBufferView | ArrayBuffer | string, a?: number, b?: string | number, c?: number, d?: string): boolean {
    const io = this.#io('send')
    const bytes = typeof data === 'string' ? Buffer.from(data) : validateBytes(data, 'data')
    if (typeof b === 'number') {
      const offset = validateInteger(a, 'offset', 0, bytes.byteLength)
      const length = validateInteger(b, 'length', 0, bytes.byteLength - offset)
      return io.send(bytes, offset, length, io.destination(c, d))
    }
    return io.send(bytes, 0, bytes.byteLength, io.destination(a, b))
  }

  /**
   * Sends many datagrams with one sendmmsg per batch of up to 1024. Entries
   * are bytes or `{ data, port?, address? }` with their own destination.
   * Returns how many the kernel took now; the rest are queued in order
   * (`'drain'` follows). If the kernel rejects one, the error is thrown with
   * `err.sent` = how many went before it, and the rest are not sent.
   *
   * @example
   * s.sendMany([a, b, { data: c, port: 6000 }], 5000, '127.0.0.1')
   */
  sendMany(list: readonly SendManyEntry[], port?: number, address?: string): number {
    return this.#io('sendMany').sendMany(list, port, address)
  }

  /**
   * Sends `data` as datagrams of `segmentSize` bytes (the last may be
   * shorter) with UDP GSO: one system call carries up to 64 segments and the
   * kernel splits them. Where `capabilities().gso` is false (or the device
   * cannot offload), falls back to sendmmsg over views of the same buffer.
   * Returns like `send`.
   *
   * @example
   * s.sendSegments(Buffer.alloc(48_000), 1200, 5000, '127.0.0.1')   // 40 datagrams, 1 syscall
   */
  sendSegments(data: ArrayBufferView | ArrayBuffer, segmentSize: number, port?: number, address?: string): boolean {
    const io = this.#io('sendSegments')
    validateBytes(data, 'data')
    validateInteger(segmentSize, 'segmentSize', 1, 65507)
    return io.sendSegments(data, segmentSize, io.destination(port, address))
  }

  /** True while sendSegments uses GSO on this socket. */
  get gso(): boolean {
    return this.#data?.gso ?? (ipFamily(this.#info) !== 0 && !isStream(this.#info) && capabilities().gso)
  }

  /**
   * Reads one waiting datagram into `buf[offset, offset + length)` without
   * blocking, like Python's recvfrom_into. Returns null when none is waiting.
   *
   * @example
   * const r = s.recvInto(buf)   // { bytes, size, truncated, rinfo } | null
   */
  recvInto(buf: ArrayBufferView | ArrayBuffer, offset = 0, length?: number): RecvIntoResult | null {
    const io = this.#io('recvInto')
    const size = validateBytes(buf, 'buf').byteLength
    validateInteger(offset, 'offset', 0, size)
    const len = length === undefined ? size - offset : validateInteger(length, 'length', 0, size - offset)
    return io.recvInto(buf, offset, len)
  }

  /**
   * Iterates received datagrams as `{ data, rinfo }` copies. Memory is
   * bounded: when `highWaterMark` datagrams wait unconsumed, reading pauses
   * (the kernel buffer then fills and drops, counted in `stats.dropped`; if
   * other listeners keep the socket reading, the full iterator misses
   * datagrams, counted in `stats.overflow`). Ends when the socket closes or
   * the loop breaks; aborting `signal` makes it throw an AbortError.
   *
   * @example
   * for await (const { data, rinfo } of s.messages({ signal })) console.log(rinfo.port, data)
   */
  messages(options: IterateOptions = {}): AsyncIterableIterator<Message> {
    validateObject(options, 'options')
    const highWaterMark = validateInteger(options.highWaterMark ?? 1024, 'options.highWaterMark', 1, 2 ** 30)
    const signal = validateAbortSignal(options.signal)
    return this.#io('messages').iterate(highWaterMark, signal)
  }

  /**
   * `for await (const { data, rinfo } of socket)`: see `messages()`.
   * @example for await (const { data } of s) if (data.length === 0) break
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this.messages()
  }

  /**
   * Joins a multicast group on one interface (IP_ADD_MEMBERSHIP,
   * IPV6_ADD_MEMBERSHIP; man 7 ip). `iface`: for IPv4 the interface's
   * address, index or name; for IPv6 its index or name (or a zone on the
   * group, `ff02::1%eth0`). Without it the kernel routes to the group (IPv4)
   * and fails with ENODEV when there is no route.
   *
   * @example
   * createSocket({ type: 'udp4', reuseAddr: true }).bind(5353).addMembership('224.0.0.251', '192.168.1.10')
   */
  addMembership(group: string, iface?: multicast.MulticastInterface): this {
    multicast.addMembership(this, group, iface)
    return this
  }

  /**
   * Leaves a group joined with addMembership (same group and interface).
   * @example s.dropMembership('224.0.0.251', '192.168.1.10')
   */
  dropMembership(group: string, iface?: multicast.MulticastInterface): this {
    multicast.dropMembership(this, group, iface)
    return this
  }

  /**
   * Joins a group for datagrams from one source only (source-specific
   * multicast: IP_ADD_SOURCE_MEMBERSHIP, MCAST_JOIN_SOURCE_GROUP).
   * @example s.addSourceMembership('10.0.0.5', '232.1.2.3', 'eth0')
   */
  addSourceMembership(source: string, group: string, iface?: multicast.MulticastInterface): this {
    multicast.addSourceMembership(this, source, group, iface)
    return this
  }

  /**
   * Leaves a source-specific membership (same source, group and interface).
   * @example s.dropSourceMembership('10.0.0.5', '232.1.2.3', 'eth0')
   */
  dropSourceMembership(source: string, group: string, iface?: multicast.MulticastInterface): this {
    multicast.dropSourceMembership(this, source, group, iface)
    return this
  }

  /**
   * TTL (IPv4) or hop limit (IPv6) of multicast sent: 1 by default (this
   * link), 0 keeps it on this host.
   * @example s.setMulticastTTL(4)
   */
  setMulticastTTL(ttl: number): this {
    multicast.setMulticastTTL(this, ttl)
    return this
  }

  /**
   * Whether multicast this socket sends is also delivered to members on this host (default true).
   * @example s.setMulticastLoopback(false)
   */
  setMulticastLoopback(flag: boolean): this {
    multicast.setMulticastLoopback(this, flag)
    return this
  }

  /**
   * The interface multicast is sent through: for IPv4 an address, index or
   * name; for IPv6 an index or name. 0 / '0.0.0.0' leaves it to routing.
   * @example s.setMulticastInterface('eth1').send(buf, 5000, '239.1.2.3')
   */
  setMulticastInterface(iface: multicast.MulticastInterface): this {
    multicast.setMulticastInterface(this, iface)
    return this
  }

  /**
   * Chooses the ancillary data each received datagram carries (in `rinfo`
   * for 'message', `batch.ancillary(i)` for 'batch'). Sets the matching
   * IPv4 or IPv6 socket options.
   *
   * @example
   * s.setAncillary({ ttl: true, tos: true, pktinfo: true, timestamp: true })
   */
  setAncillary(options: AncillaryOptions): this {
    const fd = this.#open('setAncillary')
    validateObject(options, 'options')
    const v6 = ipFamily(this.#info) === 6
    const names: [keyof AncillaryOptions, string, string][] = [
      ['ttl', 'IP_RECVTTL', 'IPV6_RECVHOPLIMIT'],
      ['tos', 'IP_RECVTOS', 'IPV6_RECVTCLASS'],
      ['pktinfo', 'IP_PKTINFO', 'IPV6_RECVPKTINFO'],
      ['timestamp', 'SO_TIMESTAMPNS', 'SO_TIMESTAMPNS'],
    ]
    const settings = names.filter(([key]) => options[key] !== undefined).map(([key, v4, v6name]) => [validateBoolean(options[key], `options.${key}`), v4, v6name] as const)
    for (const [on, v4name, v6name] of settings) {
      if (v4name.startsWith('SO_')) {
        setsockoptFd(fd, constants.SOL_SOCKET, constants[v4name], on)
        continue
      }
      if (v6) {
        setsockoptFd(fd, constants.IPPROTO_IPV6, constants[v6name], on)
        // A dual-stack socket also receives IPv4 (v4-mapped) datagrams, whose TTL
        // and TOS come only under the IPv4 options (IPV6_PKTINFO already covers
        // them); a v6-only socket refuses these, which is fine.
        if (v4name !== 'IP_PKTINFO') addon.setsockopt(fd, constants.IPPROTO_IP, constants[v4name], on ? 1 : 0)
      } else setsockoptFd(fd, constants.IPPROTO_IP, constants[v4name], on)
    }
    return this
  }

  /**
   * Reads one entry of the socket's error queue without blocking (null when
   * empty): the decoded sock_extended_err (origin, ICMP type/code, offender,
   * info) and the quoted packet. Turn the queue on with
   * `setOption('IP_RECVERR', true)` / `setOption('IPV6_RECVERR', true)`.
   * Listen for `'errorqueue'` to hear when entries wait (POLLERR, datagram
   * and raw sockets); the listener must drain the queue. Without a listener,
   * entries that wake the event loop are drained and dropped.
   *
   * @example
   * s.on('errorqueue', () => { for (let e; (e = s.readErrorQueue()); ) console.log(e.offender, e.type, e.code) })
   */
  readErrorQueue(buf?: ArrayBufferView | ArrayBuffer, offset = 0, length?: number): ErrorQueueMessage | null {
    const fd = this.#open('readErrorQueue')
    if (buf === undefined) return readErrorQueueFd(fd)
    const size = validateBytes(buf, 'buf').byteLength
    validateInteger(offset, 'offset', 0, size)
    const len = length === undefined ? size - offset : validateInteger(length, 'length', 0, size - offset)
    return readErrorQueueFd(fd, buf, offset, len)
  }

  /**
   * Attaches a classic BPF filter (SO_ATTACH_FILTER, man 7 socket): from
   * `{ code, jt, jf, k }` instructions or the text `tcpdump -dd` prints.
   * Replaces any filter attached before.
   *
   * @example
   * s.attachFilter(fs.readFileSync('udp53.bpf', 'utf8'))   // tcpdump -dd 'udp port 53' > udp53.bpf
   */
  attachFilter(program: BpfProgram): this {
    attachFilterFd(this.#open('attachFilter'), program)
    return this
  }

  /**
   * Removes the attached filter (SO_DETACH_FILTER); ENOENT when none, EPERM once locked.
   * @example s.detachFilter()
   */
  detachFilter(): this {
    detachFilterFd(this.#open('detachFilter'))
    return this
  }

  /**
   * Locks the attached filter (SO_LOCK_FILTER): replacing or detaching it then fails with EPERM.
   * @example s.attachFilter(program).lockFilter()
   */
  lockFilter(): this {
    lockFilterFd(this.#open('lockFilter'))
    return this
  }

  /** Datagram counters, read without a native call (zeros for stream sockets). */
  get stats(): SocketStats {
    if (this.#data) return this.#data.stats
    if (isStream(this.#info) || this.#fd < 0) return new SocketStats() // nothing ever flowed
    return this.#io('stats').stats
  }

  /**
   * Lets pending waits keep the event loop alive (the default).
   * @example s.ref()
   */
  ref(): this {
    this.#referenced = true
    this.#poller?.ref()
    return this
  }

  /**
   * Pending waits no longer keep the event loop alive.
   * @example s.unref().on('message', onMessage)   // listen, but let the process exit
   */
  unref(): this {
    this.#referenced = false
    this.#poller?.unref()
    return this
  }

  #teardown(reason: string): void {
    unclosed.unregister(this)
    const fd = this.#fd
    // Closed first: rejecting the waiters below re-enters #updatePoll, which
    // must not start a new poll on a descriptor that is about to be closed.
    this.#fd = -1
    this.#data?.close(fd)
    this.#poller?.close()
    this.#poller = null
    this.#polling = 0
    const err = socketClosed(reason)
    this.#connectWaiter?.reject(err)
    for (const waiter of [...this.#acceptWaiters]) waiter.reject(err)
    process.nextTick(() => this.emit('close'))
  }

  /**
   * Closes the socket. Idempotent; pending connect/accept promises reject
   * with ERR_SOCKET_CLOSED; any later use throws ERR_SOCKET_CLOSED. A socket
   * adopted with `owned: false` is let go of, not closed.
   *
   * @example
   * s.on('close', () => console.log('closed')).close()
   */
  close(): void {
    if (this.#fd < 0) return
    const fd = this.#fd
    this.#teardown('wait: close() was called')
    if (this.#owned) check(addon.close(fd), 'close')
  }

  /**
   * Gives the file descriptor away: netsock stops watching it, will not
   * close it, and treats the socket as closed. Use it to hand a socket you
   * configured to Node (`net.Server.listen({ fd })`, `new net.Socket({ fd })`,
   * `dgram` `bind({ fd })`).
   *
   * @example
   * const s = createSocket({ type: 'tcp4', reusePort: true }).bind(8080)
   * net.createServer(onConnection).listen({ fd: s.detach() })
   */
  detach(): number {
    const fd = this.#open('detach')
    if (this.#owned) addon.release(fd)
    this.#teardown('wait: detach() was called')
    return fd
  }
}

/**
 * Closes the descriptor of an owned socket that was garbage-collected without
 * close(). A socket that is waiting for something (listeners for datagrams,
 * a pending accept or connect, queued sends) stays reachable through its poll
 * handle and is not collected; close it, or remove its listeners, to let go.
 */
const unclosed = new FinalizationRegistry<number>((fd) => {
  addon.close(fd)
})

export type { ErrorQueueMessage, Message, RecvBatch, RecvIntoResult, RemoteInfo, SendManyEntry }
