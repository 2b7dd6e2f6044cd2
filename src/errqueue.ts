// The socket error queue: extended errors (ICMP errors for UDP, ICMP and raw
// sockets; local errors) that the kernel queues once IP_RECVERR /
// IPV6_RECVERR is on (man 7 ip, man 7 ipv6, man 2 recvmsg MSG_ERRQUEUE).
// One native recvmsg(MSG_ERRQUEUE) per entry; decoding of the
// sock_extended_err happens in native/errqueue.cc.
import os from 'node:os'
import util from 'node:util'
import { constants } from './constants.js'
import { systemError } from './errors.js'
import { addon, type Bytes, type NativeAddress } from './native.js'

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
}

interface NativeErr {
  errno: number
  origin: number
  type: number
  code: number
  info: number
  data: number
  offender?: NativeAddress
}

interface NativeResult {
  bytes: number
  size: number
  flags: number
  address?: NativeAddress
  error?: NativeErr
  ttl?: number
  tsSec?: number
  tsNsec?: number
}

const ORIGINS: [string, ErrorOrigin][] = [
  ['SO_EE_ORIGIN_NONE', 'none'],
  ['SO_EE_ORIGIN_LOCAL', 'local'],
  ['SO_EE_ORIGIN_ICMP', 'icmp'],
  ['SO_EE_ORIGIN_ICMP6', 'icmp6'],
  ['SO_EE_ORIGIN_TXSTATUS', 'txstatus'],
  ['SO_EE_ORIGIN_ZEROCOPY', 'zerocopy'],
  ['SO_EE_ORIGIN_TIMESTAMPING', 'timestamping'],
]
const originNames = new Map<number, ErrorOrigin>()
for (const [c, name] of ORIGINS) if (constants[c] !== undefined && !originNames.has(constants[c])) originNames.set(constants[c], name)

function errnoName(errno: number): string {
  if (errno === 0) return 'OK'
  try {
    return util.getSystemErrorName(errno)
  } catch {
    return `Unknown system error ${errno}`
  }
}

function ipAddress(a: NativeAddress | undefined): ErrorQueueAddress | undefined {
  if (!a || (a.family !== 'IPv4' && a.family !== 'IPv6')) return undefined
  const out: ErrorQueueAddress = { address: a.address!, family: a.family, port: a.port ?? 0 }
  if (a.family === 'IPv6' && a.scopeId) out.scopeId = a.scopeId
  return out
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
  const r = addon.readErrorQueue(fd, target, offset, len)
  if (typeof r === 'number') {
    if (r === EAGAIN) return null
    throw systemError(r, 'recvmsg', { detail: 'MSG_ERRQUEUE' })
  }
  const base = ArrayBuffer.isView(target)
    ? Buffer.from(target.buffer, target.byteOffset + offset, r.bytes)
    : Buffer.from(target, offset, r.bytes)
  const e = r.error
  const msg: ErrorQueueMessage = {
    errno: e ? e.errno : 0,
    errnoName: errnoName(e ? e.errno : 0),
    origin: e ? (originNames.get(e.origin) ?? e.origin) : 'none',
    type: e?.type ?? 0,
    code: e?.code ?? 0,
    info: e?.info ?? 0,
    data: e?.data ?? 0,
    payload: own ? Buffer.from(base) : base,
    size: r.size,
    truncated: r.size > r.bytes || (r.flags & MSG_TRUNC) !== 0,
  }
  const offender = ipAddress(e?.offender)
  if (offender) msg.offender = offender
  const destination = ipAddress(r.address)
  if (destination) msg.destination = destination
  if (r.ttl !== undefined) msg.ttl = r.ttl
  if (r.tsSec !== undefined && r.tsNsec !== undefined) msg.timestampNs = BigInt(r.tsSec) * 1_000_000_000n + BigInt(r.tsNsec)
  return msg
}
