// Facts about this machine that encoding structs depends on: byte order
// and the size of a C long, both read once.
import os from 'node:os'
import { addon } from './native.js'

/** True on little-endian machines (x86_64, arm64): host-order fields are written LE. */
export const LITTLE_ENDIAN = os.endianness() === 'LE'

/** sizeof(long) as the addon was compiled: 8 on 64-bit Linux, 4 on 32-bit. */
export const LONG_BYTES = addon.limits.longBytes

/** Reads a host-order u32 at `at`. */
export function readHostU32(bytes: Uint8Array, at: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, 4)
  return v.getUint32(0, LITTLE_ENDIAN)
}

/** Writes a host-order u32 at `at`. */
export function writeHostU32(bytes: Uint8Array, value: number, at: number): void {
  new DataView(bytes.buffer, bytes.byteOffset + at, 4).setUint32(0, value >>> 0, LITTLE_ENDIAN)
}
