// Option checks shared by ping() and traceroute(): one place says what a
// family, a socket mode, a wait, a TTL or an interface must be, so both
// accept and reject the same things with the same messages.
import { invalidArgType, invalidArgValue } from './errors.js'
import type { IcmpSocketMode } from './icmp.js'
import { validateAbortSignal, validateInteger, validateObject } from './validate.js'

/** The options ping() and traceroute() both take. */
export interface ProbeOptions {
  /** Address family when `host` is a name. */
  family?: 4 | 6
  /** ICMP socket: `'auto' | 'dgram' | 'raw'` (see `PingOptions.socket`). */
  socket?: IcmpSocketMode
  /** Send through this interface: a name (SO_BINDTODEVICE) or a local address to send from. */
  interface?: string
  /** Stops the work; the iteration then rejects with an AbortError. */
  signal?: AbortSignal
}

/** ProbeOptions, checked. */
export interface ProbeSettings {
  family?: 4 | 6
  mode: IcmpSocketMode
  iface?: string
  signal?: AbortSignal
}

const MAX_MS = 2 ** 31 - 1

/** Checks the shared options of `options` (an object) and returns them with defaults. */
export function probeSettings(options: unknown): ProbeSettings {
  const o = validateObject(options, 'options') as ProbeOptions
  const mode = o.socket ?? 'auto'
  if (mode !== 'auto' && mode !== 'dgram' && mode !== 'raw') throw invalidArgValue('options.socket', "must be 'auto', 'dgram' or 'raw'", mode)
  if (o.family !== undefined && o.family !== 4 && o.family !== 6) throw invalidArgValue('options.family', 'must be 4 or 6', o.family)
  let iface: string | undefined
  if (o.interface !== undefined) {
    if (typeof o.interface !== 'string') throw invalidArgType('options.interface', 'of type string', o.interface)
    // IFNAMSIZ is 16 with the NUL; an address is longer only for IPv6 with a zone.
    if (o.interface === '' || o.interface.includes('\0'))
      throw invalidArgValue('options.interface', 'must be an interface name or a local IP address', o.interface)
    iface = o.interface
  }
  return { family: o.family, mode, iface, signal: validateAbortSignal(o.signal, 'options.signal') }
}

/** A duration option in milliseconds within [min, 2^31 - 1], or `fallback` when absent. */
export function msOption(value: unknown, name: string, fallback: number, min = 1): number {
  return value === undefined ? fallback : validateInteger(value, name, min, MAX_MS)
}

/** A TTL / hop limit option (1-255), or undefined when absent. */
export function ttlOption(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : validateInteger(value, name, 1, 255)
}
