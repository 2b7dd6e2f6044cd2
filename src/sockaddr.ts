// struct sockaddr in JS: destinations are encoded once by the addon and
// cached (a send never parses an address string), senders are decoded from
// the raw bytes recvmmsg wrote, only when someone asks.
import os from 'node:os'
import { check } from './errors.js'
import { addon } from './native.js'

const AF_INET = 2
const AF_INET6 = 10
const AF_PACKET = 17
const LITTLE_ENDIAN = os.endianness() === 'LE'
const MAX_CACHED_ADDRESSES = 1024

/** Encoded destinations for one socket family, by address and port. */
export class SockaddrCache {
  #domain: number
  #byAddress = new Map<string, Map<number, Uint8Array>>()
  #lastAddress = ''
  #lastPort = -1
  #last: Uint8Array | null = null

  constructor(domain: number) {
    this.#domain = domain
  }

  get(address: string, port: number): Uint8Array {
    if (port === this.#lastPort && address === this.#lastAddress && this.#last) return this.#last
    let ports = this.#byAddress.get(address)
    let encoded = ports?.get(port)
    if (!encoded) {
      const out = new Uint8Array(32)
      const len = check(addon.encodeSockaddr(this.#domain, address, port, out), 'getaddrinfo', { address, port })
      encoded = out.subarray(0, len)
      if (this.#byAddress.size >= MAX_CACHED_ADDRESSES) this.#byAddress.clear()
      if (!ports) this.#byAddress.set(address, (ports = new Map()))
      ports.set(port, encoded)
    }
    this.#lastAddress = address
    this.#lastPort = port
    this.#last = encoded
    return encoded
  }
}

/**
 * The sender of a datagram, as dgram reports it. On packet sockets, family
 * is 'packet', address the sender's hardware address, port 0, and the
 * sockaddr_ll fields come along (man 7 packet).
 */
export interface RemoteInfo {
  /** The sender's IP address (or hardware address on packet sockets). */
  address: string
  /** The sender's address family. */
  family: 'IPv4' | 'IPv6' | 'packet'
  /** The sender's port (0 on packet and raw sockets). */
  port: number
  /** Bytes of the datagram (its real size, even when truncated). */
  size: number
  /** IPv6 scope id (interface index) for link-local senders. */
  scopeId?: number
  /** Packet sockets: interface index the frame arrived on or left by. */
  ifindex?: number
  /** Packet sockets: EtherType in host order (0x0800 for IPv4). */
  protocol?: number
  /** Packet sockets: ARPHRD_* hardware type. */
  hatype?: number
  /** Packet sockets: PACKET_HOST, PACKET_BROADCAST, PACKET_OUTGOING, ... */
  pkttype?: number
}

function formatIPv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`
}

/** IPv6 text as inet_ntop writes it (RFC 5952: longest zero run as ::, v4-mapped in dotted form). */
export function formatIPv6(b: Uint8Array, at: number): string {
  const words: number[] = []
  for (let i = 0; i < 8; i++) words.push((b[at + 2 * i] << 8) | b[at + 2 * i + 1])
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return `::ffff:${formatIPv4(b, at + 12)}`
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = words.map((w) => w.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

/** Decodes a sockaddr_in/sockaddr_in6 at bytes[at]; size is the datagram size to report. */
export function decodeSockaddr(bytes: Uint8Array, at: number, size: number): RemoteInfo {
  const family = LITTLE_ENDIAN ? bytes[at] | (bytes[at + 1] << 8) : (bytes[at] << 8) | bytes[at + 1]
  const port = (bytes[at + 2] << 8) | bytes[at + 3]
  if (family === AF_INET) return { address: formatIPv4(bytes, at + 4), family: 'IPv4', port, size }
  if (family === AF_INET6) {
    const v = new DataView(bytes.buffer, bytes.byteOffset + at)
    const scopeId = v.getUint32(24, LITTLE_ENDIAN)
    const info: RemoteInfo = { address: formatIPv6(bytes, at + 8), family: 'IPv6', port, size }
    if (scopeId !== 0) info.scopeId = scopeId
    return info
  }
  if (family === AF_PACKET) {
    const v = new DataView(bytes.buffer, bytes.byteOffset + at)
    const halen = Math.min(bytes[at + 11], 8)
    const mac: string[] = []
    for (let i = 0; i < halen; i++) mac.push(bytes[at + 12 + i].toString(16).padStart(2, '0'))
    return {
      address: mac.join(':'),
      family: 'packet',
      port: 0,
      size,
      ifindex: v.getInt32(4, LITTLE_ENDIAN),
      protocol: port, // sll_protocol sits where sin_port does, in network order
      hatype: v.getUint16(8, LITTLE_ENDIAN),
      pkttype: bytes[at + 10],
    }
  }
  throw new Error(`netsock: cannot decode a sender of address family ${family}`)
}
