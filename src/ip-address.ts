// IP literals compared by value, not by spelling: '0:0:0:0:0:0:0:1' is '::1',
// '::ffff:127.0.0.1' is the IPv4 address 127.0.0.1 seen through an IPv6
// socket (RFC 4291 section 2.5.5.2). Used wherever ping and traceroute ask
// "did this come from the host we aimed at?".
import net from 'node:net'

const V4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])

function v4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number))
}

function v6Bytes(address: string): Buffer {
  const out = Buffer.alloc(16)
  let text = address
  let tail: Buffer | null = null
  // An embedded IPv4 tail ('::ffff:1.2.3.4') fills the last four bytes.
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.', lastColon)) {
    tail = v4Bytes(text.slice(lastColon + 1))
    text = `${text.slice(0, lastColon + 1)}0:0`
  }
  const [head, rest] = text.split('::') as [string, string | undefined]
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)))
  const front = words(head)
  const back = rest === undefined ? [] : words(rest)
  const all = rest === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back]
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2))
  if (tail) tail.copy(out, 12)
  return out
}

/**
 * The bytes of an IP literal (4 for IPv4, 16 for IPv6; a zone such as
 * '%eth0' is ignored), or null when `address` is not an IP literal.
 */
export function ipBytes(address: string): Buffer | null {
  const bare = address.split('%')[0]
  const family = net.isIP(bare)
  if (family === 4) return v4Bytes(bare)
  if (family === 6) return v6Bytes(bare)
  return null
}

/** The IPv4 address inside an IPv4-mapped IPv6 literal ('::ffff:10.0.0.1' or '::ffff:a00:1'), else null. */
export function unmapV4(address: string): string | null {
  const b = net.isIPv6(address.split('%')[0]) ? ipBytes(address) : null
  if (!b || !b.subarray(0, 12).equals(V4_MAPPED_PREFIX)) return null
  return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`
}

/** Whether two IP literals name the same address (IPv4-mapped IPv6 equals its IPv4 address). */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) return true
  const x = ipBytes(unmapV4(a) ?? a)
  const y = ipBytes(unmapV4(b) ?? b)
  return x !== null && y !== null && x.equals(y)
}
