// Shared by ping and traceroute: resolving the target, opening an ICMP socket
// (an unprivileged ICMP datagram "ping" socket when net.ipv4.ping_group_range
// admits the process's group, a raw socket otherwise; man 7 icmp, man 7 raw),
// the IPv4/IPv6 option pairs, building echo requests, recognising echo
// replies and the echo requests quoted by ICMP errors, and send times taken
// next to the system call.
import dns from 'node:dns'
import fs from 'node:fs'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import type { SockFilter } from './bpf.js'
import { checksum } from './checksum.js'
import { constants } from './constants.js'
import { invalidArgValue, systemError, type SystemError } from './errors.js'
import { createSocket, socket } from './create.js'
import { sameAddress, unmapV4 } from './ip-address.js'
import { addon } from './native.js'
import type { Socket } from './socket.js'
import { validateString } from './validate.js'

/** Which ICMP socket ping/traceroute use: a datagram (ping) socket, a raw one, or 'auto' (datagram when net.ipv4.ping_group_range allows, else raw). */
export type IcmpSocketMode = 'auto' | 'dgram' | 'raw'

/**
 * An IP literal as is, else the first address dns.lookup gives (of `family`
 * when set). An IPv4-mapped IPv6 literal ('::ffff:10.0.0.1') is its IPv4
 * address: ICMPv6 cannot reach it, ICMP can.
 */
export async function resolveHost(host: unknown, family?: 4 | 6): Promise<{ address: string; family: 4 | 6 }> {
  const name = validateString(host, 'host')
  const literal = net.isIP(name.split('%')[0])
  if (literal) {
    const mapped = literal === 6 ? unmapV4(name) : null
    const address = mapped ?? name
    const actual = mapped ? 4 : (literal as 4 | 6)
    if (family !== undefined && family !== actual) throw invalidArgValue('options.family', `does not match the address ${name}`, family)
    return { address, family: actual }
  }
  const found = await dns.promises.lookup(name, family === undefined ? {} : { family })
  const mapped = found.family === 6 ? unmapV4(found.address) : null
  return mapped ? { address: mapped, family: 4 } : { address: found.address, family: found.family as 4 | 6 }
}

/** An open ICMP socket and what kind it is. */
export interface IcmpSocket {
  socket: Socket
  /** 'dgram': ICMP datagram socket (kernel owns id and checksum); 'raw': raw socket (IPv4 data carries the IP header). */
  kind: 'dgram' | 'raw'
  family: 4 | 6
}

const REFUSED = new Set(['EACCES', 'EPERM'])

function pingGroupRange(): string {
  try {
    return `"${fs.readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().replace(/\s+/, ' ')}"`
  } catch {
    return 'unreadable'
  }
}

/** The error for "no ICMP socket at all": names both ways in, with this process's gid. */
function noIcmpSocket(raw: SystemError): SystemError {
  const gid = process.getgid?.() ?? 0
  const hint =
    `neither an ICMP datagram socket nor a raw socket could be opened. Either admit your group to ping sockets: ` +
    `net.ipv4.ping_group_range is ${pingGroupRange()} and your gid is ${gid} (sysctl -w net.ipv4.ping_group_range="${gid} ${gid}"), ` +
    `or run with CAP_NET_RAW (as root, or setcap cap_net_raw+ep on the node binary)`
  return systemError(raw.errno, 'socket', { hint })
}

/**
 * Opens an ICMP socket. 'auto' tries a ping socket first (allowed by
 * net.ipv4.ping_group_range, which also governs IPv6) and falls back to a
 * raw socket (CAP_NET_RAW); when both are refused the error's hint names
 * both, with the caller's gid.
 */
export function openIcmpSocket(family: 4 | 6, mode: IcmpSocketMode): IcmpSocket {
  const protocol = family === 4 ? constants.IPPROTO_ICMP : constants.IPPROTO_ICMPV6
  let dgramRefused = false
  if (mode !== 'raw') {
    try {
      const s = socket(family === 4 ? constants.AF_INET : constants.AF_INET6, constants.SOCK_DGRAM, protocol)
      return { socket: s, kind: 'dgram', family }
    } catch (err) {
      if (mode === 'dgram' || !REFUSED.has((err as { code?: string }).code ?? '')) throw err
      dgramRefused = true
    }
  }
  try {
    return { socket: createSocket({ type: family === 4 ? 'raw4' : 'raw6', protocol: family === 4 ? 'icmp' : 'icmpv6' }), kind: 'raw', family }
  } catch (err) {
    const e = err as SystemError
    if (dgramRefused && REFUSED.has(e.code)) throw noIcmpSocket(e)
    throw err
  }
}

// The IPv4 / IPv6 twins of the options ping and traceroute set, by their
// man-page names (man 7 ip, man 7 ipv6).
const FAMILY_OPTIONS = {
  hops: ['IP_TTL', 'IPV6_UNICAST_HOPS'],
  recvErr: ['IP_RECVERR', 'IPV6_RECVERR'],
} as const

/** Sets the IPv4 or IPv6 option of a pair: 'hops' (IP_TTL / IPV6_UNICAST_HOPS) or 'recvErr' (IP_RECVERR / IPV6_RECVERR). */
export function setFamilyOption(s: Socket, family: 4 | 6, option: keyof typeof FAMILY_OPTIONS, value: number | boolean): void {
  s.setOption(FAMILY_OPTIONS[option][family === 4 ? 0 : 1], value)
}

/**
 * Sends from one interface: a name binds the socket to the device
 * (SO_BINDTODEVICE, man 7 socket), an IP literal binds it to that source
 * address, as ping -I does.
 */
export function bindInterface(s: Socket, iface: string): void {
  if (net.isIP(iface.split('%')[0])) s.bind(0, iface)
  else s.setOption('SO_BINDTODEVICE', iface)
}

/**
 * A classic BPF filter (man 7 socket, SO_ATTACH_FILTER) that lets a raw
 * ICMP socket queue only echo replies carrying `id`. A raw socket otherwise
 * gets a copy of every ICMP message of the host (man 7 raw), our own echo
 * requests on loopback included, each one a wake-up for nothing. IPv4 raw
 * sockets see the IP header first (its length in the low nibble of byte 0);
 * ICMPv6 ones start at the ICMPv6 header. ICMP errors still reach the error
 * queue, which filters do not apply to.
 */
export function echoReplyFilter(family: 4 | 6, id: number): SockFilter[] {
  const c = constants
  const op = (code: number, k: number, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k })
  return [
    family === 4 ? op(c.BPF_LDX | c.BPF_B | c.BPF_MSH, 0) : op(c.BPF_LDX | c.BPF_W | c.BPF_IMM, 0), // x = start of the ICMP header
    op(c.BPF_LD | c.BPF_B | c.BPF_IND, 0), // a = type
    op(c.BPF_JMP | c.BPF_JEQ | c.BPF_K, ECHO_REPLY[family], 0, 3),
    op(c.BPF_LD | c.BPF_H | c.BPF_IND, 4), // a = identifier
    op(c.BPF_JMP | c.BPF_JEQ | c.BPF_K, id, 0, 1),
    op(c.BPF_RET | c.BPF_K, 0xffffffff), // keep it all
    op(c.BPF_RET | c.BPF_K, 0), // drop
  ]
}

export const ECHO_REQUEST = { 4: 8, 6: 128 } as const
export const ECHO_REPLY = { 4: 0, 6: 129 } as const

/** A random 16-bit identifier and an 8-byte payload cookie for one session. */
export function sessionTokens(): { id: number; cookie: Buffer } {
  const r = randomBytes(10)
  return { id: r.readUInt16BE(0), cookie: r.subarray(2) }
}

/**
 * An echo request: 8-byte header, then `size` payload bytes that start with
 * the cookie (as much of it as fits) and continue with a fixed pattern.
 * The checksum is filled in for IPv4; for ICMPv6 the kernel computes it
 * (it includes the pseudo-header; man 7 raw, IPV6_CHECKSUM), and on ping
 * sockets the kernel sets both the checksum and the identifier.
 */
export function echoRequest(family: 4 | 6, id: number, seq: number, cookie: Buffer, size: number): Buffer {
  const b = Buffer.alloc(8 + size)
  b[0] = ECHO_REQUEST[family]
  b.writeUInt16BE(id, 4)
  b.writeUInt16BE(seq & 0xffff, 6)
  cookie.copy(b, 8, 0, Math.min(size, cookie.length))
  for (let i = 8 + cookie.length; i < b.length; i++) b[i] = i & 0xff
  if (family === 4) b.writeUInt16BE(checksum(b), 2)
  return b
}

/** The ICMP message inside a received datagram: raw IPv4 sockets deliver the IP header first (man 7 raw). */
export function icmpOf(data: Buffer, s: IcmpSocket): Buffer | null {
  if (s.kind === 'raw' && s.family === 4) {
    if (data.length < 20 || data[0] >> 4 !== 4) return null
    return data.subarray((data[0] & 0x0f) * 4)
  }
  return data
}

/** Identifier and cookie check shared by replies and quoted requests; `n` cookie bytes are compared. */
function ours(icmp: Buffer, s: IcmpSocket, id: number, cookie: Buffer, n: number): boolean {
  // On ping sockets the kernel chose the identifier and delivers only what carries it.
  if (s.kind === 'raw' && icmp.readUInt16BE(4) !== id) return false
  return icmp.length >= 8 + n && icmp.subarray(8, 8 + n).equals(cookie.subarray(0, n))
}

/**
 * The sequence number of an echo reply that belongs to this session
 * (identifier and cookie match), -1 when it is not ours, or -2 when it is
 * ours but its ICMP checksum is wrong. Ping sockets and ICMPv6 raw sockets
 * get only replies whose checksum the kernel verified (man 7 raw:
 * IPV6_CHECKSUM); IPv4 raw sockets get whatever arrived, so the checksum is
 * checked here.
 */
export function matchEchoReply(icmp: Buffer, s: IcmpSocket, id: number, cookie: Buffer, size: number): number {
  if (icmp.length < 8 || icmp[0] !== ECHO_REPLY[s.family] || icmp[1] !== 0) return -1
  if (!ours(icmp, s, id, cookie, Math.min(size, cookie.length))) return -1
  if (s.kind === 'raw' && s.family === 4 && checksum(icmp) !== 0) return -2
  return icmp.readUInt16BE(6)
}

/**
 * The sequence number of the echo request an ICMP error quotes, when it is
 * one of this session's (identifier and cookie, as far as the quote goes),
 * or -1. Raw sockets see the errors to every ICMP socket of the host
 * (man 7 raw), so the identifier and cookie are what tell ours apart.
 */
export function matchQuotedEcho(quoted: Buffer, s: IcmpSocket, id: number, cookie: Buffer, size: number): number {
  if (quoted.length < 8 || quoted[0] !== ECHO_REQUEST[s.family] || quoted[1] !== 0) return -1
  // RFC 792 routers quote only 8 bytes past the IP header; RFC 1812 ones quote more.
  const n = Math.min(size, cookie.length, quoted.length - 8)
  if (!ours(quoted, s, id, cookie, n)) return -1
  return quoted.readUInt16BE(6)
}

/** Whether an error-queue entry names `target` as the failed packet's destination (and `port`, when given). */
export function quotesDestination(destination: { address: string; port: number } | undefined, target: string, port?: number): boolean {
  if (!destination || !sameAddress(destination.address, target)) return false
  return port === undefined || destination.port === port
}

/** When a probe left: CLOCK_REALTIME and monotonic readings, in ns. */
export interface SendTime {
  realNs: bigint
  monoNs: bigint
}

const EMPTY = Buffer.alloc(0)

/**
 * Sends probes and says when each left. The send time is CLOCK_REALTIME read
 * in the addon (the clock of SO_TIMESTAMPNS and of the error queue's
 * timestamps) right before the send, with the monotonic clock beside it for
 * when no kernel timestamp comes back.
 *
 * Right before each timed send comes a send the kernel refuses before it
 * builds a packet: an empty ICMP datagram (a raw socket must read the type
 * byte: EFAULT, man 7 raw; a ping socket wants a whole header: EINVAL) or a
 * UDP datagram to port 0 (EINVAL, man 7 udp). It runs the whole JS send path
 * and the system call entry, so what lies between the clock reading and the
 * real send is hot: the RTT measures the network, not a cold interpreter or
 * lazily compiled code. Nothing leaves the host; were a kernel ever to send
 * it, priming stops for the socket.
 */
export class ProbeSender {
  #slot = new BigInt64Array(1)
  #priming = true

  constructor(
    readonly socket: Socket,
    readonly address: string,
    /** Reads the error queue; returns whether it held anything. */
    readonly drain: () => boolean,
  ) {}

  /** The refused send (see the class comment). */
  prime(): void {
    if (!this.#priming) return
    try {
      this.socket.send(EMPTY, 0, this.address)
      this.#priming = false
    } catch {
      // refused, as intended
    }
  }

  /**
   * Sends `data` to the address at `port` and returns the send time. The
   * clock is read into a preallocated slot right before the send and read
   * out after it, so nothing is allocated in between. With IP_RECVERR on, an
   * ICMP error that arrived since the queue was last read is also the
   * socket's pending error, and the next send reports it instead of sending
   * (man 7 ip); then the queue is drained and the send made once more.
   */
  send(data: Buffer, port: number): SendTime {
    this.prime()
    let monoNs = process.hrtime.bigint()
    addon.clockRealtime(this.#slot, 0)
    try {
      this.socket.send(data, port, this.address)
    } catch (err) {
      if (!this.drain()) throw err
      this.prime()
      monoNs = process.hrtime.bigint()
      addon.clockRealtime(this.#slot, 0)
      this.socket.send(data, port, this.address)
    }
    return { realNs: this.#slot[0], monoNs }
  }
}

/**
 * RTT in ms: from the kernel's receive timestamp when there is one (it
 * leaves out the event-loop delay before JS saw the answer), else from the
 * monotonic clock now. A kernel timestamp before the send (the wall clock
 * was stepped) falls back to the monotonic measure.
 */
export function roundTrip(sent: SendTime, timestampNs: bigint | undefined): number {
  if (timestampNs !== undefined && timestampNs >= sent.realNs) return Number(timestampNs - sent.realNs) / 1e6
  return Number(process.hrtime.bigint() - sent.monoNs) / 1e6
}
