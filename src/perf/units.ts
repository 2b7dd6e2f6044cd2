// iperf3's units: rates in bits per second with decimal suffixes (100M =
// 100,000,000), sizes in bytes with binary suffixes (128K = 131,072), and the
// adaptive four-digit formatting of its reports ("1.19 MBytes",
// "9.99 Mbits/sec"). See esnet/iperf src/units.c.

const RATE_SUFFIX: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 }
const SIZE_SUFFIX: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

function parseUnit(text: string, table: Record<string, number>, what: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtKMGT]?)\s*$/.exec(text)
  if (!m) throw new RangeError(`${what} must be a number with an optional K, M, G or T suffix, got '${text}'`)
  return Number(m[1]) * (m[2] ? table[m[2].toLowerCase()] : 1)
}

/**
 * A rate in bits per second from iperf3's notation: decimal suffixes, so
 * `'100M'` is 100,000,000 and `'1G'` is 1,000,000,000; `'0'` means unlimited.
 */
export function parseRate(text: string): number {
  return Math.round(parseUnit(text, RATE_SUFFIX, 'rate'))
}

/**
 * A size in bytes from iperf3's notation: binary suffixes, so `'128K'` is 131,072.
 *
 * @example
 * perf.parseSize('128K')   // 131072
 */
export function parseSize(text: string): number {
  return Math.round(parseUnit(text, SIZE_SUFFIX, 'size'))
}

function fourDigits(value: number, unit: string): string {
  const digits = value < 9.995 ? 2 : value < 99.95 ? 1 : 0
  return `${value.toFixed(digits).padStart(4)} ${unit}`
}

const BYTE_UNITS = ['Bytes', 'KBytes', 'MBytes', 'GBytes', 'TBytes']
const BIT_UNITS = ['bits/sec', 'Kbits/sec', 'Mbits/sec', 'Gbits/sec', 'Tbits/sec']

/**
 * Bytes as iperf3 prints a transfer: binary steps.
 *
 * @example
 * perf.formatBytes(1249200)   // '1.19 MBytes'
 */
export function formatBytes(bytes: number): string {
  let n = bytes
  let i = 0
  while (n >= 1024 && i < BYTE_UNITS.length - 1) {
    n /= 1024
    i++
  }
  return fourDigits(n, BYTE_UNITS[i])
}

/**
 * Bits per second as iperf3 prints a bitrate: decimal steps.
 *
 * @example
 * perf.formatBitrate(9992500)   // '9.99 Mbits/sec'
 */
export function formatBitrate(bitsPerSecond: number): string {
  let n = bitsPerSecond
  let i = 0
  while (n >= 1000 && i < BIT_UNITS.length - 1) {
    n /= 1000
    i++
  }
  return fourDigits(n, BIT_UNITS[i])
}
