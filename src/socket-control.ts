// The control side of a Socket, shared by every kind: socket options (raw
// and by name), multicast membership, ancillary-data choices, BPF filters
// and the error queue. Each method validates its arguments, then acts on
// the SocketCore; none touches readiness or the data path.
import { EventEmitter } from 'node:events'
import util from 'node:util'
import * as bpf from './bpf.js'
import { constants } from './constants.js'
import { readErrorQueueFd, type ErrorQueueMessage } from './errqueue.js'
import * as multicast from './multicast.js'
import type { Bytes } from './native.js'
import type { OptionValueOf, ReadableOptionName, SettableOptionName } from './option-table.js'
import * as sockopt from './options.js'
import type { SocketCore } from './socket-core.js'
import { socketName, type AddressInfo, type PacketAddressInfo } from './sockaddr.js'
import { check, invalidArgValue, wrongSocketType } from './errors.js'
import { addon } from './native.js'
import type { AncillaryOptions, SocketEventMap, TimestampingOptions } from './socket-types.js'
import { validateBoolean, validateBytes, validateInteger, validateObject } from './validate.js'

const ANCILLARY: [keyof AncillaryOptions, string][] = [
  ['ttl', 'IP_RECVTTL'],
  ['tos', 'IP_RECVTOS'],
  ['pktinfo', 'IP_PKTINFO'],
  ['timestamp', 'SO_TIMESTAMPNS'],
]

/**
 * Options, multicast, ancillary data, filters and the error queue of a
 * socket: the methods every `Socket` has whatever its kind.
 *
 * @example
 * createSocket({ type: 'udp4' }).setOption('IP_TTL', 8).setMulticastTTL(2)
 */
export class SocketControl extends EventEmitter<SocketEventMap> {
  /** @internal The parts of this socket other modules act on. */
  readonly core: SocketCore

  /** @internal */
  constructor(core: SocketCore) {
    super()
    this.core = core
  }

  /** socket(2)'s domain, e.g. `constants.AF_INET`. */
  get domain(): number {
    return this.core.info.domain
  }
  /** socket(2)'s type argument, e.g. `constants.SOCK_DGRAM` (see `type` for the kind name). */
  get socketType(): number {
    return this.core.info.type
  }
  /** The socket(2) protocol, e.g. `constants.IPPROTO_UDP` (0 when the kernel chose). */
  get protocol(): number {
    return this.core.info.protocol
  }
  /** The file descriptor; -1 once closed or detached. */
  get fd(): number {
    return this.core.fd
  }
  /** True after close() or detach(). */
  get closed(): boolean {
    return this.core.closed
  }

  /**
   * Marks a stream socket as accepting connections.
   * @example createSocket({ type: 'tcp4', reuseAddr: true }).bind(0, '127.0.0.1').listen()
   */
  listen(backlog = 511): this {
    validateInteger(backlog, 'backlog', 0, 2 ** 31 - 1)
    check(addon.listen(this.core.open('listen'), backlog), 'listen')
    return this
  }

  /**
   * Shuts down one or both directions of a connection (man 2 shutdown).
   * @example conn.shutdown('write')   // send FIN, keep reading
   */
  shutdown(how: 'read' | 'write' | 'both' = 'both'): void {
    const value = { read: constants.SHUT_RD, write: constants.SHUT_WR, both: constants.SHUT_RDWR }[how]
    if (value === undefined) throw invalidArgValue('how', "must be 'read', 'write' or 'both'", how)
    check(addon.shutdown(this.core.open('shutdown'), value), 'shutdown')
    // Reading is over: the socket reports readable (EOF) from now on, with nothing to read.
    if (how !== 'write') this.core.readShutdown = true
    this.interestChanged()
  }

  /**
   * The local address of an IP socket (getsockname).
   * @example createSocket({ type: 'udp4' }).bind(0).address() // { address: '0.0.0.0', family: 'IPv4', port: 41234 }
   */
  address(): AddressInfo {
    const fd = this.core.open('address')
    if (this.core.info.kind === 'packet') throw wrongSocketType('address() (use packetAddress())', 'packet')
    return socketName(fd, false, this.core.info.domain) as AddressInfo
  }

  /**
   * The interface, protocol and hardware address a packet socket is bound to
   * (getsockname on AF_PACKET, man 7 packet).
   * @example createSocket({ type: 'packet', protocol: 'ip' }).bind('lo').packetAddress().ifindex // 1
   */
  packetAddress(): PacketAddressInfo {
    const fd = this.core.open('packetAddress')
    if (this.core.info.kind !== 'packet') throw wrongSocketType('packetAddress()', this.core.info.kind)
    const { port: _port, ...info } = socketName(fd, false, this.core.info.domain)
    return info as PacketAddressInfo
  }

  /**
   * The remote address of a connected socket (getpeername); ENOTCONN otherwise.
   * @example conn.remoteAddress() // { address: '127.0.0.1', family: 'IPv4', port: 51234 }
   */
  remoteAddress(): AddressInfo {
    return socketName(this.core.open('remoteAddress'), true, this.core.info.domain) as AddressInfo
  }

  /**
   * setsockopt(2) with a numeric level and option. `value`: a number (C int),
   * a boolean (0/1), raw bytes, `{ onoff, linger }` or `{ sec, usec }`.
   * @example s.setsockopt(constants.SOL_SOCKET, constants.SO_PRIORITY, 4)
   */
  setsockopt(level: number, name: number, value: sockopt.SockoptValue): this {
    sockopt.setsockopt(this.core, level, name, value)
    return this
  }

  /**
   * getsockopt(2), decoded as `kind`: 'int' (default), 'bool', 'linger',
   * 'timeval', 'string', 'buffer', or a byte count for a Buffer of that size.
   * @example s.getsockopt(constants.SOL_SOCKET, constants.SO_RCVBUF) // 212992
   */
  getsockopt(level: number, name: number, kind: sockopt.SockoptKind = 'int'): unknown {
    return sockopt.getsockopt(this.core, level, name, kind)
  }

  /**
   * Sets a socket option by its man-page name, with its value checked against
   * the option table (see `optionTable`) and the kinds of socket it applies to.
   * @example s.setOption('SO_REUSEPORT', true).setOption('IP_TTL', 32)
   */
  setOption<N extends SettableOptionName>(name: N, value: OptionValueOf<N>): this {
    sockopt.setOption(this.core, name, value)
    return this
  }

  /**
   * Reads a socket option by its man-page name, decoded per the option table.
   * @example const idle: number = s.getOption('TCP_KEEPIDLE')   // 7200
   */
  getOption<N extends ReadableOptionName>(name: N): OptionValueOf<N> {
    return sockopt.getOption(this.core, name) as OptionValueOf<N>
  }

  /**
   * Joins a multicast group on one interface (IP_ADD_MEMBERSHIP,
   * IPV6_ADD_MEMBERSHIP; man 7 ip). `iface`: for IPv4 the interface's
   * address, index or name; for IPv6 its index or name (or a zone on the
   * group, `ff02::1%eth0`). Without it the kernel routes to the group (IPv4)
   * and fails with ENODEV when there is no route.
   * @example createSocket({ type: 'udp4', reuseAddr: true }).bind(5353).addMembership('224.0.0.251', '192.168.1.10')
   */
  addMembership(group: string, iface?: multicast.MulticastInterface): this {
    multicast.addMembership(this.core, group, iface)
    return this
  }

  /**
   * Leaves a group joined with addMembership (same group and interface).
   * @example s.dropMembership('224.0.0.251', '192.168.1.10')
   */
  dropMembership(group: string, iface?: multicast.MulticastInterface): this {
    multicast.dropMembership(this.core, group, iface)
    return this
  }

  /**
   * Joins a group for datagrams from one source only (source-specific
   * multicast: IP_ADD_SOURCE_MEMBERSHIP, MCAST_JOIN_SOURCE_GROUP).
   * @example s.addSourceMembership('10.0.0.5', '232.1.2.3', 'eth0')
   */
  addSourceMembership(source: string, group: string, iface?: multicast.MulticastInterface): this {
    multicast.addSourceMembership(this.core, source, group, iface)
    return this
  }

  /**
   * Leaves a source-specific membership (same source, group and interface).
   * @example s.dropSourceMembership('10.0.0.5', '232.1.2.3', 'eth0')
   */
  dropSourceMembership(source: string, group: string, iface?: multicast.MulticastInterface): this {
    multicast.dropSourceMembership(this.core, source, group, iface)
    return this
  }

  /**
   * TTL (IPv4) or hop limit (IPv6) of multicast sent: 1 by default (this link).
   * @example s.setMulticastTTL(4)
   */
  setMulticastTTL(ttl: number): this {
    multicast.setMulticastTTL(this.core, ttl)
    return this
  }

  /**
   * Whether multicast this socket sends is also delivered to members on this host (default true).
   * @example s.setMulticastLoopback(false)
   */
  setMulticastLoopback(flag: boolean): this {
    multicast.setMulticastLoopback(this.core, flag)
    return this
  }

  /**
   * The interface multicast is sent through: for IPv4 an address, index or
   * name; for IPv6 an index or name. 0 / '0.0.0.0' leaves it to routing.
   * @example s.setMulticastInterface('eth1').send(buf, 5000, '239.1.2.3')
   */
  setMulticastInterface(iface: multicast.MulticastInterface): this {
    multicast.setMulticastInterface(this.core, iface)
    return this
  }

  /**
   * Chooses the ancillary data each received datagram carries (in `rinfo`
   * for 'message', `batch.ancillary(i)` for 'batch'): the option of the
   * socket's family, and on a dual-stack IPv6 UDP socket also the IPv4 one
   * (v4-mapped datagrams carry TTL and TOS only under it).
   * @example s.setAncillary({ ttl: true, tos: true, pktinfo: true, timestamp: true })
   */
  setAncillary(choices: AncillaryOptions): this {
    validateObject(choices, 'options')
    // Each value is read once, and all of them before any option is set.
    const settings: [string, boolean][] = []
    for (const [key, v4] of ANCILLARY) {
      const value = choices[key]
      if (value !== undefined) settings.push([v4, validateBoolean(value, `options.${key}`)])
    }
    const family = this.core.family
    for (const [v4, on] of settings) {
      const spec = sockopt.optionForFamily(v4, family)
      sockopt.setOption(this.core, spec.name, on)
      if (spec.name !== v4 && v4 !== 'IP_PKTINFO' && this.core.info.kind === 'udp6') sockopt.setOption(this.core, v4, on)
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
   * entries that wake the event loop are drained and dropped. Transmit
   * timestamps (see `setTimestamping`) met on the way are emitted as
   * `'txtimestamp'` events, never returned.
   * @example s.on('errorqueue', () => { for (let e; (e = s.readErrorQueue()); ) console.log(e.offender, e.type, e.code) })
   */
  readErrorQueue(buf?: Bytes, offset = 0, length?: number): ErrorQueueMessage | null {
    let len = 0
    if (buf !== undefined) {
      buf = validateBytes(buf, 'buf') // a SharedArrayBuffer goes to the addon as a view
      const size = buf.byteLength
      validateInteger(offset, 'offset', 0, size)
      len = length === undefined ? size - offset : validateInteger(length, 'length', 0, size - offset)
    }
    for (;;) {
      const fd = this.core.open('readErrorQueue')
      const entry = buf === undefined ? readErrorQueueFd(fd) : readErrorQueueFd(fd, buf, offset, len)
      if (entry?.origin !== 'timestamping' || entry.txTimestampNs === undefined) return entry
      this.emit('txtimestamp', { id: entry.data, timeNs: entry.txTimestampNs })
      if (this.core.closed) return null // a handler closed the socket: nothing more to read
    }
  }

  /**
   * Kernel transmit timestamps (SO_TIMESTAMPING with TX_SOFTWARE, OPT_ID and
   * OPT_TSONLY; man 7 socket): each datagram sent from now on yields one
   * `'txtimestamp'` event `{ id, timeNs }`, `id` counting send calls from 0
   * (a GSO train is one), `timeNs` the time the packet left for the device,
   * on the clock of the receive timestamps (`setAncillary({ timestamp: true })`).
   * netsock reads them from the error queue while a `'txtimestamp'` listener exists.
   * @example s.setTimestamping({ tx: true }).on('txtimestamp', ({ id, timeNs }) => sentAt.set(id, timeNs))
   */
  setTimestamping(options: TimestampingOptions): this {
    const tx = validateBoolean(validateObject(options, 'options').tx ?? false, 'options.tx')
    const c = constants
    const flags = tx ? c.SOF_TIMESTAMPING_TX_SOFTWARE | c.SOF_TIMESTAMPING_SOFTWARE | c.SOF_TIMESTAMPING_OPT_ID | c.SOF_TIMESTAMPING_OPT_TSONLY : 0
    sockopt.setRawOption(this.core.open('setTimestamping'), c.SOL_SOCKET, c.SO_TIMESTAMPING, flags, 'SO_TIMESTAMPING')
    this.core.txTimestamps = tx
    this.interestChanged()
    return this
  }

  /** @internal The socket's readiness re-evaluates what it waits for (Socket overrides). */
  protected interestChanged(): void {}

  /**
   * Attaches a classic BPF filter (SO_ATTACH_FILTER, man 7 socket): from
   * `{ code, jt, jf, k }` instructions or the text `tcpdump -dd` prints.
   * Replaces any filter attached before.
   * @example s.attachFilter(fs.readFileSync('udp53.bpf', 'utf8'))   // tcpdump -dd 'udp port 53' > udp53.bpf
   */
  attachFilter(program: bpf.BpfProgram): this {
    bpf.attachFilter(this.core, program)
    return this
  }

  /**
   * Removes the attached filter (SO_DETACH_FILTER); ENOENT when none, EPERM once locked.
   * @example s.detachFilter()
   */
  detachFilter(): this {
    bpf.detachFilter(this.core)
    return this
  }

  /**
   * Locks the attached filter (SO_LOCK_FILTER): replacing or detaching it then fails with EPERM.
   * @example s.attachFilter(program).lockFilter()
   */
  lockFilter(): this {
    bpf.lockFilter(this.core)
    return this
  }

  /** @internal `Socket { type: 'udp4', fd: 21, address: '127.0.0.1:5000', state: 'open' }` in util.inspect. */
  [util.inspect.custom](depth: number, opts: util.InspectOptionsStylized, inspect: typeof util.inspect): string {
    const core = this.core
    const shown: Record<string, unknown> = { type: core.info.kind, fd: core.fd, state: core.closed ? 'closed' : 'open' }
    if (!core.closed && core.family !== 0) {
      try {
        const a = socketName(core.fd, false, core.info.domain)
        shown.address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
      } catch {
        // not an address we can show
      }
    }
    return `Socket ${inspect(shown, opts)}`
  }
}
