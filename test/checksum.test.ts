import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { checksumJs, NATIVE_CHECKSUM_THRESHOLD } from '../src/checksum.js'
import { checksum } from '../src/index.js'
import { addon } from '../src/native.js'

/** Straight from RFC 1071: sum 16-bit big-endian words in 32 bits, fold, complement. */
function reference(bytes: Uint8Array, initial = 0): number {
  let sum = initial
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  return ~sum & 0xffff
}

describe('checksum (RFC 1071)', () => {
  test('the RFC 1071 example sums to 0xddf2, checksum 0x220d', () => {
    const data = Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])
    expect(checksum(data)).toBe(0x220d)
    expect(addon.checksum(data, 0)).toBe(0x220d)
  })

  test('a real IPv4 header: computes the stored checksum, and verifies to 0', () => {
    // 192.168.0.1 -> 192.168.0.199, UDP, TTL 64: the classic worked example (checksum b861).
    const header = Buffer.from('45000073000040004011b861c0a80001c0a800c7', 'hex')
    expect(checksum(header)).toBe(0)
    const zeroed = Buffer.from(header)
    zeroed.writeUInt16BE(0, 10)
    expect(checksum(zeroed)).toBe(0xb861)
  })

  test('folds in a UDP pseudo-header partial sum', () => {
    // UDP 127.0.0.1:1234 -> 127.0.0.1:5678, payload "hi"; pseudo-header: src, dst, zero, proto 17, length 10.
    const udp = Buffer.from([0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0a, 0x00, 0x00, 0x68, 0x69])
    const pseudo = Buffer.from([127, 0, 0, 1, 127, 0, 0, 1, 0, 17, 0, 10])
    const partial = [0, 2, 4, 6, 8, 10].reduce((s, i) => s + pseudo.readUInt16BE(i), 0)
    const sum = checksum(udp, partial)
    expect(sum).toBe(checksum(Buffer.concat([pseudo, udp])))
    udp.writeUInt16BE(sum, 6)
    expect(checksum(udp, partial)).toBe(0)
  })

  test('JS and native sums agree with the RFC reference for every length, alignment and initial value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(7), fc.integer({ min: 0, max: 0xffffffff }), (bytes, shift, initial) => {
        const buf = new Uint8Array(bytes.length + shift)
        buf.set(bytes, shift)
        const view = buf.subarray(shift) // unaligned starts exercise the native 8-byte loop
        const folded = (initial & 0xffff) + Math.floor(initial / 0x10000)
        const want = reference(view, folded)
        expect(checksumJs(view, folded)).toBe(want)
        expect(addon.checksum(view, folded)).toBe(want)
        expect(checksum(view, initial)).toBe(want)
      }),
      { numRuns: 300, seed: 1071 },
    )
  })

  test('accepts any ArrayBufferView or ArrayBuffer, on both sides of the native threshold', () => {
    for (const n of [NATIVE_CHECKSUM_THRESHOLD - 2, NATIVE_CHECKSUM_THRESHOLD + 2]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff)
      const want = reference(bytes)
      expect(checksum(bytes.buffer)).toBe(want)
      expect(checksum(new DataView(bytes.buffer))).toBe(want)
      expect(checksum(new Uint16Array(bytes.buffer))).toBe(want)
    }
  })

  test('rejects bad arguments', () => {
    expect(() => checksum('abc' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => checksum(Buffer.alloc(2), -1)).toThrow(RangeError)
    expect(() => checksum(Buffer.alloc(2), 2 ** 32)).toThrow(RangeError)
    expect(() => checksum(Buffer.alloc(2), '1' as never)).toThrow(TypeError)
  })
})
