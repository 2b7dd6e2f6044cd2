// ping: ICMP / ICMPv6 echo as an async iterable of replies, timeouts and ICMP
// errors, counted like ping(8) from iputils counts them. Replies are matched
// by identifier, sequence number and a random payload cookie, so concurrent
// pings (even to the same host) never take each other's replies. ICMP errors
// (time exceeded, unreachable, ...) come from the error queue (IP_RECVERR,
// man 7 ip) and are reported at once, per request. The RTT runs from a
// CLOCK_REALTIME reading taken right before the send to the kernel receive
// timestamp (SO_TIMESTAMPNS, same clock).
import { abortError, invalidArgValue } from './errors.js'
import type { ErrorQueueMessage } from './errqueue.js'
import {
  bindInterface,
  echoReplyFilter,
  echoRequest,
  icmpOf,
  matchEchoReply,
  matchQuotedEcho,
  openIcmpSocket,
  quotesDestination,
  resolveHost,
  roundTrip,
  ProbeSender,
  type SendTime,
  sessionTokens,
  setFamilyOption,
  type IcmpSocket,
} from './icmp.js'
import { icmpMeaning } from './icmp-meaning.js'
import { msOption, probeSettings, ttlOption, type ProbeOptions, type ProbeSettings } from './probe-options.js'
import type { RemoteInfo } from './sockaddr.js'
import type { Ancillary } from './recv-batch.js'
import { validateInteger } from './validate.js'

/** Options of `ping()`. */
export interface PingOptions extends ProbeOptions {
  /**
   * Echo requests to send (default 4; `Infinity` pings until `deadlineMs`
   * or the signal). With `deadlineMs`, the number of replies to wait for
   * instead (default `Infinity`), as `ping -w` does.
   */
  count?: number
  /** Milliseconds between requests (default 1000). */
  intervalMs?: number
  /**
   * Milliseconds to wait for each reply before reporting a timeout (default
   * 1000). Once the last request is sent and a reply has come, the rest are
   * waited for at most twice the largest RTT seen (at least `intervalMs`),
   * as ping(8) does.
   */
  timeoutMs?: number
  /** Stop this many milliseconds after the start, whatever was sent or received (ping -w). */
  deadlineMs?: number
  /** TTL / hop limit of the requests (default: the system's). */
  ttl?: number
  /** Payload bytes per request (default 56, as ping(8); at most 65507 over IPv4, 65527 over IPv6). The first 8 carry the session cookie. */
  size?: number
}

/** An echo reply that arrived in time. */
export interface PingReply {
  /** Sequence number, from 1. */
  seq: number
  /** ICMP bytes received (header and payload). */
  bytes: number
  /** TTL / hop limit of the reply, when known. */
  ttl?: number
  /** Round-trip time in milliseconds (send-time clock reading to kernel receive timestamp). */
  rttMs: number
  /** The address that answered. */
  from: string
  /** Absent or false for a reply; tells it apart from a `PingTimeout`. */
  timeout?: false
  /** Absent or false for a reply; tells it apart from a `PingError`. */
  error?: false
}

/** An echo request that got no reply within `timeoutMs`. */
export interface PingTimeout {
  /** Sequence number of the unanswered request, from 1. */
  seq: number
  /** Always true. */
  timeout: true
  /** Absent: tells it apart from a `PingError`. */
  error?: false
}

/** An echo request answered by an ICMP error (time exceeded, unreachable, ...) instead of a reply. */
export interface PingError {
  /** Sequence number of the request, from 1. */
  seq: number
  /** Always true. */
  error: true
  /** Absent: tells it apart from a `PingTimeout`. */
  timeout?: false
  /** The router or host that sent the error. */
  from: string
  /** ICMP / ICMPv6 type, e.g. 11 (IPv4) or 3 (IPv6) for time exceeded. */
  type: number
  /** ICMP / ICMPv6 code, e.g. 1 with type 3 (IPv4): host unreachable. */
  code: number
  /** What it means, in ping(8)'s words: 'Time to live exceeded', 'Destination Host Unreachable', 'Packet filtered', ... */
  reason: string
  /** The next-hop MTU, for "frag needed" (IPv4) and "packet too big" (IPv6). */
  mtu?: number
}

/** What `ping()` yields per request: a reply, a timeout (test `timeout`) or an ICMP error (test `error`). */
export type PingResult = PingReply | PingTimeout | PingError

/** Round-trip statistics over the replies, in milliseconds, as ping(8) prints them. */
export interface PingRtt {
  /** Smallest RTT. */
  min: number
  /** Mean RTT. */
  avg: number
  /** Largest RTT. */
  max: number
  /** Mean deviation: the standard deviation of the RTTs, as ping(8)'s mdev. */
  mdev: number
}

/** Counts of a ping run so far, kept up to date while it runs and readable after it ended or was aborted. */
export interface PingStats {
  /** Echo requests sent. */
  transmitted: number
  /** Replies received (duplicates and corrupted ones not included). */
  received: number
  /** Requests answered by an ICMP error. */
  errors: number
  /** Replies to a request already answered. */
  duplicates: number
  /** Replies of this session with a wrong ICMP checksum (raw IPv4 sockets), not counted as received. */
  corrupted: number
  /** Milliseconds from the first request sent to the last (ping(8)'s "time"). */
  timeMs: number
  /** RTT statistics of the replies; null before the first. */
  rtt: PingRtt | null
}

/** What `ping()` returns: the results as an async iterator, and the counts so far. */
export interface PingIterator extends AsyncIterableIterator<PingResult> {
  /** Counts so far: requests transmitted, replies received, errors, ... (see `PingStats`). */
  readonly stats: PingStats
}

interface Settings extends ProbeSettings {
  count: number
  intervalMs: number
  timeoutMs: number
  deadlineMs?: number
  ttl?: number
  size: number
}

const MAX_SIZE = { 4: 65507, 6: 65527 } as const

/**
 * The first request waits this long after the socket asked for receive
 * timestamps. When no socket of the host had them on, the kernel turns them
 * on from a workqueue (net_enable_timestamp); a reply that arrives before
 * that ran is stamped when it is read rather than when it arrived, and its
 * RTT would include whatever delayed the read. One timer turn lets the
 * worker run first.
 */
export const FIRST_SEND_DELAY_MS = 1

function settings(options: PingOptions): Settings {
  const common = probeSettings(options)
  const deadlineMs = options.deadlineMs === undefined ? undefined : msOption(options.deadlineMs, 'options.deadlineMs', 0)
  const count =
    options.count === Infinity
      ? Infinity
      : options.count === undefined
        ? deadlineMs === undefined
          ? 4
          : Infinity
        : validateInteger(options.count, 'options.count', 1, 2 ** 31 - 1)
  return {
    ...common,
    count,
    deadlineMs,
    intervalMs: msOption(options.intervalMs, 'options.intervalMs', 1000, 0),
    timeoutMs: msOption(options.timeoutMs, 'options.timeoutMs', 1000),
    ttl: ttlOption(options.ttl, 'options.ttl'),
    size: validateInteger(options.size ?? 56, 'options.size', 0, MAX_SIZE[6]),
  }
}

function emptyStats(): PingStats {
  return { transmitted: 0, received: 0, errors: 0, duplicates: 0, corrupted: 0, timeMs: 0, rtt: null }
}

/** Running RTT sums for min/avg/max/mdev. */
class RttSummary {
  #n = 0
  #sum = 0
  #sum2 = 0
  min = Infinity
  max = 0

  add(ms: number, stats: PingStats): void {
    this.#n++
    this.#sum += ms
    this.#sum2 += ms * ms
    this.min = Math.min(this.min, ms)
    this.max = Math.max(this.max, ms)
    const avg = this.#sum / this.#n
    stats.rtt = { min: this.min, avg, max: this.max, mdev: Math.sqrt(Math.max(0, this.#sum2 / this.#n - avg * avg)) }
  }
}

interface Pending {
  seq: number
  sent: SendTime
  timer: NodeJS.Timeout
}

class PingSession {
  #queue: PingResult[] = []
  #wake: (() => void) | null = null
  #failure: Error | null = null
  /** Outstanding requests by 16-bit sequence number. */
  #pending = new Map<number, Pending>()
  /** One bit per 16-bit sequence number: answered (for duplicates). */
  #answered = new Uint8Array(8192)
  #nextSeq = 1
  #firstSentMs = 0
  #interval: NodeJS.Timeout | null = null
  #deadline: NodeJS.Timeout | null = null
  #ended = false
  #id: number
  #cookie: Buffer
  #icmp: IcmpSocket
  #sender: ProbeSender
  #rtt = new RttSummary()
  #onAbort: () => void

  constructor(
    readonly address: string,
    readonly s: Settings,
    family: 4 | 6,
    readonly stats: PingStats,
  ) {
    if (s.size > MAX_SIZE[family]) throw invalidArgValue('options.size', `must be at most ${MAX_SIZE[family]} over IPv${family}`, s.size)
    const { id, cookie } = sessionTokens()
    this.#id = id
    this.#cookie = cookie
    this.#icmp = openIcmpSocket(family, s.mode)
    const sock = this.#icmp.socket
    try {
      if (s.iface !== undefined) bindInterface(sock, s.iface)
      if (s.ttl !== undefined) setFamilyOption(sock, family, 'hops', s.ttl)
      setFamilyOption(sock, family, 'recvErr', true)
      sock.setAncillary({ ttl: true, timestamp: true })
      if (this.#icmp.kind === 'raw') sock.attachFilter(echoReplyFilter(family, id))
    } catch (err) {
      sock.close()
      throw err
    }
    this.#sender = new ProbeSender(sock, address, () => this.#drainErrors())
    sock.on('message', (data: Buffer, rinfo: RemoteInfo & Ancillary) => this.#onMessage(data, rinfo))
    sock.on('errorqueue', () => this.#drainErrors())
    // With IP_RECVERR an ICMP error is also the socket's pending error, which
    // a receive may report; the error queue already said what happened.
    sock.on('error', () => {})
    this.#onAbort = () => this.#fail(abortError(s.signal))
    s.signal?.addEventListener('abort', this.#onAbort, { once: true })
    if (s.deadlineMs !== undefined) this.#deadline = setTimeout(() => this.#end(), s.deadlineMs)
    this.#interval = setTimeout(() => this.#send(), FIRST_SEND_DELAY_MS)
  }

  /** More requests to send: `count` of them, or with a deadline until `count` replies came. */
  #wantsMore(): boolean {
    if (this.#failure || this.#ended) return false
    if (this.s.deadlineMs !== undefined) return this.stats.received < this.s.count
    return this.stats.transmitted < this.s.count
  }

  #send(): void {
    this.#interval = null
    if (!this.#wantsMore()) return
    const seq = this.#nextSeq++
    const packet = echoRequest(this.#icmp.family, this.#id, seq, this.#cookie, this.s.size)
    const key = seq & 0xffff
    this.#answered[key >> 3] &= ~(1 << (key & 7))
    let sent: SendTime
    try {
      sent = this.#sender.send(packet, 0)
    } catch (err) {
      this.#fail(err as Error)
      return
    }
    const nowMs = Number(sent.monoNs / 1_000_000n)
    if (this.stats.transmitted === 0) this.#firstSentMs = nowMs
    this.stats.transmitted++
    this.stats.timeMs = nowMs - this.#firstSentMs
    this.#pending.set(key, { seq, sent, timer: setTimeout(() => this.#timeout(key), this.s.timeoutMs) })
    if (this.#wantsMore()) this.#interval = setTimeout(() => this.#send(), this.s.intervalMs)
    else this.#lastSent()
  }

  /** After the last request: once replies have come, wait for the rest max(2 x largest RTT, interval), as ping(8). */
  #lastSent(): void {
    if (this.stats.received === 0 || this.#pending.size === 0) return
    const wait = Math.max(2 * this.#rtt.max, this.s.intervalMs)
    if (wait >= this.s.timeoutMs) return
    for (const [key, p] of this.#pending) {
      clearTimeout(p.timer)
      p.timer = setTimeout(() => this.#timeout(key), wait)
    }
  }

  #onMessage(data: Buffer, rinfo: RemoteInfo & Ancillary): void {
    const icmp = icmpOf(data, this.#icmp)
    if (!icmp) return
    const seq16 = matchEchoReply(icmp, this.#icmp, this.#id, this.#cookie, this.s.size)
    if (seq16 === -2) this.stats.corrupted++
    if (seq16 < 0) return
    const sent = this.#pending.get(seq16)
    if (!sent) {
      if (this.#answered[seq16 >> 3] & (1 << (seq16 & 7))) this.stats.duplicates++
      return // a duplicate, or too late
    }
    clearTimeout(sent.timer)
    this.#pending.delete(seq16)
    this.#answered[seq16 >> 3] |= 1 << (seq16 & 7)
    const rttMs = roundTrip(sent.sent, rinfo.timestampNs)
    this.stats.received++
    this.#rtt.add(rttMs, this.stats)
    const ttl = rinfo.ttl ?? (this.#icmp.kind === 'raw' && this.#icmp.family === 4 ? data[8] : undefined)
    const reply: PingReply = { seq: sent.seq, bytes: icmp.length, rttMs, from: rinfo.address }
    if (ttl !== undefined) reply.ttl = ttl
    this.#push(reply)
  }

  /** Reads the error queue; true when it held anything. */
  #drainErrors(): boolean {
    let any = false
    for (let e = this.#icmp.socket.readErrorQueue(); e; e = this.#icmp.socket.readErrorQueue()) {
      any = true
      this.#onError(e)
    }
    return any
  }

  #onError(e: ErrorQueueMessage): void {
    if ((e.origin !== 'icmp' && e.origin !== 'icmp6') || !e.offender) return
    if (!quotesDestination(e.destination, this.address)) return
    const seq16 = matchQuotedEcho(e.payload, this.#icmp, this.#id, this.#cookie, this.s.size)
    const sent = seq16 < 0 ? undefined : this.#pending.get(seq16)
    if (!sent) return
    clearTimeout(sent.timer)
    this.#pending.delete(seq16)
    this.#answered[seq16 >> 3] |= 1 << (seq16 & 7)
    this.stats.errors++
    const meaning = icmpMeaning(this.#icmp.family, e.type, e.code, e.info)
    const result: PingError = { seq: sent.seq, error: true, from: e.offender.address, type: e.type, code: e.code, reason: meaning.reason }
    const tooBig = this.#icmp.family === 4 ? e.type === 3 && e.code === 4 : e.type === 2
    if (tooBig) result.mtu = e.info
    this.#push(result)
    // ping -w stops at the first error from the network, as ping(8) does.
    if (this.s.deadlineMs !== undefined) this.#end()
  }

  #timeout(key: number): void {
    const p = this.#pending.get(key)
    if (!p) return
    this.#pending.delete(key)
    this.#push({ seq: p.seq, timeout: true })
  }

  #push(r: PingResult): void {
    this.#queue.push(r)
    this.#wake?.()
  }

  /** The deadline passed (or ping -w saw an error): stop; outstanding requests count as lost. */
  #end(): void {
    this.#ended = true
    this.#wake?.()
  }

  #fail(err: Error): void {
    if (!this.#failure) this.#failure = err
    this.#wake?.()
  }

  #finished(): boolean {
    if (this.#ended) return true
    // Nothing more to send (count reached; with a deadline, enough replies) and nothing outstanding.
    return !this.#wantsMore() && this.#pending.size === 0
  }

  /** The next result, or null when the run is over. */
  async next(): Promise<PingResult | null> {
    for (;;) {
      if (this.#queue.length) return this.#queue.shift()!
      if (this.#failure) throw this.#failure
      if (this.#finished()) return null
      await new Promise<void>((resolve) => (this.#wake = resolve))
      this.#wake = null
    }
  }

  close(): void {
    this.s.signal?.removeEventListener('abort', this.#onAbort)
    if (this.#interval) clearTimeout(this.#interval)
    if (this.#deadline) clearTimeout(this.#deadline)
    for (const p of this.#pending.values()) clearTimeout(p.timer)
    this.#pending.clear()
    this.#icmp.socket.close()
  }
}

/**
 * Pings `host` (an IP literal, or a name resolved with dns.lookup): an async
 * iterable of replies `{ seq, bytes, ttl, rttMs, from }`, timeouts
 * `{ seq, timeout: true }` and ICMP errors `{ seq, error: true, from, type,
 * code, reason }`, in the order they happen. It ends after `count` requests
 * are resolved (or at `deadlineMs`). `stats` counts what was transmitted and
 * received, also after an abort. IPv4 and IPv6. Uses an ICMP datagram socket
 * when net.ipv4.ping_group_range admits the process's group, else a raw
 * socket (CAP_NET_RAW); neither gives EACCES/EPERM with a hint naming both.
 *
 * @example
 * const run = ping('127.0.0.1', { count: 3, intervalMs: 200 })
 * for await (const r of run) console.log(r.timeout ? `seq ${r.seq}: lost` : r.error ? `seq ${r.seq}: ${r.reason} from ${r.from}` : `seq ${r.seq}: ${r.rttMs} ms`)
 * console.log(run.stats) // { transmitted: 3, received: 3, errors: 0, ..., rtt: { min, avg, max, mdev } }
 */
export function ping(host: string, options: PingOptions = {}): PingIterator {
  const s = settings(options)
  const stats = emptyStats()
  const it = run(host, s, stats) as PingIterator
  Object.defineProperty(it, 'stats', { value: stats, enumerable: true })
  return it
}

async function* run(host: string, s: Settings, stats: PingStats): AsyncIterableIterator<PingResult> {
  if (s.signal?.aborted) throw abortError(s.signal)
  const target = await resolveHost(host, s.family)
  const session = new PingSession(target.address, s, target.family, stats)
  try {
    for (;;) {
      const r = await session.next()
      if (r === null) return
      yield r
    }
  } finally {
    session.close()
  }
}
