// The socket error queue: extended errors (ICMP errors for UDP, ICMP and raw
// sockets; local errors) that the kernel queues once IP_RECVERR /
// IPV6_RECVERR is on (man 7 ip, man 7 ipv6, man 2 recvmsg MSG_ERRQUEUE).
// One native recvmsg(MSG_ERRQUEUE) per entry; decoding of the
// sock_extended_err happens in native/errqueue.cc.
import os from 'node:os'
import { constants } from './constants.js'
import { callError, errnoName } from './errors.js'
import { addon, type Bytes } from './native.js'
import { decodeSockaddr } from './sockaddr.js'

const EAGAIN = -os.constants.errno.EAGAIN
const MSG_TRUNC = 0x20

/** Where an extended error came from (SO_EE_ORIGIN_*). */
export type ErrorOrigin = 'none' | 'local' | 'icmp' | 'icmp6' | 'txstatus' | 'zerocopy' | 'timestamping' | number

/** An address reported by the error queue. */
export interface ErrorQueueAddress {
  /** The IP address as a literal. */
  address: string
  /** The address family. */
  family: 'IPv4' | 'IPv6'
  /** The port (0 for an offender, which is a router or host, not a socket). */
  port: number
  /** IPv6 scope id (interface index) of a link-local address. */
  scopeId?: number
}

/** One entry of the error queue (struct sock_extended_err plus what came with it). */
export interface ErrorQueueMessage {
  /** ee_errno as a negative errno, Node style (e.g. -113), and its name ('EHOSTUNREACH'). */
  errno: number
  /** The errno's name, e.g. 'EHOSTUNREACH'. */
  errnoName: string
  /** ee_origin, by name where known. */
  origin: ErrorOrigin
  /** ICMP / ICMPv6 type and code for ICMP origins (e.g. 11/0 = TTL exceeded in transit). */
  type: number
  /** ICMP / ICMPv6 code (ee_code), read with `type`. */
  code: number
  /** ee_info: the next-hop MTU for "fragmentation needed"/"packet too big". */
  info: number
  /** ee_data. */
  data: number
  /** Who sent the error (SO_EE_OFFENDER): the router or host that answered. */
  offender?: ErrorQueueAddress
  /** The destination of the packet that failed (msg_name): address and port. */
  destination?: ErrorQueueAddress
  /**
   * The start of the packet that failed, as the offender quoted it: the UDP
   * payload for UDP sockets, the ICMP header onward for ICMP sockets.
   */
  payload: Buffer
  /**
   * Bytes recvmsg returned. Unlike ordinary receives, MSG_TRUNC does not make
   * the error queue report the full length, so a cut payload shows only in
   * `truncated` (from msg_flags).
   */
  size: number
  /** True when `payload` was cut to fit the buffer (MSG_TRUNC in msg_flags). */
  truncated: boolean
  /** TTL / hop limit of the ICMP error as it arrived (with IP_RECVTTL / IPV6_RECVHOPLIMIT on). */
  ttl?: number
  /** Kernel receive time of the error in nanoseconds since the epoch (with SO_TIMESTAMPNS on). */
  timestampNs?: bigint
  /** A transmit timestamp (origin 'timestamping', SCM_TIMESTAMPING), nanoseconds since the epoch; `data` is its id. */
  txTimestampNs?: bigint
}

const ORIGINS: [string, ErrorOrigin][] = [
  ['SO_EE_ORIGIN_NONE', 'none'],
  ['SO_EE_ORIGIN_LOCAL', 'local'],
  ['SO_EE_ORIGIN_ICMP', 'icmp'],
  ['SO_EE_ORIGIN_ICMP6', 'icmp6'],
  // TIMESTAMPING and TXSTATUS share a value; transmit timestamps are what it carries now.
  ['SO_EE_ORIGIN_TIMESTAMPING', 'timestamping'],
  ['SO_EE_ORIGIN_TXSTATUS', 'txstatus'],
  ['SO_EE_ORIGIN_ZEROCOPY', 'zerocopy'],
]
const originNames = new Map<number, ErrorOrigin>()
for (const [c, name] of ORIGINS) if (constants[c] !== undefined && !originNames.has(constants[c])) originNames.set(constants[c], name)

const E = addon.errqueueLayout
const ADDR_STRIDE = addon.limits.addrStride
const meta = new Int32Array(E.stride)
const addrs = new Uint8Array(2 * ADDR_STRIDE)

/** An IP address from the error queue's raw sockaddr, or undefined. */
function ipAddress(at: number, len: number): ErrorQueueAddress | undefined {
  if (len === 0) return undefined
  const a = decodeSockaddr(addrs, at, len)
  if (a.family !== 'IPv4' && a.family !== 'IPv6') return undefined
  const out: ErrorQueueAddress = { address: a.address, family: a.family, port: a.port }
  if (a.scopeId) out.scopeId = a.scopeId
  return out
}

function nanoseconds(secHigh: number, secLow: number, nsec: number): bigint {
  return ((BigInt(secHigh >>> 0) << 32n) | BigInt(secLow >>> 0)) * 1_000_000_000n + BigInt(nsec)
}

/** Scratch for callers that pass no buffer; the payload handed out is a copy. */
let scratch: Buffer | null = null

/**
 * Reads one entry of the error queue without blocking; null when it is
 * empty. With `buf`, the quoted packet lands in `buf[offset, offset + length)`
 * and `payload` is a view of it; without, `payload` is a fresh copy.
 */
export function readErrorQueueFd(fd: number, buf?: Bytes, offset = 0, length?: number): ErrorQueueMessage | null {
  const own = buf === undefined
  const target: Bytes = own ? (scratch ??= Buffer.alloc(65536)) : buf
  const len = length ?? target.byteLength - offset
  const rc = addon.readErrorQueue(fd, target, offset, len, meta, addrs)
  if (rc === EAGAIN) return null
  if (rc < 0) throw callError(rc, 'recvmsg', { detail: 'MSG_ERRQUEUE' }, 'buf')
  const bytes = meta[E.bytes]
  const base = ArrayBuffer.isView(target) ? Buffer.from(target.buffer, target.byteOffset + offset, bytes) : Buffer.from(target, offset, bytes)
  const hasError = meta[E.hasError] !== 0
  const errno = hasError ? -meta[E.eeErrno] : 0
  const msg: ErrorQueueMessage = {
    errno,
    errnoName: errnoName(errno),
    origin: hasError ? (originNames.get(meta[E.origin]) ?? meta[E.origin]) : 'none',
    type: meta[E.type],
    code: meta[E.code],
    info: meta[E.info] >>> 0,
    data: meta[E.data] >>> 0,
    payload: own ? Buffer.from(base) : base,
    size: meta[E.size],
    truncated: meta[E.size] > bytes || (meta[E.flags] & MSG_TRUNC) !== 0,
  }
  const offender = ipAddress(ADDR_STRIDE, meta[E.offenderLen])
  if (offender) msg.offender = offender
  const destination = ipAddress(0, meta[E.nameLen])
  if (destination) msg.destination = destination
  if (meta[E.ttl] >= 0) msg.ttl = meta[E.ttl]
  if (meta[E.tsNsec] >= 0) msg.timestampNs = nanoseconds(meta[E.tsSecHigh], meta[E.tsSecLow], meta[E.tsNsec])
  if (meta[E.txNsec] >= 0) msg.txTimestampNs = nanoseconds(meta[E.txSecHigh], meta[E.txSecLow], meta[E.txNsec])
  return msg
}
