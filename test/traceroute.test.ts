// traceroute through real hops: namespaces A — router — B linked by veth
// pairs, forwarding on in the router, routes set; all made and removed here.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { traceroute } from '../src/index.js'
import { cleanupNetns, createNetns, linkNetns, nsExec, spawnNodeInNetns } from './helpers/netns.js'
import { hasCapability, testWithCaps } from './helpers/privilege.js'

afterAll(cleanupNetns)

const ROUTER_A = '10.213.1.2'
const HOST_A = '10.213.1.1'
const HOST_B = '10.213.2.2'
const ROUTER_A6 = 'fd00:213:1::2'
const HOST_B6 = 'fd00:213:2::2'

let nsA = ''
const privileged = hasCapability('CAP_NET_ADMIN') && hasCapability('CAP_NET_RAW')

beforeAll(() => {
  if (!privileged) return
  nsA = createNetns('trA')
  const router = createNetns('trR')
  const nsB = createNetns('trB')
  linkNetns({ ns: nsA, cidr: `${HOST_A}/24`, cidr6: 'fd00:213:1::1/64' }, { ns: router, cidr: `${ROUTER_A}/24`, cidr6: `${ROUTER_A6}/64` })
  linkNetns({ ns: router, cidr: '10.213.2.1/24', cidr6: 'fd00:213:2::1/64' }, { ns: nsB, cidr: `${HOST_B}/24`, cidr6: `${HOST_B6}/64` })
  nsExec(router, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
  nsExec(router, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1'])
  nsExec(nsA, ['ip', 'route', 'add', 'default', 'via', ROUTER_A])
  nsExec(nsA, ['ip', '-6', 'route', 'add', 'default', 'via', ROUTER_A6])
  nsExec(nsB, ['ip', 'route', 'add', 'default', 'via', '10.213.2.1'])
  nsExec(nsB, ['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:213:2::1'])
})

/** Runs traceroute inside namespace A and returns the hops. */
async function traceFromA(target: string, options: object): Promise<any[]> {
  const child = spawnNodeInNetns(
    nsA,
    `
    ;(async () => {
      const hops = []
      for await (const hop of netsock.traceroute(${JSON.stringify(target)}, ${JSON.stringify(options)})) hops.push(hop)
      console.log(JSON.stringify({ hops }))
    })().catch((e) => console.log(JSON.stringify({ error: String(e.stack) })))`,
  )
  try {
    const out = await child.next()
    expect(out.error).toBeUndefined()
    return out.hops
  } finally {
    child.stop()
  }
}

describe('traceroute', () => {
  test('validates options', () => {
    expect(() => traceroute('127.0.0.1', { probe: 'tcp' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => traceroute('127.0.0.1', { maxHops: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
  })

  test('on loopback the destination is the first hop (UDP probes need no privilege)', async () => {
    const hops = []
    for await (const hop of traceroute('127.0.0.1', { maxHops: 3 })) hops.push(hop)
    expect(hops).toEqual([expect.objectContaining({ ttl: 1, address: '127.0.0.1', reached: true, icmpType: 3, icmpCode: 3 })])
  })

  for (const [probe, target, router] of [
    ['udp', HOST_B, ROUTER_A],
    ['icmp', HOST_B, ROUTER_A],
    ['udp', HOST_B6, ROUTER_A6],
    ['icmp', HOST_B6, ROUTER_A6],
  ] as const) {
    testWithCaps(
      ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
      `${probe} probes to ${target}: the router, then the destination`,
      async () => {
        const hops = await traceFromA(target, { maxHops: 5, probe, timeoutMs: 5000 })
        expect(hops).toEqual([
          expect.objectContaining({ ttl: 1, address: router, reached: false, icmpType: target.includes(':') ? 3 : 11 }),
          expect.objectContaining({ ttl: 2, address: target, reached: true }),
        ])
        for (const hop of hops) expect(hop.rttMs).toBeGreaterThanOrEqual(0)
      },
      30_000,
    )
  }
})

describe('traceroute probes like traceroute(8)', () => {
  test('probesPerHop probes per TTL, each with its own answer', async () => {
    const hops = []
    for await (const hop of traceroute('127.0.0.1', { probesPerHop: 3 })) hops.push(hop)
    expect(hops).toHaveLength(1)
    expect(hops[0].probes).toEqual(Array.from({ length: 3 }, () => expect.objectContaining({ address: '127.0.0.1', reached: true, icmpType: 3, icmpCode: 3 })))
  })

  testWithCaps(
    ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
    'firstHop skips the hops before it',
    async () => {
      const hops = await traceFromA(HOST_B, { firstHop: 2, maxHops: 5, timeoutMs: 5000 })
      expect(hops).toEqual([expect.objectContaining({ ttl: 2, address: HOST_B, reached: true })])
    },
    30_000,
  )

  test('validates firstHop, probesPerHop and the room for probe ports', () => {
    expect(() => traceroute('127.0.0.1', { firstHop: 31 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => traceroute('127.0.0.1', { probesPerHop: 11 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => traceroute('127.0.0.1', { port: 65500, probesPerHop: 3 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
  })
})
