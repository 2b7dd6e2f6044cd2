// perf.client() and perf.server() against each other on loopback: the
// events a run yields, what both ends agree on after the results exchange,
// latency mode, and how each kind of failure ends (never a hang).
import net from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { createSocket, perf, Socket } from '../src/index.js'

type Ev = perf.PerfClientEvent | perf.PerfServerEvent

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

/** A one-test server on an ephemeral loopback port; its events, collected. */
async function oneOffServer(options: perf.PerfServerOptions = {}): Promise<{ port: number; events: Promise<perf.PerfServerEvent[]> }> {
  const ac = new AbortController()
  cleanups.push(() => ac.abort())
  const it = perf.server({ port: 0, address: '127.0.0.1', oneOff: true, signal: ac.signal, ...options })
  const first = await it.next()
  if (first.value?.type !== 'listening') throw new Error('no listening event')
  const events = (async () => {
    const out: perf.PerfServerEvent[] = []
    for await (const ev of it) out.push(ev)
    return out
  })()
  return { port: first.value.port, events }
}

async function collect(it: AsyncIterable<Ev>): Promise<Ev[]> {
  const out: Ev[] = []
  for await (const ev of it) out.push(ev)
  return out
}

const only = <T extends Ev['type']>(events: Ev[], type: T): Extract<Ev, { type: T }>[] => events.filter((e) => e.type === type) as Extract<Ev, { type: T }>[]

describe('netsock perf client against netsock perf server (loopback)', () => {
  test('a UDP test yields start, intervals and a summary both ends agree on', async () => {
    const server = await oneOffServer()
    const events = await collect(perf.client({ host: '127.0.0.1', port: server.port, udp: true, bitrate: 20e6, length: 1200, time: 1.5, interval: 0.5 }))
    const serverEvents = await server.events
    expect(events[0].type).toBe('start')
    expect(events.at(-1)!.type).toBe('summary')
    const intervals = only(events, 'interval')
    expect(intervals.length).toBeGreaterThanOrEqual(2)
    for (const iv of intervals) {
      expect(iv.sum.bytes).toBe(iv.streams.reduce((a, s) => a + s.bytes, 0))
      expect(iv.streams[0].sender).toBe(true)
      expect(iv.streams[0].bytes).toBe((iv.streams[0].packets ?? 0) * 1200)
    }
    const c = only(events, 'summary')[0]
    const s = only(serverEvents, 'summary')[0]
    expect(c.protocol).toBe('udp')
    expect(c.sent.bytes).toBe((c.sent.packets ?? 0) * 1200)
    // Each end measured one side and learned the other from the results exchange.
    expect(s.sent.packets).toBe(c.sent.packets)
    expect(c.received.packets).toBe(s.received.packets)
    expect(c.received.lostPackets).toBe(s.received.lostPackets)
    expect(c.received.duplicates).toBe(0)
    expect(c.received.packets).toBeLessThanOrEqual(c.sent.packets!)
    expect(s.received.bytes).toBeLessThanOrEqual(c.sent.bytes)
    expect(c.received.jitterMs).toBeGreaterThanOrEqual(0)
    expect(c.cpu.remote.total).toBeCloseTo(s.cpu.local.total, 6)
    expect(c.sent.datagramsPerSecond).toBeCloseTo(c.sent.packets! / c.sent.seconds, 6)
  }, 30_000)

  test("the summary's json is iperf3's document: start, intervals and end with iperf3's keys", async () => {
    const server = await oneOffServer()
    const events = await collect(perf.client({ host: '127.0.0.1', port: server.port, udp: true, bitrate: 5e6, length: 1000, time: 1, interval: 0.5 }))
    await server.events
    const { json } = only(events, 'summary')[0]
    expect(json.start).toMatchObject({
      connected: [{ socket: expect.any(Number), local_host: '127.0.0.1', remote_host: '127.0.0.1', remote_port: server.port }],
      connecting_to: { host: '127.0.0.1', port: server.port },
      cookie: expect.stringMatching(/^[a-z2-7]{36}$/),
      test_start: { protocol: 'UDP', num_streams: 1, blksize: 1000, duration: 1, reverse: 0, target_bitrate: 5e6 },
    })
    expect(json.intervals.length).toBe(only(events, 'interval').length)
    expect(json.intervals[0]).toMatchObject({
      streams: [{ start: 0, bytes: expect.any(Number), bits_per_second: expect.any(Number), packets: expect.any(Number), sender: true }],
    })
    expect(json.end).toMatchObject({
      streams: [
        {
          udp: {
            bytes: expect.any(Number),
            jitter_ms: expect.any(Number),
            lost_packets: expect.any(Number),
            packets: expect.any(Number),
            lost_percent: expect.any(Number),
            out_of_order: 0,
          },
        },
      ],
      sum_sent: { bytes: expect.any(Number), packets: expect.any(Number), sender: true },
      sum_received: { bytes: expect.any(Number), lost_percent: expect.any(Number), sender: false },
      cpu_utilization_percent: { host_total: expect.any(Number), remote_total: expect.any(Number) },
    })
  }, 30_000)

  test('a reverse TCP test with two streams: the server sends, the client receives, retransmits and cwnd come from tcp_info', async () => {
    const server = await oneOffServer()
    const events = await collect(perf.client({ host: '127.0.0.1', port: server.port, reverse: true, parallel: 2, time: 1, length: 64 * 1024 }))
    const serverEvents = await server.events
    const start = only(events, 'start')[0]
    expect(start.streams.map((s) => s.id)).toEqual([1, 3]) // iperf3's numbering
    const c = only(events, 'summary')[0]
    const s = only(serverEvents, 'summary')[0]
    expect(c.protocol).toBe('tcp')
    expect(c.reverse).toBe(true)
    expect(c.received.bytes).toBeGreaterThan(0)
    expect(c.received.bytes).toBeLessThanOrEqual(s.sent.bytes)
    expect(c.sent.bytes).toBe(s.sent.bytes)
    expect(c.sent.retransmits).toBe(s.sent.retransmits)
    expect(s.sent.retransmits).toBeGreaterThanOrEqual(0)
    expect(s.streams[0].sender.cwnd).toBeGreaterThan(0)
    expect(s.senderCongestion).toMatch(/\w+/)
    const serverIntervals = only(serverEvents, 'interval')
    expect(serverIntervals[0].streams[0].retransmits).toBeGreaterThanOrEqual(0)
    expect(serverIntervals[0].streams[0].cwnd).toBeGreaterThan(0)
  }, 30_000)

  test('latency mode, ping-pong: round trips from kernel receive timestamps, percentiles in order', async () => {
    const server = await oneOffServer()
    const events = await collect(perf.client({ host: '127.0.0.1', port: server.port, latency: true, time: 1, interval: 0.5 }))
    await server.events
    const { latency } = only(events, 'summary')[0]
    expect(latency).toBeDefined()
    const l = latency!
    expect(l.samples).toBeGreaterThan(0)
    expect(l.rxTimestamps).toBe('kernel')
    expect(l.txTimestamps).toBe(typeof (Socket.prototype as { setTimestamping?: unknown }).setTimestamping === 'function' ? 'kernel' : 'software')
    expect(l.minUs).toBeLessThanOrEqual(l.p50Us)
    expect(l.p50Us).toBeLessThanOrEqual(l.p90Us)
    expect(l.p90Us).toBeLessThanOrEqual(l.p99Us)
    expect(l.p99Us).toBeLessThanOrEqual(l.p999Us)
    expect(l.p999Us).toBeLessThanOrEqual(l.maxUs)
    expect(l.appP50Us).toBeGreaterThan(0)
    expect(only(events, 'interval')[0].latency!.samples).toBeGreaterThan(0)
  }, 30_000)

  test('latency mode under load: probes paced at the bitrate, every one answered or counted lost', async () => {
    const server = await oneOffServer()
    const events = await collect(perf.client({ host: '127.0.0.1', port: server.port, latency: true, bitrate: 800_000, length: 100, time: 1 }))
    await server.events
    const s = only(events, 'summary')[0]
    const sent = s.sent.packets!
    // 1000 probes/s, paced: never ahead of the clock.
    expect(sent).toBeGreaterThan(0)
    expect(sent).toBeLessThanOrEqual(Math.floor(s.sent.seconds * 1000) + 1)
    expect(s.latency!.samples + s.latency!.lost).toBe(sent)
  }, 30_000)
})

describe('failures end the run with a PerfError, never a hang', () => {
  test('a server that is not there: ERR_PERF_CONNECT', async () => {
    const probe = createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1')
    const port = probe.address().port
    probe.close()
    await expect(collect(perf.client({ host: '127.0.0.1', port, time: 1 }))).rejects.toMatchObject({ name: 'PerfError', code: 'ERR_PERF_CONNECT' })
  })

  test('a server that speaks something else: ERR_PERF_PROTOCOL', async () => {
    const other = net.createServer((c) => c.end('SSH-2.0-OpenSSH_9.2\r\n')).listen(0, '127.0.0.1')
    cleanups.push(() => other.close())
    await new Promise((r) => other.once('listening', r))
    const port = (other.address() as net.AddressInfo).port
    await expect(collect(perf.client({ host: '127.0.0.1', port, time: 1 }))).rejects.toMatchObject({ code: 'ERR_PERF_PROTOCOL', iperfErrno: 110 })
  })

  test('a server that accepts and says nothing: ERR_PERF_TIMEOUT after timeoutMs', async () => {
    const sockets: net.Socket[] = []
    const silent = net.createServer((c) => sockets.push(c)).listen(0, '127.0.0.1')
    cleanups.push(() => {
      for (const s of sockets) s.destroy()
      silent.close()
    })
    await new Promise((r) => silent.once('listening', r))
    const port = (silent.address() as net.AddressInfo).port
    await expect(collect(perf.client({ host: '127.0.0.1', port, time: 1, timeoutMs: 300 }))).rejects.toMatchObject({ code: 'ERR_PERF_TIMEOUT' })
  })

  test('a server that stops mid-test: the client fails with the control connection closed', async () => {
    const ac = new AbortController()
    const it = perf.server({ port: 0, address: '127.0.0.1', signal: ac.signal })
    const port = ((await it.next()).value as perf.PerfListening).port
    const drained = collect(it)
    const client = perf.client({ host: '127.0.0.1', port, udp: true, bitrate: 1e6, time: 30 })
    const first = await client.next()
    expect(first.value?.type).toBe('start')
    ac.abort() // the server goes away
    await expect(collect(client)).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_PERF_(CONTROL_CLOSED|STREAM)$/) })
    await drained
  }, 30_000)

  test('a client aborted mid-test tells the server, which reports the test as terminated', async () => {
    const server = await oneOffServer()
    const ac = new AbortController()
    const client = perf.client({ host: '127.0.0.1', port: server.port, time: 30, signal: ac.signal })
    expect((await client.next()).value?.type).toBe('start')
    ac.abort()
    await expect(collect(client)).rejects.toMatchObject({ name: 'AbortError' })
    const events = await server.events
    const err = only(events, 'error')[0]
    expect(err.error).toMatchObject({ code: 'ERR_PERF_TERMINATED', message: 'the client has terminated' })
  }, 30_000)

  test('a second client while a test runs is turned away: ERR_PERF_BUSY', async () => {
    const ac = new AbortController()
    cleanups.push(() => ac.abort())
    const it = perf.server({ port: 0, address: '127.0.0.1', signal: ac.signal })
    const port = ((await it.next()).value as perf.PerfListening).port
    void collect(it)
    const first = perf.client({ host: '127.0.0.1', port, time: 30, udp: true, signal: ac.signal })
    expect((await first.next()).value?.type).toBe('start')
    await expect(collect(perf.client({ host: '127.0.0.1', port, time: 1 }))).rejects.toMatchObject({ code: 'ERR_PERF_BUSY', iperfErrno: 121 })
    await first.return!()
  }, 30_000)

  test('leaving the loop early stops the test and closes its sockets', async () => {
    const server = await oneOffServer()
    const it = perf.client({ host: '127.0.0.1', port: server.port, time: 30, udp: true, interval: 0.2 })
    for await (const ev of it) if (ev.type === 'interval') break
    const events = await server.events
    expect(only(events, 'error')[0].error.message).toMatch(/closed|terminated/)
  }, 30_000)

  test('bad options throw before anything is opened', () => {
    expect(() => perf.client({ host: '' })).toThrow(TypeError)
    expect(() => perf.client({ host: '127.0.0.1', port: 0 })).toThrow(RangeError)
    expect(() => perf.client({ host: '127.0.0.1', parallel: 129 })).toThrow(RangeError)
    expect(() => perf.client({ host: '127.0.0.1', udp: true, length: 8 })).toThrow(RangeError)
    expect(() => perf.client({ host: '127.0.0.1', latency: true, reverse: true })).toThrow(TypeError)
    expect(() => perf.server({ port: 70000 })).toThrow(RangeError)
  })
})
