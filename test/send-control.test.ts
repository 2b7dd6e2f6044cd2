// Per-datagram send control on loopback: ECN/TOS, TTL, source address, GSO
// per message, transmit timestamps and path-MTU options, read back by a
// receiver with ancillary data on. Real hops (a router that re-marks ECN,
// drops TTL, has a smaller MTU) are in test/send-control-netns.test.ts.
import { once } from 'node:events'
import { describe, expect, test } from 'vitest'
import { createSocket, type Socket, type TxTimestamp } from '../src/index.js'
import { bound, collect, sender, until } from './helpers/datagram.js'
import { portOf, track } from './helpers/sockets.js'

const LOOPBACK = { udp4: '127.0.0.1', udp6: '::1' } as const

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn()
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected the call to throw')
}

describe('sendMessage and sendMany entries carry their own control messages', () => {
  for (const type of ['udp4', 'udp6'] as const) {
    test(`${type}: ECN marks, TOS and TTL per datagram, in one sendMany and one by one, arrive as sent`, async () => {
      const rx = bound(type).setAncillary({ tos: true, ttl: true })
      const got = collect(rx)
      const tx = sender(type)
      const to = { port: portOf(rx), address: LOOPBACK[type] }
      const sent = tx.sendMany(
        [
          { data: Buffer.from('a'), ecn: 'ect0' },
          { data: Buffer.from('b'), ecn: 'ect1', ttl: 7 },
          { data: Buffer.from('c'), ecn: 'ce', tos: 0xb8 },
          Buffer.from('d'),
          { data: Buffer.from('e'), tos: 0x28, ecn: 0 },
        ],
        to.port,
        to.address,
      )
      expect(sent).toBe(5)
      expect(tx.sendMessage({ data: Buffer.from('f'), ...to, ecn: 3, ttl: 200 })).toBe(true)
      expect(tx.sendMessage({ data: Buffer.from('g'), ...to })).toBe(true) // no control: a plain send
      await until(() => got.length === 7, 'seven datagrams')
      const marks = got.map((m) => [m.data.toString(), m.rinfo.ecn, m.rinfo.tos, m.rinfo.ttl])
      expect(marks).toEqual([
        ['a', 2, 2, 64],
        ['b', 1, 1, 7],
        ['c', 3, 0xbb, 64],
        ['d', 0, 0, 64],
        ['e', 0, 0x28, 64],
        ['f', 3, 3, 200],
        ['g', 0, 0, 64],
      ])
      expect(tx.stats.sent).toBe(7)
    })
  }

  test('source: a datagram leaves from the local address asked for (127.0.0.2 on lo), another from the default', async () => {
    const rx = track(createSocket({ type: 'udp4' }).bind(0, '0.0.0.0'))
    const got = collect(rx)
    const tx = sender('udp4')
    tx.sendMessage({ data: Buffer.from('from .2'), port: portOf(rx), address: '127.0.0.1', source: '127.0.0.2' })
    tx.sendMessage({ data: Buffer.from('from .1'), port: portOf(rx), address: '127.0.0.1', interface: 'lo' })
    await until(() => got.length === 2, 'two datagrams')
    expect(got.map((m) => [m.data.toString(), m.rinfo.address])).toEqual([
      ['from .2', '127.0.0.2'],
      ['from .1', '127.0.0.1'],
    ])
  })

  test('segmentSize: one message becomes a train of datagrams (GSO, or separate datagrams without it), each with the control', async () => {
    const rx = bound('udp4').setAncillary({ tos: true })
    const got = collect(rx)
    const tx = sender('udp4')
    const data = Buffer.alloc(3000, 9)
    expect(tx.sendMessage({ data, port: portOf(rx), address: '127.0.0.1', segmentSize: 1200, ecn: 'ect1' })).toBe(true)
    await until(() => got.length === 3, 'three segments')
    expect(got.map((m) => [m.data.length, m.rinfo.ecn])).toEqual([
      [1200, 1],
      [1200, 1],
      [600, 1],
    ])
    expect(tx.stats.sent).toBe(3)
  })

  test('a dual-stack udp6 socket sends control to an IPv4-mapped destination with the IPv4 options', async () => {
    const rx = bound('udp4').setAncillary({ tos: true, ttl: true })
    const got = collect(rx)
    const tx = track(createSocket({ type: 'udp6' }))
    tx.sendMessage({ data: Buffer.from('m'), port: portOf(rx), address: '::ffff:127.0.0.1', ecn: 'ce', ttl: 9, source: '127.0.0.1' })
    await until(() => got.length === 1, 'the datagram')
    expect([got[0].rinfo.ecn, got[0].rinfo.ttl]).toEqual([3, 9])
  })

  test('bad control values are argument errors naming the field; nothing is sent', () => {
    const tx = sender('udp4')
    const base = { data: Buffer.from('x'), port: 9, address: '127.0.0.1' }
    expect(thrown(() => tx.sendMessage({ ...base, ecn: 'ect2' as never })).message).toContain('message.ecn')
    expect(thrown(() => tx.sendMessage({ ...base, ttl: 0 })).code).toBe('ERR_OUT_OF_RANGE')
    expect(thrown(() => tx.sendMessage({ ...base, tos: 256 })).code).toBe('ERR_OUT_OF_RANGE')
    expect(thrown(() => tx.sendMessage({ ...base, source: '::1' })).code).toBe('ERR_INVALID_ARG_VALUE')
    expect(thrown(() => tx.sendMessage({ ...base, interface: 'no-such-if0' })).code).toBe('ENODEV')
    expect(thrown(() => tx.sendMessage({ ...base, segmentSize: 70000 })).code).toBe('ERR_OUT_OF_RANGE')
    expect(thrown(() => tx.sendMany([{ ...base, ttl: 300 }])).message).toContain('list[0].ttl')
    expect(thrown(() => tx.sendMessage(null as never)).code).toBe('ERR_INVALID_ARG_TYPE')
    expect(tx.stats.sent).toBe(0)
  })
})

describe('transmit timestamps', () => {
  for (const type of ['udp4', 'udp6'] as const) {
    test(`${type}: N datagrams give N 'txtimestamp' events, ids 0..N-1, times in order and before each datagram's receive timestamp`, async () => {
      const N = 50
      const rx = bound(type).setAncillary({ timestamp: true })
      const got = collect(rx)
      const tx = sender(type).setTimestamping({ tx: true })
      const stamps: TxTimestamp[] = []
      tx.on('txtimestamp', (t) => stamps.push(t))
      for (let i = 0; i < N; i++) {
        const data = Buffer.alloc(8)
        data.writeUInt32LE(i)
        if (i % 2) tx.send(data, portOf(rx), LOOPBACK[type])
        else tx.sendMessage({ data, port: portOf(rx), address: LOOPBACK[type], ecn: 'ect0' })
      }
      await until(() => stamps.length === N && got.length === N, `${N} timestamps and datagrams`)
      expect(stamps.map((s) => s.id)).toEqual(Array.from({ length: N }, (_, i) => i))
      for (let i = 1; i < N; i++) expect(stamps[i].timeNs >= stamps[i - 1].timeNs).toBe(true)
      for (const m of got) {
        const seq = m.data.readUInt32LE(0)
        expect(stamps[seq].timeNs <= m.rinfo.timestampNs!, `datagram ${seq} left before it arrived`).toBe(true)
      }
      // Turned off: no more events.
      tx.setTimestamping({ tx: false })
      tx.send(Buffer.alloc(8), portOf(rx), LOOPBACK[type])
      await until(() => got.length === N + 1, 'the last datagram')
      await new Promise((r) => setTimeout(r, 20))
      expect(stamps).toHaveLength(N)
    })
  }

  test("timestamps and ICMP errors share the error queue: 'errorqueue' readers get the errors, 'txtimestamp' the timestamps", async () => {
    const tx = sender('udp4').setTimestamping({ tx: true }).setOption('IP_RECVERR', true)
    const stamps: TxTimestamp[] = []
    const errors: string[] = []
    tx.on('txtimestamp', (t) => stamps.push(t))
    tx.on('errorqueue', () => {
      for (let e; (e = tx.readErrorQueue());) errors.push(`${e.origin} ${e.type}/${e.code}`)
    })
    const closed = track(createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'))
    const port = portOf(closed)
    closed.close() // nobody listens: port unreachable
    tx.send(Buffer.from('x'), port, '127.0.0.1')
    await until(() => stamps.length === 1 && errors.length === 1, 'a timestamp and an error')
    expect(errors).toEqual(['icmp 3/3'])
    expect(stamps[0].id).toBe(0)
  })
})

describe('path MTU', () => {
  test("IP_MTU_DISCOVER and IPV6_MTU_DISCOVER take and report 'dont' | 'want' | 'do' | 'probe' (numbers are accepted)", () => {
    for (const [type, name] of [
      ['udp4', 'IP_MTU_DISCOVER'],
      ['udp6', 'IPV6_MTU_DISCOVER'],
    ] as const) {
      const s: Socket = track(createSocket({ type }))
      for (const mode of ['dont', 'want', 'do', 'probe'] as const) {
        s.setOption(name, mode)
        expect(s.getOption(name)).toBe(mode)
      }
      s.setOption(name, 1 as never)
      expect(s.getOption(name)).toBe('want')
      expect(thrown(() => s.setOption(name, 'sometimes')).code).toBe('ERR_INVALID_ARG_VALUE')
    }
  })

  test('pathMtu() of a connected socket is the route MTU; unconnected it is ENOTCONN', async () => {
    const s = track(createSocket({ type: 'udp6' }))
    expect(thrown(() => s.pathMtu()).code).toBe('ENOTCONN')
    await s.connect(9, '::1')
    expect(s.pathMtu()).toBe(65536)
    const t = track(createSocket({ type: 'udp4' }))
    await t.connect(9, '127.0.0.1')
    expect(t.pathMtu()).toBe(65535)
    void once
  })
})
