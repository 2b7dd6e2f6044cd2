// traceroute: probes with growing TTL, read back from the socket error queue
// (IP_RECVERR / IPV6_RECVERR, man 7 ip): each ICMP "time exceeded" names a
// router as its offender, and the destination answers with "port
// unreachable" (UDP probes) or an echo reply (ICMP probes). UDP probes need
// no privilege at all; ICMP probes use a ping socket or a raw socket like
// ping does. Every answer is matched to its probe by what the ICMP error
// quotes: the destination address and port (UDP), or the identifier,
// sequence and cookie of the echo request (ICMP), so concurrent traces never
// take each other's hops.
import { abortError, invalidArgValue } from './errors.js'
import type { ErrorQueueMessage } from './errqueue.js'
import { createSocket } from './create.js'
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
  sessionTokens,
  setFamilyOption,
  type IcmpSocket,
  type SendTime,
} from './icmp.js'
import { icmpMeaning } from './icmp-meaning.js'
import { sameAddress } from './ip-address.js'
import { msOption, probeSettings, type ProbeOptions, type ProbeSettings } from './probe-options.js'
import type { Ancillary } from './recv-batch.js'
import type { RemoteInfo } from './sockaddr.js'
import type { Socket } from './socket.js'
import { validateInteger, validatePort } from './validate.js'

/** Options of `traceroute()`. */
export interface TracerouteOptions extends ProbeOptions {
  /** Highest TTL to try (default 30; traceroute -m). */
  maxHops?: number
  /** TTL to start from (default 1; traceroute -f). */
  firstHop?: number
  /** 'udp' (default): UDP datagrams to high ports; 'icmp': echo requests (traceroute -I). */
  probe?: 'udp' | 'icmp'
  /** Probes sent per TTL (default 1; traceroute -q, whose default is 3). */
  probesPerHop?: number
  /** Milliseconds to wait for a hop's answers after its probes left (default 1000). */
  timeoutMs?: number
  /** UDP probes: destination port of the first probe, +1 per probe (default 33434; traceroute -p). */
  port?: number
}

/** One probe of a hop: who answered it, how fast, and what the answer said. */
export interface TracerouteProbe {
  /** The router or host that answered; null when nothing did in time. */
  address: string | null
  /** Round-trip time in milliseconds; null when nothing answered in time. */
  rttMs: number | null
  /** True for the destination's own answer. */
  reached: boolean
  /** ICMP type of an error answer (e.g. 11: time exceeded); absent for echo replies and timeouts. */
  icmpType?: number
  /** ICMP code of an error answer, read with `icmpType`. */
  icmpCode?: number
  /** traceroute(8)'s mark for an unreachable answer: '!H', '!N', '!P', '!X', '!F', ...; absent otherwise. */
  annotation?: string
}

/**
 * One hop of a trace: the probes sent with this TTL and what came back. Its
 * own address, rttMs, reached, icmpType/icmpCode and annotation are those of
 * the first probe that was answered (or of the first probe when none was).
 */
export interface TracerouteHop extends TracerouteProbe {
  /** The TTL / hop limit the probes were sent with. */
  ttl: number
  /** Every probe of this hop, in the order sent (`probesPerHop` of them). */
  probes: TracerouteProbe[]
}

interface Settings extends ProbeSettings {
  probe: 'udp' | 'icmp'
  maxHops: number
  firstHop: number
  probesPerHop: number
  timeoutMs: number
  port: number
}

function settings(options: TracerouteOptions): Settings {
  const common = probeSettings(options)
  const probe = options.probe ?? 'udp'
  if (probe !== 'udp' && probe !== 'icmp') throw invalidArgValue('options.probe', "must be 'udp' or 'icmp'", probe)
  const maxHops = validateInteger(options.maxHops ?? 30, 'options.maxHops', 1, 255)
  const firstHop = validateInteger(options.firstHop ?? 1, 'options.firstHop', 1, maxHops)
  const probesPerHop = validateInteger(options.probesPerHop ?? 1, 'options.probesPerHop', 1, 10)
  const port = validatePort(options.port ?? 33434, 'options.port')
  if (probe === 'udp' && port + maxHops * probesPerHop - 1 > 65535) {
    throw invalidArgValue('options.port', `leaves no room for ${maxHops} x ${probesPerHop} probe ports`, port)
  }
  return { ...common, probe, maxHops, firstHop, probesPerHop, port, timeoutMs: msOption(options.timeoutMs, 'options.timeoutMs', 1000) }
}

/** A probe in flight: its slot in the hop, send time, and where its answer goes. */
interface InFlight {
  index: number
  sent: SendTime | null
  answer: (p: TracerouteProbe, at: bigint | undefined) => void
}

class Tracer {
  #socket: Socket
  #icmp: IcmpSocket | null = null
  #family: 4 | 6
  #id: number
  #cookie: Buffer
  #sender: ProbeSender
  /** Probes waiting for an answer, by destination port (UDP) or sequence number (ICMP). */
  #inFlight = new Map<number, InFlight>()

  constructor(
    readonly address: string,
    family: 4 | 6,
    readonly s: Settings,
  ) {
    this.#family = family
    const tokens = sessionTokens()
    this.#id = tokens.id
    this.#cookie = tokens.cookie
    if (s.probe === 'icmp') {
      this.#icmp = openIcmpSocket(family, s.mode)
      this.#socket = this.#icmp.socket
    } else {
      this.#socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6' })
    }
    const sock = this.#socket
    try {
      if (s.iface !== undefined) bindInterface(sock, s.iface)
      setFamilyOption(sock, family, 'recvErr', true)
      sock.setAncillary({ timestamp: true })
      if (this.#icmp?.kind === 'raw') sock.attachFilter(echoReplyFilter(family, this.#id))
    } catch (err) {
      sock.close()
      throw err
    }
    this.#sender = new ProbeSender(sock, address, () => this.#drainErrors())
    sock.on('errorqueue', () => this.#drainErrors())
    if (this.#icmp) sock.on('message', (data: Buffer, rinfo: RemoteInfo & Ancillary) => this.#onMessage(data, rinfo))
    // With IP_RECVERR an ICMP error also becomes the socket's pending error,
    // which a receive may report; the error queue already told us.
    sock.on('error', () => {})
  }

  /** The key a probe is known by: UDP destination port or ICMP sequence number. */
  #key(ttl: number, index: number): number {
    const n = (ttl - 1) * this.s.probesPerHop + index
    return this.#icmp ? (n + 1) & 0xffff : this.s.port + n
  }

  #drainErrors(): boolean {
    let any = false
    for (let e = this.#socket.readErrorQueue(); e; e = this.#socket.readErrorQueue()) {
      any = true
      this.#onError(e)
    }
    return any
  }

  #onError(e: ErrorQueueMessage): void {
    if (!e.offender || (e.origin !== 'icmp' && e.origin !== 'icmp6')) return
    let key: number
    if (this.#icmp) {
      if (!quotesDestination(e.destination, this.address)) return
      key = matchQuotedEcho(e.payload, this.#icmp, this.#id, this.#cookie, this.#cookie.length)
    } else {
      // A UDP error counts only when it quotes our destination address and port.
      key = e.destination?.port ?? -1
      if (!quotesDestination(e.destination, this.address, key)) return
    }
    const probe = this.#inFlight.get(key)
    if (!probe) return
    const meaning = icmpMeaning(this.#family, e.type, e.code, e.info)
    const answer: TracerouteProbe = {
      address: e.offender.address,
      rttMs: null,
      reached: meaning.reached && sameAddress(e.offender.address, this.address),
      icmpType: e.type,
      icmpCode: e.code,
    }
    if (meaning.annotation) answer.annotation = meaning.annotation
    probe.answer(answer, e.timestampNs)
  }

  #onMessage(data: Buffer, rinfo: RemoteInfo & Ancillary): void {
    const icmp = icmpOf(data, this.#icmp!)
    if (!icmp) return
    const seq = matchEchoReply(icmp, this.#icmp!, this.#id, this.#cookie, this.#cookie.length)
    const probe = seq < 0 ? undefined : this.#inFlight.get(seq)
    if (!probe) return
    probe.answer({ address: rinfo.address, rttMs: null, reached: sameAddress(rinfo.address, this.address) }, rinfo.timestampNs)
  }

  /** Sends the probes for `ttl` at once and waits for their answers (a probe without one is a timeout). */
  async hop(ttl: number, signal: AbortSignal | undefined): Promise<TracerouteHop> {
    const q = this.s.probesPerHop
    const probes: TracerouteProbe[] = Array.from({ length: q }, () => ({ address: null, rttMs: null, reached: false }))
    setFamilyOption(this.#socket, this.#family, 'hops', ttl)
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        let left = q
        onAbort = () => reject(abortError(signal))
        signal?.addEventListener('abort', onAbort, { once: true })
        for (let i = 0; i < q; i++) {
          const key = this.#key(ttl, i)
          const flight: InFlight = {
            index: i,
            sent: null,
            answer: (p, at) => {
              if (!flight.sent) return // answered while its own send was still failing over
              this.#inFlight.delete(key)
              p.rttMs = roundTrip(flight.sent, at)
              probes[i] = p
              if (--left === 0) resolve()
            },
          }
          this.#inFlight.set(key, flight)
          const payload = this.#icmp ? echoRequest(this.#family, this.#id, key, this.#cookie, this.#cookie.length) : this.#cookie
          try {
            flight.sent = this.#sender.send(payload, this.#icmp ? 0 : key)
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)))
            return
          }
        }
        timer = setTimeout(resolve, this.s.timeoutMs)
      })
    } finally {
      clearTimeout(timer)
      if (onAbort) signal?.removeEventListener('abort', onAbort)
      this.#inFlight.clear()
    }
    const first = probes.find((p) => p.address !== null)
    const hop: TracerouteHop = { ttl, address: first?.address ?? null, rttMs: first?.rttMs ?? null, reached: probes.some((p) => p.reached), probes }
    if (first?.icmpType !== undefined) {
      hop.icmpType = first.icmpType
      hop.icmpCode = first.icmpCode
    }
    if (first?.annotation) hop.annotation = first.annotation
    return hop
  }

  /** Whether the trace stops after this hop: the destination answered, or something declared it unreachable. */
  isLast(hop: TracerouteHop): boolean {
    return hop.probes.some((p) => p.reached || (p.icmpType !== undefined && icmpMeaning(this.#family, p.icmpType, p.icmpCode ?? 0).final))
  }

  close(): void {
    this.#socket.close()
  }
}

/**
 * Traces the route to `host`: an async iterable of hops `{ ttl, address,
 * rttMs, reached, probes }`, `probesPerHop` probes per TTL from `firstHop`,
 * ending at the destination, at an unreachable answer, or after `maxHops`.
 * A probe that gets no answer within `timeoutMs` has `address: null`.
 * IPv4 and IPv6; an IPv4-mapped IPv6 target is traced over IPv4.
 *
 * @example
 * for await (const hop of traceroute('10.0.0.1', { maxHops: 20, probesPerHop: 3 }))
 *   console.log(hop.ttl, hop.probes.map((p) => `${p.address ?? '*'} ${p.rttMs ?? ''} ${p.annotation ?? ''}`).join('  '))
 */
export function traceroute(host: string, options: TracerouteOptions = {}): AsyncIterableIterator<TracerouteHop> {
  return run(host, settings(options))
}

async function* run(host: string, s: Settings): AsyncIterableIterator<TracerouteHop> {
  if (s.signal?.aborted) throw abortError(s.signal)
  const target = await resolveHost(host, s.family)
  const tracer = new Tracer(target.address, target.family, s)
  try {
    for (let ttl = s.firstHop; ttl <= s.maxHops; ttl++) {
      const hop = await tracer.hop(ttl, s.signal)
      yield hop
      if (tracer.isLast(hop)) return
    }
  } finally {
    tracer.close()
  }
}
