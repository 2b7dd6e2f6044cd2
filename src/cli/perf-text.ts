// The human output of `netsock perf`: iperf3's columns and wording
// (src/iperf_locale.c), plus the figures iperf3 leaves out (datagrams per
// second, out-of-order and duplicate datagrams, latency percentiles).
import { formatBitrate, formatBytes } from '../perf/units.js'
import type { PerfFigures, PerfInterval, PerfLatency, PerfStart, PerfSummary } from '../perf/types.js'

export const SEPARATOR = '- - - - - - - - - - - - - - - - - - - - - - - - -'
const HEADER = {
  tcp: '[ ID] Interval           Transfer     Bitrate',
  tcpRetr: '[ ID] Interval           Transfer     Bitrate         Retr',
  tcpCwnd: '[ ID] Interval           Transfer     Bitrate         Retr  Cwnd',
  udp: '[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams',
  udpSender: '[ ID] Interval           Transfer     Bitrate         Total Datagrams',
  latency: '[ ID] Interval           Round trips   p50        p99        max        lost',
}

const id = (socket: number | 'SUM'): string => (socket === 'SUM' ? '[SUM]' : `[${String(socket).padStart(3)}]`)
const interval = (f: PerfFigures): string => `${f.start.toFixed(2).padStart(6)}-${f.end.toFixed(2).padEnd(6)} sec`
const percent = (p: number): string => `${Number(p.toPrecision(2))}%`
const us = (v: number): string => `${v.toFixed(1)} us`

function line(socket: number | 'SUM', f: PerfFigures, protocol: 'tcp' | 'udp', role: string, cwnd = false): string {
  const head = `${id(socket)} ${interval(f)}  ${formatBytes(f.bytes)}  ${formatBitrate(f.bitsPerSecond)}`
  if (protocol === 'tcp') {
    if (f.retransmits === undefined) return `${head}                  ${role}`.trimEnd()
    if (cwnd) return `${head}  ${String(f.retransmits).padStart(3)}   ${formatBytes(f.cwnd ?? 0)}       ${role}`.trimEnd()
    return `${head}  ${String(f.retransmits).padStart(3)}             ${role}`.trimEnd()
  }
  if (f.lostPackets === undefined) return `${head}  ${f.packets ?? 0}  ${role}`.trimEnd()
  return `${head}  ${(f.jitterMs ?? 0).toFixed(3)} ms  ${f.lostPackets}/${f.packets ?? 0} (${percent(f.lostPercent ?? 0)})  ${role}`.trimEnd()
}

export function startLines(ev: PerfStart): string[] {
  const out: string[] = []
  if (ev.role === 'server') out.push(`Accepted connection from ${ev.peer.address}, port ${ev.peer.port}`)
  else out.push(`Connecting to host ${ev.peer.address}, port ${ev.peer.port}`)
  if (ev.role === 'client' && ev.reverse) out.push(`Reverse mode, remote host ${ev.peer.address} is sending`)
  for (const s of ev.streams) out.push(`${id(s.socket)} local ${s.local.address} port ${s.local.port} connected to ${s.remote.address} port ${s.remote.port}`)
  if (ev.latency) out.push(`Latency mode: ${ev.bitrate ? `under load, ${formatBitrate(ev.bitrate)}` : 'ping-pong'}, ${ev.blksize} B probes`)
  return out
}

function latencyLine(socket: number | 'SUM', f: PerfFigures, l: PerfLatency): string {
  return `${id(socket)} ${interval(f)}  ${String(l.samples).padStart(11)}   ${us(l.p50Us).padEnd(9)}  ${us(l.p99Us).padEnd(9)}  ${us(l.maxUs).padEnd(9)}  ${l.lost}`
}

export class IntervalPrinter {
  #first = true

  lines(ev: PerfInterval, protocol: 'tcp' | 'udp'): string[] {
    const out: string[] = []
    const one = ev.streams[0]
    if (ev.latency) {
      if (this.#first) out.push(HEADER.latency)
      this.#first = false
      out.push(latencyLine(one.socket, one, ev.latency))
      return out
    }
    const tcpSender = protocol === 'tcp' && one?.retransmits !== undefined
    if (this.#first) out.push(protocol === 'tcp' ? (tcpSender ? HEADER.tcpCwnd : HEADER.tcp) : one?.lostPackets === undefined ? HEADER.udpSender : HEADER.udp)
    else if (ev.streams.length > 1) out.push(SEPARATOR)
    this.#first = false
    for (const s of ev.streams) out.push(line(s.socket, s, protocol, '', tcpSender))
    if (ev.streams.length > 1) out.push(line('SUM', ev.sum, protocol, ''))
    return out
  }
}

function cpuLine(s: PerfSummary): string {
  const weSend = s.role === 'client' ? !s.reverse : s.reverse
  const c = (x: { total: number; user: number; system: number }): string => `${x.total.toFixed(1)}% (${x.user.toFixed(1)}%u/${x.system.toFixed(1)}%s)`
  return `CPU Utilization: local/${weSend ? 'sender' : 'receiver'} ${c(s.cpu.local)}, remote/${weSend ? 'receiver' : 'sender'} ${c(s.cpu.remote)}`
}

function rate(n: number | undefined): string {
  if (n === undefined) return '-'
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} k`
  return n.toFixed(0)
}

export function latencySummaryLines(l: PerfLatency): string[] {
  return [
    `Round trips: ${l.samples} measured, ${l.lost} lost (rx timestamps: ${l.rxTimestamps}, tx: ${l.txTimestamps}; server hold p50 ${us(l.serverHoldP50Us)} taken out)`,
    `  min ${us(l.minUs)}  p50 ${us(l.p50Us)}  p90 ${us(l.p90Us)}  p99 ${us(l.p99Us)}  p99.9 ${us(l.p999Us)}  max ${us(l.maxUs)}  mean ${us(l.meanUs)}`,
    `Application round trip (send call to JavaScript, both event loops included): p50 ${us(l.appP50Us)}  p99 ${us(l.appP99Us)}`,
  ]
}

export function summaryLines(s: PerfSummary): string[] {
  const out = [SEPARATOR]
  const udp = s.protocol === 'udp'
  const retr = !udp && s.streams.some((x) => x.sender.retransmits !== undefined)
  out.push(udp ? HEADER.udp : retr ? HEADER.tcpRetr : HEADER.tcp)
  for (const st of s.streams) {
    const sender = udp ? { ...st.sender, jitterMs: 0, lostPackets: 0, lostPercent: 0 } : st.sender
    out.push(line(st.socket, sender, s.protocol, 'sender'))
    out.push(line(st.socket, st.receiver, s.protocol, 'receiver'))
  }
  if (s.streams.length > 1) {
    out.push(line('SUM', udp ? { ...s.sent, jitterMs: 0, lostPackets: 0, lostPercent: 0 } : s.sent, s.protocol, 'sender'))
    out.push(line('SUM', s.received, s.protocol, 'receiver'))
  }
  if (udp) {
    out.push(
      `Datagrams/s: ${rate(s.sent.datagramsPerSecond)} sent, ${rate(s.received.datagramsPerSecond)} received; ` +
        `lost ${s.received.lostPackets ?? 0} (${percent(s.received.lostPercent ?? 0)}), out-of-order ${s.received.outOfOrder ?? '-'}, duplicates ${s.received.duplicates ?? '-'}`,
    )
  }
  if (s.latency) out.push(...latencySummaryLines(s.latency))
  out.push(cpuLine(s))
  if (s.senderCongestion || s.receiverCongestion)
    out.push(`TCP congestion control: sender ${s.senderCongestion ?? '-'}, receiver ${s.receiverCongestion ?? '-'}`)
  return out
}
