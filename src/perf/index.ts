// `perf`: iperf3-compatible throughput, loss and jitter tests, and sockperf-
// style latency tests, as async iterables of reports. The client and the
// server (and all they use) load on first use, so importing netsock costs
// nothing for them; options are checked at once, before anything loads.
import { clientConfig, serverConfig } from './options.js'
import type { PerfClientEvent, PerfClientOptions, PerfServerEvent, PerfServerOptions } from './types.js'

export { PerfError, type PerfErrorCode } from './errors.js'
export { formatBitrate, formatBytes, parseRate, parseSize } from './units.js'
export type {
  PerfClientEvent,
  PerfClientOptions,
  PerfCpu,
  PerfEndpoint,
  PerfFigures,
  PerfInterval,
  PerfJson,
  PerfLatency,
  PerfListening,
  PerfServerEvent,
  PerfServerOptions,
  PerfStart,
  PerfStreamFigures,
  PerfStreamInfo,
  PerfStreamSummary,
  PerfSummary,
  PerfTestError,
} from './types.js'

async function* loaded<T>(open: () => Promise<AsyncIterableIterator<T>>): AsyncGenerator<T, void, undefined> {
  // yield* hands return() (a loop left early) on to the run, which stops it.
  yield* await open()
}

/**
 * Runs one test against an iperf3 server (or a netsock perf server): yields
 * a `start` event, one `interval` event per interval, and the `summary`.
 * The test begins when iteration does. Throws a `PerfError` when the test
 * cannot complete, an AbortError when `signal` fires; bad options throw
 * here, at once. Leaving the loop early stops the test.
 *
 * @example
 * for await (const ev of perf.client({ host: '127.0.0.1', udp: true, bitrate: 100e6, time: 5 })) {
 *   if (ev.type === 'interval') console.log(ev.sum.bitsPerSecond)
 *   if (ev.type === 'summary') console.log(ev.received.lostPercent, ev.received.jitterMs)
 * }
 */
export function client(options: PerfClientOptions): AsyncIterableIterator<PerfClientEvent> {
  clientConfig(options)
  return loaded(async () => (await import('./client.js')).client(options))
}

/**
 * Serves iperf3 clients (and netsock perf clients) one test at a time:
 * yields `listening`, then for each test `start`, its `interval` events and
 * the `summary` (or an `error` event when a test fails; the server goes on).
 * It listens when iteration begins. With `oneOff` it ends after one test.
 * Aborting `signal` or leaving the loop closes it.
 *
 * @example
 * for await (const ev of perf.server({ port: 0, address: '127.0.0.1' })) {
 *   if (ev.type === 'listening') console.log('port', ev.port)
 *   if (ev.type === 'summary') console.log(ev.received.bitsPerSecond)
 * }
 */
export function server(options: PerfServerOptions = {}): AsyncIterableIterator<PerfServerEvent> {
  serverConfig(options)
  return loaded(async () => (await import('./server.js')).server(options))
}
