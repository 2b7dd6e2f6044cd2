// Per-datagram send control: the fields of a message (ECN and TOS, TTL / hop
// limit, source address and interface, GSO segment size) validated and
// written into a send-control record (native/layout.h NETSOCK_SEND_META)
// that the addon turns into control messages (man 7 ip, man 7 ipv6, man 7 udp).
// Every field is read once, and all of them before anything is written.
import net from 'node:net'
import { invalidArgValue } from './errors.js'
import { interfaceIndex } from './interfaces.js'
import { addon, type Bytes } from './native.js'
import { encodeSockaddr } from './sockaddr.js'
import { validateInteger } from './validate.js'

const C = addon.sendLayout
const AF_INET = 2
const AF_INET6 = 10

/** The ECN codepoint (RFC 3168): 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE, by number or name. */
export type Ecn = 0 | 1 | 2 | 3 | 'not-ect' | 'ect1' | 'ect0' | 'ce'

const ECN_NAMES: Record<string, number> = { 'not-ect': 0, ect1: 1, ect0: 2, ce: 3 }

/** What a datagram may say about how it is sent (each field optional). */
export interface SendControl {
  /** ECN codepoint in the TOS / traffic class byte (IP_TOS / IPV6_TCLASS), keeping the DSCP of `tos`. */
  ecn?: Ecn
  /** The whole TOS / traffic class byte (DSCP and ECN), 0-255. */
  tos?: number
  /** IPv4 TTL / IPv6 hop limit of this datagram, 1-255 (IP_TTL / IPV6_HOPLIMIT). */
  ttl?: number
  /** The local address to send from (IP_PKTINFO ipi_spec_dst / IPV6_PKTINFO): one of this host's. */
  source?: string
  /** The interface to send through, by name or index (IP_PKTINFO / IPV6_PKTINFO ifindex). */
  interface?: string | number
  /** Send `data` as a GSO train of datagrams of this size (UDP_SEGMENT), 1-65507. */
  segmentSize?: number
}

/** One datagram for `sendMessage` (or an entry of `sendMany`): bytes, destination and control. */
export interface OutgoingMessage extends SendControl {
  /** The datagram's bytes. */
  data: Bytes
  /** Destination port; defaults to the socket's connected peer (or sendMany's `port`). */
  port?: number
  /** Destination address; defaults to loopback when only a port is given (or sendMany's `address`). */
  address?: string
}

/** The control field names, for telling a plain entry from one with control. */
export const CONTROL_FIELDS = ['ecn', 'tos', 'ttl', 'source', 'interface', 'segmentSize'] as const

/** True when `addr` (an encoded sockaddr) is an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
export function isV4Mapped(addr: Uint8Array | undefined): boolean {
  if (!addr || addr.byteLength < 24 || (addr[0] | (addr[1] << 8)) !== AF_INET6) return false
  for (let i = 8; i < 18; i++) if (addr[i] !== 0) return false
  return addr[18] === 0xff && addr[19] === 0xff
}

const sources = new Map<string, Uint8Array>()

/** The 4 or 16 bytes of a source address literal (cached: a source is usually one of few). */
function sourceBytes(source: string, family: 4 | 6): Uint8Array {
  const key = `${family}${source}`
  let bytes = sources.get(key)
  if (!bytes) {
    const sa = encodeSockaddr(family === 4 ? AF_INET : AF_INET6, source, 0)
    bytes = family === 4 ? sa.slice(4, 8) : sa.slice(8, 24)
    if (sources.size > 256) sources.clear()
    sources.set(key, bytes)
  }
  return bytes
}

/**
 * Writes the control fields of `m` into record `index` of `out` and returns
 * true, or returns false (record untouched) when `m` sets none. `family`:
 * the socket's; `v4` says IPv4 levels apply (an IPv4 socket, or a v4-mapped
 * destination of an IPv6 one). `name` names `m` in errors.
 */
export function encodeControl(m: SendControl, family: 4 | 6, v4: boolean, out: Int32Array, index: number, name: string): boolean {
  const { ecn, tos, ttl, source, interface: iface, segmentSize } = m
  if (ecn === undefined && tos === undefined && ttl === undefined && source === undefined && iface === undefined && segmentSize === undefined) return false
  let flags = 0
  let byte = tos === undefined ? 0 : validateInteger(tos, `${name}.tos`, 0, 255)
  if (tos !== undefined) flags |= C.TOS
  if (ecn !== undefined) {
    const code = typeof ecn === 'string' ? ECN_NAMES[ecn] : ecn
    if (code === undefined || !Number.isInteger(code) || code < 0 || code > 3) {
      throw invalidArgValue(`${name}.ecn`, "must be 0-3 or 'not-ect', 'ect1', 'ect0', 'ce'", ecn)
    }
    byte = (byte & ~3) | code
    flags |= C.TOS
  }
  const hops = ttl === undefined ? 0 : validateInteger(ttl, `${name}.ttl`, 1, 255)
  if (ttl !== undefined) flags |= C.TTL
  let srcFamily = 0
  let src: Uint8Array | null = null
  if (source !== undefined) {
    const kind = typeof source === 'string' ? net.isIP(source) : 0
    if (kind === 0 || (v4 ? kind !== 4 : kind !== 6)) {
      const want = v4 ? (family === 6 ? 'an IPv4 address (the destination is IPv4-mapped)' : 'an IPv4 address') : 'an IPv6 address'
      throw invalidArgValue(`${name}.source`, `must be ${want} of this host`, source)
    }
    srcFamily = kind
    src = sourceBytes(source, kind as 4 | 6)
  }
  let ifindex = 0
  if (iface !== undefined) ifindex = typeof iface === 'number' ? validateInteger(iface, `${name}.interface`, 0, 2 ** 31 - 1) : interfaceIndex(iface, `${name}.interface`)
  if (source !== undefined || iface !== undefined) flags |= C.PKTINFO
  const segment = segmentSize === undefined ? 0 : validateInteger(segmentSize, `${name}.segmentSize`, 1, addon.limits.maxUdpPayload)
  if (segmentSize !== undefined) flags |= C.SEGMENT
  const at = index * C.stride
  out.fill(0, at, at + C.stride)
  out[at + C.flags] = flags
  out[at + C.tos] = byte
  out[at + C.ttl] = hops
  out[at + C.ifindex] = ifindex
  out[at + C.srcFamily] = srcFamily
  if (src) new Uint8Array(out.buffer, out.byteOffset + (at + C.src) * 4, src.byteLength).set(src)
  out[at + C.segment] = segment
  out[at + C.ipv4] = v4 ? 1 : 0
  return true
}
