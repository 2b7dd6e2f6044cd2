// Connections of a perf run: resolving the host, dialing TCP through
// netsock (options set before connect) and handing the socket to Node,
// the UDP stream handshake, and deadlines.
import dns from 'node:dns/promises'
import net from 'node:net'
import os from 'node:os'
import { createSocket } from '../create.js'
import type { Socket } from '../socket.js'
import type { ControlChannel } from './control.js'
import { PerfError } from './errors.js'
import { abortError } from './events.js'
import { iperfErrorText, IperfErrno, State, udpConnect } from './protocol.js'

export interface Resolved {
  address: string
  family: 4 | 6
}

export async function resolve(host: string): Promise<Resolved> {
  if (net.isIP(host)) return { address: host, family: net.isIPv6(host) ? 6 : 4 }
  try {
    const r = await dns.lookup(host)
    return { address: r.address, family: r.family === 6 ? 6 : 4 }
  } catch (err) {
    throw new PerfError('ERR_PERF_CONNECT', `unable to resolve host '${host}': ${(err as Error).message}`, { cause: err })
  }
}

/** An AbortSignal that fires with `signal` or after `ms`, and its cleanup. */
function deadline(signal: AbortSignal, ms: number): { signal: AbortSignal; done: () => void; timedOut: () => boolean } {
  const ac = new AbortController()
  let expired = false
  const timer = setTimeout(() => {
    expired = true
    ac.abort()
  }, ms)
  const onAbort = (): void => ac.abort(signal.reason)
  if (signal.aborted) ac.abort(signal.reason)
  else signal.addEventListener('abort', onAbort, { once: true })
  return {
    signal: ac.signal,
    done: () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    },
    timedOut: () => expired,
  }
}

export interface DialOptions {
  window?: number
  noDelay?: boolean
  timeoutMs: number
  signal: AbortSignal
  /** What the connection is, for messages: 'server' or 'stream'. */
  what: 'server' | 'stream'
}

/** A TCP connection opened and tuned by netsock, as a connected descriptor for Node to adopt. */
export async function dialTcp(to: Resolved, port: number, o: DialOptions): Promise<number> {
  const buffers = o.window ? { sendBufferSize: o.window, recvBufferSize: o.window } : {}
  const s = createSocket({ type: to.family === 6 ? 'tcp6' : 'tcp4', ...buffers })
  const d = deadline(o.signal, o.timeoutMs)
  try {
    s.setOption('TCP_NODELAY', o.noDelay === true || o.what === 'server')
    await s.connect(port, to.address, { signal: d.signal })
    return s.detach()
  } catch (err) {
    s.close()
    if (o.signal.aborted) throw abortError(o.signal)
    const reason = d.timedOut() ? `no answer within ${o.timeoutMs} ms` : (err as Error).message
    if (o.what === 'server') throw new PerfError('ERR_PERF_CONNECT', `unable to connect to server ${to.address} port ${port}: ${reason}`, { cause: err })
    throw new PerfError('ERR_PERF_STREAM', `unable to connect stream to ${to.address} port ${port}: ${reason}`, { cause: err })
  } finally {
    d.done()
  }
}

/** Rejects with a PerfError after `ms` unless `p` settles first. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const d = deadline(signal, ms)
    d.signal.addEventListener('abort', () => {
      if (signal.aborted) reject(abortError(signal))
      else reject(new PerfError('ERR_PERF_TIMEOUT', `no ${what} within ${ms} ms`, { iperfErrno: IperfErrno.IENOMSG }))
    })
    p.then(resolve, reject).finally(() => d.done())
  })
}

function errnoName(errno: number): string {
  const entry = Object.entries(os.constants.errno).find(([, v]) => v === errno)
  return entry ? entry[0] : `errno ${errno}`
}

/** The error a state other than the expected one means. */
export async function stateError(chan: ControlChannel, state: number, peer: 'server' | 'client'): Promise<PerfError> {
  switch (state) {
    case State.ACCESS_DENIED:
      return new PerfError('ERR_PERF_BUSY', iperfErrorText(IperfErrno.IEACCESSDENIED), { iperfErrno: IperfErrno.IEACCESSDENIED })
    case State.SERVER_ERROR: {
      let ierrno = 0
      let errno = 0
      try {
        ierrno = await chan.readInt32(5000)
        errno = await chan.readInt32(5000)
      } catch {
        // what arrived is all there is
      }
      const detail = errno ? `: ${errnoName(errno)}` : ''
      return new PerfError('ERR_PERF_SERVER_ERROR', `the server reported an error: ${iperfErrorText(ierrno)}${detail}`, { iperfErrno: ierrno })
    }
    case State.SERVER_TERMINATE:
      return new PerfError('ERR_PERF_TERMINATED', iperfErrorText(IperfErrno.IESERVERTERM), { iperfErrno: IperfErrno.IESERVERTERM })
    case State.CLIENT_TERMINATE:
      return new PerfError('ERR_PERF_TERMINATED', iperfErrorText(IperfErrno.IECLIENTTERM), { iperfErrno: IperfErrno.IECLIENTTERM })
    default:
      return new PerfError('ERR_PERF_PROTOCOL', `${iperfErrorText(IperfErrno.IEMESSAGE)} (${state}): the ${peer} does not speak iperf3's protocol`, {
        iperfErrno: IperfErrno.IEMESSAGE,
      })
  }
}

/**
 * iperf3's UDP stream "connect": the client sends a 4-byte datagram on its
 * connected socket and waits for the server's 4-byte answer. Anything else
 * arriving meanwhile (a reverse test's first data) is skipped. Resolves with
 * 'iperf3' or 'netsock' (a netsock server in latency mode answers otherwise).
 */
export function udpHandshake(s: Socket, timeoutMs: number, signal: AbortSignal): Promise<'iperf3' | 'netsock'> {
  return new Promise((resolve, reject) => {
    const finish = (err: Error | null, kind?: 'iperf3' | 'netsock'): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      s.off('message', onMessage)
      s.off('error', onError)
      if (err) reject(err)
      else resolve(kind!)
    }
    const onMessage = (msg: Buffer): void => {
      if (udpConnect.isReply(msg)) finish(null, 'iperf3')
      else if (udpConnect.isLatencyReply(msg)) finish(null, 'netsock')
    }
    const onError = (err: Error): void => finish(new PerfError('ERR_PERF_STREAM', `unable to connect UDP stream: ${err.message}`, { cause: err }))
    const onAbort = (): void => finish(abortError(signal))
    const timer = setTimeout(
      () => finish(new PerfError('ERR_PERF_STREAM', `the server did not answer the UDP stream's connect datagram within ${timeoutMs} ms`)),
      timeoutMs,
    )
    signal.addEventListener('abort', onAbort, { once: true })
    s.on('message', onMessage)
    s.on('error', onError)
    try {
      s.send(udpConnect.message())
    } catch (err) {
      onError(err as Error)
    }
  })
}
