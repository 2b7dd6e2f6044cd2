// RFC 1071 Internet checksum. Short inputs are summed in JavaScript, where a
// call into the addon costs more than the arithmetic; long ones in the addon,
// which sums 8 bytes per step (threshold measured with `npm run bench`).
import { invalidArgType } from './errors.js'
import { addon } from './native.js'
import { validateBytes, validateInteger } from './validate.js'

/** Inputs shorter than this are summed in JavaScript. */
export const NATIVE_CHECKSUM_THRESHOLD = 96

function asUint8(data: ArrayBufferView | ArrayBuffer): Uint8Array {
  if (data instanceof Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return new Uint8Array(data)
}

/** The checksum summed in JavaScript (exported for tests and the bench). */
export function checksumJs(bytes: Uint8Array, initial: number): number {
  let sum = initial
  const even = bytes.length & ~1
  for (let i = 0; i < even; i += 2) sum += (bytes[i] << 8) | bytes[i + 1]
  if (even !== bytes.length) sum += bytes[even] << 8
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000)
  return ~sum & 0xffff
}

/**
 * RFC 1071 Internet checksum of `data`, as the 16-bit value to store
 * big-endian in the header (`buf.writeUInt16BE(checksum(hdr), 10)`).
 * `initial` is a partial sum of big-endian 16-bit words to fold in, such as a
 * UDP/TCP pseudo-header sum. A header whose checksum field is already filled
 * in sums to 0.
 *
 * @example
 * const ip = Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex')
 * ip.writeUInt16BE(checksum(ip), 10)   // 0xb861
 */
export function checksum(data: ArrayBufferView | ArrayBuffer, initial = 0): number {
  validateBytes(data, 'data')
  if (typeof initial !== 'number') throw invalidArgType('initial', 'of type number', initial)
  validateInteger(initial, 'initial', 0, 0xffffffff)
  const folded = (initial & 0xffff) + Math.floor(initial / 0x10000)
  const bytes = asUint8(data)
  if (bytes.length < NATIVE_CHECKSUM_THRESHOLD) return checksumJs(bytes, folded)
  return addon.checksum(bytes, folded)
}
