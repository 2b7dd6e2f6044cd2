// `perf`: iperf3-compatible throughput, loss and jitter tests, and sockperf-
// style latency tests, as async iterables of reports.
export { client } from './client.js'
export { PerfError, type PerfErrorCode } from './errors.js'
export { server } from './server.js'
export { formatBitrate, formatBytes, parseRate, parseSize } from './units.js'
export type {
  PerfClientEvent,
  PerfClientOptions,
  PerfCpu,
  PerfEndpoint,
  PerfJson,
  PerfFigures,
  PerfInterval,
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
