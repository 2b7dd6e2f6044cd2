// Per-datagram send control across real hops, in namespaces made here:
//   A — R1 — R2 — B    (veth links; R1 and R2 forward; R2—B has MTU 1280;
//                       R2 re-marks ECT(0) as CE with nft)
// B has two addresses on its link, for the multi-homed server case.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { cleanupNetns, createNetns, linkNetns, nsExec, spawnNodeInNetns } from './helpers/netns.js'
import { ipv6Ready } from './helpers/ns-udp.js'
import { hasCapability, testWithCaps } from './helpers/privilege.js'

afterAll(cleanupNetns)

const privileged = hasCapability('CAP_NET_ADMIN')
const haveNft = (() => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
const NET = {
  a: { v4: '10.214.1.1', v6: 'fd00:214:1::1' },
  r1a: { v4: '10.214.1.2', v6: 'fd00:214:1::2' },
  r1b: { v4: '10.214.2.1', v6: 'fd00:214:2::1' },
  r2a: { v4: '10.214.2.2', v6: 'fd00:214:2::2' },
  r2b: { v4: '10.214.3.1', v6: 'fd00:214:3::1' },
  b: { v4: '10.214.3.2', v6: 'fd00:214:3::2' },
  b2: { v4: '10.214.3.3', v6: 'fd00:214:3::3' },
}
let nsA = ''
let nsB = ''

beforeAll(async () => {
  if (!privileged) return
  nsA = createNetns('scA')
  const r1 = createNetns('scR1')
  const r2 = createNetns('scR2')
  nsB = createNetns('scB')
  const ends = [
    ...linkNetns({ ns: nsA, cidr: `${NET.a.v4}/24`, cidr6: `${NET.a.v6}/64` }, { ns: r1, cidr: `${NET.r1a.v4}/24`, cidr6: `${NET.r1a.v6}/64` }),
    ...linkNetns({ ns: r1, cidr: `${NET.r1b.v4}/24`, cidr6: `${NET.r1b.v6}/64` }, { ns: r2, cidr: `${NET.r2a.v4}/24`, cidr6: `${NET.r2a.v6}/64` }),
  ]
  const [r2b, b] = linkNetns({ ns: r2, cidr: `${NET.r2b.v4}/24`, cidr6: `${NET.r2b.v6}/64` }, { ns: nsB, cidr: `${NET.b.v4}/24`, cidr6: `${NET.b.v6}/64` })
  // The far link is narrow: 1280 bytes, the IPv6 minimum.
  nsExec(r2, ['ip', 'link', 'set', r2b.ifname, 'mtu', '1280'])
  nsExec(nsB, ['ip', 'link', 'set', b.ifname, 'mtu', '1280'])
  nsExec(nsB, ['ip', 'addr', 'add', `${NET.b2.v4}/24`, 'dev', b.ifname])
  nsExec(nsB, ['ip', '-6', 'addr', 'add', `${NET.b2.v6}/64`, 'dev', b.ifname, 'nodad'])
  for (const r of [r1, r2]) {
    nsExec(r, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
    nsExec(r, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1'])
  }
  nsExec(nsA, ['ip', 'route', 'add', 'default', 'via', NET.r1a.v4])
  nsExec(nsA, ['ip', '-6', 'route', 'add', 'default', 'via', NET.r1a.v6])
  nsExec(r1, ['ip', 'route', 'add', '10.214.3.0/24', 'via', NET.r2a.v4])
  nsExec(r1, ['ip', '-6', 'route', 'add', 'fd00:214:3::/64', 'via', NET.r2a.v6])
  nsExec(r2, ['ip', 'route', 'add', '10.214.1.0/24', 'via', NET.r1b.v4])
  nsExec(r2, ['ip', '-6', 'route', 'add', 'fd00:214:1::/64', 'via', NET.r1b.v6])
  nsExec(nsB, ['ip', 'route', 'add', 'default', 'via', NET.r2b.v4])
  nsExec(nsB, ['ip', '-6', 'route', 'add', 'default', 'via', NET.r2b.v6])
  if (haveNft) {
    // R2 turns ECT(0) into CE as it forwards: a congested router's mark (RFC 3168).
    const rules = path.join(os.tmpdir(), `netsock-remark-${process.pid}.nft`)
    fs.writeFileSync(
      rules,
      'table inet remark {\n chain forward {\n  type filter hook forward priority 0;\n  ip ecn ect0 ip ecn set ce\n  ip6 ecn ect0 ip6 ecn set ce\n }\n}\n',
    )
    nsExec(r2, ['nft', '-f', rules])
    fs.rmSync(rules)
  }
  await ipv6Ready([...ends, r2b, b])
}, 60_000)

/** Runs `script` in `ns` (netsock in scope, `print(value)` ends it) and returns what it printed. */
async function inNs(ns: string, script: string): Promise<any> {
  const child = spawnNodeInNetns(
    ns,
    `
    const print = (v) => { process.stdout.write(JSON.stringify(v, (k, x) => typeof x === 'bigint' ? String(x) : x) + '\\n'); process.exit(0) }
    const wait = async (cond, ms = 10000) => { const end = Date.now() + ms; while (!cond()) { if (Date.now() > end) throw new Error('timed out waiting'); await new Promise((f) => setTimeout(f, 5)) } }
    ;(async () => {\n${script}\n})().catch((e) => print({ thrown: String(e && e.stack || e) }))`,
  )
  try {
    return await child.next()
  } finally {
    child.stop()
  }
}

/** Starts `script` in `ns`; it prints { ready: true } once listening, then its result. */
async function server(ns: string, script: string) {
  const child = spawnNodeInNetns(
    ns,
    `
    const print = (v) => process.stdout.write(JSON.stringify(v) + '\\n')
    ;(async () => {\n${script}\n})().catch((e) => print({ thrown: String(e && e.stack || e) }))`,
  )
  const ready = await child.next()
  if (!ready.ready) {
    child.stop()
    throw new Error(`server did not start: ${JSON.stringify(ready)}`)
  }
  return { result: () => child.next(), stop: child.stop }
}

const families = [
  ['udp4', 'v4'],
  ['udp6', 'v6'],
] as const

describe('ECN marks through a router that re-marks', () => {
  for (const [type, v] of families) {
    testWithCaps(
      ['CAP_NET_ADMIN'],
      `${type}: ECT(0), ECT(1) and CE marked per datagram in one sendMany; the router turns ECT(0) into CE`,
      async () => {
        if (!haveNft) throw new Error('nft (Debian nftables) is needed for this test')
        const b = await server(
          nsB,
          `
        const s = netsock.createSocket({ type: '${type}' }).bind(40100).setAncillary({ tos: true })
        const got = []
        s.on('message', (m, r) => { got.push([m.toString(), r.ecn]); if (got.length === 4) print({ got }) })
        print({ ready: true })`,
        )
        try {
          const sent = await inNs(
            nsA,
            `
          const s = netsock.createSocket({ type: '${type}' })
          print({ sent: s.sendMany([{ data: Buffer.from('ect0'), ecn: 'ect0' }, { data: Buffer.from('ect1'), ecn: 'ect1' }, { data: Buffer.from('ce'), ecn: 'ce' }, { data: Buffer.from('none'), ecn: 'not-ect' }], 40100, '${NET.b[v]}') })`,
          )
          expect(sent).toEqual({ sent: 4 })
          expect((await b.result()).got).toEqual([
            ['ect0', 3],
            ['ect1', 1],
            ['ce', 3],
            ['none', 0],
          ])
        } finally {
          b.stop()
        }
      },
      60_000,
    )
  }
})

describe('the multi-homed server answers from the address each request came to', () => {
  for (const [type, v] of families) {
    testWithCaps(
      ['CAP_NET_ADMIN'],
      `${type}: pktinfo destination in, source out, on a host with two addresses on one link`,
      async () => {
        const b = await server(
          nsB,
          `
        const s = netsock.createSocket({ type: '${type}' }).bind(40200).setAncillary({ pktinfo: true })
        s.on('message', (m, r) => s.sendMessage({ data: Buffer.from('reply to ' + m), port: r.port, address: r.address, source: r.destination }))
        print({ ready: true })`,
        )
        try {
          const replies = await inNs(
            nsA,
            `
          const s = netsock.createSocket({ type: '${type}' }).bind(0)
          const got = []
          s.on('message', (m, r) => got.push([m.toString(), r.address]))
          for (const to of ['${NET.b[v]}', '${NET.b2[v]}']) s.send(Buffer.from(to), 40200, to)
          await wait(() => got.length === 2)
          print(got.sort())`,
          )
          expect(replies).toEqual(
            [
              [`reply to ${NET.b[v]}`, NET.b[v]],
              [`reply to ${NET.b2[v]}`, NET.b2[v]],
            ].sort(),
          )
        } finally {
          b.stop()
        }
      },
      60_000,
    )
  }
})

describe('TTL per datagram through two routers', () => {
  for (const [type, v] of families) {
    testWithCaps(
      ['CAP_NET_ADMIN'],
      `${type}: ttl 1 and 2 die at the routers (time exceeded on the error queue, from each router), ttl 64 arrives`,
      async () => {
        const b = await server(
          nsB,
          `
        const s = netsock.createSocket({ type: '${type}' }).bind(40300).setAncillary({ ttl: true })
        const got = []
        s.on('message', (m, r) => { got.push([m.toString(), r.ttl]); if (m.toString() === 'end') print({ got }) })
        print({ ready: true })`,
        )
        try {
          const a = await inNs(
            nsA,
            `
          const s = netsock.createSocket({ type: '${type}' }).setOption('${v === 'v4' ? 'IP_RECVERR' : 'IPV6_RECVERR'}', true)
          const errors = []
          s.on('errorqueue', () => { for (let e; (e = s.readErrorQueue()); ) errors.push([e.payload.toString(), e.offender && e.offender.address, e.type]) })
          for (const ttl of [1, 2, 64]) s.sendMessage({ data: Buffer.from('ttl ' + ttl), port: 40300, address: '${NET.b[v]}', ttl })
          await wait(() => errors.length === 2)
          s.send(Buffer.from('end'), 40300, '${NET.b[v]}')
          print({ errors: errors.sort() })`,
          )
          const timeExceeded = v === 'v4' ? 11 : 3
          expect(a.thrown).toBeUndefined()
          expect(a.errors).toEqual([
            ['ttl 1', NET.r1a[v], timeExceeded],
            ['ttl 2', NET.r2a[v], timeExceeded],
          ])
          // Only the last arrives, with 64 less the two routers' hops.
          expect((await b.result()).got).toEqual([
            ['ttl 64', 62],
            ['end', 62],
          ])
        } finally {
          b.stop()
        }
      },
      60_000,
    )
  }
})

describe('path MTU through a narrow link', () => {
  for (const [type, v] of families) {
    testWithCaps(
      ['CAP_NET_ADMIN'],
      `${type}: pathMtu() falls from 1500 to 1280 after the first too-big datagram; the error queue has the router's report; EMSGSIZE then carries mtu 1280`,
      async () => {
        const r = await inNs(
          nsA,
          `
        const s = netsock.createSocket({ type: '${type}' })
        s.setOption('${v === 'v4' ? 'IP_MTU_DISCOVER' : 'IPV6_MTU_DISCOVER'}', 'do').setOption('${v === 'v4' ? 'IP_RECVERR' : 'IPV6_RECVERR'}', true)
        await s.connect(40400, '${NET.b[v]}')
        const before = s.pathMtu()
        const reports = []
        s.on('errorqueue', () => { for (let e; (e = s.readErrorQueue()); ) reports.push({ origin: e.origin, type: e.type, code: e.code, info: e.info, from: e.offender && e.offender.address }) })
        s.send(Buffer.alloc(1400))
        await wait(() => reports.length === 1)
        const after = s.pathMtu()
        let error = null
        try { s.send(Buffer.alloc(1400)) } catch (e) { error = { code: e.code, mtu: e.mtu } }
        // An unconnected socket learns it from the same route: EMSGSIZE with the mtu too.
        const u = netsock.createSocket({ type: '${type}' }).setOption('${v === 'v4' ? 'IP_MTU_DISCOVER' : 'IPV6_MTU_DISCOVER'}', 'do')
        let unconnected = null
        try { u.sendMessage({ data: Buffer.alloc(1400), port: 40400, address: '${NET.b[v]}' }) } catch (e) { unconnected = { code: e.code, mtu: e.mtu } }
        print({ before, after, reports, error, unconnected, small: s.send(Buffer.alloc(1200)) })`,
        )
        expect(r.thrown).toBeUndefined()
        expect(r.before).toBe(1500)
        expect(r.after).toBe(1280)
        expect(r.reports).toEqual([
          v === 'v4' ? { origin: 'icmp', type: 3, code: 4, info: 1280, from: NET.r2a.v4 } : { origin: 'icmp6', type: 2, code: 0, info: 1280, from: NET.r2a.v6 },
        ])
        expect(r.error).toEqual({ code: 'EMSGSIZE', mtu: 1280 })
        expect(r.unconnected).toEqual({ code: 'EMSGSIZE', mtu: 1280 })
        expect(r.small).toBe(true)
      },
      60_000,
    )
  }
})

describe('transmit timestamps across the routers', () => {
  testWithCaps(
    ['CAP_NET_ADMIN'],
    'each datagram left A (tx timestamp) before B received it (rx timestamp), ids 0..N-1',
    async () => {
      const N = 20
      const b = await server(
        nsB,
        `
      const s = netsock.createSocket({ type: 'udp4' }).bind(40500).setAncillary({ timestamp: true })
      const got = []
      s.on('message', (m, r) => { got.push([m.readUInt32LE(0), String(r.timestampNs)]); if (got.length === ${N}) print({ got }) })
      print({ ready: true })`,
      )
      try {
        const a = await inNs(
          nsA,
          `
        const s = netsock.createSocket({ type: 'udp4' }).setTimestamping({ tx: true })
        const stamps = []
        s.on('txtimestamp', (t) => stamps.push([t.id, String(t.timeNs)]))
        for (let i = 0; i < ${N}; i++) { const d = Buffer.alloc(8); d.writeUInt32LE(i); s.send(d, 40500, '${NET.b.v4}') }
        await wait(() => stamps.length === ${N})
        print({ stamps })`,
        )
        const received = new Map<number, bigint>((await b.result()).got.map(([seq, t]: [number, string]) => [seq, BigInt(t)]))
        expect(a.stamps.map(([id]: [number]) => id)).toEqual(Array.from({ length: N }, (_, i) => i))
        for (const [id, t] of a.stamps as [number, string][]) expect(BigInt(t) < received.get(id)!, `datagram ${id}`).toBe(true)
      } finally {
        b.stop()
      }
    },
    60_000,
  )
})
