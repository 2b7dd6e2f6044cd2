import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { byteOrderFor } from '../src/byteorder.js'
import { htonl, htons, ntohl, ntohs } from '../src/index.js'

describe('byte order', () => {
  test('htons/htonl give the bytes that network order puts on the wire', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (v) => {
        const wire = Buffer.alloc(2)
        wire.writeUInt16BE(v)
        // Stored in host order, the converted value must lay out as the wire bytes.
        expect(Buffer.from(new Uint16Array([htons(v)]).buffer).equals(wire)).toBe(true)
        expect(ntohs(htons(v))).toBe(v)
      }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
        const wire = Buffer.alloc(4)
        wire.writeUInt32BE(v)
        expect(Buffer.from(new Uint32Array([htonl(v)]).buffer).equals(wire)).toBe(true)
        expect(ntohl(htonl(v))).toBe(v)
      }),
    )
  })

  test('known values on a little-endian host', () => {
    const le = byteOrderFor(true)
    expect(le.htons(0x1234)).toBe(0x3412)
    expect(le.htonl(0x7f000001)).toBe(0x0100007f)
    expect(le.htonl(0xdeadbeef)).toBe(0xefbeadde)
    expect(le.ntohl(0x80000000)).toBe(0x80) // unsigned results, no sign bit surprises
    expect(le.htonl(0xff)).toBe(0xff000000)
  })

  test('every conversion is the identity on a big-endian host', () => {
    const be = byteOrderFor(false)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), (l, s) => {
        expect(be.htonl(l)).toBe(l)
        expect(be.ntohl(l)).toBe(l)
        expect(be.htons(s)).toBe(s)
        expect(be.ntohs(s)).toBe(s)
      }),
    )
  })

  test('reject values that are not integers in range', () => {
    for (const f of [htons, ntohs]) {
      expect(() => f(0x10000)).toThrow(RangeError)
      expect(() => f(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
      expect(() => f(1.5)).toThrow(RangeError)
      expect(() => f(NaN)).toThrow(RangeError)
      expect(() => f('1' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"value"') }))
    }
    for (const f of [htonl, ntohl]) {
      expect(() => f(2 ** 32)).toThrow(RangeError)
      expect(() => f(-1)).toThrow(RangeError)
      expect(() => f(10n as never)).toThrow(TypeError)
    }
  })
})
