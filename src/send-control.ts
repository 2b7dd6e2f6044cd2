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

/** A validated source address literal: its family and its bytes as four Int32 words of a record. */
interface Source {
  kind: 4 | 6
  words: Int32Array
}

const sources = [new Map<string, Source>(), new Map<string, Source>()]
let lastSourceText: unknown = undefined
let lastSource: Source | null = null

/**
 * The source address `source` as record words, or null when it is not an IP
 * literal. Cached (a sender uses one source or a few), so a datagram neither
 * parses the text nor builds a key.
 */
function sourceOf(source: unknown): Source | null {
  if (source === lastSourceText && lastSource !== null) return lastSource
  if (typeof source !== 'string') return null
  const kind = net.isIP(source)
  if (kind === 0) return null
  const cache = sources[kind === 4 ? 0 : 1]
  let found = cache.get(source)
  if (found === undefined) {
    const sa = encodeSockaddr(kind === 4 ? AF_INET : AF_INET6, source, 0)
    const words = new Int32Array(4)
    new Uint8Array(words.buffer).set(kind === 4 ? sa.subarray(4, 8) : sa.subarray(8, 24))
    found = { kind: kind === 4 ? 4 : 6, words }
    if (cache.size > 256) cache.clear()
    cache.set(source, found)
  }
  lastSourceText = source
  lastSource = found
  return found
}

/** ECN codepoint of a name or number, or -1. Names and numbers take separate paths, so neither compares across types. */
function ecnCode(ecn: unknown): number {
  if (typeof ecn === 'number') return ecn === 0 || ecn === 1 || ecn === 2 || ecn === 3 ? ecn : -1
  switch (ecn) {
    case 'not-ect':
      return 0
    case 'ect1':
      return 1
    case 'ect0':
      return 2
    case 'ce':
      return 3
    default:
      return -1
  }
}

/** The name of field `f` of a message in errors: `name.f`, or `list[index].f` for an entry of sendMany. */
function fieldName(name: string | undefined, index: number, f: string): string {
  return `${name ?? `list[${index}]`}.${f}`
}

/** `value` when it is an integer in [min, max], else NaN (the caller then lets validateInteger throw). */
function intIn(value: unknown, min: number, max: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : NaN
}

/**
 * Writes the control fields of `m` into record `index` of `out` and returns
 * true, or returns false (record untouched) when `m` sets none. `family`:
 * the socket's; `v4` says IPv4 levels apply (an IPv4 socket, or a v4-mapped
 * destination of an IPv6 one). `name` names `m` in errors (default
 * `list[index]`, built only for an error). Runs per datagram: nothing is
 * allocated once the source address is known.
 */
export function encodeControl(m: SendControl, family: 4 | 6, v4: boolean, out: Int32Array, index: number, name?: string): boolean {
  const { ecn, tos, ttl, source, interface: iface, segmentSize } = m
  if (ecn === undefined && tos === undefined && ttl === undefined && source === undefined && iface === undefined && segmentSize === undefined) return false
  let flags = 0
  let byte = 0
  if (tos !== undefined) {
    byte = intIn(tos, 0, 255)
    if (byte !== byte) byte = validateInteger(tos, fieldName(name, index, 'tos'), 0, 255)
    flags |= C.TOS
  }
  if (ecn !== undefined) {
    const code = ecnCode(ecn)
    if (code < 0) throw invalidArgValue(fieldName(name, index, 'ecn'), "must be 0-3 or 'not-ect', 'ect1', 'ect0', 'ce'", ecn)
    byte = (byte & ~3) | code
    flags |= C.TOS
  }
  let hops = 0
  if (ttl !== undefined) {
    hops = intIn(ttl, 1, 255)
    if (hops !== hops) hops = validateInteger(ttl, fieldName(name, index, 'ttl'), 1, 255)
    flags |= C.TTL
  }
  let src: Source | null = null
  if (source !== undefined) {
    src = sourceOf(source)
    if (src === null || src.kind !== (v4 ? 4 : 6)) {
      const want = v4 ? (family === 6 ? 'an IPv4 address (the destination is IPv4-mapped)' : 'an IPv4 address') : 'an IPv6 address'
      throw invalidArgValue(fieldName(name, index, 'source'), `must be ${want} of this host`, source)
    }
    flags |= C.PKTINFO
  }
  let ifindex = 0
  if (iface !== undefined) {
    ifindex =
      typeof iface === 'number'
        ? validateInteger(iface, fieldName(name, index, 'interface'), 0, 2 ** 31 - 1)
        : interfaceIndex(iface, fieldName(name, index, 'interface'))
    flags |= C.PKTINFO
  }
  let segment = 0
  if (segmentSize !== undefined) {
    segment = intIn(segmentSize, 1, addon.limits.maxUdpPayload)
    if (segment !== segment) segment = validateInteger(segmentSize, fieldName(name, index, 'segmentSize'), 1, addon.limits.maxUdpPayload)
    flags |= C.SEGMENT
  }
  const at = index * C.stride
  out[at + C.flags] = flags
  out[at + C.tos] = byte
  out[at + C.ttl] = hops
  out[at + C.ifindex] = ifindex
  out[at + C.srcFamily] = src === null ? 0 : src.kind
  const words = src === null ? ZERO_WORDS : src.words
  out[at + C.src] = words[0]
  out[at + C.src + 1] = words[1]
  out[at + C.src + 2] = words[2]
  out[at + C.src + 3] = words[3]
  out[at + C.segment] = segment
  out[at + C.ipv4] = v4 ? 1 : 0
  return true
}

const ZERO_WORDS = new Int32Array(4)
// encodeControl writes every field of a record (no fill first): a field added
// to NETSOCK_SEND_META (native/layout.h) must be written there too.
if (C.stride !== 11) throw new Error('netsock: the send-control record changed; update encodeControl')
