// Multicast group membership and sending options (man 7 ip, man 7 ipv6,
// RFC 3678). Pure TypeScript: each call encodes the kernel's struct into a
// Buffer and makes one setsockopt. IPv4 joins use struct ip_mreqn (interface
// by address or by index); IPv6 joins use struct ipv6_mreq (by index);
// source-specific joins use struct ip_mreq_source (IPv4, interface by
// address) or struct group_source_req (IPv6, and IPv4 with an index).
import net from 'node:net'
import { constant, constants } from './constants.js'
import { invalidArgType, invalidArgValue } from './errors.js'
import { interfaceIndex } from './interfaces.js'
import { optionForFamily, setOption as setTypedOption, setRawOption } from './options.js'
import { LONG_BYTES, readHostU32, writeHostU32 } from './platform.js'
import type { SocketCore } from './socket-core.js'
import { encodeSockaddr } from './sockaddr.js'
import { validateBoolean, validateInteger } from './validate.js'

/**
 * The interface a multicast call applies to: an IPv4 address of the
 * interface (IPv4 sockets only), an interface index, or an interface name
 * ('eth0'). Omitted: the kernel chooses by routing to the group (IPv4) or
 * takes the default multicast interface (IPv6).
 */
export type MulticastInterface = string | number

// struct sockaddr_storage is aligned like unsigned long, so group_source_req
// pads its leading uint32 interface to 8 bytes on 64-bit systems: 264 bytes on
// x86_64 (gsr_group at 8, gsr_source at 136), 260 on 32-bit ones.
const SOCKADDR_STORAGE_BYTES = 128
const GSR_GROUP = LONG_BYTES
const GSR_SOURCE = GSR_GROUP + SOCKADDR_STORAGE_BYTES
const GSR_BYTES = GSR_SOURCE + SOCKADDR_STORAGE_BYTES

/** A sockaddr_in / sockaddr_in6 for `address` (port 0), written by the addon's inet_pton. */
function sockaddrOf(family: 4 | 6, address: string): Buffer {
  const sa = encodeSockaddr(family === 4 ? constants.AF_INET : constants.AF_INET6, address, 0)
  const out = Buffer.alloc(32)
  out.set(sa)
  return out
}

/** The 4 or 16 address bytes of an IP literal of `family`. */
function addressBytes(family: 4 | 6, address: string): Buffer {
  const sa = sockaddrOf(family, address)
  return family === 4 ? sa.subarray(4, 8) : sa.subarray(8, 24)
}

function isMulticast(family: 4 | 6, address: string): boolean {
  const bytes = addressBytes(family, address)
  return family === 4 ? (bytes[0] & 0xf0) === 0xe0 : bytes[0] === 0xff
}

/** A multicast group literal of the socket's family; an IPv6 group may carry a zone (`ff02::1%eth0`). */
function validateGroup(value: unknown, name: string, family: 4 | 6): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
  const bare = value.includes('%') ? value.slice(0, value.indexOf('%')) : value
  const kind = net.isIP(bare)
  if (kind !== family || (family === 4 && bare !== value) || !isMulticast(family, bare)) {
    const range = family === 4 ? 'an IPv4 multicast address (224.0.0.0/4)' : 'an IPv6 multicast address (ff00::/8)'
    throw invalidArgValue(name, `must be ${range} on a udp${family} socket`, value)
  }
  return value
}

/** A unicast source address of the socket's family. */
function validateSource(value: unknown, name: string, family: 4 | 6): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
  if (net.isIP(value) !== family || isMulticast(family, value)) {
    throw invalidArgValue(name, `must be a unicast IPv${family} address`, value)
  }
  return value
}

/** An interface as an index, or (IPv4) as an address; names are looked up with if_nametoindex. */
function resolveInterface(value: unknown, name: string, family: 4 | 6): { index: number; address?: string } {
  if (typeof value === 'number') return { index: validateInteger(value, name, 0, 2 ** 31 - 1) }
  if (typeof value !== 'string') throw invalidArgType(name, 'an interface index, name or (IPv4) address', value)
  const kind = net.isIP(value)
  if (kind === 4 && family === 4) return { index: 0, address: value }
  if (kind !== 0) {
    throw invalidArgValue(
      name,
      family === 4 ? 'must be an IPv4 address, an interface index or a name' : 'must be an interface index or name on an IPv6 socket',
      value,
    )
  }
  return { index: interfaceIndex(value, name) }
}

/** The interface of an IPv6 call: the argument, else the group's zone, else 0. */
function interfaceIndex6(iface: unknown, group: string): number {
  if (iface !== undefined) return resolveInterface(iface, 'iface', 6).index
  if (!group.includes('%')) return 0
  return readHostU32(sockaddrOf(6, group), 24)
}

/** A membership setsockopt: the struct is built here; ENODEV gets a hint. */
function setOption(fd: number, level: number, optname: string, value: Buffer, hint?: string): void {
  setRawOption(fd, level, constant(optname), value, optname, (code) => (code === 'ENODEV' && hint ? { hint } : undefined))
}

const NO_ROUTE_HINT = 'no interface for the group: pass the interface (address, index or name) as the last argument'

/** Writes a sockaddr_in/sockaddr_in6 for `address` into a group_source_req slot. */
function putSockaddr(out: Buffer, at: number, family: 4 | 6, address: string): void {
  const sa = sockaddrOf(family, address)
  sa.copy(out, at, 0, family === 4 ? 16 : 28)
  if (family === 6) writeHostU32(out, 0, at + 24) // the interface travels in gsr_interface
}

function membership(socket: SocketCore, join: boolean, groupArg: unknown, iface: unknown): void {
  const operation = join ? 'addMembership' : 'dropMembership'
  const { fd, family } = socket.datagram(operation)
  const group = validateGroup(groupArg, 'group', family)
  if (family === 4) {
    // struct ip_mreqn { in_addr imr_multiaddr; in_addr imr_address; int imr_ifindex }
    const mreq = Buffer.alloc(12)
    addressBytes(4, group).copy(mreq, 0)
    if (iface !== undefined) {
      const { index, address } = resolveInterface(iface, 'iface', 4)
      if (address) addressBytes(4, address).copy(mreq, 4)
      writeHostU32(mreq, index, 8)
    }
    setOption(fd, constants.IPPROTO_IP, join ? 'IP_ADD_MEMBERSHIP' : 'IP_DROP_MEMBERSHIP', mreq, NO_ROUTE_HINT)
    return
  }
  // struct ipv6_mreq { in6_addr ipv6mr_multiaddr; unsigned ipv6mr_interface }
  const mreq = Buffer.alloc(20)
  addressBytes(6, group.split('%')[0]).copy(mreq, 0)
  writeHostU32(mreq, interfaceIndex6(iface, group), 16)
  setOption(fd, constants.IPPROTO_IPV6, join ? 'IPV6_ADD_MEMBERSHIP' : 'IPV6_DROP_MEMBERSHIP', mreq, NO_ROUTE_HINT)
}

/**
 * Joins a multicast group (IP_ADD_MEMBERSHIP / IPV6_ADD_MEMBERSHIP) on one
 * interface: for IPv4 an address, index or name; for IPv6 an index or name
 * (or the group's zone, `ff02::1%eth0`).
 */
export function addMembership(socket: SocketCore, group: string, iface?: MulticastInterface): void {
  membership(socket, true, group, iface)
}

/** Leaves a group joined with addMembership (same group and interface). */
export function dropMembership(socket: SocketCore, group: string, iface?: MulticastInterface): void {
  membership(socket, false, group, iface)
}

function sourceMembership(socket: SocketCore, join: boolean, sourceArg: unknown, groupArg: unknown, iface: unknown): void {
  const operation = join ? 'addSourceMembership' : 'dropSourceMembership'
  const { fd, family } = socket.datagram(operation)
  const source = validateSource(sourceArg, 'source', family)
  const group = validateGroup(groupArg, 'group', family)
  const level = family === 4 ? constants.IPPROTO_IP : constants.IPPROTO_IPV6
  let index: number
  if (family === 4) {
    const chosen = iface === undefined ? { index: 0 } : resolveInterface(iface, 'iface', 4)
    if (chosen.index === 0) {
      // struct ip_mreq_source { imr_multiaddr; imr_interface; imr_sourceaddr }: interface by address only.
      const mreq = Buffer.alloc(12)
      addressBytes(4, group).copy(mreq, 0)
      if (chosen.address) addressBytes(4, chosen.address).copy(mreq, 4)
      addressBytes(4, source).copy(mreq, 8)
      setOption(fd, level, join ? 'IP_ADD_SOURCE_MEMBERSHIP' : 'IP_DROP_SOURCE_MEMBERSHIP', mreq, NO_ROUTE_HINT)
      return
    }
    index = chosen.index
  } else {
    index = interfaceIndex6(iface, group)
  }
  // struct group_source_req { uint32_t gsr_interface; (pad); sockaddr_storage gsr_group; sockaddr_storage gsr_source }
  const gsr = Buffer.alloc(GSR_BYTES)
  writeHostU32(gsr, index, 0)
  putSockaddr(gsr, GSR_GROUP, family, group.split('%')[0])
  putSockaddr(gsr, GSR_SOURCE, family, source)
  setOption(fd, level, join ? 'MCAST_JOIN_SOURCE_GROUP' : 'MCAST_LEAVE_SOURCE_GROUP', gsr, NO_ROUTE_HINT)
}

/**
 * Joins a group for datagrams from one source only (source-specific
 * multicast, RFC 4607): IP_ADD_SOURCE_MEMBERSHIP, or MCAST_JOIN_SOURCE_GROUP
 * for IPv6 and for an IPv4 interface given by index or name.
 */
export function addSourceMembership(socket: SocketCore, source: string, group: string, iface?: MulticastInterface): void {
  sourceMembership(socket, true, source, group, iface)
}

/** Leaves a source-specific membership (same source, group and interface). */
export function dropSourceMembership(socket: SocketCore, source: string, group: string, iface?: MulticastInterface): void {
  sourceMembership(socket, false, source, group, iface)
}

/** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS: 1 (the default) keeps multicast on the link. */
export function setMulticastTTL(socket: SocketCore, ttl: number): void {
  const { family } = socket.datagram('setMulticastTTL')
  validateInteger(ttl, 'ttl', 0, 255)
  setTypedOption(socket, optionForFamily('IP_MULTICAST_TTL', family).name, ttl)
}

/** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: whether this socket's multicast also reaches listeners on this host. */
export function setMulticastLoopback(socket: SocketCore, flag: boolean): void {
  const { family } = socket.datagram('setMulticastLoopback')
  setTypedOption(socket, optionForFamily('IP_MULTICAST_LOOP', family).name, validateBoolean(flag, 'flag'))
}

/**
 * The interface multicast leaves by (IP_MULTICAST_IF / IPV6_MULTICAST_IF):
 * for IPv4 an address, index or name (struct ip_mreqn); for IPv6 an index or
 * name. '0.0.0.0' or 0 returns the choice to routing.
 */
export function setMulticastInterface(socket: SocketCore, iface: MulticastInterface): void {
  const { fd, family } = socket.datagram('setMulticastInterface')
  const { index, address } = resolveInterface(iface, 'iface', family)
  const mreq = Buffer.alloc(family === 6 ? 4 : 12)
  if (family === 6) {
    writeHostU32(mreq, index, 0)
    setOption(fd, constants.IPPROTO_IPV6, 'IPV6_MULTICAST_IF', mreq)
    return
  }
  if (address) addressBytes(4, address).copy(mreq, 4)
  writeHostU32(mreq, index, 8)
  setOption(fd, constants.IPPROTO_IP, 'IP_MULTICAST_IF', mreq)
}
