// Validation and defaults for perf.client() and perf.server(): thrown before
// anything is opened, as TypeError/RangeError naming the option.
import { DEFAULT_PORT, DEFAULT_UDP_RATE, MAX_BLKSIZE, MAX_STREAMS, MAX_TIME, MAX_UDP_BLKSIZE, MIN_UDP_BLKSIZE } from './protocol.js'
import type { PerfClientOptions, PerfServerOptions } from './types.js'

export interface ClientConfig {
  host: string
  port: number
  udp: boolean
  bitrate: number
  length: number | undefined
  time: number
  parallel: number
  reverse: boolean
  interval: number
  udpCounters64: boolean
  window: number | undefined
  noDelay: boolean
  latency: boolean
  connectTimeoutMs: number
  timeoutMs: number
  signal: AbortSignal | undefined
}

export interface ServerConfig {
  port: number
  address: string | undefined
  oneOff: boolean
  interval: number
  timeoutMs: number
  signal: AbortSignal | undefined
}

type Code = { code: string }

function typeError(name: string, expected: string, value: unknown): TypeError & Code {
  const shown = value === null ? 'null' : typeof value === 'object' ? 'an object' : `type ${typeof value} (${String(value)})`
  return Object.assign(new TypeError(`The "options.${name}" property must be ${expected}. Received ${shown}`), { code: 'ERR_INVALID_ARG_TYPE' })
}

function rangeError(name: string, range: string, value: unknown): RangeError & Code {
  return Object.assign(new RangeError(`The value of "options.${name}" is out of range. It must be ${range}. Received ${String(value)}`), {
    code: 'ERR_OUT_OF_RANGE',
  })
}

function number(o: Record<string, unknown>, name: string, min: number, max: number, fallback: number, integer = true): number {
  const v = o[name]
  if (v === undefined) return fallback
  if (typeof v !== 'number' || Number.isNaN(v)) throw typeError(name, 'of type number', v)
  if ((integer && !Number.isInteger(v)) || v < min || v > max) throw rangeError(name, `${integer ? 'an integer ' : ''}>= ${min} && <= ${max}`, v)
  return v
}

function bool(o: Record<string, unknown>, name: string): boolean {
  const v = o[name]
  if (v === undefined) return false
  if (typeof v !== 'boolean') throw typeError(name, 'of type boolean', v)
  return v
}

function signalOf(o: Record<string, unknown>): AbortSignal | undefined {
  const v = o.signal
  if (v === undefined) return undefined
  if (!(v instanceof AbortSignal)) throw typeError('signal', 'an instance of AbortSignal', v)
  return v
}

function object(options: unknown): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw Object.assign(new TypeError('The "options" argument must be of type object'), { code: 'ERR_INVALID_ARG_TYPE' })
  }
  return options as Record<string, unknown>
}

export function clientConfig(options: PerfClientOptions): ClientConfig {
  const o = object(options)
  if (typeof o.host !== 'string' || o.host === '') throw typeError('host', 'a non-empty string', o.host)
  const udp = bool(o, 'udp')
  const latency = bool(o, 'latency')
  const datagrams = udp || latency
  const cfg: ClientConfig = {
    host: o.host,
    port: number(o, 'port', 1, 65535, DEFAULT_PORT),
    udp: datagrams,
    bitrate: number(o, 'bitrate', 0, 2 ** 53, datagrams && !latency ? DEFAULT_UDP_RATE : 0),
    length: o.length === undefined ? undefined : number(o, 'length', datagrams ? MIN_UDP_BLKSIZE : 1, datagrams ? MAX_UDP_BLKSIZE : MAX_BLKSIZE, 0),
    time: number(o, 'time', 0, MAX_TIME, 10, false),
    parallel: number(o, 'parallel', 1, MAX_STREAMS, 1),
    reverse: bool(o, 'reverse'),
    interval: number(o, 'interval', 0, 60, 1, false),
    udpCounters64: bool(o, 'udpCounters64'),
    window: o.window === undefined ? undefined : number(o, 'window', 1, 2 ** 31 - 1, 0),
    noDelay: bool(o, 'noDelay'),
    latency,
    connectTimeoutMs: number(o, 'connectTimeoutMs', 1, 2 ** 31 - 1, 10_000),
    timeoutMs: number(o, 'timeoutMs', 1, 2 ** 31 - 1, 30_000),
    signal: signalOf(o),
  }
  if (latency) {
    if (cfg.reverse)
      throw Object.assign(new TypeError('The "options.reverse" and "options.latency" options cannot be combined'), { code: 'ERR_INVALID_ARG_VALUE' })
    if (cfg.parallel !== 1)
      throw Object.assign(new TypeError('The "options.latency" option measures one stream: "options.parallel" must be 1'), { code: 'ERR_INVALID_ARG_VALUE' })
  }
  return cfg
}

export function serverConfig(options: PerfServerOptions = {}): ServerConfig {
  const o = object(options)
  if (o.address !== undefined && typeof o.address !== 'string') throw typeError('address', 'of type string', o.address)
  return {
    port: number(o, 'port', 0, 65535, DEFAULT_PORT),
    address: o.address,
    oneOff: bool(o, 'oneOff'),
    interval: number(o, 'interval', 0, 60, 1, false),
    timeoutMs: number(o, 'timeoutMs', 1, 2 ** 31 - 1, 30_000),
    signal: signalOf(o),
  }
}
