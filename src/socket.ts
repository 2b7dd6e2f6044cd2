// The Socket class: the public facade over one descriptor. Its parts live
// elsewhere: SocketCore (fd, kind, open/closed), Readiness (the poll handle),
// StreamWaiters (connect/accept), DatagramIo (the data path), options,
// multicast, BPF and the error queue. This file validates arguments, wires
// the parts together and keeps the listener counts they act on.
import os from 'node:os'
import { constants } from './constants.js'
import { abortError, check, errnoName, invalidArgType, socketClosed, systemError, wrongSocketType } from './errors.js'
import { bindPrivilegeHint } from './hints.js'
import { DatagramIo } from './datagram-io.js'
import type { DatagramListeners, RecvIntoResult, RecvMemoryOptions } from './datagram-receive.js'
import type { DatagramSender, SendManyEntry } from './datagram-send.js'
import type { Message } from './message-iterator.js'
import type { OutgoingMessage } from './send-control.js'
import { interfaceIndex } from './interfaces.js'
import { addon, type Bytes } from './native.js'
import * as sockopt from './options.js'
import { errorQueueSource } from './error-queue-source.js'
import { Readiness } from './readiness.js'
import { SocketControl } from './socket-control.js'
import { SocketCore } from './socket-core.js'
import type { SocketKind } from './option-table.js'
import type { KindInfo } from './socket-kind.js'
import type { IterateOptions, SocketEventMap, WaitOptions } from './socket-types.js'
import { SocketStats } from './stats.js'
import { StreamWaiters } from './waiters.js'
import { typedArrayBytes, validateAbortSignal, validateAddress, validateBytes, validateInteger, validateObject, validatePort } from './validate.js'

const EINPROGRESS = -os.constants.errno.EINPROGRESS

type Listeners = DatagramListeners & { errorqueue: number; txtimestamp: number }

/**
 * A socket of any family, type and protocol. Create one with `createSocket()`
 * or `socket()`; every socket is non-blocking and close-on-exec. Events: see
 * `SocketEventMap`.
 *
 * @example
 * const s = createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
 * s.on('message', (msg, rinfo) => console.log(rinfo.address, rinfo.port, msg))
 */
export class Socket<K extends SocketKind | 'other' = SocketKind | 'other'> extends SocketControl {
  #readiness: Readiness
  #waiters: StreamWaiters<Socket> | null = null
  #io: DatagramIo | null = null
  /** The sender while the socket is open and has a data path: send()'s fast path. */
  #tx: DatagramSender | null = null
  #memory: RecvMemoryOptions
  #stats = new SocketStats()
  #listeners: Listeners = { message: 0, batch: 0, error: 0, errorqueue: 0, txtimestamp: 0 }

  /** @internal Use createSocket() or socket(). */
  constructor(fd: number, info: KindInfo, owned: boolean, memory: RecvMemoryOptions) {
    const core = new SocketCore(fd, info, owned)
    super(core)
    this.#memory = memory
    const onError = (err: Error): unknown => this.#listeners.error > 0 && this.emit('error', err)
    this.#readiness = new Readiness(core, onError, { hasErrorQueue: core.family !== 0 || info.kind === 'packet' })
    const drain = (): void => {
      while (!this.closed && this.readErrorQueue() !== null);
    }
    this.#readiness.add(errorQueueSource(core, this.#listeners, () => this.emit('errorqueue'), drain))
    if (core.stream) {
      const accepted = (client: number): Socket => new Socket(client, info, true, memory)
      this.#waiters = new StreamWaiters(core, () => this.#readiness.update(), accepted)
      this.#readiness.add(this.#waiters)
    } else if (owned) sockopt.countDrops(fd)
    // Listener counts change synchronously (the data path reads them); what to
    // poll for is settled on the next tick, after the caller's setup.
    this.#watchListeners()
    core.closeWhenCollected(this)
  }

  #adding = (event: string | symbol): void => this.#count(event, 1)
  #removed = (event: string | symbol): void => this.#count(event, 0)

  #watchListeners(): void {
    if (!this.listeners('newListener').includes(this.#adding)) this.on('newListener', this.#adding)
    if (!this.listeners('removeListener').includes(this.#removed)) this.on('removeListener', this.#removed)
  }

  /** Also removes netsock's own listener hooks (EventEmitter's way): they are put back, and the counts read again. */
  override removeAllListeners(event?: keyof SocketEventMap): this {
    super.removeAllListeners(event)
    this.#watchListeners()
    for (const name of Object.keys(this.#listeners) as (keyof Listeners)[]) this.#listeners[name] = this.listenerCount(name)
    process.nextTick(() => this.#update())
    return this
  }

  #count(event: string | symbol, adding: 0 | 1): void {
    if (typeof event !== 'string' || !(event in this.#listeners)) return
    // A socket adopted with owned: false may sit in this loop's epoll already
    // (a net or dgram handle's): refuse its listener now, with a coded error.
    if (adding && event !== 'error' && !this.core.owned && !this.closed) this.#readiness.prepare()
    this.#listeners[event as keyof Listeners] = this.listenerCount(event as keyof SocketEventMap) + adding
    if (event !== 'error') process.nextTick(() => this.#update())
  }

  #update(): void {
    if (this.core.closed) return
    try {
      if (!this.#io && (this.#listeners.message > 0 || this.#listeners.batch > 0) && !this.core.stream) this.#data('receive')
      this.#io?.receiver.offerBacklog()
      this.#readiness.update()
    } catch (err) {
      this.emit('error', err as Error) // never an uncatchable throw from a tick
    }
  }

  /** @internal */
  protected override interestChanged(): void {
    this.#readiness.update()
  }

  /** The datagram data path, made on first use (not for stream sockets). */
  #data(operation: string): DatagramIo {
    this.core.open(operation)
    if (this.#io) return this.#io
    if (this.core.stream) throw wrongSocketType(operation, this.type)
    const host = {
      emit: (event: string | symbol, ...args: unknown[]) => this.emit(event as 'drain', ...(args as [])),
      updateReadiness: () => this.#readiness.update(),
      prepareToWait: () => this.#readiness.prepare(),
    }
    this.#io = new DatagramIo(this.core, host, this.#listeners, this.#stats, this.#memory)
    this.#tx = this.#io.sender
    this.#readiness.add(this.#io)
    return this.#io
  }

  /** The kind this socket was created as ('udp4', 'tcp6', 'raw4', 'packet', ... or 'other'): createSocket's `type`. */
  get type(): K {
    return this.core.info.kind as K
  }
  /**
   * Binds to a local address (default: all addresses) and port (default 0,
   * any free port). For a packet socket, binds to an interface by name or
   * index instead: `bind('eth0')`. A callback last runs once bound (a failure
   * throws, before it).
   *
   * @example
   * const s = createSocket({ type: 'udp4', reuseAddr: true }).bind(5000, '127.0.0.1')
   */
  bind(this: Socket<'packet'>, iface: string | number, protocol?: number, callback?: () => void): Socket<'packet'>
  bind(port?: number, address?: string, callback?: () => void): this
  bind(port: number, callback: () => void): this
  bind(...args: unknown[]): this | Socket<'packet'> {
    const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined
    const [portOrIface = 0, addressOrProtocol] = args
    if (this.type === 'packet') {
      const ifindex = typeof portOrIface === 'number' ? validateInteger(portOrIface, 'iface', 0, 2 ** 31 - 1) : interfaceIndex(portOrIface, 'iface')
      const proto = addressOrProtocol === undefined ? 0 : validateInteger(addressOrProtocol, 'protocol', 0, 0xffff)
      check(addon.bindPacket(this.core.open('bind'), ifindex, proto), 'bind', { address: String(portOrIface) })
    } else {
      const family = this.core.ipFamily('bind')
      const port = validatePort(portOrIface)
      const address = addressOrProtocol === undefined ? (family === 4 ? '0.0.0.0' : '::') : validateAddress(addressOrProtocol, 'address', family)
      const rc = addon.bind(this.core.open('bind'), this.domain, address, port)
      if (rc < 0) throw systemError(rc, 'bind', { address, port, hint: errnoName(rc) === 'EACCES' ? bindPrivilegeHint(port) : undefined })
    }
    if (callback) process.nextTick(callback)
    return this
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
    const family = this.core.ipFamily('connect')
    validatePort(port)
    const host = address === undefined ? (family === 4 ? '127.0.0.1' : '::1') : validateAddress(address, 'address', family)
    const signal = validateAbortSignal(validateObject(options, 'options').signal)
    const fd = this.core.open('connect')
    if (!this.#waiters) {
      check(addon.connect(fd, this.domain, host, port), 'connect', { address: host, port })
      this.core.peerChanged()
      return Promise.resolve()
    }
    if (this.#waiters.connecting) return Promise.reject(Object.assign(new Error('A connect is already in progress'), { code: 'ERR_SOCKET_CONNECTING' }))
    if (signal?.aborted) return Promise.reject(abortError(signal))
    const rc = addon.connect(fd, this.domain, host, port)
    if (rc === 0) return Promise.resolve()
    if (rc !== EINPROGRESS) return Promise.reject(systemError(rc, 'connect', { address: host, port }))
    return this.#waiters.connect(host, port, signal, () => {
      // Abandon the half-open connect. tcp_disconnect() leaves ECONNRESET
      // pending in SO_ERROR for a SYN_SENT socket; read it away so the
      // aborted socket reports no error (a new connect would clear it too).
      addon.connect(fd, constants.AF_UNSPEC)
      sockopt.getRawOption(fd, constants.SOL_SOCKET, constants.SO_ERROR)
    })
  }

  /**
   * Dissolves a datagram socket's connection (connect with AF_UNSPEC,
   * man 2 connect), so it can send to any address again.
   * @example s.connect(53, '127.0.0.1'); s.disconnect().send(buf, 5000, '127.0.0.1')
   */
  disconnect(): this {
    check(addon.connect(this.core.open('disconnect'), constants.AF_UNSPEC), 'connect')
    this.core.peerChanged()
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
  accept(options: WaitOptions = {}): Promise<Socket<K>> {
    const signal = validateAbortSignal(validateObject(options, 'options').signal)
    this.core.open('accept')
    if (!this.#waiters) throw wrongSocketType('accept', this.type)
    if (signal?.aborted) return Promise.reject(abortError(signal))
    if (!this.#waiters.accepting) {
      const client = this.#waiters.tryAccept()
      if (client instanceof Error) return Promise.reject(client)
      if (client !== null) return Promise.resolve(client as Socket<K>)
    }
    return this.#waiters.accept(signal) as Promise<Socket<K>>
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
  send(data: Bytes | string, port?: number, address?: string): boolean
  send(data: Bytes, offset: number, length: number, port?: number, address?: string): boolean
  send(data: Bytes | string, a?: number, b?: string | number, c?: number, d?: string): boolean {
    // The hot path: an open socket's sender, and a whole non-empty view (it needs no detachment check).
    const tx = this.#tx
    if (tx !== null && typeof b !== 'number' && typedArrayBytes(data) > 0) return tx.sendView(data as ArrayBufferView, a, b)
    const io = this.#data('send').sender
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
    return this.#data('sendMany').sender.sendMany(list, port, address)
  }

  /**
   * Sends `data` as datagrams of `segmentSize` bytes (the last may be
   * shorter) with UDP GSO: one system call carries up to 64 segments and the
   * kernel splits them. Where the socket has no GSO (see `gso`), falls back
   * to sendmmsg over views of the same buffer. Returns like `send`.
   *
   * @example
   * s.sendSegments(Buffer.alloc(48_000), 1200, 5000, '127.0.0.1')   // 40 datagrams, 1 syscall
   */
  sendSegments(data: Bytes, segmentSize: number, port?: number, address?: string): boolean {
    const io = this.#data('sendSegments').sender
    const bytes = validateBytes(data, 'data')
    validateInteger(segmentSize, 'segmentSize', 1, addon.limits.maxUdpPayload)
    return io.sendSegments(bytes, segmentSize, io.destination(port, address))
  }

  /**
   * Sends one datagram (or, with `segmentSize`, one GSO train) with its own
   * control messages: `ecn` (0-3 or 'not-ect' | 'ect1' | 'ect0' | 'ce', in
   * IP_TOS / IPV6_TCLASS, keeping the DSCP of `tos`), `ttl` (IP_TTL /
   * IPV6_HOPLIMIT), `source` and `interface` (IP_PKTINFO / IPV6_PKTINFO) and
   * `segmentSize` (UDP_SEGMENT; without GSO, separate datagrams). Returns and
   * queues like `send`. An EMSGSIZE error carries the path MTU as `err.mtu`.
   * @example s.sendMessage({ data, port: 4433, address: '192.0.2.7', ecn: 'ect0', source: '192.0.2.1' })
   */
  sendMessage(message: OutgoingMessage): boolean {
    return this.#data('sendMessage').sender.sendMessage(message)
  }

  /**
   * The path MTU the kernel knows toward the connected peer (IP_MTU /
   * IPV6_MTU, man 7 ip): it falls when a router answers "fragmentation
   * needed" / "packet too big". ENOTCONN on an unconnected socket.
   * @example s.setOption('IP_MTU_DISCOVER', 'do'); s.connect(4433, '192.0.2.7'); s.pathMtu() // 1500
   */
  pathMtu(): number {
    return this.getOption(this.core.family === 6 ? 'IPV6_MTU' : 'IP_MTU')
  }

  /** True while sendSegments uses GSO on this socket (probed on the socket itself, once). */
  get gso(): boolean {
    return !this.closed && this.core.family !== 0 && !this.core.stream && this.#data('gso').sender.gso
  }

  /**
   * Reads one waiting datagram into `buf[offset, offset + length)` without
   * blocking, like Python's recvfrom_into. Returns null when none is waiting.
   * @example const r = s.recvInto(buf)   // { bytes, size, truncated, rinfo } | null
   */
  recvInto(buf: Bytes, offset = 0, length?: number): RecvIntoResult | null {
    const bytes = validateBytes(buf, 'buf') // a SharedArrayBuffer goes to the addon as a view
    validateInteger(offset, 'offset', 0, bytes.byteLength)
    const len = length === undefined ? bytes.byteLength - offset : validateInteger(length, 'length', 0, bytes.byteLength - offset)
    return this.#data('recvInto').receiver.recvInto(bytes, offset, len)
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
    return this.#data('messages').receiver.iterate(highWaterMark, signal)
  }

  /**
   * `for await (const { data, rinfo } of socket)`: see `messages()`.
   * @example for await (const { data } of s) if (data.length === 0) break
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this.messages()
  }

  /** Datagram counters, read without a native call (zeros for stream sockets). */
  get stats(): SocketStats {
    return this.#stats
  }

  /**
   * Lets pending waits keep the event loop alive (the default).
   * @example s.ref()
   */
  ref(): this {
    this.#readiness.ref()
    return this
  }

  /**
   * Pending waits no longer keep the event loop alive.
   * @example s.unref().on('message', onMessage)   // listen, but let the process exit
   */
  unref(): this {
    this.#readiness.unref()
    return this
  }

  /** Marks the socket closed first (a waiter's rejection re-enters readiness, which must not poll a closing fd), then tears down. */
  #teardown(reason: string): number {
    const fd = this.core.markClosed()
    this.#tx = null
    this.#io?.close(fd)
    this.#readiness.close()
    this.#waiters?.rejectAll(socketClosed(`wait: ${reason}`))
    process.nextTick(() => this.emit('close'))
    return fd
  }

  /**
   * Closes the socket. Idempotent; pending connect/accept promises reject
   * with ERR_SOCKET_CLOSED; any later use throws ERR_SOCKET_CLOSED. A socket
   * adopted with `owned: false` is let go of, not closed. A callback runs on
   * 'close', as with dgram.
   * @example s.close(() => console.log('closed'))
   */
  close(callback?: () => void): void {
    if (callback !== undefined) {
      if (typeof callback !== 'function') throw invalidArgType('callback', 'of type function', callback)
      this.once('close', callback)
    }
    if (this.closed) {
      // Already closed: 'close' was emitted once; only this callback runs.
      if (callback) {
        this.off('close', callback)
        process.nextTick(callback)
      }
      return
    }
    const fd = this.#teardown('close() was called')
    if (this.core.owned) check(addon.close(fd), 'close')
  }

  /**
   * Gives the file descriptor away: netsock stops watching it, will not
   * close it, and treats the socket as closed. Use it to hand a socket you
   * configured to Node (`net.Server.listen({ fd })`, `new net.Socket({ fd })`,
   * `dgram` `bind({ fd })`).
   * @example net.createServer(onConnection).listen({ fd: createSocket({ type: 'tcp4', reusePort: true }).bind(8080).detach() })
   */
  detach(): number {
    const fd = this.core.open('detach')
    if (this.core.owned) addon.release(fd)
    this.#teardown('detach() was called')
    return fd
  }

  /**
   * `using s = createSocket(...)`: closes the socket at the end of the scope.
   * @example { using s = createSocket({ type: 'udp4' }); s.send(buf, 5000) }
   */
  [Symbol.dispose](): void {
    this.close()
  }

  /**
   * `await using s = createSocket(...)`: closes the socket and waits for 'close'.
   * @example { await using s = createSocket({ type: 'udp4' }) }
   */
  [Symbol.asyncDispose](): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => this.close(() => resolve()))
  }
}
