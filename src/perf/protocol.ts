// iperf3's wire protocol, as esnet/iperf 3.x speaks it (src/iperf_api.h,
// iperf_api.c, iperf_client_api.c, iperf_server_api.c, iperf_udp.c):
//  - a TCP control connection to the server port; the client first writes a
//    37-byte cookie (36 characters of [a-z2-7] and a NUL), then both ends
//    move through states, each a single signed byte;
//  - parameters and results as JSON, each preceded by its length as a 32-bit
//    big-endian integer;
//  - TCP data streams connect to the same port and begin with the cookie;
//    UDP streams "connect" with a 4-byte datagram the server answers;
//  - every UDP datagram starts with the sender's time (32-bit seconds and
//    microseconds) and a packet counter (32-bit, or 64-bit when both ends
//    agree on udp_counters_64bit), all big-endian.
import crypto from 'node:crypto'
import os from 'node:os'

/** Control states (signed bytes on the control connection). */
export const State = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  SERVER_TERMINATE: 11,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_START: 15,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
  SERVER_ERROR: -2,
} as const

export const COOKIE_SIZE = 37
export const DEFAULT_PORT = 5201
/** iperf3's UDP rate when -b is not given: 1 Mbit/s (1024 × 1024 bits/s). */
export const DEFAULT_UDP_RATE = 1024 * 1024
export const DEFAULT_TCP_BLKSIZE = 128 * 1024
export const DEFAULT_UDP_BLKSIZE = 1460
export const MIN_UDP_BLKSIZE = 16
export const MAX_UDP_BLKSIZE = 65535 - 8 - 20
export const MAX_BLKSIZE = 1024 * 1024
export const MAX_STREAMS = 128
export const MAX_TIME = 86400

// The UDP "connect" datagram and its answer are written by iperf3 as a host-
// order uint32 (`write(s, &buf, 4)`); older versions used other values.
const UDP_CONNECT_MSG = 0x36373839
const UDP_CONNECT_REPLY = 0x39383736
const LEGACY_UDP_CONNECT_REPLY = 987654321
const LEGACY_UDP_CONNECT_MSG = 123456789
/** netsock's answer to a latency-mode stream; an iperf3 server answers UDP_CONNECT_REPLY instead. */
const NETSOCK_LATENCY_REPLY = 0x4e534c54 // 'NSLT'

const LE = os.endianness() === 'LE'

function u32(value: number): Buffer {
  const b = Buffer.alloc(4)
  if (LE) b.writeUInt32LE(value)
  else b.writeUInt32BE(value)
  return b
}

function isValue(b: Uint8Array, value: number): boolean {
  if (b.byteLength !== 4) return false
  const buf = Buffer.from(b.buffer, b.byteOffset, 4)
  // Either byte order: peers of the other endianness write theirs.
  return buf.readUInt32LE(0) === value || buf.readUInt32BE(0) === value
}

export const udpConnect = {
  message: (): Buffer => u32(UDP_CONNECT_MSG),
  reply: (): Buffer => u32(UDP_CONNECT_REPLY),
  latencyReply: (): Buffer => u32(NETSOCK_LATENCY_REPLY),
  isMessage: (b: Uint8Array): boolean => isValue(b, UDP_CONNECT_MSG) || isValue(b, LEGACY_UDP_CONNECT_MSG),
  isReply: (b: Uint8Array): boolean => isValue(b, UDP_CONNECT_REPLY) || isValue(b, LEGACY_UDP_CONNECT_REPLY),
  isLatencyReply: (b: Uint8Array): boolean => isValue(b, NETSOCK_LATENCY_REPLY),
}

const COOKIE_CHARS = 'abcdefghijklmnopqrstuvwxyz234567'

/** A fresh cookie: 36 random characters of iperf3's alphabet and a NUL. */
export function makeCookie(): Buffer {
  const random = crypto.randomBytes(COOKIE_SIZE - 1)
  const out = Buffer.alloc(COOKIE_SIZE)
  for (let i = 0; i < COOKIE_SIZE - 1; i++) out[i] = COOKIE_CHARS.charCodeAt(random[i] % 32)
  return out
}

/** The cookie as text (without its NUL), as iperf3 shows it in JSON. */
export function cookieText(cookie: Uint8Array): string {
  const end = cookie.indexOf(0)
  return Buffer.from(cookie.subarray(0, end < 0 ? cookie.length : end)).toString('latin1')
}

/** Bytes of the UDP datagram header with a 32-bit or a 64-bit counter. */
export function udpHeaderSize(counter64: boolean): number {
  return counter64 ? 16 : 12
}

/**
 * Writes the datagram header at `offset`: seconds and microseconds of
 * `timeUs` (the sender's clock; only differences matter to the receiver) and
 * the packet counter.
 */
export function writeUdpHeader(buf: Buffer, offset: number, timeUs: number, seq: number, counter64: boolean): void {
  const sec = Math.floor(timeUs / 1e6)
  buf.writeUInt32BE(sec >>> 0, offset)
  buf.writeUInt32BE(Math.floor(timeUs - sec * 1e6), offset + 4)
  if (counter64) {
    buf.writeUInt32BE(Math.floor(seq / 2 ** 32), offset + 8)
    buf.writeUInt32BE(seq >>> 0, offset + 12)
  } else buf.writeUInt32BE(seq >>> 0, offset + 8)
}

/** The sender's time in microseconds from a datagram header. */
export function readUdpTimeUs(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 1e6 + buf.readUInt32BE(offset + 4)
}

/** The packet counter from a datagram header. */
export function readUdpSeq(buf: Buffer, offset: number, counter64: boolean): number {
  return counter64 ? buf.readUInt32BE(offset + 8) * 2 ** 32 + buf.readUInt32BE(offset + 12) : buf.readUInt32BE(offset + 8)
}

/** iperf3's error numbers (i_errno) that netsock sends or explains. */
export const IperfErrno = {
  IEUNIMP: 13,
  IECTRLCLOSE: 109,
  IEMESSAGE: 110,
  IECLIENTTERM: 119,
  IESERVERTERM: 120,
  IEACCESSDENIED: 121,
  IEPROTOCOL: 131,
  IENOMSG: 144,
} as const

const IPERF_ERRORS: Record<number, string> = {
  1: 'cannot be both server and client',
  5: 'test duration too long',
  6: 'number of parallel streams too large',
  7: 'block size too large',
  13: 'not implemented yet',
  20: 'block size invalid',
  27: "total required bandwidth is larger than server's limit",
  102: 'unable to start listener for connections',
  106: 'unable to receive cookie at server',
  109: 'control socket has closed unexpectedly',
  110: 'received an unknown control message',
  114: 'unable to receive parameters from client',
  119: 'the client has terminated',
  120: 'the server has terminated',
  121: 'the server is busy running a test. try again later',
  131: 'protocol does not exist',
  142: 'test authorization failed',
  144: 'idle timeout for receiving data',
  202: 'unable to start stream listener',
  204: 'unable to accept stream connection',
}

/** The text iperf3 prints for an i_errno (a generic one for numbers netsock does not know). */
export function iperfErrorText(ierrno: number): string {
  return IPERF_ERRORS[ierrno] ?? `iperf3 error ${ierrno}`
}
