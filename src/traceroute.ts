// traceroute: probes with growing TTL, one per hop, read back from the
// socket error queue (IP_RECVERR / IPV6_RECVERR, man 7 ip): each ICMP
// "time exceeded" names a router as its offender, and the destination
// answers with "port unreachable" (UDP probes) or an echo reply (ICMP probes).
// UDP probes need no privilege at all; ICMP probes use a ping socket or a
// raw socket like ping does.
import { constants } from './constants.js'
import { abortError, invalidArgValue } from './errors.js'
import type { ErrorQueueMessage } from './errqueue.js'
import { createSocket } from './create.js'
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
import { setHops } from './ping.js'
import type { Ancillary } from './recv-batch.js'
import type { RemoteInfo } from './sockaddr.js'
import type { Socket } from './socket.js'
import { validateAbortSignal, validateInteger, validateObject, validatePort } from './validate.js'

/** Options of `traceroute()`. */
export interface TracerouteOptions {
  /** Highest TTL to try (default 30). */
  maxHops?: number
  /** 'udp' (default): UDP datagrams to high ports; 'icmp': echo requests. */
  probe?: 'udp' | 'icmp'
  /** Milliseconds to wait for each hop's answer (default 1000). */
  timeoutMs?: number
  /** UDP probes: destination port of the first probe, +1 per hop (default 33434). */
  port?: number
  /** Address family when `host` is a name. */
  family?: 4 | 6
  /** ICMP probes: which socket to use, `'auto' | 'dgram' | 'raw'` (see `PingOptions.socket`). */
  socket?: IcmpSocketMode
  /** Stops the trace; the iteration then rejects with an AbortError. */
  signal?: AbortSignal
}

/** One hop of a trace: who answered the probe sent with this TTL, and how fast. */
export interface TracerouteHop {
  /** The TTL / hop limit the probe was sent with, from 1. */
  ttl: number
  /** The router or host that answered; null when nothing did in time. */
  address: string | null
  /** Round-trip time in milliseconds; null when nothing answered in time. */
  rttMs: number | null
  /** True for the destination's own answer (the last hop). */
  reached: boolean
  /** ICMP type and code of the answer (e.g. 11/0 time exceeded); absent for echo replies and timeouts. */
  icmpType?: number
  /** ICMP code of the answer, read with `icmpType`. */
  icmpCode?: number
}

const TIME_EXCEEDED = { 4: 11, 6: 3 } as const
const UNREACHABLE = { 4: 3, 6: 1 } as const

interface Probe {
  ttl: number
  sentMs: number
  sentRealNs: bigint
}

/** The outcome of one probe, delivered by the socket's handlers. */
type Answer = { from: string; timestampNs?: bigint; type?: number; code?: number; final: boolean }

class Tracer {
  #socket: Socket
  #icmp: IcmpSocket | null = null
  #family: 4 | 6
  #probe: Probe | null = null
  #answer: ((a: Answer) => void) | null = null
  #id = 0
  #cookie: Buffer

  constructor(
    readonly address: string,
    family: 4 | 6,
    readonly kind: 'udp' | 'icmp',
    readonly port: number,
    mode: IcmpSocketMode,
  ) {
    this.#family = family
    const tokens = sessionTokens()
    this.#id = tokens.id
    this.#cookie = tokens.cookie
    if (kind === 'icmp') {
      this.#icmp = openIcmpSocket(family, mode)
      this.#socket = this.#icmp.socket
    } else {
      this.#socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6' })
    }
    const s = this.#socket
    try {
      s.setsockopt(family === 4 ? constants.IPPROTO_IP : constants.IPPROTO_IPV6, family === 4 ? constants.IP_RECVERR : constants.IPV6_RECVERR, 1)
      s.setsockopt(constants.SOL_SOCKET, constants.SO_TIMESTAMPNS, 1)
    } catch (err) {
      s.close()
      throw err
    }
    s.on('errorqueue', () => {
      for (let e = s.readErrorQueue(); e; e = s.readErrorQueue()) this.#onError(e)
    })
    if (this.#icmp) s.on('message', (data: Buffer, rinfo: RemoteInfo & Ancillary) => this.#onMessage(data, rinfo))
    // With IP_RECVERR an ICMP error also becomes the socket's pending error,
    // which a receive may report; the error queue already told us.
    s.on('error', () => {})
  }

  #onError(e: ErrorQueueMessage): void {
    const probe = this.#probe
    if (!probe || !e.offender || (e.origin !== 'icmp' && e.origin !== 'icmp6')) return
    if (this.kind === 'udp') {
      if (e.destination?.port !== this.port + probe.ttl - 1) return
    } else if (e.payload.length < 8 || e.payload.readUInt16BE(6) !== probe.ttl) return
    const unreachable = e.type === UNREACHABLE[this.#family]
    if (e.type !== TIME_EXCEEDED[this.#family] && !unreachable) return
    this.#answer?.({ from: e.offender.address, timestampNs: e.timestampNs, type: e.type, code: e.code, final: unreachable })
  }

  #onMessage(data: Buffer, rinfo: RemoteInfo & Ancillary): void {
    const icmp = icmpOf(data, this.#icmp!)
    if (!icmp || !this.#probe) return
    const seq = matchEchoReply(icmp, this.#icmp!, this.#id, this.#cookie, this.#cookie.length)
    if (seq !== this.#probe.ttl) return
    this.#answer?.({ from: rinfo.address, timestampNs: rinfo.timestampNs, final: true })
  }

  /** Sends the probe for `ttl` and waits for its answer (null on timeout). */
  async hop(ttl: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<TracerouteHop> {
    const s = this.#socket
    if (this.#icmp) setHops(this.#icmp, ttl)
    else s.setsockopt(this.#family === 4 ? constants.IPPROTO_IP : constants.IPPROTO_IPV6, this.#family === 4 ? constants.IP_TTL : constants.IPV6_UNICAST_HOPS, ttl)
    const sentMs = performance.now()
    const probe: Probe = { ttl, sentMs, sentRealNs: realtimeNs(sentMs) }
    this.#probe = probe
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      const answer = await new Promise<Answer | null>((resolve, reject) => {
        this.#answer = resolve
        timer = setTimeout(() => resolve(null), timeoutMs)
        onAbort = () => reject(abortError(signal))
        signal?.addEventListener('abort', onAbort, { once: true })
        const payload = this.#icmp ? echoRequest(this.#family, this.#id, ttl, this.#cookie, this.#cookie.length) : this.#cookie
        s.send(payload, this.#icmp ? 0 : this.port + ttl - 1, this.address)
      })
      if (!answer) return { ttl, address: null, rttMs: null, reached: false }
      const hop: TracerouteHop = {
        ttl,
        address: answer.from,
        rttMs: roundTrip(probe.sentMs, probe.sentRealNs, answer.timestampNs),
        reached: answer.final && answer.from === this.address,
      }
      if (answer.type !== undefined) {
        hop.icmpType = answer.type
        hop.icmpCode = answer.code
      }
      return hop
    } finally {
      clearTimeout(timer)
      if (onAbort) signal?.removeEventListener('abort', onAbort)
      this.#probe = null
      this.#answer = null
    }
  }

  /** Whether the trace stops after this hop: the destination answered, or something declared it unreachable. */
  isLast(hop: TracerouteHop): boolean {
    return hop.reached || (hop.icmpType !== undefined && hop.icmpType !== TIME_EXCEEDED[this.#family])
  }

  close(): void {
    this.#socket.close()
  }
}

/**
 * Traces the route to `host`: an async iterable of hops `{ ttl, address,
 * rttMs, reached }`, one probe per TTL from 1, ending at the destination,
 * at an unreachable answer, or after `maxHops`. A hop that does not answer
 * within `timeoutMs` has `address: null`. IPv4 and IPv6.
 *
 * @example
 * for await (const hop of traceroute('192.0.2.1', { maxHops: 20 })) console.log(hop.ttl, hop.address, hop.rttMs)
 */
export function traceroute(host: string, options: TracerouteOptions = {}): AsyncIterableIterator<TracerouteHop> {
  validateObject(options, 'options')
  const probe = options.probe ?? 'udp'
  if (probe !== 'udp' && probe !== 'icmp') throw invalidArgValue('options.probe', "must be 'udp' or 'icmp'", probe)
  const mode = options.socket ?? 'auto'
  if (mode !== 'auto' && mode !== 'dgram' && mode !== 'raw') throw invalidArgValue('options.socket', "must be 'auto', 'dgram' or 'raw'", mode)
  if (options.family !== undefined && options.family !== 4 && options.family !== 6) throw invalidArgValue('options.family', 'must be 4 or 6', options.family)
  const maxHops = validateInteger(options.maxHops ?? 30, 'options.maxHops', 1, 255)
  const timeoutMs = validateInteger(options.timeoutMs ?? 1000, 'options.timeoutMs', 1, 2 ** 31 - 1)
  const port = validatePort(options.port ?? 33434, 'options.port')
  if (probe === 'udp' && port + maxHops - 1 > 65535) throw invalidArgValue('options.port', `leaves no room for ${maxHops} probe ports`, port)
  const signal = validateAbortSignal(options.signal, 'options.signal')
  return run(host, { probe, mode, maxHops, timeoutMs, port, family: options.family, signal })
}

async function* run(
  host: string,
  o: { probe: 'udp' | 'icmp'; mode: IcmpSocketMode; maxHops: number; timeoutMs: number; port: number; family?: 4 | 6; signal?: AbortSignal },
): AsyncIterableIterator<TracerouteHop> {
  if (o.signal?.aborted) throw abortError(o.signal)
  const target = await resolveHost(host, o.family)
  const tracer = new Tracer(target.address, target.family, o.probe, o.port, o.mode)
  try {
    for (let ttl = 1; ttl <= o.maxHops; ttl++) {
      const hop = await tracer.hop(ttl, o.timeoutMs, o.signal)
      yield hop
      if (tracer.isLast(hop)) return
    }
  } finally {
    tracer.close()
  }
}
