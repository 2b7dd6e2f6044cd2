// Argument validation shared by the public API. Each validator throws a
// TypeError/RangeError naming the argument before any system call is made.
import net from 'node:net'
import { bufferDetached, bufferOutOfBounds, invalidArgType, outOfRange } from './errors.js'

/** An integer in [min, max]; TypeError for a non-number, RangeError otherwise. */
export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value)
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value)
  return value
}

export function validatePort(value: unknown, name = 'port'): number {
  return validateInteger(value, name, 0, 65535)
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value)
  return value
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
  return value
}

export function validateObject(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(name, 'of type object', value)
  }
  return value as Record<string, unknown>
}

export function validateAbortSignal(value: unknown, name = 'signal'): AbortSignal | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof AbortSignal)) throw invalidArgType(name, 'an instance of AbortSignal', value)
  return value
}

/** %TypedArray%.prototype, the prototype of every typed array's prototype. */
export const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object
const typedArrayAt = (TypedArrayPrototype as { at: (this: ArrayBufferView, i: number) => unknown }).at

/**
 * The intrinsic getter `key` of `proto`, to be called as `getter.call(value)`:
 * a subclass or an own property of `value` cannot redirect it.
 */
export function intrinsicGetter<T>(proto: object, key: PropertyKey): (this: unknown) => T {
  // The getter itself, unbound on purpose.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  return Object.getOwnPropertyDescriptor(proto, key)!.get as (this: unknown) => T
}

/** `typedArrayTag.call(value)`: the typed array's kind, undefined for anything that is not a typed array. */
export const typedArrayTag = intrinsicGetter<string | undefined>(TypedArrayPrototype, Symbol.toStringTag)
const typedArrayByteLength = intrinsicGetter<number>(TypedArrayPrototype, 'byteLength')

/**
 * Bytes of a typed array (a Buffer too), or -1 for anything else (a
 * DataView, an ArrayBuffer, not bytes at all); 0 for an empty, detached or
 * out-of-bounds one. For the per-datagram paths: it reads through
 * %TypedArray%.prototype's own getters, which optimized code inlines, where
 * `buf.byteLength` on a Buffer is a generic property lookup.
 */
export function typedArrayBytes(value: unknown): number {
  return typedArrayTag.call(value) === undefined ? -1 : typedArrayByteLength.call(value)
}

/**
 * `value.byteLength`, but 0 instead of a TypeError for a DataView whose
 * buffer was detached or shrank away (typed arrays and buffers read 0 then).
 */
export function safeByteLength(value: ArrayBufferView | ArrayBufferLike): number {
  if (!(value instanceof DataView)) return value.byteLength
  try {
    return value.byteLength
  } catch {
    return 0
  }
}

/**
 * Why an empty view or buffer cannot be used: 'detached' (its ArrayBuffer
 * was transferred), 'out-of-bounds' (a fixed view over a resizable
 * ArrayBuffer that shrank below it), or null. Only a zero-length value can
 * be either, so callers test just those.
 */
export function unusableBytes(value: ArrayBufferView | ArrayBufferLike): 'detached' | 'out-of-bounds' | null {
  if (safeByteLength(value) !== 0 || value instanceof SharedArrayBuffer) return null
  if (!ArrayBuffer.isView(value)) {
    try {
      new Uint8Array(value)
      return null
    } catch {
      return 'detached'
    }
  }
  try {
    // Both throw for a detached or out-of-bounds view and succeed on an empty one.
    if (value instanceof DataView) void value.byteLength
    else typedArrayAt.call(value, 0)
    return null
  } catch {
    return unusableBytes(value.buffer) ?? 'out-of-bounds'
  }
}

/**
 * Bytes: any ArrayBufferView or (Shared)ArrayBuffer. A detached buffer
 * (ERR_BUFFER_DETACHED) or a view its resizable buffer shrank away from
 * (ERR_BUFFER_OUT_OF_BOUNDS) is an error, never an empty datagram.
 */
export function validateBytes(value: unknown, name: string): ArrayBufferView | ArrayBuffer {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    const unusable = safeByteLength(value) === 0 ? unusableBytes(value) : null
    if (unusable) throw unusable === 'detached' ? bufferDetached(name) : bufferOutOfBounds(name)
    // The addon takes shared memory through a typed array view.
    return value instanceof SharedArrayBuffer ? new Uint8Array(value) : value
  }
  throw invalidArgType(name, 'an instance of Buffer, TypedArray, DataView or ArrayBuffer', value)
}

/**
 * An IP literal of the socket's family. IPv4 literals are accepted for IPv6
 * sockets (they become v4-mapped addresses); an IPv6 literal may carry a zone
 * (`fe80::1%eth0`). Host names are not resolved: resolve them with
 * `dns.lookup` first.
 */
export function validateAddress(value: unknown, name: string, family: 4 | 6): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
  const bare = value.includes('%') ? value.slice(0, value.indexOf('%')) : value
  const kind = net.isIP(bare)
  if (kind === 0) {
    throw Object.assign(new TypeError(`The "${name}" argument must be an IP address literal (resolve host names with dns.lookup first). Received '${value}'`), {
      code: 'ERR_INVALID_IP_ADDRESS',
    })
  }
  if (family === 4 && kind === 6) {
    throw Object.assign(new TypeError(`The "${name}" argument must be an IPv4 address on an IPv4 socket. Received '${value}'`), {
      code: 'ERR_INVALID_IP_ADDRESS',
    })
  }
  return value
}
