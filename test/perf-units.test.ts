// The pieces of netsock perf that need no network: iperf3's units, the UDP
// datagram header, the cookie, and what a receiver derives from counters
// and transit times (loss, reordering, duplicates, RFC 3550 jitter).
import { describe, expect, test } from 'vitest'
import { cookieText, makeCookie, readUdpSeq, readUdpTimeUs, udpConnect, udpHeaderSize, writeUdpHeader } from '../src/perf/protocol.js'
import { UdpReceiveStats } from '../src/perf/udp-stats.js'
import { formatBitrate, formatBytes, parseRate, parseSize } from '../src/perf/units.js'

describe("iperf3's units", () => {
  test('rates are decimal: 100M is 10^8 bits/s, 1G is 10^9, 0 is unlimited', () => {
    expect(parseRate('100M')).toBe(100_000_000)
    expect(parseRate('1G')).toBe(1_000_000_000)
    expect(parseRate('2.5k')).toBe(2500)
    expect(parseRate('0')).toBe(0)
    expect(parseRate('1500')).toBe(1500)
  })

  test('sizes are binary: 128K is 131072 bytes, 1M is 1048576', () => {
    expect(parseSize('128K')).toBe(131072)
    expect(parseSize('1M')).toBe(1048576)
    expect(parseSize('1200')).toBe(1200)
  })

  test('a rate or size that is not a number with K/M/G/T is refused', () => {
    expect(() => parseRate('fast')).toThrow(RangeError)
    expect(() => parseRate('10X')).toThrow(/K, M, G or T/)
    expect(() => parseSize('-1')).toThrow(RangeError)
  })

  test('reports print four digits with an adaptive unit, as iperf3 does', () => {
    expect(formatBytes(1249200)).toBe('1.19 MBytes')
    expect(formatBytes(3.22 * 1024 ** 3)).toBe('3.22 GBytes')
    expect(formatBitrate(9992500)).toBe('9.99 Mbits/sec')
    expect(formatBitrate(13.8e9)).toBe('13.8 Gbits/sec')
    expect(formatBitrate(101e6)).toBe(' 101 Mbits/sec')
  })
})

describe('the UDP datagram header', () => {
  test('holds seconds, microseconds and a 32-bit counter, big-endian, in 12 bytes', () => {
    const b = Buffer.alloc(12)
    writeUdpHeader(b, 0, 1_700_000_000_123_456, 42, false)
    expect(b.toString('hex')).toBe(Buffer.concat([u32(1_700_000_000), u32(123_456), u32(42)]).toString('hex'))
    expect(readUdpTimeUs(b, 0)).toBe(1_700_000_000_123_456)
    expect(readUdpSeq(b, 0, false)).toBe(42)
    expect(udpHeaderSize(false)).toBe(12)
  })

  test('holds a 64-bit counter in 16 bytes with --udp-counters-64bit', () => {
    const b = Buffer.alloc(16)
    writeUdpHeader(b, 0, 5_000_000, 2 ** 40 + 7, true)
    expect(b.readBigUInt64BE(8)).toBe(2n ** 40n + 7n)
    expect(readUdpSeq(b, 0, true)).toBe(2 ** 40 + 7)
    expect(udpHeaderSize(true)).toBe(16)
  })

  test("the stream connect datagram and its answer are iperf3's 4-byte values, in either byte order", () => {
    expect(udpConnect.isMessage(udpConnect.message())).toBe(true)
    expect(udpConnect.isReply(udpConnect.reply())).toBe(true)
    expect(udpConnect.isReply(Buffer.from('39383736', 'hex'))).toBe(true)
    expect(udpConnect.isReply(Buffer.from('36373839', 'hex'))).toBe(true)
    expect(udpConnect.isReply(udpConnect.latencyReply())).toBe(false)
    expect(udpConnect.isLatencyReply(udpConnect.latencyReply())).toBe(true)
  })
})

test('a cookie is 36 characters of [a-z2-7] and a NUL', () => {
  const c = makeCookie()
  expect(c.length).toBe(37)
  expect(c[36]).toBe(0)
  expect(cookieText(c)).toMatch(/^[a-z2-7]{36}$/)
  expect(cookieText(makeCookie())).not.toBe(cookieText(c))
})

describe('what a UDP receiver learns from the counters', () => {
  test('gaps are losses; a late datagram is out of order and gives its loss back', () => {
    const s = new UdpReceiveStats()
    for (const seq of [1, 2, 5, 3, 6]) s.add(seq, 100, 0)
    expect(s.packets).toBe(6)
    expect(s.received).toBe(5)
    expect(s.lost).toBe(1) // 4
    expect(s.outOfOrder).toBe(1) // 3
    expect(s.duplicates).toBe(0)
    expect(s.bytes).toBe(500)
  })

  test('a datagram seen twice is a duplicate and does not cancel a loss', () => {
    const s = new UdpReceiveStats()
    for (const seq of [1, 2, 4, 2, 4]) s.add(seq, 10, 0)
    expect(s.lost).toBe(1) // 3 never came
    expect(s.duplicates).toBe(2)
    expect(s.outOfOrder).toBe(0)
    expect(s.bytes).toBe(50) // duplicates are bytes received, as iperf3 counts them
  })

  test('losses after the last datagram that arrived are not counted, as in iperf3', () => {
    const s = new UdpReceiveStats()
    for (let seq = 1; seq <= 10; seq++) s.add(seq, 1, 0)
    expect(s.lost).toBe(0)
  })

  test('counters far apart (past the duplicate window) still count losses exactly', () => {
    const s = new UdpReceiveStats()
    s.add(1, 1, 0)
    s.add(200_000, 1, 0)
    s.add(200_001, 1, 0)
    expect(s.lost).toBe(199_998)
    s.add(5, 1, 0) // too old to tell: counted as late
    expect(s.outOfOrder).toBe(1)
    expect(s.lost).toBe(199_997)
  })

  test('jitter is the RFC 3550 estimator: J += (|D| - J) / 16 over transit differences', () => {
    const s = new UdpReceiveStats()
    const transits = [100, 110, 100, 130, 100]
    let j = 0
    transits.forEach((t, i) => {
      s.add(i + 1, 1, t)
      if (i > 0) j += (Math.abs(t - transits[i - 1]) - j) / 16
    })
    expect(s.jitterUs).toBeCloseTo(j, 12)
    const steady = new UdpReceiveStats()
    for (let i = 1; i <= 100; i++) steady.add(i, 1, 5000) // a constant offset between the clocks
    expect(steady.jitterUs).toBe(0)
  })
})

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
