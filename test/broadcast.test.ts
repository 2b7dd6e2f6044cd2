// Broadcast: without SO_BROADCAST the kernel refuses a broadcast destination
// with EACCES (man 7 ip), and the error says how to get past it; with it, a
// datagram to the subnet broadcast address and to 255.255.255.255 crosses a
// veth pair into another namespace. Subnet 10.242.0.0/24, made and removed here.
import { afterAll, describe, expect, test } from 'vitest'
import { createSocket } from '../src/index.js'
import { cleanupNetns, createNetns, linkNetns } from './helpers/netns.js'
import { receiver, run } from './helpers/ns-udp.js'
import { testWithCaps } from './helpers/privilege.js'
import { portOf, track } from './helpers/sockets.js'

afterAll(cleanupNetns)

const HINT = /needs SO_BROADCAST: createSocket\(\{ broadcast: true \}\) or setOption\('SO_BROADCAST', true\)/

describe('on loopback (127.255.255.255 is the broadcast address of 127.0.0.0/8)', () => {
  test('send without SO_BROADCAST is EACCES with a hint naming SO_BROADCAST', () => {
    const rx = track(createSocket({ type: 'udp4' })).bind(0)
    const tx = track(createSocket({ type: 'udp4' }))
    expect(tx.getOption('SO_BROADCAST')).toBe(false)
    let err: any
    try {
      tx.send(Buffer.from('x'), portOf(rx), '127.255.255.255')
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({
      code: 'EACCES',
      errno: -13,
      syscall: 'sendto',
      address: '127.255.255.255',
      port: portOf(rx),
      hint: expect.stringMatching(HINT),
    })
    expect(err.message).toMatch(new RegExp(`^sendto EACCES 127\\.255\\.255\\.255:${portOf(rx)} \\(sending to a broadcast address`))
    expect(() => tx.sendMany([Buffer.from('a'), Buffer.from('b')], portOf(rx), '127.255.255.255')).toThrow(
      expect.objectContaining({ code: 'EACCES', syscall: 'sendmmsg', sent: 0, hint: expect.stringMatching(HINT) }),
    )
  })

  test('with broadcast: true (or SO_BROADCAST set later) the datagram is delivered', async () => {
    const rx = track(createSocket({ type: 'udp4' }))
      .bind(0)
      .setAncillary({ pktinfo: true })
    const got: { text: string; destination?: string }[] = []
    rx.on('message', (m, r) => got.push({ text: m.toString(), destination: r.destination }))
    track(createSocket({ type: 'udp4', broadcast: true })).send(Buffer.from('one'), portOf(rx), '127.255.255.255')
    const later = track(createSocket({ type: 'udp4' })).setOption('SO_BROADCAST', true)
    later.send(Buffer.from('two'), portOf(rx), '127.255.255.255')
    const deadline = Date.now() + 5000
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(got).toEqual([
      { text: 'one', destination: '127.255.255.255' },
      { text: 'two', destination: '127.255.255.255' },
    ])
  })
})

testWithCaps(
  ['CAP_NET_ADMIN'],
  'across a veth pair: EACCES without SO_BROADCAST; with it the subnet broadcast and 255.255.255.255 (SO_BINDTODEVICE) arrive',
  async () => {
    const a = createNetns('bca')
    const b = createNetns('bcb')
    const [ea, eb] = linkNetns({ ns: a, cidr: '10.242.0.1/24' }, { ns: b, cidr: '10.242.0.2/24' })
    const PORT = 41242
    const rx = await receiver(b, 'udp4', PORT)
    const out = await run(
      a,
      `
    const plain = netsock.createSocket({ type: 'udp4' })
    const refused = attempt(() => plain.send('no', ${PORT}, '10.242.0.255'))
    plain.setOption('SO_BINDTODEVICE', '${ea.ifname}')
    const refusedLimited = attempt(() => plain.send('no', ${PORT}, '255.255.255.255'))
    const s = netsock.createSocket({ type: 'udp4', broadcast: true })
    // The namespace has no default route: the limited broadcast needs an interface.
    const unrouted = attempt(() => s.send('no', ${PORT}, '255.255.255.255'))
    s.send('subnet', ${PORT}, '10.242.0.255')
    s.setOption('SO_BINDTODEVICE', '${ea.ifname}')
    s.send('limited', ${PORT}, '255.255.255.255')
    s.send('end', ${PORT}, '${eb.address}')
    done({ refused, refusedLimited, unrouted })`,
    )
    expect(out.refused.error).toMatchObject({
      code: 'EACCES',
      message: expect.stringMatching(/^sendto EACCES 10\.242\.0\.255:41242 \(sending to a broadcast address needs SO_BROADCAST/),
    })
    expect(out.refused.error.hint).toMatch(HINT)
    expect(out.refusedLimited.error).toMatchObject({ code: 'EACCES', hint: expect.stringMatching(HINT) })
    expect(out.unrouted.error).toMatchObject({ code: 'ENETUNREACH' })
    const got = await rx.result()
    expect(got.map(({ text, from, destination }) => ({ text, from, destination }))).toEqual([
      { text: 'subnet', from: ea.address, destination: '10.242.0.255' },
      { text: 'limited', from: ea.address, destination: '255.255.255.255' },
    ])
  },
)
