// Socket option calls on a file descriptor: the generic setsockopt/getsockopt
// with value kinds, and the typed setOption/getOption over `optionTable`.
// Values are encoded into one reused scratch buffer, so an option call makes
// no allocation beyond what the result itself needs.
import net from 'node:net'
import { check, invalidArgType, invalidArgValue, outOfRange } from './errors.js'
import { addon } from './native.js'
import { type Linger, type OptionSpec, type OptionValue, optionTable } from './option-table.js'
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

const scratch = new ArrayBuffer(64)
const scratchInt = new Int32Array(scratch, 0, 1)
const scratchPair = new Int32Array(scratch, 0, 2)
const scratchBytes = new Uint8Array(scratch)
// struct timeval is two longs: 16 bytes on 64-bit Linux, 8 on 32-bit.
const LONG_BYTES = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch) ? 8 : 4
const scratchTimeval64 = new BigInt64Array(scratch, 0, 2)

function optionLabel(level: number, name: number): string {
  for (const spec of optionTable.values()) if (spec.level === level && spec.optname === name) return spec.name
  return `level=${level} name=${name}`
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

function decodeTimeval(len: number): Timeval {
  if (len !== LONG_BYTES * 2) throw new Error(`getsockopt returned ${len} bytes for a struct timeval`)
  if (LONG_BYTES === 8) return { sec: Number(scratchTimeval64[0]), usec: Number(scratchTimeval64[1]) }
  return { sec: scratchPair[0], usec: scratchPair[1] }
}

function encodeLinger(value: Linger, name: string): Uint8Array {
  validateObject(value, name)
  scratchPair[0] = validateBoolean(value.onoff, `${name}.onoff`) ? 1 : 0
  scratchPair[1] = validateInteger(value.linger, `${name}.linger`, 0, 2 ** 31 - 1)
  return new Uint8Array(scratch, 0, 8)
}

function encodeValue(value: unknown, name: string): number | ArrayBufferView | ArrayBuffer {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'number') return validateInteger(value, name, -(2 ** 31), 2 ** 32 - 1) | 0
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    if (value.byteLength > MAX_SOCKOPT_BYTES) throw outOfRange(`${name}.byteLength`, `<= ${MAX_SOCKOPT_BYTES}`, value.byteLength)
    return value
  }
  if (value !== null && typeof value === 'object') {
    if ('onoff' in value) return encodeLinger(value as Linger, name)
    if ('sec' in value) {
      const tv = value as Timeval
      return encodeTimeval(validateInteger(tv.sec, `${name}.sec`, 0, 2 ** 31 - 1), validateInteger(tv.usec, `${name}.usec`, 0, 999999))
    }
  }
  throw invalidArgType(name, 'a number, boolean, Buffer, { onoff, linger } or { sec, usec }', value)
}

/** setsockopt(2) on `fd`. Throws a system error naming the option on failure. */
export function setsockoptFd(fd: number, level: number, name: number, value: SockoptValue): void {
  validateInteger(level, 'level', 0, 2 ** 31 - 1)
  validateInteger(name, 'name', 0, 2 ** 31 - 1)
  const encoded = encodeValue(value, 'value')
  check(addon.setsockopt(fd, level, name, encoded), 'setsockopt', { detail: optionLabel(level, name) })
}

function readInt(len: number, label: string): number {
  if (len === 4) return scratchInt[0]
  if (len === 1) return scratchBytes[0] // some IP options answer with one byte
  throw new Error(`getsockopt ${label} returned ${len} bytes, expected an int`)
}

/** getsockopt(2) on `fd`, decoded as `kind`. */
export function getsockoptFd(fd: number, level: number, name: number, kind: SockoptKind = 'int'): unknown {
  validateInteger(level, 'level', 0, 2 ** 31 - 1)
  validateInteger(name, 'name', 0, 2 ** 31 - 1)
  const label = optionLabel(level, name)
  const get = (out: Uint8Array | Int32Array): number => check(addon.getsockopt(fd, level, name, out), 'getsockopt', { detail: label })
  if (typeof kind === 'number' || kind === 'buffer') {
    const size = typeof kind === 'number' ? validateInteger(kind, 'kind', 1, MAX_SOCKOPT_BYTES) : DEFAULT_BUFFER_BYTES
    const out = Buffer.alloc(size)
    return out.subarray(0, get(out))
  }
  switch (kind) {
    case 'int':
      return readInt(get(scratchInt), label)
    case 'bool':
      return readInt(get(scratchInt), label) !== 0
    case 'linger': {
      const len = get(new Uint8Array(scratch, 0, 8))
      if (len !== 8) throw new Error(`getsockopt ${label} returned ${len} bytes for a struct linger`)
      return { onoff: scratchPair[0] !== 0, linger: scratchPair[1] } satisfies Linger
    }
    case 'timeval':
      return decodeTimeval(get(new Uint8Array(scratch, 0, LONG_BYTES * 2)))
    case 'string': {
      const len = get(scratchBytes)
      const end = scratchBytes.subarray(0, len).indexOf(0)
      return Buffer.from(scratch, 0, end === -1 ? len : end).toString('utf8')
    }
    default:
      throw invalidArgValue('kind', "must be 'int', 'bool', 'linger', 'timeval', 'string', 'buffer' or a byte count", kind)
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]
}

/** Up to three known option names close to `name`. */
export function suggestOptions(name: string): string[] {
  const upper = name.toUpperCase()
  return [...optionTable.keys()]
    .map((known) => ({ known, d: upper.length >= 3 && known.includes(upper) ? 0 : editDistance(upper, known) }))
    .filter(({ d }) => d <= 3)
    .sort((x, y) => x.d - y.d)
    .slice(0, 3)
    .map(({ known }) => known)
}

/** The spec for a typed option name; TypeError with suggestions for an unknown one. */
export function lookupOption(name: unknown): OptionSpec {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name)
  const spec = optionTable.get(name)
  if (spec) return spec
  const close = suggestOptions(name)
  const hint = close.length ? `did you mean ${close.map((c) => `'${c}'`).join(', ')}?` : 'see optionTable for the known names'
  throw invalidArgValue('name', `is not a socket option netsock knows on this system (${hint})`, name)
}

function encodeOption(spec: OptionSpec, value: unknown): number | Uint8Array {
  const argName = `value (${spec.name})`
  switch (spec.kind) {
    case 'bool':
      return validateBoolean(value, argName) ? 1 : 0
    case 'int':
      return validateInteger(value, argName, spec.min ?? -(2 ** 31), spec.max ?? 2 ** 31 - 1) | 0
    case 'linger':
      return encodeLinger(value as Linger, argName)
    case 'timeout-ms': {
      const ms = validateInteger(value, argName, spec.min ?? 0, spec.max ?? 2 ** 31 - 1)
      return encodeTimeval(Math.floor(ms / 1000), (ms % 1000) * 1000)
    }
    case 'string': {
      if (typeof value !== 'string') throw invalidArgType(argName, 'of type string', value)
      const bytes = Buffer.from(value, 'utf8')
      if (bytes.length > (spec.maxLength ?? 255)) throw outOfRange(`${argName}.length`, `<= ${spec.maxLength} bytes`, bytes.length)
      return bytes
    }
    case 'in_addr': {
      if (typeof value !== 'string' || !net.isIPv4(value)) throw invalidArgType(argName, 'an IPv4 address string', value)
      const out = new Uint8Array(scratch, 0, 4)
      out.set(value.split('.').map(Number))
      return out
    }
  }
}

/** Typed setsockopt by option name (see `optionTable`). */
export function setOptionFd(fd: number, name: string, value: OptionValue): void {
  const spec = lookupOption(name)
  if (spec.readOnly) throw invalidArgValue('name', 'is a read-only option', name)
  const encoded = encodeOption(spec, value)
  check(addon.setsockopt(fd, spec.level, spec.optname, encoded), 'setsockopt', { detail: spec.name })
}

/** Typed getsockopt by option name (see `optionTable`). */
export function getOptionFd(fd: number, name: string): OptionValue {
  const spec = lookupOption(name)
  if (spec.writeOnly) {
    throw invalidArgValue('name', `cannot be read back from the kernel; read ${spec.readBackVia} instead`, name)
  }
  switch (spec.kind) {
    case 'int': {
      const value = getsockoptFd(fd, spec.level, spec.optname, 'int') as number
      // Options whose range passes INT_MAX (SO_MARK) are unsigned in the kernel.
      return (spec.max ?? 0) > 2 ** 31 - 1 ? value >>> 0 : value
    }
    case 'bool':
    case 'linger':
    case 'string':
      return getsockoptFd(fd, spec.level, spec.optname, spec.kind) as OptionValue
    case 'timeout-ms': {
      const tv = getsockoptFd(fd, spec.level, spec.optname, 'timeval') as Timeval
      // The kernel stores the timeout in scheduler ticks, rounding up; keep the
      // result something setOption accepts again.
      return Math.min(tv.sec * 1000 + Math.round(tv.usec / 1000), spec.max ?? 2 ** 31 - 1)
    }
    case 'in_addr': {
      const bytes = getsockoptFd(fd, spec.level, spec.optname, 4) as Buffer
      return [...bytes].join('.')
    }
  }
}
