// Argument validation shared by the public API. Each validator throws a
// TypeError/RangeError naming the argument before any system call is made.
import net from 'node:net'
import { invalidArgType, outOfRange } from './errors.js'

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

export function validateFunction(value: unknown, name: string): (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value)
  return value as (...args: never[]) => unknown
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

/** True for an ArrayBuffer that was transferred away (only zero-length buffers need the check). */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0 || buffer instanceof SharedArrayBuffer) return false
  try {
    new Uint8Array(buffer)
    return false
  } catch {
    return true
  }
}

/**
 * Bytes: any ArrayBufferView or (Shared)ArrayBuffer. A detached buffer is an
 * error (ERR_BUFFER_DETACHED), never an empty datagram.
 */
export function validateBytes(value: unknown, name: string): ArrayBufferView | ArrayBuffer {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    if (isDetached(ArrayBuffer.isView(value) ? value.buffer : value)) {
      throw Object.assign(new TypeError(`The "${name}" argument is a detached ArrayBuffer (it was transferred)`), { code: 'ERR_BUFFER_DETACHED' })
    }
    // The addon takes shared memory through a typed array view.
    return value instanceof SharedArrayBuffer ? new Uint8Array(value) : (value as ArrayBufferView | ArrayBuffer)
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
    throw Object.assign(
      new TypeError(
        `The "${name}" argument must be an IP address literal (resolve host names with dns.lookup first). Received '${value}'`,
      ),
      { code: 'ERR_INVALID_IP_ADDRESS' },
    )
  }
  if (family === 4 && kind === 6) {
    throw Object.assign(new TypeError(`The "${name}" argument must be an IPv4 address on an IPv4 socket. Received '${value}'`), {
      code: 'ERR_INVALID_IP_ADDRESS',
    })
  }
  return value
}
