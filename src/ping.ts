// ping: ICMP / ICMPv6 echo as an async iterable of replies and timeouts.
// Replies are matched by identifier, sequence number and a random payload
// cookie, so concurrent pings (even to the same host) never take each
// other's replies. RTT comes from the kernel receive timestamp
// (SO_TIMESTAMPNS) where available.
import { abortError, invalidArgValue } from './errors.js'
import {
  echoRequest,
  icmpOf,
  matchEchoReply,
  openIcmpSocket,
  realtimeNs,
  resolveHost,
  roundTrip,
  sessionTokens,
  type IcmpSocket,
  type IcmpSocketMode,
} from './icmp.js'
import { constants } from './constants.js'
import type { RemoteInfo } from './sockaddr.js'
import type { Ancillary } from './recv-batch.js'
import { validateAbortSignal, validateInteger, validateObject } from './validate.js'

/** Options of `ping()`. */
export interface PingOptions {
  /** Echo requests to send (default 4). */
  count?: number
  /** Milliseconds between requests (default 1000). */
  intervalMs?: number
  /** Milliseconds to wait for each reply before reporting a timeout (default 1000). */
  timeoutMs?: number
  /** TTL / hop limit of the requests (default: the system's). */
  ttl?: number
  /** Payload bytes per request (default 56, as ping(8)). The first 8 carry the session cookie. */
  size?: number
  /** Address family when `host` is a name. */
  family?: 4 | 6
  /**
   * `'auto' | 'dgram' | 'raw'`. 'auto' (default): ping socket when
   * net.ipv4.ping_group_range allows, raw socket otherwise; 'dgram' and
   * 'raw' force one kind.
   */
  socket?: IcmpSocketMode
  /** Stops pinging; the iteration then rejects with an AbortError. */
  signal?: AbortSignal
}

/** An echo reply that arrived in time. */
export interface PingReply {
  /** Sequence number, from 1. */
  seq: number
  /** ICMP bytes received (header and payload). */
  bytes: number
  /** TTL / hop limit of the reply, when known. */
  ttl?: number
  /** Round-trip time in milliseconds (from the kernel receive timestamp where available). */
  rttMs: number
  /** The address that answered. */
  from: string
  /** Absent or false for a reply; tells it apart from a `PingTimeout`. */
  timeout?: false
}

/** An echo request that got no reply within `timeoutMs`. */
export interface PingTimeout {
  /** Sequence number of the unanswered request, from 1. */
  seq: number
  /** Always true. */
  timeout: true
}

/** What `ping()` yields per request: a reply or a timeout (test `timeout`). */
export type PingResult = PingReply | PingTimeout

interface Settings {
  count: number
  intervalMs: number
  timeoutMs: number
  ttl?: number
  size: number
  family?: 4 | 6
  mode: IcmpSocketMode
  signal?: AbortSignal
}

function settings(options: PingOptions): Settings {
  validateObject(options, 'options')
  const mode = options.socket ?? 'auto'
  if (mode !== 'auto' && mode !== 'dgram' && mode !== 'raw') throw invalidArgValue('options.socket', "must be 'auto', 'dgram' or 'raw'", mode)
  if (options.family !== undefined && options.family !== 4 && options.family !== 6) throw invalidArgValue('options.family', 'must be 4 or 6', options.family)
  return {
    count: validateInteger(options.count ?? 4, 'options.count', 1, 65535),
    intervalMs: validateInteger(options.intervalMs ?? 1000, 'options.intervalMs', 0, 2 ** 31 - 1),
    timeoutMs: validateInteger(options.timeoutMs ?? 1000, 'options.timeoutMs', 1, 2 ** 31 - 1),
    ttl: options.ttl === undefined ? undefined : validateInteger(options.ttl, 'options.ttl', 1, 255),
    size: validateInteger(options.size ?? 56, 'options.size', 0, 65000),
    family: options.family,
    mode,
    signal: validateAbortSignal(options.signal, 'options.signal'),
  }
}

/** Sets the TTL / hop limit of what an ICMP socket sends. */
export function setHops(s: IcmpSocket, ttl: number): void {
  if (s.family === 4) s.socket.setsockopt(constants.IPPROTO_IP, constants.IP_TTL, ttl)
  else s.socket.setsockopt(constants.IPPROTO_IPV6, constants.IPV6_UNICAST_HOPS, ttl)
}

class PingSession {
  #queue: PingResult[] = []
  #wake: (() => void) | null = null
  #failure: Error | null = null
  #pending = new Map<number, { sentMs: number; sentRealNs: bigint; timer: NodeJS.Timeout }>()
  #done = 0
  #nextSeq = 1
  #interval: NodeJS.Timeout | null = null
  #id: number
  #cookie: Buffer
  #icmp: IcmpSocket
  #onAbort: () => void

  constructor(
    readonly address: string,
    readonly s: Settings,
    family: 4 | 6,
  ) {
    const { id, cookie } = sessionTokens()
    this.#id = id
    this.#cookie = cookie
    this.#icmp = openIcmpSocket(family, s.mode)
    const sock = this.#icmp.socket
    try {
      if (s.ttl !== undefined) setHops(this.#icmp, s.ttl)
      sock.setAncillary({ ttl: true, timestamp: true })
    } catch (err) {
      sock.close()
      throw err
    }
    sock.on('message', (data: Buffer, rinfo: RemoteInfo & Ancillary) => this.#onMessage(data, rinfo))
    sock.on('error', (err: Error) => this.#fail(err))
    this.#onAbort = () => this.#fail(abortError(s.signal))
    s.signal?.addEventListener('abort', this.#onAbort, { once: true })
    this.#send()
  }

  #send(): void {
    if (this.#failure || this.#nextSeq > this.s.count) return
    const seq = this.#nextSeq++
    const packet = echoRequest(this.#icmp.family, this.#id, seq, this.#cookie, this.s.size)
    const sentMs = performance.now()
    const timer = setTimeout(() => this.#timeout(seq), this.s.timeoutMs)
    this.#pending.set(seq, { sentMs, sentRealNs: realtimeNs(sentMs), timer })
    try {
      this.#icmp.socket.send(packet, 0, this.address)
    } catch (err) {
      this.#fail(err as Error)
      return
    }
    if (this.#nextSeq <= this.s.count) this.#interval = setTimeout(() => this.#send(), this.s.intervalMs)
  }

  #onMessage(data: Buffer, rinfo: RemoteInfo & Ancillary): void {
    const icmp = icmpOf(data, this.#icmp)
    if (!icmp) return
    const seq = matchEchoReply(icmp, this.#icmp, this.#id, this.#cookie, this.s.size)
    const sent = this.#pending.get(seq)
    if (!sent) return // not ours, a duplicate, or too late
    clearTimeout(sent.timer)
    this.#pending.delete(seq)
    const ttl = rinfo.ttl ?? (this.#icmp.kind === 'raw' && this.#icmp.family === 4 ? data[8] : undefined)
    const reply: PingReply = { seq, bytes: icmp.length, rttMs: roundTrip(sent.sentMs, sent.sentRealNs, rinfo.timestampNs), from: rinfo.address }
    if (ttl !== undefined) reply.ttl = ttl
    this.#push(reply)
  }

  #timeout(seq: number): void {
    if (!this.#pending.delete(seq)) return
    this.#push({ seq, timeout: true })
  }

  #push(r: PingResult): void {
    this.#queue.push(r)
    this.#done++
    this.#wake?.()
  }

  #fail(err: Error): void {
    if (!this.#failure) this.#failure = err
    this.#wake?.()
  }

  /** The next result, or null when every request was answered or timed out. */
  async next(): Promise<PingResult | null> {
    for (;;) {
      if (this.#queue.length) return this.#queue.shift()!
      if (this.#failure) throw this.#failure
      if (this.#done >= this.s.count) return null
      await new Promise<void>((resolve) => (this.#wake = resolve))
      this.#wake = null
    }
  }

  close(): void {
    this.s.signal?.removeEventListener('abort', this.#onAbort)
    if (this.#interval) clearTimeout(this.#interval)
    for (const p of this.#pending.values()) clearTimeout(p.timer)
    this.#pending.clear()
    this.#icmp.socket.close()
  }
}

/**
 * Pings `host` (an IP literal, or a name resolved with dns.lookup): an async
 * iterable of `{ seq, bytes, ttl, rttMs, from }` replies and
 * `{ seq, timeout: true }` timeouts, in the order they happen; it ends after
 * `count` requests are answered or timed out. IPv4 and IPv6. Uses an ICMP
 * datagram socket when net.ipv4.ping_group_range admits the process's group,
 * else a raw socket (CAP_NET_RAW); neither gives EACCES/EPERM with a hint.
 *
 * @example
 * for await (const r of ping('127.0.0.1', { count: 3, intervalMs: 200 })) console.log(r)
 */
export function ping(host: string, options: PingOptions = {}): AsyncIterableIterator<PingResult> {
  const s = settings(options)
  return run(host, s)
}

async function* run(host: string, s: Settings): AsyncIterableIterator<PingResult> {
  if (s.signal?.aborted) throw abortError(s.signal)
  const target = await resolveHost(host, s.family)
  const session = new PingSession(target.address, s, target.family)
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
