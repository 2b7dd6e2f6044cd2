// One test's measurement, the same on client and server: start the streams,
// report every interval (iperf3's stats and reporter callbacks), stop, and
// turn local counters plus the peer's results into the summary.
import { cpuMark, cpuSince, nowMs, type CpuMark } from './clock.js'
import { PerfError } from './errors.js'
import { endJson, intervalJson, type TcpExtremes } from './report.js'
import { zeroCounters, type PerfStream, type StreamCounters } from './stream.js'
import type { PerfFigures, PerfInterval, PerfLatency, PerfStreamFigures, PerfSummary } from './types.js'

export interface RunSetup {
  role: 'client' | 'server'
  protocol: 'tcp' | 'udp'
  reverse: boolean
  latency: boolean
  /** Seconds between interval reports; 0 for none. */
  interval: number
  startJson: Record<string, unknown>
  congestion?: string
}

/** Something that measures round trips (latency mode). */
export interface LatencySource {
  /** Statistics since the last call. */
  interval(): PerfLatency
  /** Statistics of the whole test. */
  total(): PerfLatency
}

/** One stream's results as iperf3 exchanges them (send_results / get_results). */
interface PeerStream {
  id: number
  bytes: number
  retransmits: number
  jitter: number
  errors: number
  packets: number
  seconds: number
  received?: number
  outOfOrder?: number
  duplicates?: number
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6

export class TestRun {
  readonly streams: PerfStream[]
  readonly setup: RunSetup
  readonly intervals: Record<string, unknown>[] = []
  latency?: LatencySource
  #emit: (ev: PerfInterval) => void
  #t0 = 0
  #lastAt = 0
  #last: StreamCounters[]
  #extremes: TcpExtremes[]
  #final: StreamCounters[] | null = null
  #elapsed = 0
  #cpuMark: CpuMark | null = null
  #cpu = { total: 0, user: 0, system: 0 }
  #timer: NodeJS.Timeout | null = null

  constructor(setup: RunSetup, streams: PerfStream[], emit: (ev: PerfInterval) => void) {
    this.setup = setup
    this.streams = streams
    this.#emit = emit
    this.#last = streams.map(() => zeroCounters())
    this.#extremes = streams.map(() => ({ maxCwnd: 0, maxSndWnd: 0, maxRtt: 0, minRtt: 0, sumRtt: 0, countRtt: 0 }))
  }

  get running(): boolean {
    return this.#t0 > 0 && this.#final === null
  }

  /** Seconds since begin(). */
  get elapsed(): number {
    return this.#final ? this.#elapsed : this.#t0 ? (nowMs() - this.#t0) / 1000 : 0
  }

  begin(): void {
    this.#cpuMark = cpuMark()
    this.#t0 = this.#lastAt = nowMs()
    for (const s of this.streams) s.start()
    if (this.setup.interval > 0) {
      this.#timer = setInterval(() => this.#tick(false), this.setup.interval * 1000)
    }
  }

  /** Stops the streams and reports the last, partial interval. */
  end(): void {
    if (this.#final) return
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    for (const s of this.streams) s.stop()
    if (this.#t0 === 0) this.#t0 = this.#lastAt = nowMs()
    this.#tick(true)
    this.#elapsed = (nowMs() - this.#t0) / 1000
    this.#final = this.#last.map((c) => ({ ...c }))
    if (this.#cpuMark) this.#cpu = cpuSince(this.#cpuMark)
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    for (const s of this.streams) s.close()
  }

  #tick(last: boolean): void {
    const now = nowMs()
    const seconds = (now - this.#lastAt) / 1000
    const start = (this.#lastAt - this.#t0) / 1000
    const end = (now - this.#t0) / 1000
    const udp = this.setup.protocol === 'udp'
    const figures: PerfStreamFigures[] = []
    this.streams.forEach((s, i) => {
      const c = s.counters()
      const p = this.#last[i]
      const f: PerfStreamFigures = {
        id: s.id,
        socket: s.socket,
        start,
        end,
        seconds,
        bytes: c.bytes - p.bytes,
        bitsPerSecond: seconds > 0 ? ((c.bytes - p.bytes) * 8) / seconds : 0,
        sender: s.sender,
      }
      if (udp) {
        f.packets = c.packets - p.packets
        if (s.sender) f.datagramsPerSecond = seconds > 0 ? f.packets / seconds : 0
        else {
          f.lostPackets = c.lost - p.lost
          f.lostPercent = f.packets > 0 ? (100 * f.lostPackets) / f.packets : 0
          f.jitterMs = c.jitterMs
          f.outOfOrder = c.outOfOrder - p.outOfOrder
          f.duplicates = c.duplicates - p.duplicates
          f.datagramsPerSecond = seconds > 0 ? (c.received - p.received) / seconds : 0
        }
      } else if (s.sender) {
        f.retransmits = c.retransmits - p.retransmits
        f.cwnd = c.cwnd
        f.rttUs = c.rtt
        const x = this.#extremes[i]
        x.maxCwnd = Math.max(x.maxCwnd, c.cwnd)
        x.maxSndWnd = Math.max(x.maxSndWnd, c.sndWnd)
        x.maxRtt = Math.max(x.maxRtt, c.rtt)
        if (c.rtt > 0 && (x.minRtt === 0 || c.rtt < x.minRtt)) x.minRtt = c.rtt
        x.sumRtt += c.rtt
        x.countRtt++
      }
      figures.push(f)
      this.#last[i] = c
    })
    this.#lastAt = now
    // As iperf3: a last interval shorter than a tenth of the period with no data is noise.
    const bytes = figures.reduce((a, f) => a + f.bytes, 0)
    if (last && seconds < this.setup.interval * 0.1 && bytes === 0) return
    if (last && this.setup.interval === 0) return
    const latency = this.latency?.interval()
    const ev: PerfInterval = { type: 'interval', streams: figures, sum: sumFigures(figures, udp), json: {} }
    if (latency) ev.latency = latency
    ev.json = intervalJson(ev, this.setup.protocol)
    this.intervals.push(ev.json)
    this.#emit(ev)
  }

  /** This end's results, as iperf3's send_results writes them. */
  localResults(): Record<string, unknown> {
    const final = this.#final ?? this.streams.map(() => zeroCounters())
    const tcp = this.setup.protocol === 'tcp'
    const sending = this.streams.some((s) => s.sender)
    const out: Record<string, unknown> = {
      cpu_util_total: this.#cpu.total,
      cpu_util_user: this.#cpu.user,
      cpu_util_system: this.#cpu.system,
      sender_has_retransmits: sending ? (tcp ? 1 : 0) : -1,
    }
    if (this.setup.congestion) out.congestion_used = this.setup.congestion
    out.streams = this.streams.map((s, i) => {
      const c = final[i]
      return {
        id: s.id,
        bytes: c.bytes,
        retransmits: s.sender && tcp ? c.retransmits : -1,
        jitter: c.jitterMs / 1000,
        errors: c.lost,
        packets: c.packets,
        start_time: 0,
        end_time: round(this.#elapsed),
        // netsock's additions; iperf3 ignores keys it does not know.
        received: c.received,
        out_of_order: c.outOfOrder,
        duplicates: c.duplicates,
      }
    })
    return out
  }

  /** The summary from this end's counters and the peer's results. */
  summary(peerResults: Record<string, unknown>): PerfSummary {
    const peer = parsePeerResults(peerResults)
    const final = this.#final ?? this.streams.map(() => zeroCounters())
    const udp = this.setup.protocol === 'udp'
    const streams = this.streams.map((s, i) => {
      const c = final[i]
      const p = peer.streams.find((x) => x.id === s.id)
      if (!p) throw new PerfError('ERR_PERF_PROTOCOL', `the peer's results have no stream ${s.id}`)
      const local = this.#elapsed
      const x = this.#extremes[i]
      let sender: PerfFigures
      let receiver: PerfFigures
      if (s.sender) {
        sender = side(true, c.bytes, local)
        receiver = side(false, p.bytes, p.seconds || local)
        if (udp) {
          sender.packets = c.packets
          receiver.packets = p.packets
          receiver.lostPackets = p.errors
          receiver.jitterMs = p.jitter * 1000
          if (p.outOfOrder !== undefined) receiver.outOfOrder = p.outOfOrder
          if (p.duplicates !== undefined) receiver.duplicates = p.duplicates
          receiver.datagramsPerSecond = perSecond(p.received ?? p.packets - p.errors, receiver.seconds)
        } else {
          sender.retransmits = c.retransmits
          sender.cwnd = x.maxCwnd
          sender.rttUs = x.countRtt ? Math.round(x.sumRtt / x.countRtt) : 0
        }
      } else {
        sender = side(true, p.bytes, p.seconds || local)
        receiver = side(false, c.bytes, local)
        if (udp) {
          sender.packets = p.packets
          receiver.packets = c.packets
          receiver.lostPackets = c.lost
          receiver.jitterMs = c.jitterMs
          receiver.outOfOrder = c.outOfOrder
          receiver.duplicates = c.duplicates
          receiver.datagramsPerSecond = perSecond(c.received, receiver.seconds)
        } else if (peer.senderHasRetransmits === 1) sender.retransmits = p.retransmits
      }
      if (udp) {
        sender.datagramsPerSecond = perSecond(sender.packets ?? 0, sender.seconds)
        const base = sender.packets || receiver.packets || 0
        receiver.lostPercent = base > 0 ? (100 * (receiver.lostPackets ?? 0)) / base : 0
      }
      return { id: s.id, socket: s.socket, sender, receiver, extremes: x }
    })
    const sent = total(
      streams.map((s) => s.sender),
      true,
      udp,
    )
    const received = total(
      streams.map((s) => s.receiver),
      false,
      udp,
    )
    if (udp) {
      received.lostPercent = (sent.packets ?? 0) > 0 ? (100 * (received.lostPackets ?? 0)) / sent.packets! : 0
    }
    const summary: PerfSummary = {
      type: 'summary',
      role: this.setup.role,
      protocol: this.setup.protocol,
      reverse: this.setup.reverse,
      streams: streams.map(({ id, socket, sender, receiver }) => ({ id, socket, sender, receiver })),
      sent,
      received,
      cpu: { local: { ...this.#cpu }, remote: peer.cpu },
      json: { start: this.setup.startJson, intervals: this.intervals, end: {} },
    }
    if (this.latency) summary.latency = this.latency.total()
    if (!udp) {
      const weSend = this.streams.some((s) => s.sender)
      const mine = this.setup.congestion
      const theirs = peer.congestion
      const snd = weSend ? mine : theirs
      const rcv = weSend ? theirs : mine
      if (snd) summary.senderCongestion = snd
      if (rcv) summary.receiverCongestion = rcv
    }
    summary.json.end = endJson(
      summary,
      streams.map((s) => s.extremes),
    )
    return summary
  }
}

function perSecond(n: number, seconds: number): number {
  return seconds > 0 ? n / seconds : 0
}

function side(sender: boolean, bytes: number, seconds: number): PerfFigures {
  return { start: 0, end: seconds, seconds, bytes, bitsPerSecond: seconds > 0 ? (bytes * 8) / seconds : 0, sender }
}

function sumFigures(list: PerfFigures[], udp: boolean): PerfFigures {
  const first = list[0]
  const bytes = list.reduce((a, f) => a + f.bytes, 0)
  const seconds = first?.seconds ?? 0
  const sum: PerfFigures = {
    start: first?.start ?? 0,
    end: first?.end ?? 0,
    seconds,
    bytes,
    bitsPerSecond: seconds > 0 ? (bytes * 8) / seconds : 0,
    sender: first?.sender ?? true,
  }
  const add = (key: keyof PerfFigures): void => {
    if (list.some((f) => f[key] !== undefined)) (sum[key] as number) = list.reduce((a, f) => a + ((f[key] as number | undefined) ?? 0), 0)
  }
  if (udp) {
    add('packets')
    add('datagramsPerSecond')
    add('lostPackets')
    add('outOfOrder')
    add('duplicates')
    if (list.some((f) => f.jitterMs !== undefined)) sum.jitterMs = list.reduce((a, f) => a + (f.jitterMs ?? 0), 0) / list.length
    if (sum.lostPackets !== undefined) sum.lostPercent = (sum.packets ?? 0) > 0 ? (100 * sum.lostPackets) / sum.packets! : 0
  } else add('retransmits')
  return sum
}

function total(list: PerfFigures[], sender: boolean, udp: boolean): PerfFigures {
  // As iperf3, the sums take the first stream's duration.
  return { ...sumFigures(list, udp), sender }
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new PerfError('ERR_PERF_PROTOCOL', `unable to receive results: '${what}' is missing or not a number`)
  return v
}

function parsePeerResults(j: Record<string, unknown>): {
  cpu: { total: number; user: number; system: number }
  senderHasRetransmits: number
  congestion?: string
  streams: PeerStream[]
} {
  const cpu = { total: num(j.cpu_util_total, 'cpu_util_total'), user: num(j.cpu_util_user, 'cpu_util_user'), system: num(j.cpu_util_system, 'cpu_util_system') }
  const senderHasRetransmits = num(j.sender_has_retransmits, 'sender_has_retransmits')
  if (!Array.isArray(j.streams)) throw new PerfError('ERR_PERF_PROTOCOL', "unable to receive results: 'streams' is missing")
  const streams = j.streams.map((raw: Record<string, unknown>) => {
    const start = typeof raw.start_time === 'number' ? raw.start_time : 0
    const end = typeof raw.end_time === 'number' ? raw.end_time : 0
    const p: PeerStream = {
      id: num(raw.id, 'id'),
      bytes: num(raw.bytes, 'bytes'),
      retransmits: num(raw.retransmits, 'retransmits'),
      jitter: num(raw.jitter, 'jitter'),
      errors: num(raw.errors, 'errors'),
      packets: num(raw.packets, 'packets'),
      seconds: end - start,
    }
    if (typeof raw.received === 'number') p.received = raw.received
    if (typeof raw.out_of_order === 'number') p.outOfOrder = raw.out_of_order
    if (typeof raw.duplicates === 'number') p.duplicates = raw.duplicates
    return p
  })
  const out: ReturnType<typeof parsePeerResults> = { cpu, senderHasRetransmits, streams }
  if (typeof j.congestion_used === 'string') out.congestion = j.congestion_used
  return out
}
