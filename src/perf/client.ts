// The client: iperf3's client state machine (iperf_client_api.c) over a
// control connection, then streams as the server asks for them, a run of
// `time` seconds, and the results exchange.
import net from 'node:net'
import { createSocket } from '../create.js'
import type { Socket } from '../socket.js'
import { ControlChannel } from './control.js'
import { PerfError } from './errors.js'
import { aborted, abortError, EventQueue, eventsOf, quiet, sleep } from './events.js'
import { LatencyClientStream } from './latency.js'
import { dialTcp, resolve, stateError, udpHandshake, withTimeout, type Resolved } from './net.js'
import { clientConfig, type ClientConfig } from './options.js'
import { cookieText, DEFAULT_TCP_BLKSIZE, DEFAULT_UDP_BLKSIZE, makeCookie, State } from './protocol.js'
import { systemInfo, testStartJson, timestampJson, VERSION } from './report.js'
import { TestRun, type RunSetup } from './run.js'
import { connectedJson, idle, shown, streamId, type PerfStream } from './stream.js'
import { adoptTcp, TcpInStream, TcpOutStream } from './tcp-stream.js'
import type { PerfClientEvent, PerfClientOptions, PerfStart } from './types.js'
import { UdpInStream, UdpOutStream } from './udp-stream.js'

/** Datagram size of latency probes when -l is not given. */
const DEFAULT_PROBE = 64
/** A receiver's socket buffer: room for bursts while the event loop is busy. */
const UDP_RCVBUF = 4 << 20

/** perf.client(): see index.ts. */
export function client(options: PerfClientOptions): AsyncIterableIterator<PerfClientEvent> {
  const cfg = clientConfig(options)
  return eventsOf<PerfClientEvent>(cfg.signal, (q, signal) => runClient(cfg, q, signal))
}

function mssOf(fd: number): number {
  let view: Socket | null = null
  try {
    view = createSocket({ fd, owned: false })
    const v = Number(view.getOption('TCP_MAXSEG'))
    return v > 0 && v <= 65507 ? v : 0
  } catch {
    return 0
  } finally {
    view?.close()
  }
}

async function runClient(cfg: ClientConfig, q: EventQueue<PerfClientEvent>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw abortError(signal)
  const to = await resolve(cfg.host)
  const fd = await dialTcp(to, cfg.port, { timeoutMs: cfg.connectTimeoutMs, signal, what: 'server' })
  const ctl = new net.Socket({ fd, readable: true, writable: true })
  const chan = new ControlChannel(ctl, cfg.timeoutMs, 'server')
  const cookie = makeCookie()
  ctl.write(cookie)
  // As iperf3: the control connection's MSS, read once the cookie went out, is the default UDP size.
  const mss = mssOf(fd)
  const streams: PerfStream[] = []
  let run: TestRun | null = null
  const udp = cfg.udp
  const blksize = cfg.length ?? (cfg.latency ? DEFAULT_PROBE : udp ? mss || DEFAULT_UDP_BLKSIZE : DEFAULT_TCP_BLKSIZE)
  const until = <T>(p: Promise<T>): Promise<T> => Promise.race([p, aborted(signal)])
  const expect = async (wanted: number, timeoutMs = cfg.timeoutMs): Promise<void> => {
    const st = await until(chan.readState(timeoutMs))
    if (st !== wanted) throw await stateError(chan, st, 'server')
  }
  try {
    await expect(State.PARAM_EXCHANGE)
    chan.writeJson(parameters(cfg, blksize))
    await expect(State.CREATE_STREAMS)
    for (let i = 0; i < cfg.parallel; i++) streams.push(await openStream(cfg, to, cookie, i, blksize, signal))
    await expect(State.TEST_START)
    const congestion = !udp ? streams.map((s) => (s as TcpOutStream | TcpInStream).congestion()).find(Boolean) : undefined
    const setup: RunSetup = {
      role: 'client',
      protocol: udp ? 'udp' : 'tcp',
      reverse: cfg.reverse,
      latency: cfg.latency,
      interval: cfg.interval,
      startJson: {},
      congestion,
    }
    const start = startEvent(cfg, blksize, mss, cookie, streams)
    setup.startJson = start.json
    run = new TestRun(setup, streams, (ev) => q.push(ev))
    if (cfg.latency) run.latency = streams[0] as LatencyClientStream
    q.push(start)
    let failed: (err: Error) => void = () => {}
    const failure = new Promise<never>((_, reject) => (failed = reject))
    for (const s of streams) s.onError = failed
    run.begin()
    await expect(State.TEST_RUNNING)
    // The server says nothing more until the test ends, except to give up.
    const next = quiet(chan.readState(Infinity))
    const phase = new AbortController()
    // A state arriving while the test runs ends it; once it is over, `next` is the expected answer.
    const during = quiet(next.then(async (st) => (phase.signal.aborted ? new Promise<never>(() => {}) : Promise.reject(await stateError(chan, st, 'server')))))
    const receiving = streams.some((s) => !s.sender)
    // Whichever comes first; then the others' timers are dropped (`phase`).
    try {
      await Promise.race([
        cfg.time > 0 ? sleep(cfg.time * 1000, signal, phase.signal) : aborted(signal),
        during,
        failure,
        receiving ? idle(streams, cfg.timeoutMs, phase.signal) : new Promise<never>(() => {}),
      ])
    } finally {
      phase.abort()
    }
    run.end()
    chan.writeState(State.TEST_END)
    const st = await withTimeout(next, cfg.timeoutMs, "answer from the server to the test's end", signal)
    if (st !== State.EXCHANGE_RESULTS) throw await stateError(chan, st, 'server')
    chan.writeJson(run.localResults())
    const peer = await until(chan.readJson(cfg.timeoutMs, 'results'))
    await expect(State.DISPLAY_RESULTS)
    const summary = run.summary(peer)
    chan.writeState(State.IPERF_DONE)
    await chan.flushed()
    q.push(summary)
  } catch (err) {
    if (signal.aborted) {
      // As iperf3 on SIGINT: tell the server, so it ends the test at once.
      chan.writeState(State.CLIENT_TERMINATE)
      await chan.flushed()
      throw abortError(signal)
    }
    throw err
  } finally {
    if (run) run.close()
    else for (const s of streams) s.close()
    chan.close()
  }
}

function parameters(cfg: ClientConfig, blksize: number): Record<string, unknown> {
  const p: Record<string, unknown> = {}
  p[cfg.udp ? 'udp' : 'tcp'] = true
  Object.assign(p, { omit: 0, time: cfg.time, num: 0, blockcount: 0, parallel: cfg.parallel })
  if (cfg.reverse) p.reverse = true
  if (cfg.noDelay) p.nodelay = true
  if (cfg.window) p.window = cfg.window
  p.len = blksize
  if (cfg.bitrate) p.bandwidth = cfg.bitrate
  p.pacing_timer = 1000
  if (cfg.udpCounters64) p.udp_counters_64bit = 1
  if (cfg.latency) p.netsock_latency = 1
  p.client_version = VERSION
  return p
}

async function openStream(cfg: ClientConfig, to: Resolved, cookie: Buffer, index: number, blksize: number, signal: AbortSignal): Promise<PerfStream> {
  const id = streamId(index)
  if (!cfg.udp) {
    const fd = await dialTcp(to, cfg.port, { window: cfg.window, noDelay: cfg.noDelay, timeoutMs: cfg.connectTimeoutMs, signal, what: 'stream' })
    const tcp = adoptTcp(fd, Math.max(blksize, 64 * 1024))
    tcp.socket.write(cookie)
    return cfg.reverse ? new TcpInStream(tcp, id) : new TcpOutStream(tcp, id, blksize, cfg.bitrate)
  }
  const receiving = cfg.reverse || cfg.latency
  const sizes = cfg.window ? { sendBufferSize: cfg.window, recvBufferSize: cfg.window } : receiving ? { recvBufferSize: UDP_RCVBUF } : {}
  const s = createSocket({ type: to.family === 6 ? 'udp6' : 'udp4', ...sizes })
  try {
    void s.connect(cfg.port, to.address) // UDP: connects at once, throws on failure
    const kind = await udpHandshake(s, cfg.timeoutMs, signal)
    if (cfg.latency && kind !== 'netsock') {
      throw new PerfError('ERR_PERF_UNSUPPORTED', `latency mode needs a netsock perf server; ${to.address} port ${cfg.port} answered as iperf3 does`)
    }
    if (cfg.latency) return new LatencyClientStream(s, id, blksize, cfg.bitrate, Math.min(cfg.timeoutMs, 1000))
    return cfg.reverse ? new UdpInStream(s, id, cfg.udpCounters64) : new UdpOutStream(s, id, blksize, cfg.bitrate, cfg.udpCounters64)
  } catch (err) {
    s.close()
    throw err
  }
}

function startEvent(cfg: ClientConfig, blksize: number, mss: number, cookie: Buffer, streams: PerfStream[]): PerfStart {
  const json: Record<string, unknown> = {
    connected: connectedJson(streams),
    version: VERSION,
    system_info: systemInfo(),
    timestamp: timestampJson(),
    connecting_to: { host: cfg.host, port: cfg.port },
    cookie: cookieText(cookie),
  }
  if (!cfg.udp) json.tcp_mss_default = mss
  if (cfg.bitrate) json.target_bitrate = cfg.bitrate
  json.sock_bufsize = cfg.window ?? 0
  json.test_start = testStartJson({
    udp: cfg.udp,
    parallel: cfg.parallel,
    blksize,
    time: cfg.time,
    reverse: cfg.reverse,
    rate: cfg.bitrate,
    latency: cfg.latency,
  })
  return {
    type: 'start',
    role: 'client',
    protocol: cfg.udp ? 'udp' : 'tcp',
    reverse: cfg.reverse,
    latency: cfg.latency,
    peer: { address: cfg.host, port: cfg.port },
    blksize,
    duration: cfg.time,
    bitrate: cfg.bitrate,
    cookie: cookieText(cookie),
    streams: streams.map((s) => ({ id: s.id, socket: s.socket, local: shown(s.local), remote: shown(s.remote) })),
    json,
  }
}
