// struct sockaddr in JS, both ways. Destinations are encoded once by the
// addon (inet_pton) and cached, so a send never parses an address string.
// Every address the kernel reports (datagram senders, getsockname,
// getpeername, the error queue) is decoded here, from the raw bytes, and only
// when someone asks.
import { check } from './errors.js'
import { addon } from './native.js'
import { LITTLE_ENDIAN } from './platform.js'

const AF_UNIX = 1
const AF_INET = 2
const AF_INET6 = 10
const AF_PACKET = 17
/** Destinations (address and port) one socket keeps encoded; past it, the cache starts over. */
const MAX_CACHED = 4096
/** Offset of sun_path in struct sockaddr_un. */
const SUN_PATH = 2

/** Encoded destinations for one socket family, by address and port. */
export class SockaddrCache {
  #domain: number
  #byAddress = new Map<string, Map<number, Uint8Array>>()
  #size = 0
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
      encoded = encodeSockaddr(this.#domain, address, port)
      if (this.#size >= MAX_CACHED) {
        this.#byAddress.clear()
        this.#size = 0
        ports = undefined
      }
      if (!ports) this.#byAddress.set(address, (ports = new Map()))
      ports.set(port, encoded)
      this.#size++
    }
    this.#lastAddress = address
    this.#lastPort = port
    this.#last = encoded
    return encoded
  }
}

/** A struct sockaddr_in / sockaddr_in6 for an IP literal, written by the addon. */
export function encodeSockaddr(domain: number, address: string, port: number): Uint8Array {
  const out = new Uint8Array(32)
  const len = check(addon.encodeSockaddr(domain, address, port, out), 'inet_pton', { address, port })
  return out.subarray(0, len)
}

/**
 * An address the kernel reported: an IP socket address, a packet socket's
 * link-layer address (man 7 packet), a Unix socket path, or, for any other
 * family, its number with the raw bytes.
 */
export interface SocketAddress {
  /**
   * The IP address as a literal; the hardware address (hex, colon-separated)
   * for packet sockets; the path for Unix sockets ('' when unnamed); the raw
   * sockaddr bytes in hex for other families.
   */
  address: string
  /** 'IPv4', 'IPv6', 'packet', 'unix', or the AF_* number of another family. */
  family: 'IPv4' | 'IPv6' | 'packet' | 'unix' | number
  /** The port (0 where the family has none). */
  port: number
  /** IPv6 flow information (sin6_flowinfo). */
  flowinfo?: number
  /** IPv6 scope id (interface index) of a link-local address (sin6_scope_id). */
  scopeId?: number
  /** Packet sockets: interface index (sll_ifindex). */
  ifindex?: number
  /** Packet sockets: EtherType in host order (sll_protocol; 0x0800 for IPv4). */
  protocol?: number
  /** Packet sockets: ARPHRD_* hardware type (sll_hatype). */
  hatype?: number
  /** Packet sockets: PACKET_HOST, PACKET_BROADCAST, PACKET_OUTGOING, ... (sll_pkttype). */
  pkttype?: number
}

/**
 * The sender of a datagram, as dgram reports it, with its size. On packet
 * sockets, family is 'packet', address the sender's hardware address, port
 * 0, and the sockaddr_ll fields come along (man 7 packet). A sender the
 * kernel gives no address for (an AF_UNIX socketpair, the kernel on a
 * netlink socket) has family 'unix' with an empty path, or the socket's
 * family number with an empty address.
 */
export interface RemoteInfo extends SocketAddress {
  /** Bytes of the datagram (its real size, even when truncated). */
  size: number
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
  for (let i = 0; i < 8;) {
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

function hex(b: Uint8Array, from: number, to: number, separator = ''): string {
  const parts: string[] = []
  for (let i = from; i < to; i++) parts.push(b[i].toString(16).padStart(2, '0'))
  return parts.join(separator)
}

/**
 * Decodes the `len` bytes of a struct sockaddr at bytes[at]. `fallback` is
 * the family to report when the kernel gave no address at all (len 0): the
 * receiving socket's own domain. Never throws.
 *
 * `extended`: include IPv6 flowinfo and a zero scopeId (getsockname style);
 * otherwise scopeId only when set (datagram senders).
 */
export function decodeSockaddr(bytes: Uint8Array, at: number, len: number, fallback = 0, extended = false): SocketAddress {
  if (len < 2) return fallback === AF_UNIX ? { address: '', family: 'unix', port: 0 } : { address: '', family: fallback, port: 0 }
  // The common case (IPv4) reads bytes directly: this runs once per datagram.
  const family = LITTLE_ENDIAN ? bytes[at] | (bytes[at + 1] << 8) : (bytes[at] << 8) | bytes[at + 1]
  const port = len >= 4 ? (bytes[at + 2] << 8) | bytes[at + 3] : 0
  if (family === AF_INET && len >= 8) return { address: formatIPv4(bytes, at + 4), family: 'IPv4', port }
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, len)
  if (family === AF_INET6 && len >= 24) {
    const info: SocketAddress = { address: formatIPv6(bytes, at + 8), family: 'IPv6', port }
    const scopeId = len >= 28 ? view.getUint32(24, LITTLE_ENDIAN) : 0
    if (extended) {
      info.flowinfo = view.getUint32(4, false)
      info.scopeId = scopeId
    } else if (scopeId !== 0) info.scopeId = scopeId
    return info
  }
  if (family === AF_PACKET && len >= 12) {
    const halen = Math.min(bytes[at + 11], 8, len - 12)
    return {
      address: hex(bytes, at + 12, at + 12 + halen, ':'),
      family: 'packet',
      port: 0,
      ifindex: view.getInt32(4, LITTLE_ENDIAN),
      protocol: port, // sll_protocol sits where sin_port does, in network order
      hatype: view.getUint16(8, LITTLE_ENDIAN),
      pkttype: bytes[at + 10],
    }
  }
  if (family === AF_UNIX) {
    const path = bytes.subarray(at + SUN_PATH, at + len)
    // An abstract name starts with NUL and may hold NULs; a path ends at the first NUL.
    const end = path[0] === 0 ? path.length : path.indexOf(0) === -1 ? path.length : path.indexOf(0)
    return { address: Buffer.from(path.subarray(0, end)).toString('latin1'), family: 'unix', port: 0 }
  }
  return { address: hex(bytes, at + 2, at + len), family, port: 0 }
}

/** The sender of a datagram: decodeSockaddr plus the datagram's size. */
export function decodeSender(bytes: Uint8Array, at: number, len: number, size: number, fallback: number): RemoteInfo {
  const info = decodeSockaddr(bytes, at, len, fallback) as RemoteInfo
  info.size = size
  return info
}

/**
 * decodeSender for a stream of datagrams: an IPv4 sender is decoded in
 * place, into one object of a fixed shape, and its address text is reused
 * while the address repeats (a reply stream comes from one peer).
 */
export class SenderDecoder {
  #ip = 0
  #text = ''

  decode(bytes: Uint8Array, at: number, len: number, size: number, fallback: number): RemoteInfo {
    const family = LITTLE_ENDIAN ? bytes[at] | (bytes[at + 1] << 8) : (bytes[at] << 8) | bytes[at + 1]
    if (len < 8 || family !== AF_INET) return decodeSender(bytes, at, len, size, fallback)
    const ip = bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) | (bytes[at + 7] << 24)
    if (ip !== this.#ip || this.#text === '') {
      this.#ip = ip
      this.#text = formatIPv4(bytes, at + 4)
    }
    return { address: this.#text, family: 'IPv4', port: (bytes[at + 2] << 8) | bytes[at + 3], size }
  }
}

const nameScratch = new Uint8Array(128)

/** getsockname / getpeername of `fd`, decoded; throws a system error. */
export function socketName(fd: number, peer: boolean, fallback: number): SocketAddress {
  const syscall = peer ? 'getpeername' : 'getsockname'
  const len = check(peer ? addon.getpeername(fd, nameScratch) : addon.getsockname(fd, nameScratch), syscall)
  return decodeSockaddr(nameScratch, 0, len, fallback, true)
}

/** A local or remote address, shaped like `net`'s AddressInfo. */
export interface AddressInfo {
  /** The IP address as a literal, e.g. `'127.0.0.1'` or `'::1'`. */
  address: string
  /** The address family. */
  family: 'IPv4' | 'IPv6'
  /** The port, in host byte order. */
  port: number
  /** IPv6 flow information (sin6_flowinfo); IPv6 only. */
  flowinfo?: number
  /** IPv6 scope (interface index) of a link-local address (sin6_scope_id); IPv6 only. */
  scopeId?: number
}

/** The address of an AF_PACKET socket (man 7 packet, struct sockaddr_ll). */
export interface PacketAddressInfo {
  /** Always `'packet'`. */
  family: 'packet'
  /** Interface index (sll_ifindex). */
  ifindex: number
  /** Ethernet protocol (sll_protocol, e.g. 0x0800 for IPv4), in host byte order. */
  protocol: number
  /** ARP hardware type (sll_hatype, e.g. 1 for Ethernet, 772 for loopback). */
  hatype: number
  /** Packet type (sll_pkttype: PACKET_HOST, PACKET_BROADCAST, ...). */
  pkttype: number
  /** Hardware address as colon-separated hex. */
  address: string
}
