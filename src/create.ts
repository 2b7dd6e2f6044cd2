// Socket creation: createSocket() with named options applied before bind,
// and the BSD-style socket(family, type, protocol).
import { constants } from './constants.js'
import { htons } from './byteorder.js'
import { check, invalidArgValue, systemError } from './errors.js'
import { socketPrivilegeHint } from './hints.js'
import type { RecvMemoryOptions } from './datagram-receive.js'
import { addon } from './native.js'
import type { SocketKind } from './option-table.js'
import { getRawOption, setOption } from './options.js'
import { baseType, kindInfo, kindOf, withPacketType, type KindInfo } from './socket-kind.js'
import { Socket } from './socket.js'
import { validateBoolean, validateInteger, validateObject } from './validate.js'

/** Receive memory a socket may ask for at most: 1024 datagrams of 1 MiB. */
const MAX_MESSAGE_SIZE = 1 << 20

/** Options of `createSocket()`: the socket's kind and the options applied before bind. */
export interface CreateSocketOptions {
  /** 'udp4' | 'udp6' | 'tcp4' | 'tcp6' | 'raw4' | 'raw6' | 'packet'. Optional with `fd`. */
  type?: SocketKind
  /**
   * Protocol number or name. Required for raw sockets ('icmp', 'icmpv6',
   * 'udp', 'raw', ...); for packet sockets an EtherType in host order or an
   * ETH_P_* name ('all' by default, 'ip', 'arp', ...).
   */
  protocol?: number | string
  /**
   * Packet sockets only: 'raw' (SOCK_RAW, default) delivers and sends whole
   * frames with their link-layer header; 'dgram' (SOCK_DGRAM) starts at the
   * network header, the kernel handling the link layer (man 7 packet).
   */
  packetType?: 'raw' | 'dgram'
  /** SO_REUSEADDR before bind. */
  reuseAddr?: boolean
  /** SO_REUSEPORT before bind. */
  reusePort?: boolean
  /** SO_BROADCAST. */
  broadcast?: boolean
  /** IPV6_V6ONLY (IPv6 sockets) before bind. */
  ipv6Only?: boolean
  /** SO_RCVBUF in bytes (the kernel doubles it). */
  recvBufferSize?: number
  /** SO_SNDBUF in bytes (the kernel doubles it). */
  sendBufferSize?: number
  /** Adopt an existing socket descriptor instead of creating one; it becomes non-blocking and close-on-exec. */
  fd?: number
  /**
   * With `fd`: whether netsock owns the descriptor (default true). Pass false
   * to tune a socket that Node (or other code) still owns: `close()` then only
   * lets go of it, and the descriptor's flags are left as they are.
   */
  owned?: boolean
  /** Datagrams read per recvmmsg call (default 64, at most 1024). */
  recvBatchSize?: number
  /**
   * Bytes per receive slot (default 65535, so no datagram or GRO train is
   * cut; only the pages datagrams touch become resident). Larger datagrams
   * are delivered truncated and flagged.
   */
  recvMessageSize?: number
}

/** recvBatchSize / recvMessageSize, validated in one place (defaults 64 and 65535). */
function recvMemory(options: { recvBatchSize?: unknown; recvMessageSize?: unknown }): RecvMemoryOptions {
  return {
    batchSize: validateInteger(options.recvBatchSize ?? 64, 'options.recvBatchSize', 1, addon.limits.maxBatch),
    messageSize: validateInteger(options.recvMessageSize ?? 65535, 'options.recvMessageSize', 1, MAX_MESSAGE_SIZE),
  }
}

/** Opens a socket; `protocol` is what socket(2) gets (network order for AF_PACKET, man 7 packet). */
function openSocket(info: KindInfo, protocol: number, memory: RecvMemoryOptions): Socket {
  const fd = addon.open(info.domain, info.type, protocol)
  if (fd < 0) {
    const err = systemError(fd, 'socket')
    const hint = err.code === 'EPERM' || err.code === 'EACCES' ? socketPrivilegeHint(info) : undefined
    throw hint ? systemError(fd, 'socket', { hint }) : err
  }
  return new Socket(fd, info, true, memory)
}

function adoptSocket(fdValue: unknown, type: unknown, ownedValue: unknown, memory: RecvMemoryOptions): Socket {
  const owned = ownedValue === undefined ? true : validateBoolean(ownedValue, 'options.owned')
  const fd = validateInteger(fdValue, 'options.fd', 0, 2 ** 31 - 1)
  const read = (name: string): number => getRawOption(fd, constants.SOL_SOCKET, constants[name])
  const domain = read('SO_DOMAIN') // also proves fd is a socket (ENOTSOCK otherwise)
  const sockType = read('SO_TYPE')
  const protocol = read('SO_PROTOCOL')
  const kind = kindOf(domain, sockType, protocol)
  if (type !== undefined && type !== kind) {
    throw invalidArgValue('type', `does not match the adopted descriptor, which is a ${kind} socket`, type)
  }
  if (owned) check(addon.adopt(fd), 'fcntl')
  return new Socket(fd, { kind, domain, type: sockType, protocol }, owned, memory)
}

/** The options to set, validated all at once so that a bad one changes nothing. */
function optionsToApply(options: CreateSocketOptions): [string, boolean | number][] {
  const out: [string, boolean | number][] = []
  const flags: [keyof CreateSocketOptions, string][] = [
    ['reuseAddr', 'SO_REUSEADDR'],
    ['reusePort', 'SO_REUSEPORT'],
    ['broadcast', 'SO_BROADCAST'],
    ['ipv6Only', 'IPV6_V6ONLY'],
  ]
  for (const [key, option] of flags) {
    if (options[key] !== undefined) out.push([option, validateBoolean(options[key], `options.${key}`)])
  }
  const sizes: [keyof CreateSocketOptions, string][] = [
    ['recvBufferSize', 'SO_RCVBUF'],
    ['sendBufferSize', 'SO_SNDBUF'],
  ]
  for (const [key, option] of sizes) {
    if (options[key] !== undefined) out.push([option, validateInteger(options[key], `options.${key}`, 1, 2 ** 31 - 1)])
  }
  return out
}

/**
 * Creates a socket of the given kind, non-blocking and close-on-exec, with
 * the named options applied before it is bound. A failing option closes the
 * socket and throws.
 *
 * @example
 * const s = createSocket({ type: 'udp4', reusePort: true, broadcast: true })
 * s.bind(5000)
 * @example
 * const icmp = createSocket({ type: 'raw4', protocol: 'icmp' })   // needs CAP_NET_RAW
 */
export function createSocket<K extends SocketKind>(options: CreateSocketOptions & { type: K }): Socket<K>
export function createSocket(options: CreateSocketOptions): Socket
export function createSocket(options: CreateSocketOptions): Socket {
  validateObject(options, 'options')
  const settings = optionsToApply(options)
  const memory = recvMemory(options)
  let s: Socket
  if (options.fd !== undefined) s = adoptSocket(options.fd, options.type, options.owned, memory)
  else {
    const info = withPacketType(kindInfo(options.type, options.protocol), options.packetType)
    // AF_PACKET takes its protocol in network byte order (man 7 packet).
    s = openSocket(info, info.domain === constants.AF_PACKET ? htons(info.protocol) : info.protocol, memory)
  }
  try {
    for (const [name, value] of settings) setOption(s.core, name, value)
  } catch (err) {
    if (options.fd === undefined) s.close()
    else s.detach() // not ours to close
    throw err
  }
  return s
}

/**
 * BSD-style socket(2): any family, type and protocol from `constants`.
 * The result is non-blocking and close-on-exec.
 *
 * @example
 * const s = socket(constants.AF_INET, constants.SOCK_DGRAM, 0)
 * const ping = socket(constants.AF_INET, constants.SOCK_DGRAM, constants.IPPROTO_ICMP)
 */
export function socket(family: number, type: number, protocol = 0): Socket {
  validateInteger(family, 'family', 0, 65535)
  validateInteger(type, 'type', 0, 2 ** 31 - 1)
  validateInteger(protocol, 'protocol', 0, 2 ** 31 - 1)
  // Protocol goes to socket(2) exactly as given (for AF_PACKET, in network
  // order, as in C); `socket.protocol` reports it in host order.
  const info: KindInfo = {
    kind: kindOf(family, type, protocol),
    domain: family,
    type: baseType(type),
    protocol: family === constants.AF_PACKET ? htons(protocol & 0xffff) : protocol,
  }
  return openSocket(info, protocol, recvMemory({}))
}
