// ping over raw sockets on loopback, and over ICMP datagram ("ping") sockets
// in a namespace whose net.ipv4.ping_group_range admits us, with CAP_NET_RAW
// dropped to prove no privilege is used there.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ping, type PingResult } from '../src/index.js'
import { cleanupNetns, createNetns, linkNetns, nsExec } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'

afterAll(cleanupNetns)

async function all(it: AsyncIterable<PingResult>): Promise<PingResult[]> {
  const out: PingResult[] = []
  for await (const r of it) out.push(r)
  return out
}

describe('ping', () => {
  test('validates options before doing anything', () => {
    expect(() => ping('127.0.0.1', { count: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => ping('127.0.0.1', { socket: 'x' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
  })

  testWithCaps(['CAP_NET_RAW'], 'IPv4 loopback: one reply per request, with TTL, size and a kernel-timestamped RTT', async () => {
    const replies = await all(ping('127.0.0.1', { count: 3, intervalMs: 20, socket: 'raw' }))
    expect(replies.map((r) => r.seq)).toEqual([1, 2, 3])
    for (const r of replies) {
      expect(r).toMatchObject({ from: '127.0.0.1', bytes: 64, ttl: 64 })
      if (r.timeout) throw new Error('timed out')
      expect(r.rttMs).toBeGreaterThanOrEqual(0)
      expect(r.rttMs).toBeLessThan(1000)
    }
  })

  testWithCaps(['CAP_NET_RAW'], 'IPv6 loopback, a name resolved with dns.lookup, and a chosen size and TTL', async () => {
    // The reply's hop limit is the replier's own (64), whatever the request carried.
    const v6 = await all(ping('::1', { count: 2, intervalMs: 10, size: 100, ttl: 1 }))
    expect(v6).toEqual([
      expect.objectContaining({ seq: 1, from: '::1', bytes: 108, ttl: 64 }),
      expect.objectContaining({ seq: 2, from: '::1', bytes: 108, ttl: 64 }),
    ])
    const named = await all(ping('localhost', { count: 1, family: 4 }))
    expect(named).toEqual([expect.objectContaining({ seq: 1, from: '127.0.0.1' })])
  })

  testWithCaps(['CAP_NET_RAW'], "two concurrent pings to the same host never take each other's replies", async () => {
    const [a, b] = await Promise.all([
      all(ping('127.0.0.1', { count: 6, intervalMs: 5, size: 16 })),
      all(ping('127.0.0.1', { count: 6, intervalMs: 5, size: 16 })),
    ])
    for (const list of [a, b]) {
      expect(list.map((r) => r.seq).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6])
      expect(list.every((r) => !r.timeout)).toBe(true)
    }
  })

  testWithCaps(['CAP_NET_RAW'], 'an abort signal ends the iteration with an AbortError', async () => {
    const ac = new AbortController()
    const got: PingResult[] = []
    const run = (async () => {
      for await (const r of ping('127.0.0.1', { count: 100, intervalMs: 30, signal: ac.signal })) {
        got.push(r)
        if (got.length === 2) ac.abort()
      }
    })()
    await expect(run).rejects.toMatchObject({ name: 'AbortError' })
    expect(got.length).toBe(2)
  })

  testWithCaps(
    ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
    'without CAP_NET_RAW, a ping socket admitted by ping_group_range pings IPv4 and IPv6; silence becomes timeouts',
    () => {
      const ns = createNetns('ping')
      nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647'])
      // A link where nobody has 10.212.0.2: requests to it go unanswered.
      linkNetns({ ns, cidr: '10.212.0.1/24' }, { ns: createNetns('pingpeer'), cidr: '10.212.0.3/24' })
      const lib = JSON.stringify(path.resolve(__dirname, '../dist/cjs/index.js'))
      const script = `
      const { ping, createSocket } = require(${lib})
      const all = async (it) => { const out = []; for await (const r of it) out.push(r); return out }
      ;(async () => {
        let raw
        try { createSocket({ type: 'raw4', protocol: 'icmp' }).close(); raw = 'opened' } catch (e) { raw = e.code }
        const v4 = await all(ping('127.0.0.1', { count: 2, intervalMs: 10, socket: 'dgram' }))
        const v6 = await all(ping('::1', { count: 1 }))
        const silent = await all(ping('10.212.0.2', { count: 2, intervalMs: 10, timeoutMs: 200 }))
        console.log(JSON.stringify({ raw, v4, v6, silent }))
      })().catch((e) => { console.log(JSON.stringify({ error: String(e.stack) })) })`
      const out = execFileSync('ip', ['netns', 'exec', ns, 'setpriv', '--bounding-set=-net_raw', '--inh-caps=-net_raw', process.execPath, '-e', script], {
        encoding: 'utf8',
        timeout: 20_000,
      })
      const result = JSON.parse(out)
      expect(result.error).toBeUndefined()
      expect(result.raw).toBe('EPERM')
      expect(result.v4).toEqual([
        expect.objectContaining({ seq: 1, from: '127.0.0.1', bytes: 64, ttl: 64 }),
        expect.objectContaining({ seq: 2, from: '127.0.0.1' }),
      ])
      expect(result.v6).toEqual([expect.objectContaining({ seq: 1, from: '::1', bytes: 64 })])
      expect(result.silent).toEqual([
        { seq: 1, timeout: true },
        { seq: 2, timeout: true },
      ])
    },
  )
})

describe('ping counts and reports like ping(8)', () => {
  testWithCaps(['CAP_NET_RAW'], 'stats count what was transmitted and received, with mdev; also after an abort', async () => {
    const run = ping('127.0.0.1', { count: 3, intervalMs: 10 })
    await all(run)
    expect(run.stats).toMatchObject({ transmitted: 3, received: 3, errors: 0, duplicates: 0, corrupted: 0 })
    const { min, avg, max, mdev } = run.stats.rtt!
    expect(min).toBeLessThanOrEqual(avg)
    expect(avg).toBeLessThanOrEqual(max)
    expect(mdev).toBeGreaterThanOrEqual(0)

    const ac = new AbortController()
    const aborted = ping('127.0.0.1', { count: 100, intervalMs: 10, signal: ac.signal })
    let seen = 0
    await expect(
      (async () => {
        for await (const r of aborted) if (!r.timeout && ++seen === 2) ac.abort()
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' })
    expect(aborted.stats.transmitted).toBeGreaterThanOrEqual(2)
    expect(aborted.stats.received).toBe(2)
  })

  testWithCaps(['CAP_NET_RAW'], 'with deadlineMs, count is the replies to wait for (ping -w): it ends once they came', async () => {
    const run = ping('127.0.0.1', { deadlineMs: 20_000, count: 2, intervalMs: 10 })
    const results = await all(run)
    expect(results.map((r) => r.seq)).toEqual([1, 2])
    expect(run.stats).toMatchObject({ transmitted: 2, received: 2 })
  })

  test('validates the new options', () => {
    expect(() => ping('127.0.0.1', { deadlineMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => ping('127.0.0.1', { size: 65528 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => ping('127.0.0.1', { interface: '' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => ping('127.0.0.1', { interface: 3 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })

  testWithCaps(
    ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
    'an ICMP error answers its request at once: from, type, code and reason, counted in stats.errors',
    async () => {
      // A — R — B; TTL 1 dies at R, which says so.
      const a = createNetns('perrA')
      const r = createNetns('perrR')
      const b = createNetns('perrB')
      linkNetns({ ns: a, cidr: '10.216.1.1/24' }, { ns: r, cidr: '10.216.1.2/24' })
      linkNetns({ ns: r, cidr: '10.216.2.1/24' }, { ns: b, cidr: '10.216.2.2/24' })
      nsExec(r, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.icmp_ratelimit=0'])
      nsExec(a, ['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647'])
      nsExec(a, ['ip', 'route', 'add', 'default', 'via', '10.216.1.2'])
      nsExec(b, ['ip', 'route', 'add', 'default', 'via', '10.216.2.1'])
      const lib = JSON.stringify(path.resolve(__dirname, '../dist/cjs/index.js'))
      const script = `
      const { ping } = require(${lib})
      ;(async () => {
        const out = {}
        // Both socket kinds: a raw socket sees every ICMP error of the host, a ping socket only its own.
        for (const socket of ['raw', 'dgram']) {
          const run = ping('10.216.2.2', { count: 2, intervalMs: 50, timeoutMs: 5000, ttl: 1, socket })
          const results = []
          for await (const r of run) results.push(r)
          out[socket] = { results, stats: run.stats }
        }
        console.log(JSON.stringify(out))
      })().catch((e) => { console.log(JSON.stringify({ error: String(e.stack) })) })`
      const out = JSON.parse(execFileSync('ip', ['netns', 'exec', a, process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 }))
      expect(out.error).toBeUndefined()
      const error = { error: true, from: '10.216.1.2', type: 11, code: 0, reason: 'Time to live exceeded' }
      for (const socket of ['raw', 'dgram']) {
        expect(out[socket].results, socket).toEqual([
          { seq: 1, ...error },
          { seq: 2, ...error },
        ])
        expect(out[socket].stats, socket).toMatchObject({ transmitted: 2, received: 0, errors: 2, rtt: null })
      }
    },
    30_000,
  )
})
