// Shared by ping and traceroute: resolving the target, opening an ICMP socket
// (an unprivileged ICMP datagram "ping" socket when net.ipv4.ping_group_range
// admits the process's group, a raw socket otherwise; man 7 icmp, man 7 raw),
// building echo requests and recognising echo replies.
import dns from 'node:dns'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { checksum } from './checksum.js'
import { constants } from './constants.js'
import { invalidArgValue } from './errors.js'
import { createSocket, socket } from './create.js'
import type { Socket } from './socket.js'
import { validateString } from './validate.js'

/** Which ICMP socket ping/traceroute use: a datagram (ping) socket, a raw one, or 'auto' (datagram when net.ipv4.ping_group_range allows, else raw). */
export type IcmpSocketMode = 'auto' | 'dgram' | 'raw'

/** An IP literal as is, else the first address dns.lookup gives (of `family` when set). */
export async function resolveHost(host: unknown, family?: 4 | 6): Promise<{ address: string; family: 4 | 6 }> {
  const name = validateString(host, 'host')
  const literal = net.isIP(name)
  if (literal) {
    if (family !== undefined && family !== literal) throw invalidArgValue('options.family', `does not match the address ${name}`, family)
    return { address: name, family: literal as 4 | 6 }
  }
  const found = await dns.promises.lookup(name, family === undefined ? {} : { family })
  return { address: found.address, family: found.family as 4 | 6 }
}

export interface IcmpSocket {
  socket: Socket
  /** 'dgram': ICMP datagram socket (kernel owns id and checksum); 'raw': raw socket (IPv4 data carries the IP header). */
  kind: 'dgram' | 'raw'
  family: 4 | 6
}

const REFUSED = new Set(['EACCES', 'EPERM'])

/**
 * Opens an ICMP socket. 'auto' tries a ping socket first (allowed by
 * net.ipv4.ping_group_range, which also governs IPv6) and falls back to a
 * raw socket (CAP_NET_RAW); when both are refused the raw socket's error,
 * with its hint, is thrown.
 */
export function openIcmpSocket(family: 4 | 6, mode: IcmpSocketMode): IcmpSocket {
  const protocol = family === 4 ? constants.IPPROTO_ICMP : constants.IPPROTO_ICMPV6
  if (mode !== 'raw') {
    try {
      const s = socket(family === 4 ? constants.AF_INET : constants.AF_INET6, constants.SOCK_DGRAM, protocol)
      return { socket: s, kind: 'dgram', family }
    } catch (err) {
      if (mode === 'dgram' || !REFUSED.has((err as { code?: string }).code ?? '')) throw err
    }
  }
  const s = createSocket({ type: family === 4 ? 'raw4' : 'raw6', protocol: family === 4 ? 'icmp' : 'icmpv6' })
  return { socket: s, kind: 'raw', family }
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

/**
 * The sequence number of an echo reply that belongs to this session
 * (identifier and cookie match), or -1. On ping sockets the kernel already
 * delivered only replies to this socket's identifier, which it chose.
 */
export function matchEchoReply(icmp: Buffer, s: IcmpSocket, id: number, cookie: Buffer, size: number): number {
  if (icmp.length < 8 || icmp[0] !== ECHO_REPLY[s.family] || icmp[1] !== 0) return -1
  if (s.kind === 'raw' && icmp.readUInt16BE(4) !== id) return -1
  const n = Math.min(size, cookie.length)
  if (icmp.length < 8 + n || !icmp.subarray(8, 8 + n).equals(cookie.subarray(0, n))) return -1
  return icmp.readUInt16BE(6)
}

/** The wall clock in nanoseconds, in the time base of SO_TIMESTAMPNS (CLOCK_REALTIME), to sub-microsecond resolution. */
export function realtimeNs(nowMs: number): bigint {
  return BigInt(Math.round((performance.timeOrigin + nowMs) * 1e6))
}

/**
 * RTT in ms from the kernel's receive timestamp when it is consistent with
 * what JS measured (it leaves out event-loop delay), else the JS measure.
 */
export function roundTrip(sentMs: number, sentRealNs: bigint, timestampNs: bigint | undefined): number {
  const js = performance.now() - sentMs
  if (timestampNs !== undefined) {
    const kernel = Number(timestampNs - sentRealNs) / 1e6
    if (kernel >= 0 && kernel <= js) return kernel
  }
  return js
}
