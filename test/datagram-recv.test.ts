// The receive side of the datagram path: 'batch' (zero-copy views into the
// socket's receive memory), 'message' (copies), recvInto, async iteration,
// truncation, GRO, ancillary data and IPv6 addresses.
//
// Lifetime of received bytes (checked below): a 'batch' hands out views into
// one receive memory that every later receive call overwrites. batch.data(i),
// batch.buffer contents, batch.rinfo(i) and batch.ancillary(i) are valid only
// until the handler returns; copy what you keep. 'message', async iteration
// and recvInto give copies / your own buffer.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { capabilities, createSocket, type RecvBatch } from '../src/index.js'
import { addon } from '../src/native.js'
import { bigReceiveBuffer, bound, collect, drainWithRecvInto, sender, sleep, until, within, type UdpKind } from './helpers/datagram.js'
import { portOf, track } from './helpers/sockets.js'

const { gso, gro } = capabilities()
const loIndex = addon.ifNameToIndex('lo')
const dist = path.resolve(__dirname, '../dist/cjs/index.js')

describe("'batch': zero-copy views", () => {
  test('views point into one receive memory that is the same for every batch', async () => {
    const rx = bound()
    const buffers: Buffer[] = []
    const batches: RecvBatch[] = []
    const seen: string[] = []
    rx.on('batch', (batch) => {
      buffers.push(batch.buffer)
      batches.push(batch)
      for (let i = 0; i < batch.length; i++) {
        const view = batch.data(i)
        expect(view.buffer).toBe(batch.buffer.buffer) // a view, not a copy
        expect(view.byteOffset - batch.buffer.byteOffset).toBe(batch.offset(i))
        expect(view.length).toBe(batch.size(i))
        expect(batch.buffer.toString('latin1', batch.offset(i), batch.offset(i) + batch.size(i))).toBe(view.toString('latin1'))
        seen.push(view.toString())
      }
      expect([...batch].map(String)).toEqual(Array.from({ length: batch.length }, (_, i) => batch.data(i).toString()))
    })
    const tx = sender()
    tx.send('one', portOf(rx))
    await until(() => seen.length === 1, 'the first batch')
    tx.sendMany([Buffer.from('two'), Buffer.from('three')], portOf(rx))
    await until(() => seen.length === 3, 'the second batch')
    expect(seen).toEqual(['one', 'two', 'three'])
    expect(buffers.length).toBeGreaterThanOrEqual(2)
    for (const b of buffers) expect(b).toBe(buffers[0])
    for (const b of batches) expect(b).toBe(batches[0]) // one RecvBatch object, reloaded per receive call
  })

  test('a view kept after the handler returns is overwritten by later datagrams (copy what you keep)', async () => {
    const rx = bound()
    const kept: Buffer[] = []
    const copies: Buffer[] = []
    rx.on('batch', (batch) => {
      kept.push(batch.data(0)) // wrong: a view into memory the next receive reuses
      copies.push(Buffer.from(batch.data(0))) // right
    })
    const tx = sender()
    tx.send('FIRST-DATAGRAM', portOf(rx))
    await until(() => kept.length === 1, 'the first batch')
    expect(kept[0].toString()).toBe('FIRST-DATAGRAM')
    tx.send('second-datagr!', portOf(rx))
    await until(() => kept.length === 2, 'the second batch')
    expect(kept[0].toString()).toBe('second-datagr!') // the first view now shows the second datagram
    expect(copies.map(String)).toEqual(['FIRST-DATAGRAM', 'second-datagr!'])
  })

  test('rinfo(i) gives each datagram its own sender, decoded when asked (a kept batch decodes whatever is there now)', async () => {
    const rx = bound()
    const a = bound()
    const b = bound()
    // Queue four datagrams from two senders before the receiver reads: one batch.
    a.send('a0', portOf(rx))
    b.send('b1', portOf(rx))
    a.send('a2', portOf(rx))
    b.send('b3', portOf(rx))
    const senders: { text: string; port: number; address: string; family: string; size: number }[] = []
    let keptBatch: RecvBatch | undefined
    rx.on('batch', (batch) => {
      keptBatch = batch
      for (let i = 0; i < batch.length; i++) senders.push({ text: batch.data(i).toString(), ...batch.rinfo(i) })
      expect(batch.rinfo(0)).not.toBe(batch.rinfo(0)) // decoded afresh on each call, nothing cached
      expect(() => batch.rinfo(batch.length)).toThrow(RangeError)
      expect(() => batch.data(-1)).toThrow(RangeError)
    })
    await until(() => senders.length === 4, '4 datagrams')
    expect(senders).toEqual([
      { text: 'a0', port: portOf(a), address: '127.0.0.1', family: 'IPv4', size: 2 },
      { text: 'b1', port: portOf(b), address: '127.0.0.1', family: 'IPv4', size: 2 },
      { text: 'a2', port: portOf(a), address: '127.0.0.1', family: 'IPv4', size: 2 },
      { text: 'b3', port: portOf(b), address: '127.0.0.1', family: 'IPv4', size: 2 },
    ])
    b.send('later', portOf(rx))
    await until(() => senders.length === 5, 'a fifth datagram')
    // The batch kept from before now describes the new receive: slot 0 is b's datagram.
    expect(keptBatch!.rinfo(0).port).toBe(portOf(b))
  })

  test("'message' delivers copies with rinfo { address, family, port, size }", async () => {
    const rx = bound()
    const tx = bound()
    let batchMemory: ArrayBuffer | undefined
    rx.on('batch', (batch) => (batchMemory = batch.buffer.buffer as ArrayBuffer))
    const got = collect(rx)
    tx.send('copy me', portOf(rx))
    await until(() => got.length === 1, 'a datagram')
    expect(got[0].data).toBeInstanceOf(Buffer)
    expect(got[0].data.toString()).toBe('copy me')
    expect(got[0].data.buffer).not.toBe(batchMemory)
    expect(got[0].rinfo).toEqual({ address: '127.0.0.1', family: 'IPv4', port: portOf(tx), size: 7 })
  })

  test("'batch' and 'message' listeners at once both get every datagram, the batch first", async () => {
    const rx = bound()
    const order: string[] = []
    rx.on('message', (m) => order.push(`message:${m}`))
    rx.on('batch', (batch) => {
      for (const view of batch) order.push(`batch:${view}`)
    })
    const tx = sender()
    const list = Array.from({ length: 20 }, (_, i) => Buffer.from(`d${i}`))
    tx.sendMany(list, portOf(rx))
    await until(() => order.length === 40, '20 datagrams twice')
    expect(order.filter((e) => e.startsWith('batch:'))).toEqual(list.map((d) => `batch:${d}`))
    expect(order.filter((e) => e.startsWith('message:'))).toEqual(list.map((d) => `message:${d}`))
    expect(order[0]).toBe('batch:d0')
    expect(rx.stats.received).toBe(20) // counted once, however many listeners
  })

  test('removing every listener stops reading: later datagrams wait in the kernel for recvInto', async () => {
    const rx = bound()
    const got = collect(rx)
    const onBatch = (): void => {}
    rx.on('batch', onBatch)
    const tx = sender()
    tx.send('read', portOf(rx))
    await until(() => got.length === 1, 'the first datagram')
    rx.removeAllListeners('message')
    rx.off('batch', onBatch)
    await sleep(5) // the poll stops on the next tick
    tx.sendMany([Buffer.from('kept-1'), Buffer.from('kept-2')], portOf(rx))
    await sleep(50)
    expect(rx.stats.received).toBe(1)
    expect(drainWithRecvInto(rx).map(String)).toEqual(['kept-1', 'kept-2'])
    // A new listener starts reading again.
    const again = collect(rx)
    tx.send('again', portOf(rx))
    await until(() => again.length === 1, 'a datagram after re-listening')
    expect(again[0].data.toString()).toBe('again')
  })

  // Regression (fixed in src/datagram-io.ts) #deliver (lines ~410-420, 'for (let i = 0; i < batch.length ...'):
  // a batch is read from the kernel whole, then handed to 'message' listeners
  // one datagram at a time. When the last listener goes away mid-batch
  // (socket.once('message'), events.once(socket, 'message')), the rest of the
  // batch has been read and counted in stats.received but is delivered to no
  // one: silently lost, not in stats.dropped, not left for recvInto. Fix: stop
  // at the first datagram nobody consumes and keep the remainder (copied) for
  // the next consumer, or read one datagram per call while only once-listeners
  // are attached; at least count the loss.
  test('datagrams a once("message") listener did not take stay readable', async () => {
    const rx = bound()
    const tx = sender()
    tx.sendMany(
      [0, 1, 2, 3, 4].map((i) => Buffer.from([i])),
      portOf(rx),
    )
    await sleep(10)
    const first = await within(new Promise<Buffer>((resolve) => rx.once('message', resolve)), 2000, 'a message')
    expect(first[0]).toBe(0)
    await sleep(10)
    expect(drainWithRecvInto(rx).map((d) => d[0])).toEqual([1, 2, 3, 4])
  })
})

describe('truncation', () => {
  test('a datagram larger than recvMessageSize: batch flags it, message delivers the slot, stats count it', async () => {
    const rx = bound('udp4', { recvMessageSize: 100 })
    const flags: { size: number; original: number; truncated: boolean }[] = []
    rx.on('batch', (batch) => {
      for (let i = 0; i < batch.length; i++) flags.push({ size: batch.size(i), original: batch.originalSize(i), truncated: batch.truncated(i) })
    })
    const got = collect(rx)
    const tx = sender()
    const big = Buffer.alloc(300)
    for (let i = 0; i < 300; i++) big[i] = i & 0xff
    tx.send(big, portOf(rx))
    tx.send(Buffer.alloc(100, 1), portOf(rx)) // exactly a slot: not truncated
    await until(() => got.length === 2, '2 datagrams')
    expect(flags).toEqual([
      { size: 100, original: 300, truncated: true },
      { size: 100, original: 100, truncated: false },
    ])
    expect(got[0].data.equals(big.subarray(0, 100))).toBe(true)
    expect(rx.stats).toMatchObject({ received: 2, truncated: 1, bytesReceived: 200 })
  })

  // Regression (fixed in src/recv-batch.ts:150) (RecvBatch.rinfo): the size passed to
  // decodeSockaddr is the stored length (#length[i]), but RemoteInfo.size is
  // documented (src/sockaddr.ts) as "the real size, even when truncated" — and
  // recvInto does report the real size. Fix: pass this.originalSize(i).
  test("rinfo.size is the datagram's real size when it was truncated", async () => {
    const rx = bound('udp4', { recvMessageSize: 100 })
    const got = collect(rx)
    sender().send(Buffer.alloc(300), portOf(rx))
    await until(() => got.length === 1, 'a datagram')
    expect(got[0].data.length).toBe(100)
    expect(got[0].rinfo.size).toBe(300)
  })

  test('recvInto with a short buffer reports { bytes, size, truncated }', async () => {
    const rx = bound()
    const tx = sender()
    tx.send(Buffer.alloc(300, 9), portOf(rx))
    tx.send(Buffer.alloc(5, 8), portOf(rx))
    await sleep(10)
    const buf = Buffer.alloc(10)
    const r = rx.recvInto(buf)
    expect(r).toMatchObject({ bytes: 10, size: 300, truncated: true, rinfo: { address: '127.0.0.1', port: portOf(tx), size: 300 } })
    expect(buf.equals(Buffer.alloc(10, 9))).toBe(true)
    expect(rx.recvInto(buf)).toMatchObject({ bytes: 5, size: 5, truncated: false })
    expect(rx.stats).toMatchObject({ received: 2, truncated: 1, bytesReceived: 15 })
  })
})

describe('GRO', () => {
  test.skipIf(!gso || !gro)('a GSO train to a UDP_GRO receiver arrives as its 10 datagrams of 1000, split by the cmsg segment size', async () => {
    const rx = bound()
    rx.setOption('UDP_GRO', true)
    const views: { size: number; segment: number; first: number; original: number }[] = []
    rx.on('batch', (batch) => {
      for (let i = 0; i < batch.length; i++) {
        views.push({ size: batch.size(i), segment: batch.segmentSize(i), first: batch.data(i)[0], original: batch.originalSize(i) })
      }
    })
    const data = Buffer.alloc(10_000)
    for (let k = 0; k < 10; k++) data.fill(k, k * 1000, (k + 1) * 1000)
    expect(sender().sendSegments(data, 1000, portOf(rx))).toBe(true)
    await until(() => views.length >= 10, '10 datagrams')
    await sleep(20)
    expect(views.map((v) => v.first)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    for (const v of views) {
      expect(v.size).toBe(1000)
      expect(v.original).toBe(1000)
      // 1000 when the kernel coalesced the train (loopback does for GSO sends to a GRO socket), 0 when not.
      expect([0, 1000]).toContain(v.segment)
    }
    expect(rx.stats.received).toBe(10)
  })

  test.skipIf(!gso || !gro)("an uneven GRO train splits into full segments and a shorter last one; 'message' gets them one by one", async () => {
    const rx = bound()
    rx.setOption('UDP_GRO', true)
    const got = collect(rx)
    const data = Buffer.alloc(9500)
    for (let k = 0; k < 10; k++) data.fill(k + 1, k * 1000, Math.min((k + 1) * 1000, 9500))
    sender().sendSegments(data, 1000, portOf(rx))
    await until(() => got.length >= 10, '10 datagrams')
    expect(got.map((m) => m.data.length)).toEqual([...Array(9).fill(1000), 500])
    expect(got.map((m) => m.data[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(got.map((m) => m.rinfo.size)).toEqual([...Array(9).fill(1000), 500])
  })

  // Regression (fixed in src/recv-batch.ts:129-139) (truncated/originalSize) with UDP_GRO: when a
  // coalesced train is longer than recvMessageSize, MSG_TRUNC belongs to the
  // whole train, so every piece reports truncated(i) true (and stats.truncated
  // counts each), including segments that arrived whole, while the piece that
  // was really cut reports originalSize(i) === size(i) (500, not 1000). The
  // segments beyond the slot vanish uncounted. Fix: for a GRO piece, truncated
  // only when it is the last stored piece and shorter than the segment (or the
  // train was cut), originalSize = segment size for a cut piece, and count the
  // segments lost past the slot (e.g. in stats.truncated or a new counter).
  test.skipIf(!gso || !gro)('a GRO train cut by a small recvMessageSize flags only the cut segment', async () => {
    const rx = bound('udp4', { recvMessageSize: 2500 })
    rx.setOption('UDP_GRO', true)
    const flags: { size: number; truncated: boolean; original: number }[] = []
    rx.on('batch', (batch) => {
      for (let i = 0; i < batch.length; i++) flags.push({ size: batch.size(i), truncated: batch.truncated(i), original: batch.originalSize(i) })
    })
    sender().sendSegments(Buffer.alloc(9500, 1), 1000, portOf(rx))
    await until(() => flags.length >= 3, 'the cut train')
    expect(flags).toEqual([
      { size: 1000, truncated: false, original: 1000 },
      { size: 1000, truncated: false, original: 1000 },
      { size: 500, truncated: true, original: 1000 },
    ])
  })
})

describe('ancillary data', () => {
  const cases: { type: UdpKind; ttlOption: string; tosOption: string; destination: string }[] = [
    { type: 'udp4', ttlOption: 'IP_TTL', tosOption: 'IP_TOS', destination: '127.0.0.1' },
    { type: 'udp6', ttlOption: 'IPV6_UNICAST_HOPS', tosOption: 'IPV6_TCLASS', destination: '::1' },
  ]
  for (const { type, ttlOption, tosOption, destination } of cases) {
    test(`${type}: ttl, tos with ECN bits, pktinfo and timestamp arrive in 'message', batch.ancillary(i) and recvInto`, async () => {
      const rx = bound(type).setAncillary({ ttl: true, tos: true, pktinfo: true, timestamp: true })
      const tx = bound(type)
      tx.setOption(ttlOption, 33)
      tx.setOption(tosOption, 0x29) // DSCP AF11 (0x28) + ECT(1): UDP keeps the ECN bits
      const fromBatch: object[] = []
      rx.on('batch', (batch) => {
        for (let i = 0; i < batch.length; i++) fromBatch.push(batch.ancillary(i))
      })
      const got = collect(rx)
      tx.send('anc', portOf(rx))
      await until(() => got.length === 1, 'a datagram')
      const expected = { ttl: 33, tos: 0x29, ecn: 1, destination, ifindex: loIndex, timestampNs: expect.any(BigInt) }
      const nowNs = BigInt(Date.now()) * 1_000_000n
      expect(got[0].rinfo).toEqual({ address: destination, family: type === 'udp4' ? 'IPv4' : 'IPv6', port: portOf(tx), size: 3, ...expected })
      const skew = got[0].rinfo.timestampNs - nowNs
      expect(skew < 0n ? -skew : skew).toBeLessThan(5_000_000_000n)
      expect(fromBatch).toEqual([expected])
      // recvInto reads the same fields.
      rx.removeAllListeners('message')
      rx.removeAllListeners('batch')
      await sleep(5)
      tx.send('into', portOf(rx))
      await sleep(10)
      const r = rx.recvInto(Buffer.alloc(16))
      expect(r?.rinfo).toMatchObject(expected)
    })
  }

  test('without setAncillary rinfo has only the sender; setAncillary(false) turns a field off again', async () => {
    const rx = bound()
    const tx = bound()
    const got = collect(rx)
    tx.send('plain', portOf(rx))
    await until(() => got.length === 1, 'a datagram')
    expect(Object.keys(got[0].rinfo).sort()).toEqual(['address', 'family', 'port', 'size'])
    rx.setAncillary({ ttl: true, tos: true })
    tx.send('with', portOf(rx))
    await until(() => got.length === 2, 'a second datagram')
    expect(Object.keys(got[1].rinfo).sort()).toEqual(['address', 'ecn', 'family', 'port', 'size', 'tos', 'ttl'])
    rx.setAncillary({ ttl: false })
    tx.send('less', portOf(rx))
    await until(() => got.length === 3, 'a third datagram')
    expect(Object.keys(got[2].rinfo).sort()).toEqual(['address', 'ecn', 'family', 'port', 'size', 'tos'])
    expect(() => rx.setAncillary({ ttl: 1 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => rx.setAncillary(null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })
})

describe('IPv6 addresses', () => {
  test('udp6 sends and receives on ::1', async () => {
    const rx = bound('udp6')
    const tx = bound('udp6')
    const got = collect(rx)
    tx.send('six', portOf(rx), '::1')
    await until(() => got.length === 1, 'a datagram')
    expect(got[0].rinfo).toEqual({ address: '::1', family: 'IPv6', port: portOf(tx), size: 3 })
  })

  test('a dual-stack udp6 socket sees an IPv4 sender as ::ffff:127.0.0.1 and answers it', async () => {
    // Bound to the v4-mapped loopback: dual-stack, yet reachable only over 127.0.0.1.
    const rx = track(createSocket({ type: 'udp6', ipv6Only: false })).bind(0, '::ffff:127.0.0.1')
    rx.setAncillary({ pktinfo: true, ttl: true })
    const v4 = bound('udp4')
    const got = collect(rx)
    const replies = collect(v4)
    v4.send('from v4', portOf(rx), '127.0.0.1')
    await until(() => got.length === 1, 'a datagram')
    expect(got[0].rinfo).toMatchObject({
      address: '::ffff:127.0.0.1',
      family: 'IPv6',
      port: portOf(v4),
      size: 7,
      destination: '::ffff:127.0.0.1',
      ifindex: loIndex,
    })
    rx.send('reply', got[0].rinfo.port, got[0].rinfo.address)
    rx.send('reply2', portOf(v4), '127.0.0.1') // an IPv4 literal on a udp6 socket means the mapped address
    await until(() => replies.length === 2, 'two replies')
    expect(replies.map((m) => [m.data.toString(), m.rinfo.address, m.rinfo.port])).toEqual([
      ['reply', '127.0.0.1', portOf(rx)],
      ['reply2', '127.0.0.1', portOf(rx)],
    ])
  })
})

// Regression (fixed in src/socket.ts) setAncillary: on a udp6 socket it sets only the IPv6
// options (IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS). For IPv4 datagrams arriving on
// a dual-stack socket the kernel reports TTL and TOS only under the IPv4
// options (udpv6_recvmsg -> ip_cmsg_recv_offset), so ttl/tos are silently
// missing for v4-mapped senders. Fix: on a udp6 socket that is not
// IPV6_V6ONLY, also set IP_RECVTTL / IP_RECVTOS (cmsg.cc already parses
// IPPROTO_IP cmsgs on any socket).
test('setAncillary on a dual-stack udp6 socket reports ttl and tos of IPv4 senders too', async () => {
  const rx = track(createSocket({ type: 'udp6', ipv6Only: false })).bind(0, '::ffff:127.0.0.1')
  rx.setAncillary({ ttl: true, tos: true })
  const v4 = sender('udp4')
  v4.setOption('IP_TTL', 33)
  v4.setOption('IP_TOS', 0x29)
  const got = collect(rx)
  v4.send('mapped', portOf(rx), '127.0.0.1')
  await until(() => got.length === 1, 'a datagram')
  expect(got[0].rinfo).toMatchObject({ ttl: 33, tos: 0x29 })
})

describe('recvInto', () => {
  test('returns null when nothing waits, then reads one datagram per call', async () => {
    const rx = bound()
    const buf = Buffer.alloc(64)
    expect(rx.recvInto(buf)).toBeNull()
    const tx = sender()
    tx.sendMany([Buffer.from('first'), Buffer.from('second')], portOf(rx))
    await sleep(10)
    expect(rx.recvInto(buf)).toMatchObject({ bytes: 5, size: 5, truncated: false, rinfo: { address: '127.0.0.1', family: 'IPv4', port: portOf(tx) } })
    expect(buf.toString('latin1', 0, 5)).toBe('first')
    expect(rx.recvInto(buf)).toMatchObject({ bytes: 6 })
    expect(buf.toString('latin1', 0, 6)).toBe('second')
    expect(rx.recvInto(buf)).toBeNull()
  })

  test('offset and length are honoured; bytes outside them are untouched', async () => {
    const rx = bound()
    const tx = sender()
    tx.send('ABCDEFGH', portOf(rx))
    tx.send('xyz', portOf(rx))
    await sleep(10)
    const buf = Buffer.alloc(16, '.')
    expect(rx.recvInto(buf, 4, 5)).toMatchObject({ bytes: 5, size: 8, truncated: true })
    expect(buf.toString()).toBe('....ABCDE.......')
    const u16 = new Uint16Array(8)
    expect(rx.recvInto(u16, 2)).toMatchObject({ bytes: 3 }) // offsets count bytes
    expect(Buffer.from(u16.buffer).toString('latin1', 0, 6)).toBe('\0\0xyz\0')
    expect(() => rx.recvInto(buf, 17)).toThrow(RangeError)
    expect(() => rx.recvInto(buf, 4, 13)).toThrow(RangeError)
    expect(() => rx.recvInto('nope' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })
})

describe('async iteration', () => {
  test('for await (const { data, rinfo } of socket) receives copies in order', async () => {
    const rx = bound()
    const tx = sender()
    tx.sendMany([Buffer.from('i0'), Buffer.from('i1'), Buffer.from('i2')], portOf(rx))
    const got: string[] = []
    await within(
      (async () => {
        for await (const { data, rinfo } of rx) {
          expect(rinfo).toMatchObject({ address: '127.0.0.1', family: 'IPv4', size: 2 })
          got.push(data.toString())
          if (got.length === 3) break
        }
      })(),
      5000,
      'three iterations',
    )
    expect(got).toEqual(['i0', 'i1', 'i2'])
  })

  test('memory is bounded: a consumer that does not pull holds at most highWaterMark + recvBatchSize - 1; reading resumes as it consumes', async () => {
    // Reading pauses once an iterator holds highWaterMark items, but checks
    // only between receive calls, so one recvmmsg of up to recvBatchSize may
    // land on top of highWaterMark - 1 (src/datagram-io.ts wantsReadable/onReadable).
    const HWM = 8
    const BATCH = 4
    const TOTAL = 100
    const rx = bigReceiveBuffer(bound('udp4', { recvBatchSize: BATCH }))
    const it = rx.messages({ highWaterMark: HWM })
    const tx = sender()
    for (let i = 0; i < TOTAL; i++) tx.send(Buffer.from([i]), portOf(rx))
    await until(() => rx.stats.received >= HWM, 'the iterator to fill')
    await sleep(100) // nothing more may be read while nobody pulls
    expect(rx.stats.received).toBeGreaterThanOrEqual(HWM)
    expect(rx.stats.received).toBeLessThanOrEqual(HWM + BATCH - 1)
    expect(rx.stats.dropped).toBe(0) // the rest waits in the kernel
    const got: number[] = []
    await within(
      (async () => {
        for (let i = 0; i < TOTAL; i++) {
          const r = await it.next()
          got.push(r.value!.data[0])
          expect(rx.stats.received - got.length).toBeLessThanOrEqual(HWM + BATCH - 1)
        }
      })(),
      5000,
      `${TOTAL} items`,
    )
    expect(got).toEqual(Array.from({ length: TOTAL }, (_, i) => i))
    await it.return!()
  })

  // Regression (fixed in src/datagram-io.ts) #deliver/wantsReadable: an iterator's highWaterMark
  // only pauses reading when nothing else wants datagrams. With a 'message' (or
  // 'batch') listener on the same socket, reading never pauses and #deliver
  // pushes every datagram into the iterator's queue regardless of `full`, so a
  // consumer that does not pull grows without bound — contrary to messages()'s
  // "Memory is bounded". Fix: in #deliver skip (and count, e.g. stats.dropped
  // or a new 'overflow' counter) iterators that are full.
  test("an iterator stays bounded while a 'message' listener keeps the socket reading", async () => {
    const rx = bigReceiveBuffer(bound())
    const it = rx.messages({ highWaterMark: 8 })
    const got = collect(rx)
    const tx = sender()
    tx.sendMany(
      Array.from({ length: 200 }, (_, i) => Buffer.from([i])),
      portOf(rx),
    )
    await until(() => got.length === 200, 'the listener to get everything')
    let buffered = 0
    for (let i = 0; i < 300; i++) {
      const r = await within(Promise.race([it.next(), sleep(20).then(() => null)]), 1000, 'next')
      if (r === null || r.done) break
      buffered++
    }
    await it.return!()
    expect(buffered).toBeLessThanOrEqual(8 + 64 - 1)
  })

  test('an AbortSignal ends the iteration with an AbortError: a waiting loop, an already aborted signal at once; reading stops', async () => {
    const ended = (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'finished without an AbortError',
        (err: Error) => (err.name === 'AbortError' ? 'ended' : `threw ${err}`),
      )
    const rx = bound()
    const ac = new AbortController()
    const tx = sender()
    tx.send('before', portOf(rx))
    const got: string[] = []
    const loop = (async () => {
      for await (const { data } of rx.messages({ signal: ac.signal })) got.push(data.toString())
    })()
    await until(() => got.length === 1, 'the first item')
    ac.abort()
    expect(await within(ended(loop), 2000, 'the loop to end')).toBe('ended')
    const it = rx.messages({ signal: AbortSignal.abort() })
    const first = await within(ended(it.next().then((r) => Promise.reject(new Error(r.done ? 'done' : 'got an item')))), 1000, 'next')
    expect(first).toBe('ended')
    // The ended iterations no longer read: a later datagram stays for recvInto.
    await sleep(5)
    tx.send('after', portOf(rx))
    await sleep(20)
    expect(got).toEqual(['before'])
    expect(drainWithRecvInto(rx).map(String)).toEqual(['after'])
  })

  // Regression (fixed in src/socket.ts) messages() (line ~565, signal.addEventListener('abort', ...)):
  // the abort listener is never removed when the iteration ends another way
  // (break/return, close). A long-lived signal shared by many iterations (a
  // server's shutdown signal) collects one listener per iteration, each holding
  // its iterator. Fix: remove the listener when the iterator ends (e.g. pass a
  // cleanup to MessageIterator, or use addAbortListener and dispose it).
  test('an iteration that ends by break/return leaves no listener on its AbortSignal', async () => {
    const { getEventListeners } = await import('node:events')
    const rx = bound()
    const ac = new AbortController()
    for (let i = 0; i < 5; i++) await rx.messages({ signal: ac.signal }).return!()
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0)
  })

  test('break returns the iterator and stops reading', async () => {
    const rx = bound()
    const tx = sender()
    tx.sendMany([Buffer.from('x'), Buffer.from('y')], portOf(rx))
    await within(
      (async () => {
        for await (const _ of rx) break
      })(),
      2000,
      'one item',
    )
    await sleep(5)
    const before = rx.stats.received
    tx.send('z', portOf(rx))
    await sleep(20)
    expect(rx.stats.received).toBe(before)
    expect(drainWithRecvInto(rx).map(String)).toContain('z')
  })

  test('messages() validates its options', () => {
    const rx = bound()
    expect(() => rx.messages({ highWaterMark: 0 })).toThrow(RangeError)
    expect(() => rx.messages({ signal: 'x' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => rx.messages(null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })

  // Regression (fixed in src/datagram-io.ts) onReadable (line ~394 'host.emit(\'error\', systemError(n, \'recvmmsg\'))'):
  // a receive error (here ECONNREFUSED on a connected socket whose peer port is
  // closed, man 7 udp) is only emitted as 'error'. An iterator-only consumer has
  // no 'error' listener, so EventEmitter throws from the poll callback and the
  // process dies with an uncaught exception, while the iterator stays pending.
  // failIterators() (line ~472) exists for this but is never called. Fix: on a
  // receive error, failIterators(err) and emit 'error' only when someone
  // listens for it (or when no iterator took the error).
  test('a receive error rejects a pending iterator instead of crashing the process', () => {
    const script = `
      const n = require(${JSON.stringify(dist)})
      const gone = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'); const port = gone.address().port; gone.close()
      const s = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      s.connect(port, '127.0.0.1')
      setTimeout(() => { console.log('pending'); process.exit(0) }, 1000)
      ;(async () => {
        try { for await (const m of s) {} ; console.log('ended') } catch (e) { console.log('rejected ' + e.code) }
        process.exit(0)
      })()
      s.send('x')`
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 })
    expect(child.status).toBe(0)
    expect(child.stdout.trim()).toBe('rejected ECONNREFUSED')
  })
})
