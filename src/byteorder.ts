// Host/network byte order conversion. Network order is big-endian; on a
// big-endian host every conversion is the identity.
import { invalidArgType, outOfRange } from './errors.js'
import { LITTLE_ENDIAN } from './platform.js'

function checkUint(value: unknown, max: number): number {
  if (typeof value !== 'number') throw invalidArgType('value', 'of type number', value)
  if (!Number.isInteger(value) || value < 0 || value > max) throw outOfRange('value', `an integer >= 0 && <= ${max}`, value)
  return value
}

const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8)
const swap32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0

/** The four conversions for a host of the given byte order (exported for tests). */
export function byteOrderFor(littleEndian: boolean) {
  const s16 = littleEndian ? swap16 : (v: number) => v
  const s32 = littleEndian ? swap32 : (v: number) => v
  return {
    htons: (value: number): number => s16(checkUint(value, 0xffff)),
    ntohs: (value: number): number => s16(checkUint(value, 0xffff)),
    htonl: (value: number): number => s32(checkUint(value, 0xffffffff)),
    ntohl: (value: number): number => s32(checkUint(value, 0xffffffff)),
  }
}

const native = byteOrderFor(LITTLE_ENDIAN)

/**
 * Host to network order, 16 bits. Throws a RangeError unless `value` is an
 * integer in [0, 65535].
 * @example htons(0x1234) // 0x3412 on x86 (little-endian), 0x1234 on big-endian hosts
 */
export const htons: (value: number) => number = native.htons
/**
 * Network to host order, 16 bits.
 * @example ntohs(htons(8080)) // 8080
 */
export const ntohs: (value: number) => number = native.ntohs
/**
 * Host to network order, 32 bits (unsigned result).
 * @example htonl(0x7f000001) // 0x0100007f on little-endian hosts
 */
export const htonl: (value: number) => number = native.htonl
/**
 * Network to host order, 32 bits (unsigned result).
 * @example ntohl(htonl(0xdeadbeef)) // 0xdeadbeef
 */
export const ntohl: (value: number) => number = native.ntohl
