// The public shapes of `perf`: options, and the events a run yields.

/**
 * Options of `perf.client()`. Flag names follow iperf3 (in brackets).
 *
 * @example
 * const opts: perf.PerfClientOptions = { host: '127.0.0.1', udp: true, bitrate: 100e6, length: 1200, time: 5 }
 */
export interface PerfClientOptions {
  /** The server: an IP literal or a name for dns.lookup. */
  host: string
  /** Server port [-p]; default 5201. */
  port?: number
  /** UDP instead of TCP [-u]. */
  udp?: boolean
  /** Target bits per second per stream [-b]; 0 = unlimited. Default 1 Mbit/s (1,048,576) for UDP, unlimited for TCP. */
  bitrate?: number
  /** Bytes per write or datagram [-l]. Default 128 KiB for TCP; for UDP the control connection's MSS (1460 when unknown). */
  length?: number
  /** Seconds to run [-t]; default 10. */
  time?: number
  /** Parallel streams [-P]; default 1. */
  parallel?: number
  /** The server sends and this client receives [-R]. */
  reverse?: boolean
  /** Seconds between interval reports [-i]; default 1, 0 for none. */
  interval?: number
  /** 64-bit UDP packet counters [--udp-counters-64bit]. */
  udpCounters64?: boolean
  /** SO_SNDBUF / SO_RCVBUF of the data sockets, here and at the server [-w]. */
  window?: number
  /** TCP_NODELAY on the data sockets, here and at the server [-N]. */
  noDelay?: boolean
  /**
   * Latency mode (against a netsock perf server only): datagrams of `length`
   * bytes (default 64) are echoed back and round trips measured; with
   * `bitrate` they are sent at that rate (under load), otherwise one at a time
   * (ping-pong).
   */
  latency?: boolean
  /** Milliseconds to wait for the TCP connection [--connect-timeout]; default 10000. */
  connectTimeoutMs?: number
  /** Milliseconds the server may stay silent, or data stop arriving, before the run fails [--rcv-timeout]; default 30000. */
  timeoutMs?: number
  /** Ends the run early; the iterator then throws an AbortError. */
  signal?: AbortSignal
}

/**
 * Options of `perf.server()`.
 *
 * @example
 * const opts: perf.PerfServerOptions = { port: 0, address: '127.0.0.1', oneOff: true }
 */
export interface PerfServerOptions {
  /** Port to listen on [-p]; default 5201; 0 picks a free one (see the 'listening' event). */
  port?: number
  /** Address to bind [-B]; default '::' (IPv4 too), or '0.0.0.0' where IPv6 is missing. */
  address?: string
  /** Serve one test, then end [-1]. */
  oneOff?: boolean
  /** Seconds between interval reports [-i]; default 1, 0 for none. */
  interval?: number
  /** Milliseconds a client may stay silent, or data stop arriving, before its test fails [--rcv-timeout]; default 30000. */
  timeoutMs?: number
  /** Stops the server; the iterator then ends. */
  signal?: AbortSignal
}

/**
 * One side's figures over an interval or the whole test. Fields that do not
 * apply (UDP loss for TCP, retransmits for a receiver) are absent.
 *
 * @example
 * const s: perf.PerfFigures = summary.received
 * console.log(s.bitsPerSecond, s.lostPercent, s.jitterMs)
 */
export interface PerfFigures {
  /** Seconds from the start of the test. */
  start: number
  end: number
  seconds: number
  bytes: number
  bitsPerSecond: number
  /** True for figures of the sending side. */
  sender: boolean
  /** UDP: datagrams sent (sender), or the highest packet counter seen (receiver; iperf3's count). */
  packets?: number
  /** UDP: datagrams per second, sent or received. */
  datagramsPerSecond?: number
  /** UDP receiver: datagrams missing below the highest counter seen. */
  lostPackets?: number
  /** UDP receiver: lost as a percentage of the datagrams sent. */
  lostPercent?: number
  /** UDP receiver: interarrival jitter, RFC 3550, in milliseconds. */
  jitterMs?: number
  /** UDP receiver: datagrams that arrived after a later one. */
  outOfOrder?: number
  /** UDP receiver: datagrams that arrived more than once. */
  duplicates?: number
  /** TCP sender: retransmitted segments (tcp_info total_retrans). */
  retransmits?: number
  /** TCP sender: congestion window in bytes (intervals: at the end; summary: largest seen). */
  cwnd?: number
  /** TCP sender: smoothed round trip in microseconds (intervals: at the end; summary: mean). */
  rttUs?: number
}

/**
 * Figures of one stream in an interval.
 *
 * @example
 * for (const s of interval.streams) console.log(s.socket, s.bitsPerSecond)
 */
export interface PerfStreamFigures extends PerfFigures {
  /** iperf3's stream id. */
  id: number
  /** The socket descriptor (iperf3's [ ID] column). */
  socket: number
}

/** Round-trip statistics of latency mode, in microseconds. */
export interface PerfLatency {
  /** Round trips measured. */
  samples: number
  /** Probes that got no echo within the timeout. */
  lost: number
  minUs: number
  meanUs: number
  p50Us: number
  p90Us: number
  p99Us: number
  p999Us: number
  maxUs: number
  /** Median time the server held a probe (kernel receive to its send); already taken out of the round trips. */
  serverHoldP50Us: number
  /**
   * The application's round trip, median: from just before the send call to
   * when this process's JavaScript saw the echo, both event loops and the
   * server's hold included (what sockperf and a ping-pong in JS measure).
   */
  appP50Us: number
  /** The application's round trip, 99th percentile. */
  appP99Us: number
  /** How the send times were taken: 'software' (just before the send call) or 'kernel' (SO_TIMESTAMPING). */
  txTimestamps: 'software' | 'kernel'
  /** How the receive times were taken: 'kernel' (SO_TIMESTAMPNS) or 'software'. */
  rxTimestamps: 'software' | 'kernel'
}

/**
 * The server is listening (`perf.server()` only; first event).
 *
 * @example
 * if (ev.type === 'listening') console.log(`port ${ev.port}`)
 */
export interface PerfListening {
  type: 'listening'
  address: string
  port: number
}

/**
 * A test begins: its parameters and streams.
 *
 * @example
 * if (ev.type === 'start') console.log(ev.protocol, ev.streams.length, 'streams')
 */
export interface PerfStart {
  type: 'start'
  role: 'client' | 'server'
  protocol: 'tcp' | 'udp'
  /** True when the server sends. */
  reverse: boolean
  latency: boolean
  /** The peer's address and port (the server for a client, the client's control connection for a server). */
  peer: { address: string; port: number }
  blksize: number
  duration: number
  /** Target bits per second per stream (0: unlimited). */
  bitrate: number
  cookie: string
  streams: { id: number; socket: number; local: { address: string; port: number }; remote: { address: string; port: number } }[]
  /** iperf3's `start` object for this test. */
  json: Record<string, unknown>
}

/**
 * One interval's report: each stream, and their sum.
 *
 * @example
 * if (ev.type === 'interval') console.log(ev.sum.end, ev.sum.bitsPerSecond)
 */
export interface PerfInterval {
  type: 'interval'
  streams: PerfStreamFigures[]
  sum: PerfFigures
  /** Latency mode: round trips completed in this interval. */
  latency?: PerfLatency
  /** iperf3's object for this interval in `intervals`. */
  json: Record<string, unknown>
}

/**
 * The end of a test: each stream's sender and receiver figures (one side
 * measured here, the other reported by the peer), the sums, and CPU use.
 *
 * @example
 * if (ev.type === 'summary') console.log(ev.received.bitsPerSecond, ev.received.lostPercent)
 */
export interface PerfSummary {
  type: 'summary'
  role: 'client' | 'server'
  protocol: 'tcp' | 'udp'
  reverse: boolean
  streams: { id: number; socket: number; sender: PerfFigures; receiver: PerfFigures }[]
  /** Sum over streams, as the sender saw it. */
  sent: PerfFigures
  /** Sum over streams, as the receiver saw it. */
  received: PerfFigures
  /** CPU use in percent of wall time: this process and the peer's (as it reported). */
  cpu: {
    local: { total: number; user: number; system: number }
    remote: { total: number; user: number; system: number }
  }
  /** Latency mode: the round-trip statistics of the whole test. */
  latency?: PerfLatency
  /** TCP: congestion control of the sending and receiving ends. */
  senderCongestion?: string
  receiverCongestion?: string
  /** The whole test as iperf3's `--json` document: `start`, `intervals`, `end`. */
  json: { start: Record<string, unknown>; intervals: Record<string, unknown>[]; end: Record<string, unknown> }
}

/**
 * A server's test failed (the server itself goes on, unless `oneOff`).
 *
 * @example
 * if (ev.type === 'error') console.error(ev.error.message)
 */
export interface PerfTestError {
  type: 'error'
  error: Error
}

/** What `perf.client()` yields. */
export type PerfClientEvent = PerfStart | PerfInterval | PerfSummary

/** What `perf.server()` yields. */
export type PerfServerEvent = PerfListening | PerfStart | PerfInterval | PerfSummary | PerfTestError
