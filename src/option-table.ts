// The typed socket option table: name -> level, option number, value kind,
// and which sockets accept it. Levels and numbers come from `constants` (the
// system headers); an option this system's headers lack is left out.
import { constants } from './constants.js'

/** How an option's value is represented in JavaScript. */
export type OptionKind =
  | 'bool' // boolean <-> C int 0/1
  | 'int' // integer within [min, max] <-> C int
  | 'linger' // { onoff, linger } <-> struct linger
  | 'timeout-ms' // milliseconds <-> struct timeval
  | 'string' // string <-> char[] (interface or algorithm name)
  | 'in_addr' // IPv4 address string <-> struct in_addr
  | 'enum' // one of the names in `values` <-> C int

/** The socket kinds netsock creates, used to say which sockets take an option. */
export type SocketKind = 'udp4' | 'udp6' | 'tcp4' | 'tcp6' | 'raw4' | 'raw6' | 'packet'

/** One row of `optionTable`: how a named socket option is set, read and checked. */
export interface OptionSpec {
  /** The option's name as in the man pages, e.g. 'SO_REUSEPORT'. */
  readonly name: string
  /** Level constant name, e.g. 'SOL_SOCKET'. */
  readonly levelName: string
  /** The level's value on this system (setsockopt's `level`). */
  readonly level: number
  /** The option's value on this system (setsockopt's `optname`). */
  readonly optname: number
  /** How the value is encoded: see `OptionKind`. */
  readonly kind: OptionKind
  /** Inclusive bounds for 'int' options. */
  readonly min?: number
  /** Inclusive upper bound for 'int' options. */
  readonly max?: number
  /** Maximum byte length for 'string' options. */
  readonly maxLength?: number
  /** 'enum' options: each name and the C int it stands for (a number within them is accepted too). */
  readonly values?: Readonly<Record<string, number>>
  /** The option can only be read (getsockopt), never set. */
  readonly readOnly?: boolean
  /** The kernel does not report the value back (read it through `readBackVia`). */
  readonly writeOnly?: boolean
  /** The option to read to see the effect of a write-only one, e.g. 'SO_RCVBUF' for SO_RCVBUFFORCE. */
  readonly readBackVia?: string
  /** Socket kinds that accept the option. */
  readonly sockets: readonly SocketKind[]
  /** Capability needed to set it (beyond the defaults), when one is. */
  readonly privilege?: 'CAP_NET_ADMIN' | 'CAP_NET_RAW'
  /** With `privilege`: values up to this need no capability, only larger ones (SO_PRIORITY 0-6). */
  readonly privilegedAbove?: number
  /**
   * The IPv6 option that does the same on an IPv6 socket (IP_TTL ->
   * IPV6_UNICAST_HOPS): how netsock picks the option for a socket's family.
   */
  readonly ipv6?: string
  /** An example value, used in the docs and the set-then-read-back tests. */
  readonly example: OptionValue
  /** One line of documentation; the man page says the rest. */
  readonly doc: string
  /** The man page that documents it, e.g. '7 socket' (`man 7 socket`). */
  readonly man: string
}

/** Any value a typed option takes. */
export type OptionValue = boolean | number | string | Linger

/** struct linger (man 7 socket). */
export interface Linger {
  /** Whether close() lingers (l_onoff). */
  onoff: boolean
  /** Seconds to linger on close. */
  linger: number
}

const IP: SocketKind[] = ['udp4', 'udp6', 'tcp4', 'tcp6', 'raw4', 'raw6']
const ANY: SocketKind[] = [...IP, 'packet']
const TCP: SocketKind[] = ['tcp4', 'tcp6']
const UDP: SocketKind[] = ['udp4', 'udp6']
const V4: SocketKind[] = ['udp4', 'tcp4', 'raw4']
// IPv4-level options also act on the IPv4 (v4-mapped) traffic of dual-stack
// IPv6 UDP and TCP sockets; raw IPv6 sockets refuse them (man 7 ipv6).
const V4_DUAL: SocketKind[] = [...V4, 'udp6', 'tcp6']
const V4_DGRAM_DUAL: SocketKind[] = ['udp4', 'raw4', 'udp6']
const V6: SocketKind[] = ['udp6', 'tcp6', 'raw6']
const INT_MAX = 2 ** 31 - 1

/** The IP_PMTUDISC_* / IPV6_PMTUDISC_* values this system's headers have, by lower-case name. */
function pmtudisc(prefix: 'IP' | 'IPV6'): Record<string, number> {
  const out: Record<string, number> = {}
  for (const name of ['DONT', 'WANT', 'DO', 'PROBE', 'INTERFACE', 'OMIT']) {
    const value = constants[`${prefix}_PMTUDISC_${name}`]
    if (value !== undefined) out[name.toLowerCase()] = value
  }
  return out
}

type Row = Omit<OptionSpec, 'name' | 'level' | 'optname' | 'levelName' | 'man'> & { man?: string }

const SOCKET = {
  SO_REUSEADDR: { kind: 'bool', sockets: IP, example: true, doc: 'Allow bind to reuse a local address (TIME_WAIT, or any address for UDP).' },
  SO_REUSEPORT: {
    kind: 'bool',
    sockets: IP,
    example: true,
    doc: 'Let several sockets bind the same address and port; the kernel spreads traffic across them.',
  },
  SO_BROADCAST: { kind: 'bool', sockets: V4_DGRAM_DUAL, example: true, doc: 'Permit sending to broadcast addresses (IPv4, and v4-mapped on dual-stack udp6).' },
  SO_KEEPALIVE: { kind: 'bool', sockets: TCP, example: true, doc: 'Send TCP keepalive probes on an idle connection.' },
  SO_RCVBUF: {
    kind: 'int',
    min: 0,
    max: INT_MAX,
    sockets: ANY,
    example: 65536,
    doc: 'Receive buffer size; the kernel doubles the value for bookkeeping and caps it at net.core.rmem_max.',
  },
  SO_SNDBUF: { kind: 'int', min: 0, max: INT_MAX, sockets: ANY, example: 65536, doc: 'Send buffer size; doubled by the kernel, capped at net.core.wmem_max.' },
  SO_RCVBUFFORCE: {
    kind: 'int',
    min: 0,
    max: INT_MAX,
    sockets: ANY,
    writeOnly: true,
    readBackVia: 'SO_RCVBUF',
    privilege: 'CAP_NET_ADMIN',
    example: 8388608,
    doc: 'Like SO_RCVBUF but above net.core.rmem_max; read the result through SO_RCVBUF.',
  },
  SO_SNDBUFFORCE: {
    kind: 'int',
    min: 0,
    max: INT_MAX,
    sockets: ANY,
    writeOnly: true,
    readBackVia: 'SO_SNDBUF',
    privilege: 'CAP_NET_ADMIN',
    example: 8388608,
    doc: 'Like SO_SNDBUF but above net.core.wmem_max; read the result through SO_SNDBUF.',
  },
  SO_LINGER: {
    kind: 'linger',
    sockets: TCP,
    example: { onoff: true, linger: 5 },
    doc: 'Make close() wait up to `linger` seconds for unsent data (onoff with 0 seconds resets the connection).',
  },
  SO_RCVTIMEO: {
    kind: 'timeout-ms',
    min: 0,
    max: INT_MAX,
    sockets: ANY,
    example: 1500,
    doc: 'Timeout in milliseconds for blocking receives; the kernel keeps it in scheduler ticks (1-10 ms), rounding up; 0 means none.',
  },
  SO_SNDTIMEO: {
    kind: 'timeout-ms',
    min: 0,
    max: INT_MAX,
    sockets: ANY,
    example: 1500,
    doc: 'Timeout in milliseconds for blocking sends; the kernel keeps it in scheduler ticks (1-10 ms), rounding up; 0 means none.',
  },
  SO_RCVLOWAT: { kind: 'int', min: 1, max: INT_MAX, sockets: TCP, example: 1024, doc: 'Bytes that must be queued before the socket reports readable.' },
  SO_PRIORITY: {
    kind: 'int',
    min: 0,
    max: INT_MAX,
    sockets: ANY,
    privilege: 'CAP_NET_ADMIN',
    privilegedAbove: 6,
    example: 6,
    doc: 'Queueing priority of sent packets; 0-6 without CAP_NET_ADMIN.',
  },
  SO_MARK: { kind: 'int', min: 0, max: 0xffffffff, sockets: ANY, privilege: 'CAP_NET_ADMIN', example: 42, doc: 'Firewall/routing mark on every packet sent.' },
  SO_BINDTODEVICE: { kind: 'string', maxLength: 15, sockets: ANY, example: 'lo', doc: 'Send and receive only through the named interface; "" unbinds.' },
  SO_TYPE: { kind: 'int', readOnly: true, sockets: ANY, example: 0, doc: 'The socket type (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW).' },
  SO_ERROR: { kind: 'int', readOnly: true, sockets: ANY, example: 0, doc: 'The pending socket error (positive errno), cleared by reading it.' },
  SO_DOMAIN: { kind: 'int', readOnly: true, sockets: ANY, example: 0, doc: 'The address family (AF_INET, AF_INET6, AF_PACKET).' },
  SO_PROTOCOL: { kind: 'int', readOnly: true, sockets: ANY, example: 0, doc: 'The protocol number given to socket().' },
  SO_TIMESTAMPNS: { kind: 'bool', sockets: ANY, example: true, doc: 'Attach the kernel receive time (nanoseconds) to each datagram.' },
  SO_RXQ_OVFL: { kind: 'bool', sockets: ANY, example: true, doc: 'Attach the count of datagrams dropped for a full receive buffer.' },
  SO_ZEROCOPY: {
    kind: 'bool',
    sockets: ['tcp4', 'tcp6', 'udp4', 'udp6'],
    example: true,
    doc: 'Allow MSG_ZEROCOPY sends (completion notices arrive on the error queue).',
  },
  SO_INCOMING_CPU: {
    kind: 'int',
    min: -1,
    max: INT_MAX,
    sockets: ANY,
    example: 0,
    doc: "The CPU that processes this socket's packets; a hint for SO_REUSEPORT groups.",
  },
  SO_BUSY_POLL: {
    kind: 'int',
    min: 0,
    max: INT_MAX,
    sockets: ANY,
    example: 50,
    doc: 'Microseconds to busy-poll the device on a blocking receive (older kernels need CAP_NET_ADMIN to raise it).',
  },
} satisfies Record<string, Row>

const TCP_ROWS = {
  TCP_NODELAY: { kind: 'bool', sockets: TCP, example: true, doc: 'Send segments as soon as possible (disable Nagle).' },
  TCP_KEEPIDLE: { kind: 'int', min: 1, max: 32767, sockets: TCP, example: 30, doc: 'Seconds of idle before the first keepalive probe.' },
  TCP_KEEPINTVL: { kind: 'int', min: 1, max: 32767, sockets: TCP, example: 5, doc: 'Seconds between keepalive probes.' },
  TCP_KEEPCNT: { kind: 'int', min: 1, max: 127, sockets: TCP, example: 4, doc: 'Unanswered probes before the connection is dropped.' },
  TCP_USER_TIMEOUT: {
    kind: 'int',
    min: 0,
    max: INT_MAX,
    sockets: TCP,
    example: 10000,
    doc: 'Milliseconds sent data may stay unacknowledged before the connection fails with ETIMEDOUT.',
  },
  TCP_CONGESTION: {
    kind: 'string',
    maxLength: 15,
    sockets: TCP,
    example: 'reno',
    doc: 'Congestion control algorithm (see net.ipv4.tcp_available_congestion_control).',
  },
  TCP_MAXSEG: { kind: 'int', min: 88, max: 32767, sockets: TCP, example: 1200, doc: 'Maximum segment size; set before connect.' },
  TCP_QUICKACK: { kind: 'bool', sockets: TCP, example: true, doc: 'Acknowledge immediately rather than delaying (not permanent).' },
  TCP_FASTOPEN: { kind: 'int', min: 0, max: INT_MAX, sockets: TCP, example: 16, doc: 'On a listener: queue length for TCP Fast Open connections.' },
  TCP_DEFER_ACCEPT: {
    kind: 'int',
    min: 0,
    max: INT_MAX,
    sockets: TCP,
    example: 5,
    doc: 'Seconds a listener waits for data before accepting; the kernel rounds to its retransmission schedule.',
  },
  TCP_NOTSENT_LOWAT: { kind: 'int', min: 0, max: INT_MAX, sockets: TCP, example: 16384, doc: 'Unsent bytes above which the socket stops reporting writable.' },
} satisfies Record<string, Row>

const IP_ROWS = {
  IP_TTL: { ipv6: 'IPV6_UNICAST_HOPS', kind: 'int', min: 1, max: 255, sockets: V4_DUAL, example: 17, doc: 'Time to live of unicast packets sent.' },
  IP_TOS: { ipv6: 'IPV6_TCLASS', kind: 'int', min: 0, max: 255, sockets: V4_DUAL, example: 0x10, doc: 'Type of service / DSCP+ECN byte of packets sent.' },
  IP_RECVTTL: { ipv6: 'IPV6_RECVHOPLIMIT', kind: 'bool', sockets: V4_DGRAM_DUAL, example: true, doc: "Attach each datagram's TTL." },
  IP_RECVTOS: { ipv6: 'IPV6_RECVTCLASS', kind: 'bool', sockets: V4_DGRAM_DUAL, example: true, doc: "Attach each datagram's TOS byte (and ECN bits)." },
  IP_PKTINFO: { ipv6: 'IPV6_RECVPKTINFO', kind: 'bool', sockets: V4_DGRAM_DUAL, example: true, doc: 'Attach destination address and interface index.' },
  IP_RECVERR: { ipv6: 'IPV6_RECVERR', kind: 'bool', sockets: V4_DUAL, example: true, doc: 'Queue extended errors (ICMP and local) on the error queue.' },
  IP_MTU_DISCOVER: {
    ipv6: 'IPV6_MTU_DISCOVER',
    kind: 'enum',
    values: pmtudisc('IP'),
    sockets: V4_DUAL,
    example: 'do',
    doc: "Path MTU discovery: 'dont' (fragment), 'want' (DF, fragment locally when the route's MTU is smaller), 'do' (DF, EMSGSIZE above the path MTU), 'probe' (DF, ignore the known path MTU), 'interface', 'omit'.",
  },
  IP_MTU: {
    ipv6: 'IPV6_MTU',
    kind: 'int',
    readOnly: true,
    sockets: V4_DUAL,
    example: 0,
    doc: 'The path MTU known for the connected peer (ENOTCONN when not connected); see pathMtu().',
  },
  IP_HDRINCL: { kind: 'bool', sockets: ['raw4'], privilege: 'CAP_NET_RAW', example: true, doc: 'Data sent includes the IPv4 header.' },
  IP_MULTICAST_TTL: { ipv6: 'IPV6_MULTICAST_HOPS', kind: 'int', min: 0, max: 255, sockets: V4_DGRAM_DUAL, example: 4, doc: 'TTL of multicast packets sent.' },
  IP_MULTICAST_LOOP: { ipv6: 'IPV6_MULTICAST_LOOP', kind: 'bool', sockets: V4_DGRAM_DUAL, example: false, doc: 'Loop multicast sent back to local listeners.' },
  IP_MULTICAST_IF: { kind: 'in_addr', sockets: V4_DGRAM_DUAL, example: '127.0.0.1', doc: 'Local address of the interface that sends multicast.' },
  IP_FREEBIND: { ipv6: 'IPV6_FREEBIND', kind: 'bool', sockets: V4_DUAL, example: true, doc: 'Allow binding to an address not (yet) configured.' },
  IP_TRANSPARENT: {
    ipv6: 'IPV6_TRANSPARENT',
    kind: 'bool',
    sockets: V4_DUAL,
    privilege: 'CAP_NET_ADMIN',
    example: true,
    doc: 'Transparent proxying: bind/receive non-local addresses.',
  },
} satisfies Record<string, Row>

const IPV6_ROWS = {
  IPV6_V6ONLY: { kind: 'bool', sockets: ['udp6', 'tcp6'], example: true, doc: 'Only IPv6: do not accept v4-mapped traffic. Set before bind.' },
  IPV6_RECVERR: { kind: 'bool', sockets: ['udp6', 'raw6', 'tcp6'], example: true, doc: 'Queue extended errors (ICMPv6 and local) on the error queue.' },
  IPV6_UNICAST_HOPS: { kind: 'int', min: -1, max: 255, sockets: V6, example: 17, doc: 'Hop limit of unicast packets sent; -1 restores the default.' },
  IPV6_MULTICAST_HOPS: {
    kind: 'int',
    min: -1,
    max: 255,
    sockets: ['udp6', 'raw6'],
    example: 4,
    doc: 'Hop limit of multicast packets sent; -1 restores the default.',
  },
  IPV6_RECVPKTINFO: { kind: 'bool', sockets: ['udp6', 'raw6'], example: true, doc: 'Attach destination address and interface index.' },
  IPV6_TCLASS: { kind: 'int', min: -1, max: 255, sockets: V6, example: 0x10, doc: 'Traffic class (DSCP+ECN) of packets sent; -1 restores the default.' },
  IPV6_RECVHOPLIMIT: { kind: 'bool', sockets: ['udp6', 'raw6'], example: true, doc: "Attach each datagram's hop limit." },
  IPV6_RECVTCLASS: { kind: 'bool', sockets: ['udp6', 'raw6'], example: true, doc: "Attach each datagram's traffic class (and ECN bits)." },
  IPV6_MULTICAST_LOOP: { kind: 'bool', sockets: ['udp6', 'raw6'], example: false, doc: 'Loop multicast sent back to local listeners.' },
  IPV6_MTU_DISCOVER: {
    kind: 'enum',
    values: pmtudisc('IPV6'),
    sockets: V6,
    example: 'do',
    doc: "Path MTU discovery: 'dont', 'want', 'do', 'probe', 'interface', 'omit' (see IP_MTU_DISCOVER).",
  },
  IPV6_MTU: {
    kind: 'int',
    readOnly: true,
    sockets: V6,
    example: 0,
    doc: 'The path MTU known for the connected peer (ENOTCONN when not connected); see pathMtu().',
  },
  IPV6_FREEBIND: { kind: 'bool', sockets: V6, example: true, doc: 'Allow binding to an address not (yet) configured.' },
  IPV6_TRANSPARENT: { kind: 'bool', sockets: V6, privilege: 'CAP_NET_ADMIN', example: true, doc: 'Transparent proxying: bind/receive non-local addresses.' },
} satisfies Record<string, Row>

const UDP_ROWS = {
  UDP_SEGMENT: {
    kind: 'int',
    min: 0,
    max: 65535,
    sockets: UDP,
    example: 1200,
    doc: 'GSO segment size: one large send leaves as datagrams of this size (0 disables).',
  },
  UDP_GRO: { kind: 'bool', sockets: UDP, example: true, doc: 'Accept coalesced (GRO) datagrams; the segment size arrives as a control message.' },
} satisfies Record<string, Row>

const PACKET_ROWS = {
  PACKET_IGNORE_OUTGOING: {
    kind: 'bool',
    sockets: ['packet'],
    example: true,
    doc: 'Skip frames this host sends: on lo an ETH_P_ALL packet socket otherwise sees each frame twice, going out and coming back in.',
  },
} satisfies Record<string, Row>

type Rows = typeof SOCKET & typeof TCP_ROWS & typeof IP_ROWS & typeof IPV6_ROWS & typeof UDP_ROWS & typeof PACKET_ROWS

/** The name of every option in the table, as in the man pages. */
export type OptionName = keyof Rows

/** The names whose row has `flag: true`. */
type NamesWith<Flag extends string> = { [N in OptionName]: Rows[N] extends Record<Flag, true> ? N : never }[OptionName]

/** Options that can be set: every name but the read-only ones (SO_TYPE, SO_ERROR, ...). */
export type SettableOptionName = Exclude<OptionName, NamesWith<'readOnly'>>

/** Options the kernel reports back: every name but the write-only ones (SO_RCVBUFFORCE, ...). */
export type ReadableOptionName = Exclude<OptionName, NamesWith<'writeOnly'>>

/** The JavaScript value of an option kind. */
export type OptionKindValue<K extends OptionKind> = K extends 'bool' ? boolean : K extends 'int' | 'timeout-ms' ? number : K extends 'linger' ? Linger : string

/**
 * The value a named option takes and returns.
 * @example const ttl: OptionValueOf<'IP_TTL'> = 64   // number
 */
export type OptionValueOf<N extends OptionName> = OptionKindValue<Rows[N]['kind']>

const LEVELS: [string, string, Record<string, Row>][] = [
  ['SOL_SOCKET', '7 socket', SOCKET],
  ['IPPROTO_TCP', '7 tcp', TCP_ROWS],
  ['IPPROTO_IP', '7 ip', IP_ROWS],
  ['IPPROTO_IPV6', '7 ipv6', IPV6_ROWS],
  ['IPPROTO_UDP', '7 udp', UDP_ROWS],
  ['SOL_PACKET', '7 packet', PACKET_ROWS],
]

function buildTable(): ReadonlyMap<string, OptionSpec> {
  const table = new Map<string, OptionSpec>()
  for (const [levelName, man, rows] of LEVELS) {
    const level = constants[levelName]
    if (level === undefined) continue
    for (const [name, row] of Object.entries(rows)) {
      const optname = constants[name]
      if (optname === undefined) continue // not in this system's headers
      table.set(name, Object.freeze({ ...row, name, levelName, level, optname, man: row.man ?? man }))
    }
  }
  return table
}

/**
 * Every typed option netsock knows on this system, by name. Read-only.
 *
 * @example
 * import { optionTable } from 'netsock'
 * optionTable.get('TCP_KEEPIDLE') // { level: 6, optname: 4, kind: 'int', min: 1, max: 32767, ... }
 */
export const optionTable: ReadonlyMap<string, OptionSpec> = buildTable()
