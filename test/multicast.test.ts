// Multicast: argument checks and option read-back on this host, then group
// membership (any-source and source-specific), TTL/hops, loopback and the
// outgoing interface across namespaces linked by veth pairs. Subnets
// 10.241.x.0/24 and fd00:241:x::/64, made and removed here. The namespaces
// have no default route, so every multicast call names its interface.
import { afterAll, describe, expect, test } from 'vitest'
import { constants, createSocket } from '../src/index.js'
import { cleanupNetns, createNetns, linkNetns, nsExec } from './helpers/netns.js'
import { ifindexOf, ipv6Ready, noDad, receiver, run } from './helpers/ns-udp.js'
import { testWithCaps } from './helpers/privilege.js'
import { track } from './helpers/sockets.js'

afterAll(cleanupNetns)

const udp4 = () => track(createSocket({ type: 'udp4' }))
const udp6 = () => track(createSocket({ type: 'udp6' }))

describe('arguments', () => {
  test('a group that is not multicast, or of the other family, is a TypeError naming it', () => {
    for (const [s, group] of [
      [udp4(), '10.0.0.1'],
      [udp4(), 'ff02::1'],
      [udp4(), '239.1.1.1%eth0'],
      [udp6(), 'fe80::1'],
      [udp6(), '239.1.1.1'],
      [udp4(), 'not-an-ip'],
    ] as const) {
      expect(() => s.addMembership(group)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining("'group'") }),
      )
    }
    expect(() => udp4().addMembership('224.0.0.1x')).toThrow(/multicast address \(224\.0\.0\.0\/4\)/)
    expect(() => udp6().dropMembership('2001:db8::1')).toThrow(/IPv6 multicast address \(ff00::\/8\)/)
    expect(() => udp4().addMembership(5 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"group"') }),
    )
  })

  test('sources, interfaces, TTL and flags are checked before any system call', () => {
    const s = udp4()
    expect(() => s.addSourceMembership('239.0.0.1', '232.1.1.1')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining("'source' must be a unicast IPv4") }),
    )
    expect(() => s.addSourceMembership('::1', '232.1.1.1')).toThrow(/'source'/)
    expect(() => s.addSourceMembership('10.0.0.1', '10.0.0.2')).toThrow(/'group'/)
    expect(() => s.addMembership('239.1.1.1', -1)).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('"iface"') }),
    )
    expect(() => s.addMembership('239.1.1.1', 1.5)).toThrow(RangeError)
    expect(() => s.addMembership('239.1.1.1', {} as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"iface"') }),
    )
    expect(() => s.addMembership('239.1.1.1', '::1')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => udp6().setMulticastInterface('::1')).toThrow(/index or name on an IPv6 socket/)
    expect(() => s.setMulticastTTL(256)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('"ttl"') }))
    expect(() => s.setMulticastTTL(-1)).toThrow(RangeError)
    expect(() => s.setMulticastTTL('2' as never)).toThrow(TypeError)
    expect(() => s.setMulticastLoopback(1 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"flag"') }),
    )
  })

  test('an unknown interface name is the kernel error of if_nametoindex', () => {
    expect(() => udp4().addMembership('239.1.1.1', 'nsk-no-such0')).toThrow(expect.objectContaining({ code: 'ENODEV', syscall: 'if_nametoindex' }))
    expect(() => udp6().setMulticastInterface('nsk-no-such0')).toThrow(expect.objectContaining({ code: 'ENODEV' }))
  })

  test('stream and packet sockets, and closed ones, are refused', () => {
    const tcp = track(createSocket({ type: 'tcp4' }))
    expect(() => tcp.addMembership('239.1.1.1')).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_TYPE', message: expect.stringContaining('tcp4') }))
    expect(() => tcp.setMulticastTTL(2)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_TYPE' }))
    const closed = createSocket({ type: 'udp4' })
    closed.close()
    expect(() => closed.addMembership('239.1.1.1')).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
    expect(() => closed.setMulticastLoopback(true)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
  })
})

describe('options read back (no traffic)', () => {
  test('IPv4: TTL, loopback and interface (by address, name and index)', () => {
    const s = udp4()
    expect(s.getOption('IP_MULTICAST_TTL')).toBe(1)
    expect(s.setMulticastTTL(7)).toBe(s)
    expect(s.getOption('IP_MULTICAST_TTL')).toBe(7)
    s.setMulticastTTL(0)
    expect(s.getOption('IP_MULTICAST_TTL')).toBe(0)
    expect(s.getOption('IP_MULTICAST_LOOP')).toBe(true)
    s.setMulticastLoopback(false)
    expect(s.getOption('IP_MULTICAST_LOOP')).toBe(false)
    s.setMulticastInterface('127.0.0.1')
    expect(s.getOption('IP_MULTICAST_IF')).toBe('127.0.0.1')
    // struct ip_mreqn with only an index: the kernel keeps the index, and
    // IP_MULTICAST_IF (an in_addr) reads back as 0.0.0.0.
    s.setMulticastInterface('lo')
    expect(s.getOption('IP_MULTICAST_IF')).toBe('0.0.0.0')
    s.setMulticastInterface(1).setMulticastInterface('0.0.0.0')
    expect(s.getOption('IP_MULTICAST_IF')).toBe('0.0.0.0')
  })

  test('IPv6: hops, loopback and interface index', () => {
    const s = udp6()
    s.setMulticastTTL(9)
    expect(s.getOption('IPV6_MULTICAST_HOPS')).toBe(9)
    s.setMulticastLoopback(false)
    expect(s.getsockopt(constants.IPPROTO_IPV6, constants.IPV6_MULTICAST_LOOP)).toBe(0)
    s.setMulticastLoopback(true)
    expect(s.getsockopt(constants.IPPROTO_IPV6, constants.IPV6_MULTICAST_LOOP)).toBe(1)
    s.setMulticastInterface('lo')
    expect(s.getsockopt(constants.IPPROTO_IPV6, constants.IPV6_MULTICAST_IF)).toBe(1)
    s.setMulticastInterface(0)
    expect(s.getsockopt(constants.IPPROTO_IPV6, constants.IPV6_MULTICAST_IF)).toBe(0)
  })

  test('an interface address the host does not have is EADDRNOTAVAIL from the kernel', () => {
    expect(() => udp4().setMulticastInterface('192.0.2.77')).toThrow(
      expect.objectContaining({ code: 'EADDRNOTAVAIL', syscall: 'setsockopt', message: expect.stringContaining('IP_MULTICAST_IF') }),
    )
  })

  test('memberships on loopback: kernel errors for a second join and for leaving twice', () => {
    const s = udp4()
    s.addMembership('239.241.250.1', '127.0.0.1')
    expect(() => s.addMembership('239.241.250.1', 'lo')).toThrow(
      expect.objectContaining({ code: 'EADDRINUSE', message: expect.stringContaining('IP_ADD_MEMBERSHIP') }),
    )
    s.dropMembership('239.241.250.1', 1)
    expect(() => s.dropMembership('239.241.250.1', 1)).toThrow(
      expect.objectContaining({ code: 'EADDRNOTAVAIL', message: expect.stringContaining('IP_DROP_MEMBERSHIP') }),
    )
    s.addSourceMembership('127.0.0.9', '232.241.250.1', '127.0.0.1')
    s.addSourceMembership('127.0.0.9', '232.241.250.2', 'lo') // group_source_req over IPPROTO_IP
    s.dropSourceMembership('127.0.0.9', '232.241.250.2', 'lo')
    // Leaving a source of a group the socket is not in: ip_mc_source() and
    // ip6_mc_source() answer EINVAL (not EADDRNOTAVAIL as for a group).
    expect(() => s.dropSourceMembership('127.0.0.9', '232.241.250.2', 'lo')).toThrow(
      expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('MCAST_LEAVE_SOURCE_GROUP') }),
    )
    const s6 = udp6()
    s6.addMembership('ff02::241:250', 'lo').dropMembership('ff02::241:250%lo')
    s6.addSourceMembership('::1', 'ff32::8000:250', 1).dropSourceMembership('::1', 'ff32::8000:250', 'lo')
    expect(() => s6.dropSourceMembership('::1', 'ff32::8000:250', 'lo')).toThrow(
      expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('MCAST_LEAVE_SOURCE_GROUP') }),
    )
  })
})

/** Namespaces A and B on a veth pair: 10.241.n.1/24 and .2/24 (plus fd00:241:n::1 and ::2). */
async function pair(n: number, family: 4 | 6 = 4) {
  const a = createNetns(`mca${n}`)
  const b = createNetns(`mcb${n}`)
  noDad(a)
  noDad(b)
  const [ea, eb] = linkNetns(
    { ns: a, cidr: `10.241.${n}.1/24`, cidr6: `fd00:241:${n}::1/64` },
    { ns: b, cidr: `10.241.${n}.2/24`, cidr6: `fd00:241:${n}::2/64` },
  )
  if (family === 6) await ipv6Ready([ea, eb])
  return { a, b, ea, eb }
}

const PORT = 41241

describe('across namespaces', () => {
  testWithCaps(['CAP_NET_ADMIN'], 'IPv4 groups joined by interface address, index and name arrive; a dropped group does not', async () => {
    const { a, b, ea, eb } = await pair(1)
    const rx = await receiver(
      b,
      'udp4',
      PORT,
      `
      s.addMembership('239.241.1.1', '${eb.address}')
      s.addMembership('239.241.1.2', ${ifindexOf(eb)})
      s.addMembership('239.241.1.3', '${eb.ifname}')
      s.addMembership('239.241.1.4', '${eb.address}').dropMembership('239.241.1.4', '${eb.address}')`,
    )
    // The kernel's view: the interface is in the three groups, not the dropped one.
    const maddr = nsExec(b, ['ip', 'maddr', 'show', 'dev', eb.ifname])
    expect(maddr).toContain('239.241.1.1')
    expect(maddr).toContain('239.241.1.3')
    expect(maddr).not.toContain('239.241.1.4')
    await run(
      a,
      `
      const s = netsock.createSocket({ type: 'udp4' }).setMulticastInterface('${ea.address}')
      for (const g of ['239.241.1.1', '239.241.1.2', '239.241.1.3', '239.241.1.4']) s.send(g, ${PORT}, g)
      s.send('end', ${PORT}, '${eb.address}')
      done()`,
    )
    const got = await rx.result()
    expect(got.map((m) => m.text)).toEqual(['239.241.1.1', '239.241.1.2', '239.241.1.3'])
    for (const m of got) expect(m).toMatchObject({ from: ea.address, ttl: 1, destination: m.text })
  })

  testWithCaps(['CAP_NET_ADMIN'], 'without a route to the group, a join is ENODEV with a hint and a send ENETUNREACH; a route fixes both', async () => {
    const { a, ea } = await pair(2)
    const errors = await run(
      a,
      `
      const s = netsock.createSocket({ type: 'udp4' })
      done({ join: attempt(() => s.addMembership('239.241.2.1')), send: attempt(() => s.send('x', ${PORT}, '239.241.2.1')) })`,
    )
    expect(errors.join.error).toMatchObject({ code: 'ENODEV', message: expect.stringMatching(/^setsockopt ENODEV IP_ADD_MEMBERSHIP \(.*pass the interface/) })
    expect(errors.send.error).toMatchObject({ code: 'ENETUNREACH', message: 'sendto ENETUNREACH 239.241.2.1:41241' })
    nsExec(a, ['ip', 'route', 'add', '224.0.0.0/4', 'dev', ea.ifname])
    const fixed = await run(
      a,
      `
      const s = netsock.createSocket({ type: 'udp4' })
      done({ join: attempt(() => s.addMembership('239.241.2.1')), send: attempt(() => s.send('x', ${PORT}, '239.241.2.1')) })`,
    )
    expect(fixed).toEqual({ join: { ok: true }, send: { ok: true } })
  })

  testWithCaps(['CAP_NET_ADMIN'], 'IPv6 link-local groups joined by index, zone and name arrive; a dropped group does not', async () => {
    const { a, b, ea, eb } = await pair(3, 6)
    const rx = await receiver(
      b,
      'udp6',
      PORT,
      `
      s.addMembership('ff02::241:1', ${ifindexOf(eb)})
      s.addMembership('ff02::241:2%${eb.ifname}')
      s.addMembership('ff02::241:3', '${eb.ifname}').dropMembership('ff02::241:3', '${eb.ifname}')`,
    )
    await run(
      a,
      `
      const s = netsock.createSocket({ type: 'udp6' }).setMulticastInterface(${ifindexOf(ea)})
      for (const g of ['ff02::241:1', 'ff02::241:2', 'ff02::241:3']) s.send(g, ${PORT}, g)
      s.send('end', ${PORT}, 'fd00:241:3::2')
      done()`,
    )
    const got = await rx.result()
    expect(got.map((m) => m.text)).toEqual(['ff02::241:1', 'ff02::241:2'])
    for (const m of got) expect(m).toMatchObject({ from: expect.stringMatching(/^fe80:/), ttl: 1, destination: m.text })
  })

  for (const family of [4, 6] as const) {
    testWithCaps(['CAP_NET_ADMIN'], `IPv${family} source-specific membership: only the joined source is received; a dropped source stops`, async () => {
      const n = family === 4 ? 4 : 5
      const { a, b, ea, eb } = await pair(n, family)
      // A second address on A's end: two sources on one link.
      const [s1, s3] = family === 4 ? [`10.241.${n}.1`, `10.241.${n}.3`] : [`fd00:241:${n}::1`, `fd00:241:${n}::3`]
      if (family === 4) nsExec(a, ['ip', 'addr', 'add', `${s3}/24`, 'dev', ea.ifname])
      else nsExec(a, ['ip', '-6', 'addr', 'add', `${s3}/64`, 'dev', ea.ifname, 'nodad'])
      const [g1, g2] = family === 4 ? [`232.241.${n}.1`, `232.241.${n}.2`] : ['ff32::8000:2411', 'ff32::8000:2412']
      // IPv4: g1 by interface address (struct ip_mreq_source), g2 by index
      // (struct group_source_req); IPv6: group_source_req by index and name.
      const iface1 = family === 4 ? `'${eb.address}'` : String(ifindexOf(eb))
      const rx = await receiver(
        b,
        `udp${family}`,
        PORT,
        `
        s.addSourceMembership('${s1}', '${g1}', ${iface1})
        s.addSourceMembership('${s1}', '${g2}', ${ifindexOf(eb)})
        s.addSourceMembership('${s3}', '${g2}', '${eb.ifname}')
        s.dropSourceMembership('${s3}', '${g2}', ${ifindexOf(eb)})`,
      )
      await run(
        a,
        `
        for (const src of ['${s1}', '${s3}']) {
          const s = netsock.createSocket({ type: 'udp${family}' }).bind(0, src).setMulticastInterface('${ea.ifname}')
          for (const g of ['${g1}', '${g2}']) s.send(src + ' ' + g, ${PORT}, g)
        }
        netsock.createSocket({ type: 'udp${family}' }).send('end', ${PORT}, '${family === 4 ? eb.address : `fd00:241:${n}::2`}')
        done()`,
      )
      const got = await rx.result()
      expect(got.map((m) => m.text)).toEqual([`${s1} ${g1}`, `${s1} ${g2}`])
      for (const m of got) expect(m.from).toBe(s1)
    })
  }

  for (const family of [4, 6] as const) {
    testWithCaps(
      ['CAP_NET_ADMIN'],
      `IPv${family} TTL/hops and loopback: the TTL travels, loopback off skips local members, TTL 0 stays on the host`,
      async () => {
        const n = family === 4 ? 6 : 7
        const { a, b, ea, eb } = await pair(n, family)
        const group = family === 4 ? `239.241.${n}.1` : 'ff02::241:7'
        const peer = family === 4 ? eb.address : `fd00:241:${n}::2`
        const rx = await receiver(b, `udp${family}`, PORT, `s.addMembership('${group}', '${eb.ifname}')`)
        const local = await run(
          a,
          `
        const rx = netsock.createSocket({ type: 'udp${family}', reuseAddr: true }).bind(${PORT})
        rx.setAncillary({ ttl: true }).addMembership('${group}', '${ea.ifname}')
        const got = []
        rx.on('message', (m, r) => got.push({ text: m.toString(), ttl: r.ttl }))
        const tx = netsock.createSocket({ type: 'udp${family}' }).setMulticastInterface('${ea.ifname}')
        const read = (v4, v6) => tx.getsockopt(netsock.constants.${family === 4 ? 'IPPROTO_IP' : 'IPPROTO_IPV6'}, netsock.constants[${family} === 4 ? v4 : v6])
        const readback = {}
        tx.setMulticastTTL(7)
        readback.ttl = read('IP_MULTICAST_TTL', 'IPV6_MULTICAST_HOPS')
        tx.send('ttl7', ${PORT}, '${group}')
        tx.setMulticastLoopback(false)
        readback.loop = read('IP_MULTICAST_LOOP', 'IPV6_MULTICAST_LOOP')
        tx.send('noloop', ${PORT}, '${group}')
        tx.setMulticastLoopback(true).setMulticastTTL(0)
        tx.send('ttl0', ${PORT}, '${group}')
        tx.send('end', ${PORT}, '${peer}')
        setTimeout(() => done({ got, readback }), 300)`,
        )
        expect(local.readback).toEqual({ ttl: 7, loop: 0 })
        expect(local.got).toEqual([
          { text: 'ttl7', ttl: 7 },
          { text: 'ttl0', ttl: 0 },
        ])
        const remote = await rx.result()
        expect(remote.map((m) => [m.text, m.ttl])).toEqual([
          ['ttl7', 7],
          ['noloop', 7],
        ])
      },
    )
  }

  testWithCaps(['CAP_NET_ADMIN'], 'the outgoing interface decides which link multicast leaves by', async () => {
    // B — A — C: A has a veth to each and no route for multicast.
    const a = createNetns('mcoa')
    const b = createNetns('mcob')
    const c = createNetns('mcoc')
    const [ab, ba] = linkNetns({ ns: a, cidr: '10.241.8.1/24' }, { ns: b, cidr: '10.241.8.2/24' })
    const [ac, ca] = linkNetns({ ns: a, cidr: '10.241.9.1/24' }, { ns: c, cidr: '10.241.9.2/24' })
    const group = '239.241.8.1'
    const rxB = await receiver(b, 'udp4', PORT, `s.addMembership('${group}', '${ba.ifname}')`)
    const rxC = await receiver(c, 'udp4', PORT, `s.addMembership('${group}', '${ca.address}')`)
    const out = await run(
      a,
      `
      const s = netsock.createSocket({ type: 'udp4' })
      s.setMulticastInterface('${ac.address}')
      const chosen = s.getOption('IP_MULTICAST_IF')
      s.send('via-c', ${PORT}, '${group}')
      s.setMulticastInterface(${ifindexOf(ab)})
      s.send('via-b', ${PORT}, '${group}')
      s.send('end', ${PORT}, '${ba.address}')
      s.send('end', ${PORT}, '${ca.address}')
      done({ chosen })`,
    )
    expect(out.chosen).toBe(ac.address)
    expect((await rxB.result()).map((m) => [m.text, m.from])).toEqual([['via-b', ab.address]])
    expect((await rxC.result()).map((m) => [m.text, m.from])).toEqual([['via-c', ac.address]])
  })
})
