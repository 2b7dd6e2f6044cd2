// ping and traceroute take only the answers to their own probes: an ICMP
// error counts when it quotes this session's echo request (identifier and
// cookie) or this trace's destination address and port; a raw-socket echo
// reply counts only with a right checksum; addresses compare by value, and
// an IPv4-mapped target is pinged and traced over IPv4. The forged answers
// come from test/fixtures/icmp-forger.cjs inside a namespace of their own.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ping, traceroute, type PingResult, type TracerouteHop } from '../src/index.js'
import { cleanupNetns, createNetns, nsExec } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'

afterAll(cleanupNetns)

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

const forger = path.resolve(__dirname, 'fixtures/icmp-forger.cjs')

/** Runs one forger scenario in a fresh namespace where the kernel answers no echo request. */
function forged(scenario: string): any {
  const ns = createNetns('forge')
  nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv4.icmp_echo_ignore_all=1'])
  nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0'])
  const out = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, process.execPath, forger, scenario], { encoding: 'utf8', timeout: 20_000 }))
  expect(out.error).toBeUndefined()
  return out.result
}

describe('addresses compare by value', () => {
  test('a trace to 0:0:0:0:0:0:0:1 ends when ::1 answers', async () => {
    const hops = await all(traceroute('0:0:0:0:0:0:0:1', { maxHops: 3 }))
    expect(hops).toEqual([expect.objectContaining({ ttl: 1, address: '::1', reached: true })])
  })

  test('an IPv4-mapped target is traced over IPv4', async () => {
    const hops = await all(traceroute('::ffff:127.0.0.1', { maxHops: 3 }))
    expect(hops).toEqual([expect.objectContaining({ ttl: 1, address: '127.0.0.1', reached: true, icmpType: 3, icmpCode: 3 })])
    expect(() => traceroute('::ffff:127.0.0.1', { family: 6 })).not.toThrow()
    await expect(all(traceroute('::ffff:127.0.0.1', { family: 6 }))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
  })

  testWithCaps(['CAP_NET_RAW'], 'an IPv4-mapped target is pinged over IPv4', async () => {
    const replies = await all(ping('::ffff:127.0.0.1', { count: 2, intervalMs: 20 }))
    expect(replies).toEqual([
      expect.objectContaining({ seq: 1, from: '127.0.0.1', bytes: 64 }),
      expect.objectContaining({ seq: 2, from: '127.0.0.1', bytes: 64 }),
    ])
  })
})

describe('answers meant for another session are not taken', () => {
  const hopOf = (hops: TracerouteHop[]): TracerouteHop => {
    expect(hops).toHaveLength(1)
    return hops[0]
  }

  testWithCaps(
    ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
    'an ICMP trace over a raw socket ignores time exceeded quoting another identifier or cookie',
    () => {
      // The control: the same forgery quoting our request as sent is taken,
      // so the two refusals below are the matching, not a broken forger.
      expect(hopOf(forged('trace-icmp-own'))).toMatchObject({ ttl: 1, address: '127.0.0.1', icmpType: 11, icmpCode: 0 })
      expect(hopOf(forged('trace-icmp-id'))).toMatchObject({ ttl: 1, address: null, rttMs: null })
      expect(hopOf(forged('trace-icmp-cookie'))).toMatchObject({ ttl: 1, address: null, rttMs: null })
    },
    60_000,
  )

  testWithCaps(
    ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
    'a UDP trace ignores port unreachable quoting our port but another destination',
    () => {
      expect(hopOf(forged('trace-udp-own'))).toMatchObject({ ttl: 1, address: '127.0.0.1', reached: true, icmpType: 3, icmpCode: 3 })
      expect(hopOf(forged('trace-udp-other'))).toMatchObject({ ttl: 1, address: null, reached: false })
    },
    60_000,
  )

  testWithCaps(
    ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
    'a raw-socket ping drops an echo reply with a wrong checksum and counts it as corrupted',
    () => {
      const { results, stats } = forged('ping-checksum') as { results: PingResult[]; stats: { received: number; corrupted: number } }
      expect(results).toEqual([expect.objectContaining({ seq: 2, from: '127.0.0.1' }), { seq: 1, timeout: true }])
      expect(stats).toMatchObject({ transmitted: 2, received: 1, corrupted: 1 })
    },
    60_000,
  )
})
