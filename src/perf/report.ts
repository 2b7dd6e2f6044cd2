// iperf3's --json document: the `start` object, one object per interval and
// the `end` object, with iperf3's keys (src/iperf_api.c: iperf_json_start,
// print_interval_results, iperf_print_intermediate, iperf_print_results).
// netsock adds a few keys iperf3 lacks (out_of_order in intervals,
// duplicates, datagrams_per_second); nothing of iperf3's is renamed.
import os from 'node:os'
import type { PerfFigures, PerfInterval, PerfStreamFigures, PerfSummary } from './types.js'

/** The extremes of a TCP stream's tcp_info over a test, as iperf3 reports them. */
export interface TcpExtremes {
  maxCwnd: number
  maxSndWnd: number
  maxRtt: number
  minRtt: number
  sumRtt: number
  countRtt: number
}

/** The "version" string, in iperf3's place. */
export const VERSION = 'netsock perf 1'

export function systemInfo(): string {
  return `${os.type()} ${os.hostname()} ${os.release()} ${os.version()} ${os.machine()}`
}

export function timestampJson(): { time: string; timesecs: number } {
  const now = new Date()
  return { time: now.toUTCString(), timesecs: Math.floor(now.getTime() / 1000) }
}

function figuresJson(f: PerfFigures, socket?: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (socket !== undefined) out.socket = socket
  Object.assign(out, { start: f.start, end: f.end, seconds: f.seconds, bytes: f.bytes, bits_per_second: f.bitsPerSecond })
  if (f.packets !== undefined && f.lostPackets === undefined) out.packets = f.packets
  if (f.lostPackets !== undefined) {
    Object.assign(out, { jitter_ms: f.jitterMs ?? 0, lost_packets: f.lostPackets, packets: f.packets ?? 0, lost_percent: f.lostPercent ?? 0 })
    if (f.outOfOrder !== undefined) out.out_of_order = f.outOfOrder
    if (f.duplicates !== undefined) out.duplicates = f.duplicates
  }
  if (f.datagramsPerSecond !== undefined) out.datagrams_per_second = f.datagramsPerSecond
  Object.assign(out, extra)
  return out
}

function streamIntervalJson(f: PerfStreamFigures, tcp: boolean): Record<string, unknown> {
  const extra: Record<string, unknown> = {}
  if (tcp && f.sender && f.retransmits !== undefined) Object.assign(extra, { retransmits: f.retransmits, snd_cwnd: f.cwnd ?? 0, rtt: f.rttUs ?? 0 })
  return figuresJson(f, f.socket, { ...extra, omitted: false, sender: f.sender })
}

export function intervalJson(ev: PerfInterval, protocol: 'tcp' | 'udp'): Record<string, unknown> {
  const tcp = protocol === 'tcp'
  const sumExtra: Record<string, unknown> = {}
  if (tcp && ev.sum.retransmits !== undefined) sumExtra.retransmits = ev.sum.retransmits
  const out: Record<string, unknown> = {
    streams: ev.streams.map((f) => streamIntervalJson(f, tcp)),
    sum: figuresJson(ev.sum, undefined, { ...sumExtra, omitted: false, sender: ev.sum.sender }),
  }
  if (ev.latency) out.latency = latencyJson(ev.latency)
  return out
}

function latencyJson(l: NonNullable<PerfInterval['latency']>): Record<string, unknown> {
  return {
    samples: l.samples,
    lost: l.lost,
    min_us: l.minUs,
    mean_us: l.meanUs,
    p50_us: l.p50Us,
    p90_us: l.p90Us,
    p99_us: l.p99Us,
    p999_us: l.p999Us,
    max_us: l.maxUs,
    server_hold_p50_us: l.serverHoldP50Us,
    app_p50_us: l.appP50Us,
    app_p99_us: l.appP99Us,
    tx_timestamps: l.txTimestamps,
    rx_timestamps: l.rxTimestamps,
  }
}

export function endJson(s: PerfSummary, extremes: TcpExtremes[]): Record<string, unknown> {
  const end: Record<string, unknown> = {}
  if (s.protocol === 'udp') {
    end.streams = s.streams.map((st) => ({
      udp: figuresJson(
        {
          ...st.sender,
          lostPackets: st.receiver.lostPackets,
          lostPercent: st.receiver.lostPercent,
          jitterMs: st.receiver.jitterMs,
          outOfOrder: st.receiver.outOfOrder,
          duplicates: st.receiver.duplicates,
        },
        st.socket,
        { sender: s.role === 'client' ? !s.reverse : s.reverse },
      ),
    }))
    end.sum = figuresJson({ ...s.received, bytes: s.sent.bytes, packets: s.sent.packets }, undefined, { sender: s.role === 'client' ? !s.reverse : s.reverse })
    end.sum_sent = figuresJson({ ...s.sent, lostPackets: 0, lostPercent: 0, jitterMs: 0 }, undefined, { sender: true })
    end.sum_received = figuresJson(s.received, undefined, { sender: false })
  } else {
    end.streams = s.streams.map((st, i) => {
      const x = extremes[i]
      const weSend = s.role === 'client' ? !s.reverse : s.reverse
      const senderExtra: Record<string, unknown> = { retransmits: st.sender.retransmits ?? -1 }
      if (weSend) {
        Object.assign(senderExtra, {
          max_snd_cwnd: x.maxCwnd,
          max_snd_wnd: x.maxSndWnd,
          max_rtt: x.maxRtt,
          min_rtt: x.minRtt,
          mean_rtt: x.countRtt ? Math.round(x.sumRtt / x.countRtt) : 0,
        })
      }
      return {
        sender: figuresJson(st.sender, st.socket, { ...senderExtra, sender: true }),
        receiver: figuresJson(st.receiver, st.socket, { sender: false }),
      }
    })
    end.sum_sent = figuresJson(s.sent, undefined, { retransmits: s.sent.retransmits ?? -1, sender: true })
    end.sum_received = figuresJson(s.received, undefined, { sender: false })
  }
  const { local, remote } = s.cpu
  end.cpu_utilization_percent = {
    host_total: local.total,
    host_user: local.user,
    host_system: local.system,
    remote_total: remote.total,
    remote_user: remote.user,
    remote_system: remote.system,
  }
  if (s.senderCongestion) end.sender_tcp_congestion = s.senderCongestion
  if (s.receiverCongestion) end.receiver_tcp_congestion = s.receiverCongestion
  if (s.latency) end.latency = latencyJson(s.latency)
  return end
}

/** iperf3's `start.test_start` object. */
export function testStartJson(t: {
  udp: boolean
  parallel: number
  blksize: number
  time: number
  reverse: boolean
  rate: number
  latency: boolean
}): Record<string, unknown> {
  return {
    protocol: t.udp ? 'UDP' : 'TCP',
    num_streams: t.parallel,
    blksize: t.blksize,
    omit: 0,
    duration: t.time,
    bytes: 0,
    blocks: 0,
    reverse: t.reverse ? 1 : 0,
    tos: 0,
    target_bitrate: t.rate,
    ...(t.latency ? { latency: 1 } : {}),
  }
}
