// Socket kinds: the `type` names of createSocket and how they map to
// socket(2) arguments, plus protocol names.
import { constant, constants } from './constants.js'
import { invalidArgType, invalidArgValue } from './errors.js'
import type { SocketKind } from './option-table.js'
import { validateInteger } from './validate.js'

export interface KindInfo {
  /** The createSocket type name, or 'other' for combinations it has no name for. */
  kind: SocketKind | 'other'
  domain: number
  type: number
  protocol: number
}

const KINDS: Record<SocketKind, [domain: string, type: string]> = {
  udp4: ['AF_INET', 'SOCK_DGRAM'],
  udp6: ['AF_INET6', 'SOCK_DGRAM'],
  tcp4: ['AF_INET', 'SOCK_STREAM'],
  tcp6: ['AF_INET6', 'SOCK_STREAM'],
  raw4: ['AF_INET', 'SOCK_RAW'],
  raw6: ['AF_INET6', 'SOCK_RAW'],
  packet: ['AF_PACKET', 'SOCK_RAW'],
}

export const SOCKET_KINDS = Object.keys(KINDS) as SocketKind[]

/** socket(2)'s type without the SOCK_NONBLOCK / SOCK_CLOEXEC flags (SOCK_TYPE_MASK). */
export const baseType = (type: number): number => type & 0xf

/** Protocols a SOCK_DGRAM / SOCK_STREAM IP socket may have and still be 'udp' / 'tcp'. */
const UDP_LIKE = new Set([0, constants.IPPROTO_UDP, constants.IPPROTO_UDPLITE].filter((p) => p !== undefined))
const TCP_LIKE = new Set([0, constants.IPPROTO_TCP, constants.IPPROTO_MPTCP].filter((p) => p !== undefined))

/**
 * The kind name for a domain/type/protocol, as given to socket(2) or
 * reported by SO_DOMAIN/SO_TYPE/SO_PROTOCOL. An ICMP datagram ("ping")
 * socket or SCTP is 'other': it is not UDP or TCP.
 */
export function kindOf(domain: number, type: number, protocol = 0): SocketKind | 'other' {
  const base = baseType(type)
  // Both packet socket types are 'packet' (packetType tells them apart).
  if (domain === constants.AF_PACKET && (base === constants.SOCK_DGRAM || base === constants.SOCK_RAW)) return 'packet'
  if (base === constants.SOCK_DGRAM && !UDP_LIKE.has(protocol)) return 'other'
  if (base === constants.SOCK_STREAM && !TCP_LIKE.has(protocol)) return 'other'
  for (const [kind, [d, t]] of Object.entries(KINDS)) {
    if (constants[d] === domain && constants[t] === base) return kind as SocketKind
  }
  return 'other'
}

/**
 * A protocol given by number or by name. IP kinds take IPPROTO_* names in
 * lower case ('icmp', 'icmpv6', 'udp', 'tcp', 'raw', ...); packet sockets take
 * ETH_P_* names ('all', 'ip', 'ipv6', 'arp', ...) or an EtherType in host
 * byte order.
 */
export function resolveProtocol(kind: SocketKind, protocol: unknown): number {
  if (protocol === undefined) {
    if (kind === 'packet') return constant('ETH_P_ALL')
    if (kind === 'raw4' || kind === 'raw6') {
      throw invalidArgValue('protocol', "is required for raw sockets (e.g. 'icmp', 'udp', 'raw' or a number)", protocol)
    }
    // Name the protocol socket(2) picks for 0, so `socket.protocol` matches SO_PROTOCOL.
    return kind.startsWith('udp') ? constant('IPPROTO_UDP') : constant('IPPROTO_TCP')
  }
  if (typeof protocol === 'number') return validateInteger(protocol, 'protocol', 0, kind === 'packet' ? 0xffff : 255)
  if (typeof protocol !== 'string') throw invalidArgType('protocol', 'a number or a protocol name', protocol)
  const name = (kind === 'packet' ? 'ETH_P_' : 'IPPROTO_') + protocol.toUpperCase()
  const value = constants[name]
  if (value === undefined) throw invalidArgValue('protocol', `is not a known ${kind === 'packet' ? 'ETH_P_*' : 'IPPROTO_*'} name`, protocol)
  return value
}

/** socket(2) arguments for a kind; the packet protocol is converted to network order by the caller. */
export function kindInfo(kind: unknown, protocol: unknown): KindInfo {
  if (typeof kind !== 'string' || !(kind in KINDS)) {
    throw invalidArgValue('type', `must be one of ${SOCKET_KINDS.map((k) => `'${k}'`).join(', ')}`, kind)
  }
  const k = kind as SocketKind
  const [d, t] = KINDS[k]
  return { kind: k, domain: constant(d), type: constant(t), protocol: resolveProtocol(k, protocol) }
}

export const isStream = (info: KindInfo): boolean => baseType(info.type) === constants.SOCK_STREAM
export const ipFamily = (info: KindInfo): 4 | 6 | 0 => (info.domain === constants.AF_INET ? 4 : info.domain === constants.AF_INET6 ? 6 : 0)

/**
 * createSocket's `packetType` for a packet socket: 'raw' (SOCK_RAW, the
 * default: frames with their link-layer header) or 'dgram' (SOCK_DGRAM: the
 * kernel strips and builds the link-layer header; man 7 packet).
 */
export function withPacketType(info: KindInfo, packetType: unknown): KindInfo {
  if (packetType === undefined) return info
  if (info.kind !== 'packet') throw invalidArgValue('options.packetType', "applies only to type 'packet'", packetType)
  if (packetType !== 'raw' && packetType !== 'dgram') throw invalidArgValue('options.packetType', "must be 'raw' or 'dgram'", packetType)
  return { ...info, type: constant(packetType === 'raw' ? 'SOCK_RAW' : 'SOCK_DGRAM') }
}
