// What the client and server need of a data stream, whatever its protocol
// and direction: start, stop, cumulative counters, and its identity for the
// reports.
import { nowMs } from './clock.js'
import { PerfError } from './errors.js'
import { IperfErrno, iperfErrorText } from './protocol.js'

/** Cumulative counters of one stream. */
export interface StreamCounters {
  /** Bytes sent (sender) or received (receiver). */
  bytes: number
  /** UDP: datagrams sent (sender) or the highest counter seen (receiver). */
  packets: number
  /** UDP receiver: distinct datagrams received. */
  received: number
  lost: number
  outOfOrder: number
  duplicates: number
  jitterMs: number
  /** TCP sender: tcpi_total_retrans. */
  retransmits: number
  /** TCP sender: congestion window in bytes (snd_cwnd × snd_mss). */
  cwnd: number
  sndWnd: number
  /** TCP sender: smoothed RTT and its variance, µs. */
  rtt: number
  rttvar: number
  pmtu: number
}

export const zeroCounters = (): StreamCounters => ({
  bytes: 0,
  packets: 0,
  received: 0,
  lost: 0,
  outOfOrder: 0,
  duplicates: 0,
  jitterMs: 0,
  retransmits: 0,
  cwnd: 0,
  sndWnd: 0,
  rtt: 0,
  rttvar: 0,
  pmtu: 0,
})

export interface Endpoint {
  address: string
  port: number
}

export interface PerfStream {
  /** iperf3's stream id: 1, then 3, 4, 5... (iperf_add_stream). */
  readonly id: number
  /** The socket descriptor, shown as iperf3 shows its [ ID]. */
  readonly socket: number
  readonly sender: boolean
  readonly local: Endpoint
  readonly remote: Endpoint
  /** performance.now() of the last data received (receivers), for the idle timeout. */
  readonly lastReceive: number
  /** Begins sending, or counting what arrives. */
  start(): void
  /** Stops sending and counting. */
  stop(): void
  counters(): StreamCounters
  close(): void
  /** Called with a stream failure (a write refused, the peer gone). */
  onError: (err: Error) => void
}

/** iperf3's numbering: the first stream is 1, the next ones 3, 4, 5... */
export function streamId(index: number): number {
  return index === 0 ? 1 : index + 2
}

/** An address as iperf3 prints it: v4-mapped IPv6 shown as IPv4. */
export function displayAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

/** An endpoint with its address as iperf3 prints it. */
export function shown(e: Endpoint): Endpoint {
  return { address: displayAddress(e.address), port: e.port }
}

/** The `connected` list of iperf3's JSON start object: each stream's socket and endpoints. */
export function connectedJson(streams: readonly PerfStream[]): Record<string, unknown>[] {
  return streams.map((s) => ({
    socket: s.socket,
    local_host: displayAddress(s.local.address),
    local_port: s.local.port,
    remote_host: displayAddress(s.remote.address),
    remote_port: s.remote.port,
  }))
}

/** Rejects when no stream has received anything for `timeoutMs` (iperf3's --rcv-timeout); `cancel` stops watching. */
export function idle(streams: PerfStream[], timeoutMs: number, cancel: AbortSignal): Promise<never> {
  const since = nowMs()
  return new Promise((_, reject) => {
    cancel.addEventListener('abort', () => clearInterval(timer), { once: true })
    const timer = setInterval(
      () => {
        const last = Math.max(since, ...streams.map((s) => s.lastReceive))
        if (nowMs() - last > timeoutMs) {
          clearInterval(timer)
          reject(
            new PerfError('ERR_PERF_TIMEOUT', `${iperfErrorText(IperfErrno.IENOMSG)}: nothing arrived for ${timeoutMs} ms`, { iperfErrno: IperfErrno.IENOMSG }),
          )
        }
      },
      Math.min(1000, timeoutMs),
    )
    timer.unref()
  })
}
