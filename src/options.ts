// Socket option calls. Every setsockopt netsock makes goes through
// `setRawOption` (the generic setsockopt, the typed setOption over
// `optionTable`, keepalive, multicast, BPF, ancillary choices), so errors,
// hints and option names in messages are built in one place. Values are
// encoded into one reused scratch buffer only after every user-supplied value
// has been read, so a getter that makes another option call cannot change
// what this call sends.
import { constants } from './constants.js'
import { addon, type Bytes } from './native.js'
import { check, errnoName, invalidArgType, invalidArgValue, outOfRange, wrongSocketType, type SystemErrorContext } from './errors.js'
import { type Linger, type OptionSpec, type OptionValue, optionTable } from './option-table.js'
import { LONG_BYTES } from './platform.js'
import { closestNames } from './suggest.js'
import type { SocketCore } from './socket-core.js'
import { validateBoolean, validateInteger, validateObject } from './validate.js'

/** What getsockopt decodes the option's bytes as. A number asks for a Buffer of at most that many bytes. */
export type SockoptKind = 'int' | 'bool' | 'linger' | 'timeval' | 'string' | 'buffer' | number

/** struct timeval (man 7 socket, SO_RCVTIMEO). */
export interface Timeval {
  /** Whole seconds (tv_sec). */
  sec: number
  /** Microseconds, 0 to 999999 (tv_usec). */
  usec: number
}

/** A value for the generic setsockopt. */
export type SockoptValue = number | boolean | ArrayBufferView | ArrayBuffer | Linger | Timeval

/** Largest Buffer getsockopt hands out for the 'buffer' kind. */
export const MAX_SOCKOPT_BYTES = 65536
const DEFAULT_BUFFER_BYTES = 256
const INT_MAX = 2 ** 31 - 1

const scratch = new ArrayBuffer(64)
const scratchInt = new Int32Array(scratch, 0, 1)
const scratchPair = new Int32Array(scratch, 0, 2)
const scratchBytes = new Uint8Array(scratch)
const scratchTimeval64 = new BigInt64Array(scratch, 0, 2)

/** The option's man-page name for messages, or its numbers. */
function optionLabel(level: number, name: number): string {
  for (const spec of optionTable.values()) if (spec.level === level && spec.optname === name) return spec.name
  return `level=${level} name=${name}`
}

/**
 * Turns on drop counts for a datagram socket: with SO_RXQ_OVFL they ride
 * along with received datagrams (man 7 socket), so it is set at creation and
 * drops before the first reader count too. Best effort where it is missing
 * (qemu-user answers ENOPROTOOPT): only the drop counts go.
 */
export function countDrops(fd: number): void {
  setRawOption(fd, constants.SOL_SOCKET, constants.SO_RXQ_OVFL, 1, 'SO_RXQ_OVFL', (code) => (code === 'ENOPROTOOPT' ? { optional: true } : undefined))
}

/**
 * The one place a socket option is set. `value`: a C int, or bytes sent as
 * they are. Throws a system error naming the option (`label`); `context`
 * adds a hint for errnos a caller can explain.
 */
export function setRawOption(
  fd: number,
  level: number,
  optname: number,
  value: number | Bytes,
  label: string,
  context?: (code: string) => (SystemErrorContext & { optional?: boolean }) | undefined,
): void {
  const rc = addon.setsockopt(fd, level, optname, value)
  if (rc >= 0) return
  const extra = context?.(errnoName(rc))
  if (extra?.optional) return // the caller can do without it
  check(rc, 'setsockopt', { detail: label, ...extra })
}

/** getsockopt of a C int (SO_ERROR, SO_DOMAIN, ...): the value, or a thrown system error. */
export function getRawOption(fd: number, level: number, optname: number): number {
  return readInt(get(fd, level, optname, scratchInt, optionLabel(level, optname)), optionLabel(level, optname))
}

function get(fd: number, level: number, optname: number, out: Bytes, label: string): number {
  return check(addon.getsockopt(fd, level, optname, out), 'getsockopt', { detail: label })
}

function encodeTimeval(sec: number, usec: number): Uint8Array {
  if (LONG_BYTES === 8) {
    scratchTimeval64[0] = BigInt(sec)
    scratchTimeval64[1] = BigInt(usec)
  } else {
    scratchPair[0] = sec
    scratchPair[1] = usec
  }
  return new Uint8Array(scratch, 0, LONG_BYTES * 2)
}

function decodeTimeval(len: number, label: string): Timeval {
  if (len !== LONG_BYTES * 2) throw invalidArgValue('kind', `does not fit ${label}: getsockopt returned ${len} bytes, not a struct timeval`, 'timeval')
  if (LONG_BYTES === 8) return { sec: Number(scratchTimeval64[0]), usec: Number(scratchTimeval64[1]) }
  return { sec: scratchPair[0], usec: scratchPair[1] }
}

function encodeLinger(value: unknown, name: string): Uint8Array {
  const v = validateObject(value, name)
  // Both fields are read (running any getters) before the scratch is written.
  const onoff = validateBoolean(v.onoff, `${name}.onoff`)
  const seconds = validateInteger(v.linger, `${name}.linger`, 0, INT_MAX)
  scratchPair[0] = onoff ? 1 : 0
  scratchPair[1] = seconds
  return new Uint8Array(scratch, 0, 8)
}

function encodeValue(value: unknown, name: string): number | Bytes {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'number') return validateInteger(value, name, -(2 ** 31), 2 ** 32 - 1) | 0
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    if (value.byteLength > MAX_SOCKOPT_BYTES) throw outOfRange(`${name}.byteLength`, `<= ${MAX_SOCKOPT_BYTES}`, value.byteLength)
    return value
  }
  if (value !== null && typeof value === 'object') {
    if ('onoff' in value) return encodeLinger(value, name)
    if ('sec' in value) {
      const tv = value as Record<string, unknown>
      const sec = validateInteger(tv.sec, `${name}.sec`, 0, INT_MAX)
      const usec = validateInteger(tv.usec, `${name}.usec`, 0, 999999)
      return encodeTimeval(sec, usec)
    }
  }
  throw invalidArgType(name, 'a number, boolean, Buffer, { onoff, linger } or { sec, usec }', value)
}

/** The target of an option call: an open socket (its fd is read only when the call is made), or a raw fd. */
export type OptionTarget = SocketCore | number

function fdOf(target: OptionTarget, operation: string): number {
  return typeof target === 'number' ? target : target.open(operation)
}

/** The generic setsockopt(2): numeric level and option, value by shape. */
export function setsockopt(target: OptionTarget, level: unknown, name: unknown, value: unknown): void {
  const lvl = validateInteger(level, 'level', 0, INT_MAX)
  const opt = validateInteger(name, 'name', 0, INT_MAX)
  const encoded = encodeValue(value, 'value')
  setRawOption(fdOf(target, 'setsockopt'), lvl, opt, encoded, optionLabel(lvl, opt))
}

function readInt(len: number, label: string): number {
  if (len === 4) return scratchInt[0]
  if (len === 1) return scratchBytes[0] // some IP options answer with one byte
  throw invalidArgValue('kind', `does not fit ${label}: getsockopt returned ${len} bytes, not an int`, 'int')
}

/** The generic getsockopt(2), decoded as `kind`. */
export function getsockopt(target: OptionTarget, level: unknown, name: unknown, kind: unknown = 'int'): unknown {
  const lvl = validateInteger(level, 'level', 0, INT_MAX)
  const opt = validateInteger(name, 'name', 0, INT_MAX)
  if (typeof kind === 'number' || kind === 'buffer') {
    const size = typeof kind === 'number' ? validateInteger(kind, 'kind', 1, MAX_SOCKOPT_BYTES) : DEFAULT_BUFFER_BYTES
    const out = Buffer.alloc(size)
    return out.subarray(0, get(fdOf(target, 'getsockopt'), lvl, opt, out, optionLabel(lvl, opt)))
  }
  if (kind !== 'int' && kind !== 'bool' && kind !== 'linger' && kind !== 'timeval' && kind !== 'string') {
    throw invalidArgValue('kind', "must be 'int', 'bool', 'linger', 'timeval', 'string', 'buffer' or a byte count", kind)
  }
  return decodeOption(fdOf(target, 'getsockopt'), lvl, opt, kind, optionLabel(lvl, opt))
}

function decodeOption(
  fd: number,
  level: number,
  optname: number,
  kind: 'int' | 'bool' | 'linger' | 'timeval' | 'string',
  label: string,
): OptionValue | Timeval {
  switch (kind) {
    case 'int':
      return readInt(get(fd, level, optname, scratchInt, label), label)
    case 'bool':
      return readInt(get(fd, level, optname, scratchInt, label), label) !== 0
    case 'linger': {
      const len = get(fd, level, optname, new Uint8Array(scratch, 0, 8), label)
      if (len !== 8) throw invalidArgValue('kind', `does not fit ${label}: getsockopt returned ${len} bytes, not a struct linger`, 'linger')
      return { onoff: scratchPair[0] !== 0, linger: scratchPair[1] } satisfies Linger
    }
    case 'timeval':
      return decodeTimeval(get(fd, level, optname, new Uint8Array(scratch, 0, LONG_BYTES * 2), label), label)
    case 'string': {
      const len = get(fd, level, optname, scratchBytes, label)
      const end = scratchBytes.subarray(0, len).indexOf(0)
      return Buffer.from(scratch, 0, end === -1 ? len : end).toString('utf8')
    }
  }
}

/** The spec for a typed option name; TypeError with suggestions for an unknown one. */
export function lookupOption(name: unknown): OptionSpec {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name)
  const spec = optionTable.get(name)
  if (spec) return spec
  const close = closestNames(name, optionTable.keys())
  const hint = close.length ? `did you mean ${close.map((c) => `'${c}'`).join(', ')}?` : 'see optionTable for the known names'
  throw invalidArgValue('name', `is not a socket option netsock knows on this system (${hint})`, name)
}

/**
 * The option to use on a socket of `family`: `name` itself, or its IPv6
 * counterpart from the table (IP_TTL -> IPV6_UNICAST_HOPS on an IPv6 socket).
 */
export function optionForFamily(name: string, family: 4 | 6 | 0): OptionSpec {
  const spec = lookupOption(name)
  return family === 6 && spec.ipv6 ? lookupOption(spec.ipv6) : spec
}

function encodeOption(spec: OptionSpec, value: unknown): number | Uint8Array {
  const argName = `value (${spec.name})`
  switch (spec.kind) {
    case 'bool':
      return validateBoolean(value, argName) ? 1 : 0
    case 'int':
      return validateInteger(value, argName, spec.min ?? -(2 ** 31), spec.max ?? INT_MAX) | 0
    case 'linger':
      return encodeLinger(value, argName)
    case 'timeout-ms': {
      const ms = validateInteger(value, argName, spec.min ?? 0, spec.max ?? INT_MAX)
      return encodeTimeval(Math.floor(ms / 1000), (ms % 1000) * 1000)
    }
    case 'string': {
      if (typeof value !== 'string') throw invalidArgType(argName, 'of type string', value)
      if (value.includes('\0')) throw invalidArgValue(argName, 'must not contain a NUL character', value)
      const bytes = Buffer.from(value, 'utf8')
      if (bytes.length > (spec.maxLength ?? 255)) throw outOfRange(`${argName}.length`, `<= ${spec.maxLength} bytes`, bytes.length)
      return bytes
    }
    case 'enum': {
      const values = spec.values ?? {}
      if (typeof value === 'string' && Object.hasOwn(values, value)) return values[value]
      if (typeof value === 'number' && Object.values(values).includes(value)) return value
      throw invalidArgValue(
        argName,
        `must be one of ${Object.keys(values)
          .map((v) => `'${v}'`)
          .join(', ')}`,
        value,
      )
    }
    case 'in_addr': {
      if (typeof value !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(value) || value.split('.').some((p) => Number(p) > 255)) {
        throw invalidArgType(argName, 'an IPv4 address string', value)
      }
      const out = new Uint8Array(scratch, 0, 4)
      out.set(value.split('.').map(Number))
      return out
    }
  }
}

/** Refuses an option the table says this kind of socket does not take (kinds netsock knows only). */
function checkSocketKind(spec: OptionSpec, target: OptionTarget, operation: string): void {
  if (typeof target === 'number') return
  const kind = target.info.kind
  if (kind !== 'other' && !spec.sockets.includes(kind)) {
    throw wrongSocketType(`${operation}('${spec.name}') (it applies to ${spec.sockets.join(', ')})`, kind)
  }
}

/** The hint for EPERM/EACCES on an option the table marks privileged. */
function privilegeHint(spec: OptionSpec, value: unknown): SystemErrorContext | undefined {
  if (!spec.privilege) return undefined
  const above = spec.privilegedAbove
  if (above !== undefined) return typeof value === 'number' && value > above ? { hint: `${spec.name} above ${above} needs ${spec.privilege}` } : undefined
  return { hint: `${spec.name} needs ${spec.privilege}` }
}

/** Typed setsockopt by option name (see `optionTable`). */
export function setOption(target: OptionTarget, name: unknown, value: unknown): void {
  const spec = lookupOption(name)
  if (spec.readOnly) throw invalidArgValue('name', 'is a read-only option', name)
  checkSocketKind(spec, target, 'setOption')
  const encoded = encodeOption(spec, value)
  const fd = fdOf(target, 'setOption')
  setRawOption(fd, spec.level, spec.optname, encoded, spec.name, (code) => (code === 'EPERM' || code === 'EACCES' ? privilegeHint(spec, value) : undefined))
}

/** Typed getsockopt by option name (see `optionTable`). */
export function getOption(target: OptionTarget, name: unknown): OptionValue {
  const spec = lookupOption(name)
  if (spec.writeOnly) {
    throw invalidArgValue('name', `cannot be read back from the kernel; read ${spec.readBackVia} instead`, name)
  }
  checkSocketKind(spec, target, 'getOption')
  const fd = fdOf(target, 'getOption')
  switch (spec.kind) {
    case 'int': {
      const value = decodeOption(fd, spec.level, spec.optname, 'int', spec.name) as number
      // Options whose range passes INT_MAX (SO_MARK) are unsigned in the kernel.
      return (spec.max ?? 0) > INT_MAX ? value >>> 0 : value
    }
    case 'bool':
    case 'linger':
    case 'string':
      return decodeOption(fd, spec.level, spec.optname, spec.kind, spec.name) as OptionValue
    case 'timeout-ms': {
      const tv = decodeOption(fd, spec.level, spec.optname, 'timeval', spec.name) as Timeval
      // The kernel stores the timeout in scheduler ticks, rounding up; keep the
      // result something setOption accepts again.
      return Math.min(tv.sec * 1000 + Math.round(tv.usec / 1000), spec.max ?? INT_MAX)
    }
    case 'enum': {
      const value = decodeOption(fd, spec.level, spec.optname, 'int', spec.name) as number
      return Object.entries(spec.values ?? {}).find(([, v]) => v === value)?.[0] ?? value
    }
    case 'in_addr': {
      const len = get(fd, spec.level, spec.optname, new Uint8Array(scratch, 0, 4), spec.name)
      return [...scratchBytes.subarray(0, len)].join('.')
    }
  }
}
