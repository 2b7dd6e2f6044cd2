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
 * An address and port.
 *
 * @example
 * const e: perf.PerfEndpoint = { address: '127.0.0.1', port: 5201 }
 */
export interface PerfEndpoint {
  /** IP address, v4-mapped IPv6 shown as IPv4 (as iperf3 shows it). */
  address: string
  /** Port number. */
  port: number
}

/**
 * CPU use in percent of wall time (can pass 100 with several threads), as iperf3 reports it.
 *
 * @example
 * console.log(`${summary.cpu.local.total.toFixed(1)}%`)
 */
export interface PerfCpu {
  /** User plus system. */
  total: number
  /** Time in user space. */
  user: number
  /** Time in the kernel. */
  system: number
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
  /** Seconds from the start of the test to the start of these figures. */
  start: number
  /** Seconds from the start of the test to their end. */
  end: number
  /** Length of the period, in seconds. */
  seconds: number
  /** Bytes sent (sender) or received (receiver) in the period. */
  bytes: number
  /** `bytes` × 8 / `seconds`. */
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

/**
 * Round-trip statistics of latency mode, in microseconds. The round trips
 * are measured with kernel receive timestamps at both ends and the server's
 * hold time taken out, so neither event loop counts; `appP50Us`/`appP99Us`
 * are the round trips as the application sees them.
 *
 * @example
 * console.log(`p50 ${l.p50Us} us, p99.9 ${l.p999Us} us`)
 */
export interface PerfLatency {
  /** Round trips measured. */
  samples: number
  /** Probes that got no echo within the timeout. */
  lost: number
  /** Shortest round trip. */
  minUs: number
  /** Mean round trip. */
  meanUs: number
  /** Median round trip. */
  p50Us: number
  /** 90th percentile. */
  p90Us: number
  /** 99th percentile. */
  p99Us: number
  /** 99.9th percentile. */
  p999Us: number
  /** Longest round trip. */
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
  /** Event kind. */
  type: 'listening'
  /** Address listened on. */
  address: string
  /** Port listened on (the one chosen when 0 was asked for). */
  port: number
}

/**
 * A data stream of a test.
 *
 * @example
 * for (const s of start.streams) console.log(s.id, s.local.port, '->', s.remote.port)
 */
export interface PerfStreamInfo {
  /** iperf3's stream id: 1, 3, 4, 5... */
  id: number
  /** The socket descriptor. */
  socket: number
  /** This end's address. */
  local: PerfEndpoint
  /** The other end's address. */
  remote: PerfEndpoint
}

/**
 * A test begins: its parameters and streams.
 *
 * @example
 * if (ev.type === 'start') console.log(ev.protocol, ev.streams.length, 'streams')
 */
export interface PerfStart {
  /** Event kind. */
  type: 'start'
  /** Which end reports. */
  role: 'client' | 'server'
  /** Transport of the data streams. */
  protocol: 'tcp' | 'udp'
  /** True when the server sends. */
  reverse: boolean
  /** True in latency mode. */
  latency: boolean
  /** The peer (the server for a client, the client's control connection for a server). */
  peer: PerfEndpoint
  /** Bytes per write or datagram. */
  blksize: number
  /** Seconds the client will send for (0: until stopped). */
  duration: number
  /** Target bits per second per stream (0: unlimited). */
  bitrate: number
  /** The test's cookie. */
  cookie: string
  /** The data streams. */
  streams: PerfStreamInfo[]
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
  /** Event kind. */
  type: 'interval'
  /** Each stream's figures. */
  streams: PerfStreamFigures[]
  /** All streams together (jitter: their mean). */
  sum: PerfFigures
  /** Latency mode: round trips completed in this interval. */
  latency?: PerfLatency
  /** iperf3's object for this interval in `intervals`. */
  json: Record<string, unknown>
}

/**
 * One stream's result: its sender's and its receiver's figures.
 *
 * @example
 * for (const s of summary.streams) console.log(s.id, s.receiver.bitsPerSecond)
 */
export interface PerfStreamSummary {
  /** iperf3's stream id. */
  id: number
  /** The socket descriptor at this end. */
  socket: number
  /** What the sending end counted. */
  sender: PerfFigures
  /** What the receiving end counted. */
  receiver: PerfFigures
}

/**
 * A test as iperf3's `--json` prints it.
 *
 * @example
 * fs.writeFileSync('run.json', JSON.stringify(summary.json, null, 2))
 */
export interface PerfJson {
  /** Connection and test parameters. */
  start: Record<string, unknown>
  /** One object per interval. */
  intervals: Record<string, unknown>[]
  /** Per-stream results, sums and CPU use. */
  end: Record<string, unknown>
}

/**
 * The end of a test: each stream's sender and receiver figures (one side
 * measured here, the other reported by the peer), the sums, and CPU use.
 *
 * @example
 * if (ev.type === 'summary') console.log(ev.received.bitsPerSecond, ev.received.lostPercent)
 */
export interface PerfSummary {
  /** Event kind. */
  type: 'summary'
  /** Which end reports. */
  role: 'client' | 'server'
  /** Transport of the data streams. */
  protocol: 'tcp' | 'udp'
  /** True when the server sent. */
  reverse: boolean
  /** Each stream's result. */
  streams: PerfStreamSummary[]
  /** Sum over streams, as the sender saw it. */
  sent: PerfFigures
  /** Sum over streams, as the receiver saw it. */
  received: PerfFigures
  /** CPU use of this process and of the peer (as it reported). */
  cpu: {
    /** This process. */
    local: PerfCpu
    /** The peer, from its results. */
    remote: PerfCpu
  }
  /** Latency mode: the round-trip statistics of the whole test. */
  latency?: PerfLatency
  /** TCP: congestion control of the sending end. */
  senderCongestion?: string
  /** TCP: congestion control of the receiving end. */
  receiverCongestion?: string
  /** The whole test as iperf3's `--json` document. */
  json: PerfJson
}

/**
 * A server's test failed (the server itself goes on, unless `oneOff`).
 *
 * @example
 * if (ev.type === 'error') console.error(ev.error.message)
 */
export interface PerfTestError {
  /** Event kind. */
  type: 'error'
  /** Why the test failed: usually a `PerfError`. */
  error: Error
}

/**
 * What `perf.client()` yields.
 *
 * @example
 * const ev: perf.PerfClientEvent = (await perf.client({ host: '127.0.0.1' }).next()).value
 */
export type PerfClientEvent = PerfStart | PerfInterval | PerfSummary

/**
 * What `perf.server()` yields.
 *
 * @example
 * for await (const ev of perf.server()) if (ev.type === 'summary') console.log(ev.received.bitsPerSecond)
 */
export type PerfServerEvent = PerfListening | PerfStart | PerfInterval | PerfSummary | PerfTestError
