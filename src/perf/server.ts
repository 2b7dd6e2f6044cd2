// The server: iperf3's server state machine (iperf_server_api.c). One test
// at a time on a TCP port; data streams of a TCP test connect to the same
// port and present the test's cookie; UDP streams are "accepted" the way
// iperf3 does it: the first datagram on the port names the client, the
// socket connects to it, and a fresh socket takes over the port.
import net from 'node:net'
import { createSocket } from '../create.js'
import { fdOf } from '../fdof.js'
import type { Socket } from '../socket.js'
import { ControlChannel } from './control.js'
import { PerfError } from './errors.js'
import { aborted, EventQueue, eventsOf, quiet } from './events.js'
import { LatencyEchoStream } from './latency.js'
import { stateError, withTimeout } from './net.js'
import { serverConfig, type ServerConfig } from './options.js'
import { COOKIE_SIZE, cookieText, DEFAULT_TCP_BLKSIZE, DEFAULT_UDP_BLKSIZE, IperfErrno, iperfErrorText, MAX_STREAMS, State, udpConnect } from './protocol.js'
import { systemInfo, testStartJson, timestampJson, VERSION } from './report.js'
import { TestRun } from './run.js'
import { connectedJson, displayAddress, idle, shown, streamId, type PerfStream } from './stream.js'
import { adoptTcp, TcpInStream, TcpOutStream, type AdoptedTcp } from './tcp-stream.js'
import type { PerfServerEvent, PerfServerOptions, PerfStart } from './types.js'
import { UdpInStream, UdpOutStream } from './udp-stream.js'

const UDP_RCVBUF = 4 << 20

/** perf.server(): see index.ts. */
export function server(options: PerfServerOptions = {}): AsyncIterableIterator<PerfServerEvent> {
  const cfg = serverConfig(options)
  return eventsOf<PerfServerEvent>(cfg.signal, (q, signal) => runServer(cfg, q, signal))
}

interface Listening {
  socket: Socket
  address: string
  port: number
  v6: boolean
}

function listen(cfg: ServerConfig): Listening {
  const tryListen = (address: string): Listening => {
    const v6 = net.isIPv6(address)
    const s = createSocket({ type: v6 ? 'tcp6' : 'tcp4', reuseAddr: true, ...(v6 && address === '::' ? { ipv6Only: false } : {}) })
    try {
      s.bind(cfg.port, address).listen()
    } catch (err) {
      s.close()
      throw err
    }
    return { socket: s, address, port: s.address().port, v6 }
  }
  try {
    if (cfg.address !== undefined) return tryListen(cfg.address)
    try {
      return tryListen('::')
    } catch (err) {
      // No IPv6 on this host: listen on IPv4 alone, as iperf3 does.
      if ((err as { code?: string }).code !== 'EAFNOSUPPORT' && (err as { code?: string }).code !== 'EADDRNOTAVAIL') throw err
      return tryListen('0.0.0.0')
    }
  } catch (err) {
    throw new PerfError('ERR_PERF_CONNECT', `unable to start listener for connections: ${(err as Error).message}`, { cause: err })
  }
}

/** Answers a connection that cannot be served now: ACCESS_DENIED, then close. */
function deny(tcp: AdoptedTcp): void {
  tcp.reader = () => {}
  tcp.socket.on('error', () => {})
  tcp.socket.end(Buffer.from([0xff]))
  setTimeout(() => tcp.socket.destroy(), 1000).unref()
}

/** The 37-byte cookie a connection starts with, and any bytes after it. */
function readCookie(tcp: AdoptedTcp, timeoutMs: number): Promise<{ cookie: Buffer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let have = 0
    const finish = (err: Error | null, value?: { cookie: Buffer; rest: Buffer }): void => {
      clearTimeout(timer)
      tcp.socket.off('close', onClose)
      tcp.reader = () => {}
      if (err) reject(err)
      else resolve(value!)
    }
    const onClose = (): void => finish(new PerfError('ERR_PERF_PROTOCOL', `${iperfErrorText(106)}: the connection closed`))
    const timer = setTimeout(() => finish(new PerfError('ERR_PERF_TIMEOUT', `${iperfErrorText(106)}: nothing within ${timeoutMs} ms`)), timeoutMs)
    tcp.socket.on('close', onClose)
    tcp.socket.on('error', () => {})
    tcp.reader = (bytes) => {
      chunks.push(Buffer.from(bytes))
      have += bytes.length
      if (have >= COOKIE_SIZE) {
        const all = Buffer.concat(chunks)
        finish(null, { cookie: all.subarray(0, COOKIE_SIZE), rest: all.subarray(COOKIE_SIZE) })
      }
    }
  })
}

async function runServer(cfg: ServerConfig, q: EventQueue<PerfServerEvent>, signal: AbortSignal): Promise<void> {
  const l = listen(cfg)
  q.push({ type: 'listening', address: l.address, port: l.port })
  let current: ServerTest | null = null
  let stop: () => void = () => {}
  const stopped = new Promise<void>((resolve) => (stop = resolve))

  const handle = async (conn: Socket): Promise<void> => {
    const tcp = adoptTcp(conn.detach(), DEFAULT_TCP_BLKSIZE)
    if (current && !current.wantsTcpStreams) return deny(tcp)
    let cookie: Buffer
    try {
      ;({ cookie } = await readCookie(tcp, cfg.timeoutMs))
    } catch (err) {
      tcp.socket.destroy()
      if (current) return
      // It was to be a test's control connection: that test failed.
      q.push({ type: 'error', error: err as Error })
      if (cfg.oneOff) stop()
      return
    }
    if (current) {
      if (current.wantsTcpStreams && cookie.equals(current.cookie)) current.addTcpStream(tcp)
      else deny(tcp)
      return
    }
    const test = new ServerTest(cfg, l, tcp, cookie, q, signal)
    current = test
    try {
      await test.run()
    } catch (err) {
      if (!signal.aborted) q.push({ type: 'error', error: err as Error })
    } finally {
      test.close()
      if (current === test) current = null
      if (cfg.oneOff) stop()
    }
  }

  const accepting = (async () => {
    for (;;) {
      const conn = await l.socket.accept({ signal })
      void handle(conn)
    }
  })()
  try {
    await Promise.race([accepting, stopped, aborted(signal)])
  } catch (err) {
    if (!signal.aborted) throw err
  } finally {
    l.socket.close()
    ;(current as ServerTest | null)?.close()
    void quiet(accepting)
  }
}

interface TestParams {
  udp: boolean
  reverse: boolean
  latency: boolean
  parallel: number
  time: number
  blksize: number
  rate: number
  window: number | undefined
  noDelay: boolean
  counter64: boolean
  tos: number
}

function parseParams(j: Record<string, unknown>): TestParams | { ierrno: number; why: string } {
  if (j.sctp !== undefined) return { ierrno: IperfErrno.IEUNIMP, why: 'SCTP tests are not implemented' }
  if (j.bidirectional !== undefined) return { ierrno: IperfErrno.IEUNIMP, why: 'bidirectional tests are not implemented' }
  if (typeof j.omit === 'number' && j.omit > 0) return { ierrno: IperfErrno.IEUNIMP, why: 'omitting the first seconds (-O) is not implemented' }
  const udp = j.udp !== undefined
  if (!udp && j.tcp === undefined) return { ierrno: IperfErrno.IEPROTOCOL, why: 'the parameters name no protocol' }
  const n = (key: string, fallback: number): number => (typeof j[key] === 'number' && Number.isFinite(j[key]) ? j[key] : fallback)
  const parallel = n('parallel', 1)
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > MAX_STREAMS) return { ierrno: 6, why: `parallel ${parallel}` }
  const latency = j.netsock_latency !== undefined
  return {
    udp: udp || latency,
    reverse: j.reverse !== undefined,
    latency,
    parallel,
    time: n('time', 10),
    blksize: n('len', 0) || (udp ? DEFAULT_UDP_BLKSIZE : DEFAULT_TCP_BLKSIZE),
    rate: n('bandwidth', 0),
    window: n('window', 0) || undefined,
    noDelay: j.nodelay !== undefined,
    counter64: j.udp_counters_64bit !== undefined,
    tos: n('TOS', 0),
  }
}

/**
 * The client's -w and -S for a data socket: buffer sizes (a TCP stream gets
 * them after accept, so they bound its window but not its window scale) and
 * the TOS byte (IPv4 and, on a dual-stack socket, IPv6 traffic class too).
 */
function tune(fd: number, p: TestParams, v6: boolean): void {
  const view = createSocket({ fd, owned: false })
  const attempt = (name: 'SO_SNDBUF' | 'SO_RCVBUF' | 'IP_TOS' | 'IPV6_TCLASS', value: number): void => {
    try {
      view.setOption(name, value)
    } catch {
      // e.g. IP_TOS on a v6-only socket: the other option covers it
    }
  }
  try {
    if (p.window) {
      attempt('SO_RCVBUF', p.window)
      attempt('SO_SNDBUF', p.window)
    }
    if (p.tos) {
      attempt('IP_TOS', p.tos)
      if (v6) attempt('IPV6_TCLASS', p.tos)
    }
  } finally {
    view.close()
  }
}

class ServerTest {
  readonly cookie: Buffer
  wantsTcpStreams = false
  #cfg: ServerConfig
  #listening: Listening
  #tcp: AdoptedTcp
  #chan: ControlChannel
  #q: EventQueue<PerfServerEvent>
  #signal: AbortSignal
  #streams: PerfStream[] = []
  #run: TestRun | null = null
  #udpListener: Socket | null = null
  #tcpArrived: (() => void) | null = null
  #params: TestParams | null = null

  constructor(cfg: ServerConfig, listening: Listening, tcp: AdoptedTcp, cookie: Buffer, q: EventQueue<PerfServerEvent>, signal: AbortSignal) {
    this.#cfg = cfg
    this.#listening = listening
    this.#tcp = tcp
    this.cookie = cookie
    this.#q = q
    this.#signal = signal
    this.#chan = new ControlChannel(tcp.socket, cfg.timeoutMs, 'client', true)
    tcp.reader = (bytes) => this.#chan.feed(bytes)
  }

  #until<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, aborted(this.#signal)])
  }

  /** A data connection that presented this test's cookie. */
  addTcpStream(tcp: AdoptedTcp): void {
    const p = this.#params!
    const id = streamId(this.#streams.length)
    if (p.noDelay) tcp.socket.setNoDelay(true)
    tune(fdOf(tcp.socket), p, this.#listening.v6)
    this.#streams.push(p.reverse ? new TcpOutStream(tcp, id, p.blksize, p.rate) : new TcpInStream(tcp, id))
    if (this.#streams.length >= p.parallel) {
      this.wantsTcpStreams = false
      this.#tcpArrived?.()
    }
  }

  async #refuse(ierrno: number, why: string): Promise<never> {
    this.#chan.writeState(State.SERVER_ERROR)
    this.#chan.writeInt32(ierrno)
    this.#chan.writeInt32(0)
    await this.#chan.flushed()
    throw new PerfError('ERR_PERF_UNSUPPORTED', `refused the client's test: ${iperfErrorText(ierrno)} (${why})`, { iperfErrno: ierrno })
  }

  async run(): Promise<void> {
    const chan = this.#chan
    const cfg = this.#cfg
    chan.writeState(State.PARAM_EXCHANGE)
    const raw = await this.#until(chan.readJson(cfg.timeoutMs, 'parameters'))
    const parsed = parseParams(raw)
    if ('ierrno' in parsed) return this.#refuse(parsed.ierrno, parsed.why)
    const p = (this.#params = parsed)
    if (p.udp) this.#udpListener = this.#udpSocket()
    chan.writeState(State.CREATE_STREAMS)
    if (p.udp) {
      for (let i = 0; i < p.parallel; i++) this.#streams.push(await this.#acceptUdp(i))
      this.#udpListener?.close()
      this.#udpListener = null
    } else {
      this.wantsTcpStreams = true
      await this.#until(
        withTimeout(
          new Promise<void>((resolve) => (this.#tcpArrived = resolve)),
          cfg.timeoutMs,
          `data connections from the client (${p.parallel} wanted)`,
          this.#signal,
        ),
      )
    }
    chan.writeState(State.TEST_START)
    const congestion = p.udp ? undefined : (this.#streams[0] as TcpInStream | TcpOutStream).congestion()
    const start = this.#startEvent(p)
    const run = (this.#run = new TestRun(
      { role: 'server', protocol: p.udp ? 'udp' : 'tcp', reverse: p.reverse, latency: p.latency, interval: cfg.interval, startJson: start.json, congestion },
      this.#streams,
      (ev) => this.#q.push(ev),
    ))
    this.#q.push(start)
    let failed: (err: Error) => void = () => {}
    const failure = new Promise<never>((_, reject) => (failed = reject))
    for (const s of this.#streams) s.onError = failed
    run.begin()
    chan.writeState(State.TEST_RUNNING)
    // The client ends the test; give it the test's time and then the timeout.
    const limit = p.time > 0 ? p.time * 1000 + cfg.timeoutMs : Infinity
    const receiving = this.#streams.some((s) => !s.sender)
    const phase = new AbortController()
    let st: number
    try {
      st = await this.#until(
        Promise.race([
          chan.readState(limit),
          quiet(failure),
          receiving ? quiet(idle(this.#streams, cfg.timeoutMs, phase.signal)) : new Promise<never>(() => {}),
        ]),
      )
    } finally {
      phase.abort()
    }
    if (st !== State.TEST_END) throw await stateError(chan, st, 'client')
    run.end()
    // As iperf3: the streams close at the test's end, before the results.
    for (const s of this.#streams) s.close()
    chan.writeState(State.EXCHANGE_RESULTS)
    const peer = await this.#until(chan.readJson(cfg.timeoutMs, 'results'))
    chan.writeJson(run.localResults())
    chan.writeState(State.DISPLAY_RESULTS)
    const summary = run.summary(peer)
    this.#q.push(summary)
    try {
      // IPERF_DONE, or the client simply closes: either ends the test.
      await this.#until(chan.readState(cfg.timeoutMs))
    } catch (err) {
      if (this.#signal.aborted) throw err
    }
  }

  #udpSocket(): Socket {
    const l = this.#listening
    const p = this.#params!
    const sizes = p.window ? { sendBufferSize: p.window, recvBufferSize: p.window } : { recvBufferSize: UDP_RCVBUF }
    const s = createSocket({ type: l.v6 ? 'udp6' : 'udp4', reuseAddr: true, ...(l.v6 && l.address === '::' ? { ipv6Only: false } : {}), ...sizes })
    try {
      return s.bind(l.port, l.address)
    } catch (err) {
      s.close()
      throw new PerfError('ERR_PERF_STREAM', `${iperfErrorText(202)}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** iperf3's UDP accept: the first datagram names the client; connect to it, reply, and put a fresh socket on the port. */
  async #acceptUdp(index: number): Promise<PerfStream> {
    const s = this.#udpListener!
    const rinfo = await this.#until(
      withTimeout(
        new Promise<{ address: string; port: number }>((resolve) => s.once('message', (_msg, r) => resolve(r))),
        this.#cfg.timeoutMs,
        `UDP stream from the client (stream ${index + 1})`,
        this.#signal,
      ),
    )
    void s.connect(rinfo.port, rinfo.address) // UDP: connects at once, throws on failure
    this.#udpListener = this.#udpSocket()
    const p = this.#params!
    tune(s.fd, { ...p, window: undefined }, this.#listening.v6)
    s.send(p.latency ? udpConnect.latencyReply() : udpConnect.reply())
    const id = streamId(index)
    if (p.latency) return new LatencyEchoStream(s, id)
    return p.reverse ? new UdpOutStream(s, id, p.blksize, p.rate, p.counter64) : new UdpInStream(s, id, p.counter64)
  }

  #startEvent(p: TestParams): PerfStart {
    const ctl = this.#tcp.socket
    const peer = { address: displayAddress(ctl.remoteAddress ?? ''), port: ctl.remotePort ?? 0 }
    const json: Record<string, unknown> = {
      connected: connectedJson(this.#streams),
      version: VERSION,
      system_info: systemInfo(),
      timestamp: timestampJson(),
      accepted_connection: { host: peer.address, port: peer.port },
      cookie: cookieText(this.cookie),
    }
    if (p.rate) json.target_bitrate = p.rate
    json.sock_bufsize = p.window ?? 0
    json.test_start = testStartJson(p)
    return {
      type: 'start',
      role: 'server',
      protocol: p.udp ? 'udp' : 'tcp',
      reverse: p.reverse,
      latency: p.latency,
      peer,
      blksize: p.blksize,
      duration: p.time,
      bitrate: p.rate,
      cookie: cookieText(this.cookie),
      streams: this.#streams.map((s) => ({ id: s.id, socket: s.socket, local: shown(s.local), remote: shown(s.remote) })),
      json,
    }
  }

  close(): void {
    this.wantsTcpStreams = false
    if (this.#run) this.#run.close()
    else for (const s of this.#streams) s.close()
    this.#udpListener?.close()
    this.#udpListener = null
    this.#chan.close()
  }
}
