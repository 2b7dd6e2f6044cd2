// Interop with the iperf3 this machine has (Debian's 3.12 in CI) on
// loopback, both ways: netsock perf client against `iperf3 -s`, and
// `iperf3 -c` (TCP, UDP, -R, -P, 64-bit counters) against netsock perf
// server. Each run's figures are read from both programs' JSON: what one
// measured and the other learned through the results exchange must match.
import { afterAll, describe, expect } from 'vitest'
import { perf } from '../src/index.js'
import { freePort, killAll, netsockPerf, run, start, testWith, waitListening } from './helpers/perf.js'

afterAll(killAll)

const iperf3 = { tools: ['iperf3'] }
const RUN_MS = 60_000

/** `iperf3 -s -1 -J` on a free loopback port; its JSON document once the test is over. */
async function iperf3Server(): Promise<{ port: number; result: Promise<any> }> {
  const port = freePort()
  const proc = start(['iperf3', '-s', '-1', '-J', '-B', '127.0.0.1', '-p', String(port)])
  await waitListening(port) // with -J, iperf3 prints nothing until the end
  return { port, result: proc.exited.then(() => JSON.parse(proc.stdout())) }
}

async function netsockClient(options: Omit<perf.PerfClientOptions, 'host'>): Promise<perf.PerfSummary> {
  let summary: perf.PerfSummary | undefined
  for await (const ev of perf.client({ host: '127.0.0.1', ...options })) if (ev.type === 'summary') summary = ev
  return summary!
}

/** A one-test netsock server; its summary (or the error it reported). */
async function netsockServer(): Promise<{ port: number; summary: Promise<perf.PerfSummary> }> {
  const it = perf.server({ port: 0, address: '127.0.0.1', oneOff: true })
  const port = ((await it.next()).value as perf.PerfListening).port
  const summary = (async () => {
    for await (const ev of it) {
      if (ev.type === 'summary') return ev
      if (ev.type === 'error') throw ev.error
    }
    throw new Error('no summary')
  })()
  summary.catch(() => {}) // awaited by the test; a failure must not count as unhandled meanwhile
  return { port, summary }
}

describe('netsock perf client against iperf3 -s', () => {
  testWith(
    iperf3,
    'UDP: iperf3 received what netsock sent, and netsock reports what iperf3 counted',
    async () => {
      const srv = await iperf3Server()
      const s = await netsockClient({ port: srv.port, udp: true, bitrate: 20e6, length: 1200, time: 1.5 })
      const j = await srv.result
      expect(j.start.test_start).toMatchObject({ protocol: 'UDP', blksize: 1200, num_streams: 1, reverse: 0 })
      expect(j.end.sum_received.bytes).toBe(s.received.bytes)
      expect(j.end.sum_received.lost_packets).toBe(s.received.lostPackets)
      expect(j.end.sum_received.packets).toBe(s.received.packets) // the highest counter iperf3 saw
      expect(s.received.packets).toBeLessThanOrEqual(s.sent.packets!)
      expect(s.received.jitterMs).toBeCloseTo(j.end.sum_received.jitter_ms, 9)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'UDP reverse with 64-bit counters and two streams: netsock receives what iperf3 sent',
    async () => {
      const srv = await iperf3Server()
      const s = await netsockClient({ port: srv.port, udp: true, reverse: true, parallel: 2, udpCounters64: true, bitrate: 10e6, length: 1000, time: 1.5 })
      const j = await srv.result
      expect(j.start.test_start).toMatchObject({ protocol: 'UDP', num_streams: 2, reverse: 1 })
      expect(s.streams.map((x) => x.id)).toEqual([1, 3])
      expect(s.sent.packets).toBe(j.end.sum_sent.packets)
      expect(s.sent.bytes).toBe(j.end.sum_sent.bytes)
      expect(s.received.packets).toBeLessThanOrEqual(s.sent.packets!)
      expect(s.received.bytes).toBeGreaterThan(0)
      expect(s.received.duplicates).toBe(0)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'TCP: byte counts and retransmits agree across the results exchange',
    async () => {
      const srv = await iperf3Server()
      const s = await netsockClient({ port: srv.port, time: 1.5 })
      const j = await srv.result
      // iperf3's server reports the side it measured: what it received.
      expect(j.end.sum_received.bytes).toBe(s.received.bytes)
      expect(s.received.bytes).toBeLessThanOrEqual(s.sent.bytes)
      expect(s.sent.retransmits).toBeGreaterThanOrEqual(0)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'TCP reverse with three streams: iperf3 sends, its retransmits reach the netsock client',
    async () => {
      const srv = await iperf3Server()
      const s = await netsockClient({ port: srv.port, reverse: true, parallel: 3, time: 1.5 })
      const j = await srv.result
      expect(j.start.test_start).toMatchObject({ num_streams: 3, reverse: 1 })
      expect(s.sent.bytes).toBe(j.end.sum_sent.bytes)
      expect(s.sent.retransmits).toBe(j.end.sum_sent.retransmits)
      expect(s.received.bytes).toBeGreaterThan(0)
      expect(s.received.bytes).toBeLessThanOrEqual(s.sent.bytes)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'latency mode needs a netsock perf server: against iperf3 it says so and exits 1',
    async () => {
      const srv = await iperf3Server()
      const r = await run(netsockPerf('client', '127.0.0.1', '-p', String(srv.port), '--latency', '-t', '1'), RUN_MS)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/latency mode needs a netsock perf server; .* answered as iperf3 does/)
      await srv.result.catch(() => {})
    },
    RUN_MS,
  )
})

describe('iperf3 -c against netsock perf server', () => {
  const client = async (port: number, ...args: string[]): Promise<any> => {
    const r = await run(['iperf3', '-c', '127.0.0.1', '-p', String(port), '-J', ...args], RUN_MS)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    return JSON.parse(r.stdout)
  }

  testWith(
    iperf3,
    'UDP: the netsock server counts every datagram iperf3 reports as sent',
    async () => {
      const srv = await netsockServer()
      const j = await client(srv.port, '-u', '-b', '20M', '-l', '1200', '-t', '1.5')
      const s = await srv.summary
      expect(s.protocol).toBe('udp')
      expect(s.sent.packets).toBe(j.end.sum_sent.packets)
      expect(s.received.bytes).toBe(j.end.sum_received.bytes)
      expect(s.received.lostPackets).toBe(j.end.sum_received.lost_packets)
      expect(s.received.jitterMs).toBeCloseTo(j.end.sum_received.jitter_ms, 9)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'UDP -R -P 2: the netsock server sends on two streams and iperf3 receives them',
    async () => {
      const srv = await netsockServer()
      const j = await client(srv.port, '-u', '-b', '10M', '-l', '1000', '-t', '1.5', '-R', '-P', '2')
      const s = await srv.summary
      expect(s.reverse).toBe(true)
      expect(s.streams.length).toBe(2)
      expect(j.end.sum_sent.packets).toBe(s.sent.packets)
      expect(j.end.sum_received.bytes).toBe(s.received.bytes)
      expect(j.end.sum_received.bytes).toBeGreaterThan(0)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'UDP with 64-bit counters: the netsock server reads the wider header',
    async () => {
      const srv = await netsockServer()
      const j = await client(srv.port, '-u', '-b', '5M', '-l', '500', '-t', '1', '--udp-counters-64bit')
      const s = await srv.summary
      expect(s.received.packets).toBe(j.end.sum_received.packets)
      expect(s.received.packets).toBeGreaterThan(0)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'TCP -P 2: bytes agree, and the netsock receiver reports no retransmits of its own',
    async () => {
      const srv = await netsockServer()
      const j = await client(srv.port, '-t', '1.5', '-P', '2')
      const s = await srv.summary
      expect(s.received.bytes).toBe(j.end.sum_received.bytes)
      expect(s.sent.bytes).toBe(j.end.sum_sent.bytes)
      expect(s.sent.retransmits).toBe(j.end.sum_sent.retransmits)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'TCP -R: the netsock server sends and iperf3 shows the retransmits netsock read from tcp_info',
    async () => {
      const srv = await netsockServer()
      const j = await client(srv.port, '-t', '1.5', '-R')
      const s = await srv.summary
      expect(j.end.sum_sent.retransmits).toBe(s.sent.retransmits)
      expect(j.end.sum_sent.bytes).toBe(s.sent.bytes)
      expect(j.end.sum_received.bytes).toBe(s.received.bytes)
      expect(s.streams[0].sender.cwnd).toBeGreaterThan(0)
    },
    RUN_MS,
  )

  testWith(
    iperf3,
    'tests netsock does not implement (--bidir, -O) are refused with SERVER_ERROR, which iperf3 reports',
    async () => {
      for (const flags of [['--bidir'], ['-O', '1']]) {
        const srv = await netsockServer()
        const r = await run(['iperf3', '-c', '127.0.0.1', '-p', String(srv.port), '-t', '1', ...flags], RUN_MS)
        expect(r.code, flags.join(' ')).toBe(1)
        expect(r.stderr + r.stdout, flags.join(' ')).toMatch(/not (yet )?implemented/)
        await expect(srv.summary).rejects.toMatchObject({ code: 'ERR_PERF_UNSUPPORTED' })
      }
    },
    RUN_MS,
  )
})
