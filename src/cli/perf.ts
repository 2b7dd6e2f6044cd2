// `netsock perf server|client`: iperf3's command line (flag names, units,
// output and exit codes: 0 when the test ran, 1 for anything else, a usage
// error included), on netsock's perf module. --json prints iperf3's JSON
// document, --json-stream one line per event as iperf3 3.17's does.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { PerfError } from '../perf/errors.js'
import { client, server } from '../perf/index.js'
import { DEFAULT_PORT } from '../perf/protocol.js'
import type { PerfClientOptions, PerfServerOptions, PerfStart, PerfSummary } from '../perf/types.js'
import { parseRate, parseSize } from '../perf/units.js'
import type { Command, Io } from './args.js'
import { IntervalPrinter, startLines, summaryLines } from './perf-text.js'

const EXIT_OK = 0
/** iperf3 exits 1 for every failure, a bad command line included. */
const EXIT_FAIL = 1

type Options = NonNullable<ParseArgsConfig['options']>

const COMMON: Options = {
  port: { type: 'string', short: 'p' },
  interval: { type: 'string', short: 'i' },
  json: { type: 'boolean', short: 'J' },
  'json-stream': { type: 'boolean' },
  'rcv-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
}

const CLIENT: Options = {
  ...COMMON,
  udp: { type: 'boolean', short: 'u' },
  bitrate: { type: 'string', short: 'b' },
  length: { type: 'string', short: 'l' },
  time: { type: 'string', short: 't' },
  parallel: { type: 'string', short: 'P' },
  reverse: { type: 'boolean', short: 'R' },
  window: { type: 'string', short: 'w' },
  'no-delay': { type: 'boolean', short: 'N' },
  'udp-counters-64bit': { type: 'boolean' },
  latency: { type: 'boolean' },
  'connect-timeout': { type: 'string' },
}

const SERVER: Options = {
  ...COMMON,
  'one-off': { type: 'boolean', short: '1' },
  bind: { type: 'string', short: 'B' },
}

const CLIENT_HELP = `usage: netsock perf client HOST [options]
  -p, --port PORT          server port (default ${DEFAULT_PORT})
  -u, --udp                UDP instead of TCP
  -b, --bitrate RATE       target bits/s per stream, K/M/G = 10^3/10^6/10^9; 0 = unlimited
                           (default 1M for UDP, unlimited for TCP)
  -l, --length LEN         bytes per write or datagram, K/M = 1024/1024^2
                           (default 128K for TCP; the path's MSS for UDP; 64 for --latency)
  -t, --time SECONDS       how long to send (default 10)
  -P, --parallel N         parallel streams (default 1)
  -R, --reverse            the server sends, the client receives
  -i, --interval SECONDS   seconds between interval reports (default 1, 0 = none)
  -w, --window SIZE        socket buffer size (SO_SNDBUF/SO_RCVBUF) at both ends
  -N, --no-delay           TCP_NODELAY on the data connections
      --udp-counters-64bit 64-bit UDP packet counters
      --latency            round trips against a netsock perf server: ping-pong, or
                           paced at --bitrate (under load); p50/p90/p99/p99.9/max
      --connect-timeout MS control connection timeout (default 10000)
      --rcv-timeout MS     how long the server may stay silent (default 30000)
  -J, --json               one JSON document at the end, shaped like iperf3's
      --json-stream        one JSON line per event: {"event":"start"|"interval"|"end"|"error","data":...}
  -h, --help               this help
exit status: 0 the test ran, 1 otherwise (as iperf3)`

const SERVER_HELP = `usage: netsock perf server [options]
  -p, --port PORT          port to listen on (default ${DEFAULT_PORT}; 0 = any free port)
  -B, --bind ADDRESS       address to listen on (default all, IPv6 and IPv4)
  -1, --one-off            serve one test, then exit
  -i, --interval SECONDS   seconds between interval reports (default 1, 0 = none)
      --rcv-timeout MS     how long a client may stay silent (default 30000)
  -J, --json               one JSON document per test, shaped like iperf3's
      --json-stream        one JSON line per event
  -h, --help               this help
exit status: 1 when it cannot listen or is interrupted; as iperf3, a -1 server exits 0
after its test even when the test failed (the error is printed)`

const OVERVIEW = `netsock perf: iperf3-compatible throughput, loss and jitter tests, and latency percentiles

usage: netsock perf server [options]        (netsock perf server --help)
       netsock perf client HOST [options]   (netsock perf client --help)

Talks to iperf3 3.x both ways: 'netsock perf client' against 'iperf3 -s', and
'iperf3 -c' (TCP or UDP, -R, -P) against 'netsock perf server'.`

class CliError extends Error {}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
  return d[a.length][b.length]
}

function parse(argv: string[], options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    return { values: values as Record<string, string | boolean | undefined>, positionals }
  } catch (err) {
    const msg = (err as Error).message
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(msg)
    if (unknown) {
      const name = unknown[1].replace(/^-+/, '')
      const close = Object.keys(options).filter((o) => distance(o, name) <= Math.max(1, Math.floor(name.length / 3)))
      throw new CliError(`unknown option '${unknown[1]}'${close.length ? `; did you mean ${close.map((c) => `'--${c}'`).join(' or ')}?` : ''}`)
    }
    throw new CliError(msg.split('\n')[0])
  }
}

function num(v: string | boolean | undefined, flag: string, min: number, max: number, integer: boolean): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (v === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new CliError(`${flag} must be ${integer ? 'an integer' : 'a number'} ${min}-${max}, got '${String(v)}'`)
  }
  return n
}

function unit(v: string | boolean | undefined, flag: string, parser: (s: string) => number): number | undefined {
  if (v === undefined) return undefined
  if (String(v).includes('/')) throw new CliError(`${flag}: burst mode (RATE/COUNT) is not supported`)
  try {
    return parser(String(v))
  } catch (err) {
    throw new CliError(`${flag} ${(err as Error).message}`)
  }
}

function clientOptions(values: Record<string, string | boolean | undefined>, positionals: string[]): PerfClientOptions {
  if (positionals.length !== 1) throw new CliError(positionals.length ? `one HOST, got ${positionals.length} arguments` : 'the client needs a HOST')
  const o: PerfClientOptions = { host: positionals[0] }
  const set = <K extends keyof PerfClientOptions>(k: K, v: PerfClientOptions[K] | undefined): void => {
    if (v !== undefined) o[k] = v
  }
  set('port', num(values.port, '--port', 1, 65535, true))
  set('udp', values.udp === true || undefined)
  set('bitrate', unit(values.bitrate, '--bitrate', parseRate))
  set('length', unit(values.length, '--length', parseSize))
  set('time', num(values.time, '--time', 0, 86400, false))
  set('parallel', num(values.parallel, '--parallel', 1, 128, true))
  set('reverse', values.reverse === true || undefined)
  set('interval', num(values.interval, '--interval', 0, 60, false))
  set('window', unit(values.window, '--window', parseSize))
  set('noDelay', values['no-delay'] === true || undefined)
  set('udpCounters64', values['udp-counters-64bit'] === true || undefined)
  set('latency', values.latency === true || undefined)
  set('connectTimeoutMs', num(values['connect-timeout'], '--connect-timeout', 1, 2 ** 31 - 1, true))
  set('timeoutMs', num(values['rcv-timeout'], '--rcv-timeout', 1, 2 ** 31 - 1, true))
  if (o.latency && o.reverse) throw new CliError('--latency and --reverse cannot be combined')
  if (o.latency && (o.parallel ?? 1) !== 1) throw new CliError('--latency measures one stream: -P must be 1')
  if (o.length !== undefined) {
    const udp = o.udp || o.latency
    const [min, max] = udp ? [o.latency ? 16 : 16, 65507] : [1, 1 << 20]
    if (o.length < min || o.length > max) throw new CliError(`--length must be ${min}-${max} bytes${udp ? ' for UDP' : ''}, got ${o.length}`)
  }
  return o
}

function serverOptions(values: Record<string, string | boolean | undefined>, positionals: string[]): PerfServerOptions {
  if (positionals.length) throw new CliError(`the server takes no arguments, got '${positionals[0]}'`)
  const o: PerfServerOptions = {}
  const port = num(values.port, '--port', 0, 65535, true)
  if (port !== undefined) o.port = port
  if (typeof values.bind === 'string') o.address = values.bind
  if (values['one-off'] === true) o.oneOff = true
  const interval = num(values.interval, '--interval', 0, 60, false)
  if (interval !== undefined) o.interval = interval
  const timeout = num(values['rcv-timeout'], '--rcv-timeout', 1, 2 ** 31 - 1, true)
  if (timeout !== undefined) o.timeoutMs = timeout
  return o
}

type Mode = 'text' | 'json' | 'stream'

/** Runs `netsock perf ...` (argv after 'perf'); resolves with the exit code. */
export async function perfMain(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(OVERVIEW)
    return sub === undefined ? EXIT_FAIL : EXIT_OK
  }
  if (sub !== 'client' && sub !== 'server') {
    io.err(`netsock perf: unknown mode '${sub}': 'server' or 'client'\n\n${OVERVIEW}`)
    return EXIT_FAIL
  }
  const help = sub === 'client' ? CLIENT_HELP : SERVER_HELP
  let values: Record<string, string | boolean | undefined>
  let clientOpts: PerfClientOptions | undefined
  let serverOpts: PerfServerOptions | undefined
  try {
    const parsed = parse(rest, sub === 'client' ? CLIENT : SERVER)
    values = parsed.values
    if (values.help) {
      io.out(help)
      return EXIT_OK
    }
    if (sub === 'client') clientOpts = clientOptions(values, parsed.positionals)
    else serverOpts = serverOptions(values, parsed.positionals)
  } catch (err) {
    if (!(err instanceof CliError)) throw err
    io.err(`netsock perf ${sub}: parameter error - ${err.message}\n${help}`)
    return EXIT_FAIL
  }
  const mode: Mode = values['json-stream'] ? 'stream' : values.json ? 'json' : 'text'
  const ac = new AbortController()
  const onSignal = (): void => ac.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    return clientOpts
      ? await runClient({ ...clientOpts, signal: ac.signal }, io, mode)
      : await runServer({ ...serverOpts, signal: ac.signal }, io, mode, ac.signal)
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
}

function message(err: unknown): string {
  if (err instanceof PerfError) return err.message
  const e = err as Error & { code?: string }
  return e.message ?? String(err)
}

/** Collects one test's events into iperf3's document, or prints them as they come. */
class Output {
  #start: Record<string, unknown> = {}
  #intervals: Record<string, unknown>[] = []
  #printer = new IntervalPrinter()
  #protocol: 'tcp' | 'udp' = 'tcp'
  constructor(
    readonly io: Io,
    readonly mode: Mode,
  ) {}

  #stream(event: string, data: unknown): void {
    this.io.out(JSON.stringify({ event, data }))
  }

  start(ev: PerfStart): void {
    this.#start = ev.json
    this.#intervals = []
    this.#printer = new IntervalPrinter()
    this.#protocol = ev.protocol
    if (this.mode === 'stream') this.#stream('start', ev.json)
    else if (this.mode === 'text') for (const l of startLines(ev)) this.io.out(l)
  }

  interval(ev: Parameters<IntervalPrinter['lines']>[0]): void {
    this.#intervals.push(ev.json)
    if (this.mode === 'stream') this.#stream('interval', ev.json)
    else if (this.mode === 'text') for (const l of this.#printer.lines(ev, this.#protocol)) this.io.out(l)
  }

  summary(ev: PerfSummary): void {
    if (this.mode === 'stream') this.#stream('end', ev.json.end)
    else if (this.mode === 'json') this.io.out(JSON.stringify(ev.json, null, 2))
    else for (const l of summaryLines(ev)) this.io.out(l)
  }

  error(text: string): void {
    if (this.mode === 'stream') this.#stream('error', text)
    else if (this.mode === 'json') this.io.out(JSON.stringify({ start: this.#start, intervals: this.#intervals, end: {}, error: text }, null, 2))
    this.io.err(`netsock perf: error - ${text}`)
  }
}

async function runClient(options: PerfClientOptions, io: Io, mode: Mode): Promise<number> {
  const out = new Output(io, mode)
  try {
    for await (const ev of client(options)) {
      if (ev.type === 'start') out.start(ev)
      else if (ev.type === 'interval') out.interval(ev)
      else out.summary(ev)
    }
    if (mode === 'text') io.out('\nnetsock perf done.')
    return EXIT_OK
  } catch (err) {
    if ((err as Error).name === 'AbortError') out.error('interrupt - the client has terminated')
    else out.error(message(err))
    return EXIT_FAIL
  }
}

const BANNER = '-----------------------------------------------------------'

async function runServer(options: PerfServerOptions, io: Io, mode: Mode, signal: AbortSignal): Promise<number> {
  const out = new Output(io, mode)
  let port = options.port ?? DEFAULT_PORT
  const listening = (): void => {
    if (mode === 'text') io.out(`${BANNER}\nServer listening on ${port}\n${BANNER}`)
  }
  try {
    for await (const ev of server(options)) {
      if (ev.type === 'listening') {
        port = ev.port
        listening()
        // Scripts with -p 0 learn the port here, whatever the output mode.
        if (mode !== 'text') io.err(`listening on port ${ev.port}`)
      } else if (ev.type === 'start') out.start(ev)
      else if (ev.type === 'interval') out.interval(ev)
      else if (ev.type === 'summary') {
        out.summary(ev)
        if (!options.oneOff) listening()
      } else {
        out.error(message(ev.error))
        if (!options.oneOff) listening()
      }
    }
  } catch (err) {
    out.error(message(err))
    return EXIT_FAIL
  }
  if (signal.aborted) {
    io.err('netsock perf: interrupt - the server has terminated')
    return EXIT_FAIL
  }
  return EXIT_OK
}

/** The `perf` entry in `netsock --help`; main.ts hands `perf` to perfMain, which parses iperf3's flags itself. */
export const perfCommand: Command = {
  name: 'perf',
  summary: 'iperf3-compatible throughput/loss/jitter tests and latency percentiles',
  operands: 'server | client HOST',
  flags: [],
  streaming: true,
  notes: "iperf3's flags and exit codes: netsock perf server --help, netsock perf client --help",
  run: async (args, io) => perfMain(args.positionals, io),
}
