// tcpInfo: struct tcp_info (getsockopt IPPROTO_TCP TCP_INFO, man 7 tcp),
// decoded field by field. The layout is linux/tcp.h; the kernel copies
// min(its struct size, the buffer) bytes and reports how many, so a field
// past what this kernel fills is left undefined, and fields newer kernels
// append are simply not decoded by older netsock releases.
import { constants } from './constants.js'
import { invalidArgType } from './errors.js'
import { type TcpTarget, tcpFd } from './keepalive.js'
import { getsockopt } from './options.js'

/** TCP states as in tcpi_state (include/net/tcp_states.h). */
export const TCP_STATES = Object.freeze([
  'UNKNOWN',
  'ESTABLISHED', // 1
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN', // 10
  'CLOSING',
  'NEW_SYN_RECV',
  'BOUND_INACTIVE',
] as const)

/** Congestion-avoidance states as in tcpi_ca_state (linux/tcp.h enum tcp_ca_state). */
export const TCP_CA_STATES = Object.freeze(['Open', 'Disorder', 'CWR', 'Recovery', 'Loss'] as const)

/** Bits of tcpi_options (linux/tcp.h TCPI_OPT_*). */
export const TCPI_OPT = Object.freeze({
  /** TCP timestamps (RFC 7323) are in use. */
  TIMESTAMPS: 1,
  /** Selective acknowledgements (RFC 2018) are in use. */
  SACK: 2,
  /** Window scaling (RFC 7323) is in use. */
  WSCALE: 4,
  /** ECN was negotiated at connection setup. */
  ECN: 8,
  /** At least one packet with ECT was received. */
  ECN_SEEN: 16,
  /** The SYN-ACK acknowledged data sent or received in the SYN (TCP Fast Open). */
  SYN_DATA: 32,
  /** Microsecond timestamps are in use (Linux 6.7+). */
  USEC_TS: 64,
  /** This socket is a child created from a Fast Open SYN (Linux 6.10+). */
  TFO_CHILD: 128,
})

/**
 * struct tcp_info, decoded. Names are the kernel's without the `tcpi_`
 * prefix. Fields the running kernel does not fill are undefined. 64-bit
 * fields are numbers (exact up to 2^53); a pacing rate of "unlimited"
 * (~0 in the kernel) is Infinity.
 */
export interface TcpInfo {
  /** How many bytes the kernel filled. */
  length: number
  /** Connection state: 1 ESTABLISHED ... 10 LISTEN (see TCP_STATES). */
  state: number
  /** TCP_STATES[state], e.g. 'ESTABLISHED'. */
  stateName: string
  /** Congestion-avoidance state: 0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss (see TCP_CA_STATES). */
  ca_state: number
  /** Retransmissions of the current unacknowledged segment (RTO or SYN retries so far). */
  retransmits: number
  /** Unanswered zero-window or keepalive probes so far. */
  probes: number
  /** Exponential backoff of the retransmission timer (how many times the RTO has doubled). */
  backoff: number
  /** Negotiated options, a bit set of TCPI_OPT (timestamps, SACK, window scaling, ECN, SYN data). */
  options: number
  /** Send window scale shift the peer announced (4 bits). */
  snd_wscale: number
  /** Receive window scale shift this side announced (4 bits). */
  rcv_wscale: number
  /** The last delivery-rate sample was limited by the application (1 bit). */
  delivery_rate_app_limited: boolean
  /** Why a TCP Fast Open client attempt failed (2 bits): 0 unspecified, 1 no cookie sent, 2 SYN-ACK did not ack the data, 3 SYN retransmitted. */
  fastopen_client_fail: number
  /** Retransmission timeout, microseconds. */
  rto: number
  /** Delayed-ACK timeout, microseconds. */
  ato: number
  /** Sending maximum segment size, bytes. */
  snd_mss: number
  /** Estimated receiving MSS (from segments seen), bytes. */
  rcv_mss: number
  /** Segments sent and not yet acknowledged (packets_out; on a listener: the accept queue length). */
  unacked: number
  /** Segments SACKed by the peer (on a listener: the accept queue limit, the backlog). */
  sacked: number
  /** Segments presumed lost. */
  lost: number
  /** Segments retransmitted and not yet acknowledged. */
  retrans: number
  /** FACK count; always 0 since Linux 4.15 (FACK removed). */
  fackets: number
  /** Milliseconds since data was last sent. */
  last_data_sent: number
  /** Milliseconds since an ACK was last sent; the kernel does not track it (always 0). */
  last_ack_sent: number
  /** Milliseconds since data was last received. */
  last_data_recv: number
  /** Milliseconds since an ACK was last received. */
  last_ack_recv: number
  /** Path MTU, bytes. */
  pmtu: number
  /** Slow-start threshold for the receive window, bytes. */
  rcv_ssthresh: number
  /** Smoothed round-trip time, microseconds. */
  rtt: number
  /** Round-trip time variance (mean deviation), microseconds. */
  rttvar: number
  /** Slow-start threshold, segments (0x7fffffff = not yet set, "infinite"). */
  snd_ssthresh: number
  /** Congestion window, segments. */
  snd_cwnd: number
  /** MSS this side advertised, bytes. */
  advmss: number
  /** Reordering degree the kernel assumes, segments. */
  reordering: number
  /** Receiver-side RTT estimate, microseconds (0 until measured). */
  rcv_rtt: number
  /** Receive buffer space the autotuner aims for, bytes. */
  rcv_space: number
  /** Retransmitted segments over the connection's life. */
  total_retrans: number
  /** Current pacing rate, bytes per second (Infinity: unlimited). Since 4.0. */
  pacing_rate?: number
  /** SO_MAX_PACING_RATE, bytes per second (Infinity: unlimited). Since 4.0. */
  max_pacing_rate?: number
  /** Bytes acknowledged by the peer (RFC 4898 tcpEStatsAppHCThruOctetsAcked). Since 4.1. */
  bytes_acked?: number
  /** Bytes received in order (RFC 4898 tcpEStatsAppHCThruOctetsReceived). Since 4.1. */
  bytes_received?: number
  /** Segments sent, including pure ACKs and retransmissions (RFC 4898 tcpEStatsPerfSegsOut). Since 4.2. */
  segs_out?: number
  /** Segments received (RFC 4898 tcpEStatsPerfSegsIn). Since 4.2. */
  segs_in?: number
  /** Bytes queued but not yet sent. Since 4.6. */
  notsent_bytes?: number
  /** Minimum RTT seen (windowed), microseconds. Since 4.6. */
  min_rtt?: number
  /** Segments received carrying data (RFC 4898 tcpEStatsDataSegsIn). Since 4.6. */
  data_segs_in?: number
  /** Segments sent carrying data (RFC 4898 tcpEStatsDataSegsOut). Since 4.6. */
  data_segs_out?: number
  /** Latest delivery-rate sample, bytes per second. Since 4.9. */
  delivery_rate?: number
  /** Time spent with data in flight (busy sending), microseconds. Since 4.10. */
  busy_time?: number
  /** Time limited by the peer's receive window, microseconds. Since 4.10. */
  rwnd_limited?: number
  /** Time limited by the send buffer, microseconds. Since 4.10. */
  sndbuf_limited?: number
  /** Segments delivered (acknowledged, including SACKed), counting retransmissions once. Since 4.18. */
  delivered?: number
  /** Segments delivered with ECN CE marks. Since 4.18. */
  delivered_ce?: number
  /** Bytes sent, including retransmissions (RFC 4898 tcpEStatsPerfHCDataOctetsOut). Since 4.19. */
  bytes_sent?: number
  /** Bytes retransmitted (RFC 4898 tcpEStatsPerfOctetsRetrans). Since 4.19. */
  bytes_retrans?: number
  /** Duplicate segments reported by DSACK (RFC 4898 tcpEStatsStackDSACKDups). Since 4.19. */
  dsack_dups?: number
  /** Reordering events seen. Since 4.19. */
  reord_seen?: number
  /** Out-of-order packets received. Since 5.4. */
  rcv_ooopack?: number
  /** Peer's advertised receive window after scaling, bytes. Since 5.4. */
  snd_wnd?: number
  /** This side's advertised receive window after scaling, bytes. Since 6.2. */
  rcv_wnd?: number
  /** Rehash attempts triggered by PLB or timeouts. Since 6.2. */
  rehash?: number
  /** RTO timeouts, including SYN/SYN-ACK and repeated ones (16 bits). Since 6.7. */
  total_rto?: number
  /** RTO recoveries, including one in progress (16 bits). Since 6.7. */
  total_rto_recoveries?: number
  /** Time spent in RTO recoveries, milliseconds. Since 6.7. */
  total_rto_time?: number
  /** Segments received with CE marks (AccECN). Since 6.18. */
  received_ce?: number
  /** Bytes delivered with ECT(1) marks (AccECN byte counters). Since 6.18. */
  delivered_e1_bytes?: number
  /** Bytes delivered with ECT(0) marks. Since 6.18. */
  delivered_e0_bytes?: number
  /** Bytes delivered with CE marks. Since 6.18. */
  delivered_ce_bytes?: number
  /** Bytes received with ECT(1) marks. Since 6.18. */
  received_e1_bytes?: number
  /** Bytes received with ECT(0) marks. Since 6.18. */
  received_e0_bytes?: number
  /** Bytes received with CE marks. Since 6.18. */
  received_ce_bytes?: number
}

// Byte offsets per linux/tcp.h (all fields naturally aligned, no padding).
// The last 4 bytes a 6.18 kernel fills (offset 276) are AccECN fail mode /
// option-seen, whose layout changed between kernel releases (two u16s, then
// bitfields shared with tcpi_ecn_mode and tcpi_options2); they are left out
// rather than decoded wrongly.
const U32_FIELDS: [keyof TcpInfo, number][] = [
  ['rto', 8],
  ['ato', 12],
  ['snd_mss', 16],
  ['rcv_mss', 20],
  ['unacked', 24],
  ['sacked', 28],
  ['lost', 32],
  ['retrans', 36],
  ['fackets', 40],
  ['last_data_sent', 44],
  ['last_ack_sent', 48],
  ['last_data_recv', 52],
  ['last_ack_recv', 56],
  ['pmtu', 60],
  ['rcv_ssthresh', 64],
  ['rtt', 68],
  ['rttvar', 72],
  ['snd_ssthresh', 76],
  ['snd_cwnd', 80],
  ['advmss', 84],
  ['reordering', 88],
  ['rcv_rtt', 92],
  ['rcv_space', 96],
  ['total_retrans', 100],
]
// [name, offset, bytes]; 8 = __u64, 4 = __u32, 2 = __u16.
const OPTIONAL_FIELDS: [keyof TcpInfo, number, 2 | 4 | 8][] = [
  ['pacing_rate', 104, 8],
  ['max_pacing_rate', 112, 8],
  ['bytes_acked', 120, 8],
  ['bytes_received', 128, 8],
  ['segs_out', 136, 4],
  ['segs_in', 140, 4],
  ['notsent_bytes', 144, 4],
  ['min_rtt', 148, 4],
  ['data_segs_in', 152, 4],
  ['data_segs_out', 156, 4],
  ['delivery_rate', 160, 8],
  ['busy_time', 168, 8],
  ['rwnd_limited', 176, 8],
  ['sndbuf_limited', 184, 8],
  ['delivered', 192, 4],
  ['delivered_ce', 196, 4],
  ['bytes_sent', 200, 8],
  ['bytes_retrans', 208, 8],
  ['dsack_dups', 216, 4],
  ['reord_seen', 220, 4],
  ['rcv_ooopack', 224, 4],
  ['snd_wnd', 228, 4],
  ['rcv_wnd', 232, 4],
  ['rehash', 236, 4],
  ['total_rto', 240, 2],
  ['total_rto_recoveries', 242, 2],
  ['total_rto_time', 244, 4],
  ['received_ce', 248, 4],
  ['delivered_e1_bytes', 252, 4],
  ['delivered_e0_bytes', 256, 4],
  ['delivered_ce_bytes', 260, 4],
  ['received_e1_bytes', 264, 4],
  ['received_e0_bytes', 268, 4],
  ['received_ce_bytes', 272, 4],
]
/** Bytes of the fixed part every kernel since 2.6 fills (through tcpi_total_retrans). */
const MIN_TCP_INFO = 104
/** Bytes asked of the kernel: more than any known struct tcp_info. */
const TCP_INFO_BUFFER = 512
const PACING = new Set<keyof TcpInfo>(['pacing_rate', 'max_pacing_rate'])
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Decodes the bytes of a struct tcp_info (as the kernel filled them, in host
 * byte order). Shorter structs, from older kernels, leave the fields they
 * lack undefined; fewer than 104 bytes is an error.
 *
 * @example
 * const info = decodeTcpInfo(s.getsockopt(constants.IPPROTO_TCP, constants.TCP_INFO, 512) as Buffer)
 */
export function decodeTcpInfo(bytes: Uint8Array): TcpInfo {
  if (!(bytes instanceof Uint8Array)) throw invalidArgType('bytes', 'an instance of Uint8Array', bytes)
  if (bytes.length < MIN_TCP_INFO) throw new Error(`struct tcp_info too short: ${bytes.length} bytes, expected at least ${MIN_TCP_INFO}`)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  const le = LITTLE_ENDIAN
  // Bitfields: on little-endian ABIs the first declared field takes the low
  // bits of its byte (snd_wscale low nibble, rcv_wscale high nibble); on
  // big-endian ABIs the high bits.
  const wscale = bytes[6]
  const flags = bytes[7]
  const state = bytes[0]
  const info: Record<string, unknown> = {
    length: bytes.length,
    state,
    stateName: TCP_STATES[state] ?? `UNKNOWN(${state})`,
    ca_state: bytes[1],
    retransmits: bytes[2],
    probes: bytes[3],
    backoff: bytes[4],
    options: bytes[5],
    snd_wscale: le ? wscale & 0x0f : wscale >> 4,
    rcv_wscale: le ? wscale >> 4 : wscale & 0x0f,
    delivery_rate_app_limited: (le ? flags & 0x01 : flags >> 7) !== 0,
    fastopen_client_fail: le ? (flags >> 1) & 0x03 : (flags >> 5) & 0x03,
  }
  for (const [name, offset] of U32_FIELDS) info[name] = dv.getUint32(offset, le)
  for (const [name, offset, size] of OPTIONAL_FIELDS) {
    if (offset + size > bytes.length) break
    if (size === 2) info[name] = dv.getUint16(offset, le)
    else if (size === 4) info[name] = dv.getUint32(offset, le)
    else {
      const value = dv.getBigUint64(offset, le)
      info[name] = PACING.has(name) && value === 0xffffffffffffffffn ? Infinity : Number(value)
    }
  }
  return info as unknown as TcpInfo
}

/**
 * struct tcp_info of a TCP socket: state, RTT, congestion window,
 * retransmissions, byte and segment counters, delivery rate and the rest the
 * kernel fills (see TcpInfo for every field and its unit).
 *
 * @example
 * const info = tcpInfo(sock)   // a net.Socket, a netsock Socket or an fd
 * console.log(info.stateName, info.rtt / 1000, 'ms', info.snd_cwnd, 'segments')
 */
export function tcpInfo(target: TcpTarget): TcpInfo {
  const fd = tcpFd(target)
  const bytes = getsockopt(fd, constants.IPPROTO_TCP, constants.TCP_INFO, TCP_INFO_BUFFER) as Buffer
  return decodeTcpInfo(bytes)
}
