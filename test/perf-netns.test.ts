// netsock perf and iperf3 measuring the same shaped path, each way round.
// Two namespaces joined by a veth pair; each end's egress is shaped by tbf
// to 40 Mbit/s (well below what this machine pushes), and an nft rule in
// each namespace drops every 20th UDP datagram with a payload: exactly 5%,
// deterministic, so the loss is what was configured whatever the run length.
// UDP at 10 Mbit/s of 1200-byte datagrams for 5 s: every pairing of client
// and server (iperf3 <-> iperf3 as the reference, netsock client <-> iperf3
// server, iperf3 client <-> netsock server, netsock <-> netsock, and both
// reverse directions) must report a received bitrate within 5% of 9.5
// Mbit/s and of each other, and a loss within 0.5 percentage points of 5%
// and of each other, once the datagrams this host's kernel itself dropped
// in that run (a receiver or softirq starved by other work: UDP InErrors,
// backlog drops, both counted by the kernel) are added to the 5%. TCP through the 40 Mbit/s link (5 s runs) must agree
// the same way with the link's goodput, and a TCP test with drops must report the
// retransmits that `ss -ti` shows for its connection.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { afterAll, describe, expect } from 'vitest'
import { cleanupNetns, createNetns, linkNetns, nsExec } from './helpers/netns.js'
import { bin, killAll, node, start, testWith, waitListening, type Proc } from './helpers/perf.js'

const needs = { caps: ['CAP_NET_ADMIN' as const], tools: ['iperf3', 'nft', 'tc', 'ss'] }
const RATE = 10e6
const LOSS = 5
const LINK = 40e6
/** TCP payload per frame on a 1500-byte MTU with timestamps: 1448 of 1514 bytes that tbf counts. */
const TCP_GOODPUT = (LINK * 1448) / 1514
const IPERF3_PORT = 5201
const NETSOCK_PORT = 5202
const TIMEOUT = 120_000

interface Path {
  client: string
  server: string
  address: string
  servers: Proc[]
}

let path: Path | null = null

afterAll(() => {
  killAll()
  cleanupNetns()
})

function nft(ns: string, ...args: string[]): string {
  return nsExec(ns, ['nft', ...args])
}

/** The namespaces, shaping, drop rules and both servers; made once for the file. */
async function shapedPath(): Promise<Path> {
  if (path) return path
  const client = createNetns('pc')
  const server = createNetns('ps')
  const [a, b] = linkNetns({ ns: client, cidr: '10.216.0.1/24' }, { ns: server, cidr: '10.216.0.2/24' })
  for (const end of [a, b]) {
    // A veth hands a UDP GSO train (netsock's sender uses them) to its peer in
    // one piece, so nft there would see one packet per train; a NIC puts
    // separate datagrams on the wire. With gso_max_segs 1 the stack splits
    // trains before the veth, as it does for a device without UDP offload.
    nsExec(end.ns, ['ip', 'link', 'set', 'dev', end.ifname, 'gso_max_segs', '1'])
    nsExec(end.ns, ['tc', 'qdisc', 'add', 'dev', end.ifname, 'root', 'tbf', 'rate', '40mbit', 'burst', '64kb', 'limit', '1mb'])
    nft(end.ns, 'add', 'table', 'inet', 'nsk')
    nft(end.ns, 'add', 'chain', 'inet', 'nsk', 'in', '{ type filter hook input priority 0; }')
    // Data datagrams only (the 4-byte stream handshake passes): every 20th is dropped.
    nft(
      end.ns,
      'add',
      'rule',
      'inet',
      'nsk',
      'in',
      'meta',
      'l4proto',
      'udp',
      'udp',
      'length',
      '>',
      '100',
      'numgen',
      'inc',
      'mod',
      '20',
      '==',
      '0',
      'counter',
      'drop',
    )
  }
  const iperf3 = start(['iperf3', '-s', '-p', String(IPERF3_PORT)], server)
  const netsock = start([node, bin, 'perf', 'server', '-p', String(NETSOCK_PORT)], server)
  await waitListening(IPERF3_PORT, server)
  await waitListening(NETSOCK_PORT, server)
  path = { client, server, address: b.address, servers: [iperf3, netsock] }
  return path
}

interface Measured {
  name: string
  bitsPerSecond: number
  lostPercent: number
  /** Datagrams the kernel dropped during the run beyond the nft rule (see hostDrops), as a percentage of those sent. */
  hostLossPercent: number
  retransmits?: number
}

/**
 * Datagrams this host's kernel dropped that the path did not: UDP receive errors (a full
 * socket buffer) in either namespace and the per-CPU backlog's drops (a receive softirq
 * that could not run). On a machine busy with other work these are real losses that
 * every tool must report; the nft rule's 5% is what the path adds.
 */
function hostDrops(p: Path): number {
  const udpInErrors = (ns: string): number => {
    const lines = nsExec(ns, ['cat', '/proc/net/snmp'])
      .split('\n')
      .filter((l) => l.startsWith('Udp:'))
    const names = lines[0].split(/\s+/)
    return Number(lines[1].split(/\s+/)[names.indexOf('InErrors')])
  }
  const backlog = fs
    .readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((sum, line) => sum + parseInt(line.split(/\s+/)[1], 16), 0)
  return udpInErrors(p.client) + udpInErrors(p.server) + backlog
}

/** Runs one client inside the client namespace with JSON output; the receiver's figures. */
async function measure(name: string, tool: 'iperf3' | 'netsock', port: number, args: string[]): Promise<Measured> {
  const p = await shapedPath()
  const argv =
    tool === 'iperf3'
      ? ['iperf3', '-c', p.address, '-p', String(port), '-J', ...args]
      : [node, bin, 'perf', 'client', p.address, '-p', String(port), '--json', ...args]
  const before = hostDrops(p)
  const r = spawnSync('ip', ['netns', 'exec', p.client, ...argv], { encoding: 'utf8', timeout: 60_000 })
  const dropped = hostDrops(p) - before
  expect(r.status, `${name}: ${r.stdout}${r.stderr}`).toBe(0)
  const j = JSON.parse(r.stdout)
  const packets = j.end.sum_received.packets ?? j.end.sum?.packets ?? 0
  return {
    name,
    bitsPerSecond: j.end.sum_received.bits_per_second,
    lostPercent: j.end.sum_received.lost_percent ?? 0,
    hostLossPercent: packets > 0 ? (100 * dropped) / packets : 0,
    retransmits: j.end.sum_sent.retransmits,
  }
}

/**
 * Each run's bitrate within 5% of `bitrate` and of the others; with `loss`, each run's
 * reported loss within 0.5 points of the configured loss plus what this host's kernel
 * dropped during that run (hostLossPercent: 0 on a quiet machine), and the path's share
 * (reported minus host) within 0.5 points between runs.
 */
function expectAgreement(runs: Measured[], bitrate: number, loss: number | null): void {
  const table = runs
    .map(
      (r) =>
        `${r.name}: ${(r.bitsPerSecond / 1e6).toFixed(3)} Mbit/s` +
        (loss === null ? '' : `, ${r.lostPercent.toFixed(2)}% lost (${r.hostLossPercent.toFixed(2)}% by this host)`),
    )
    .join('\n')
  const pathLoss = (r: Measured): number => r.lostPercent - r.hostLossPercent
  for (const r of runs) {
    expect(Math.abs(r.bitsPerSecond - bitrate) / bitrate, `${r.name} vs configured ${bitrate}\n${table}`).toBeLessThanOrEqual(0.05)
    if (loss !== null) expect(Math.abs(pathLoss(r) - loss), `${r.name} loss vs configured ${loss}% + host drops\n${table}`).toBeLessThanOrEqual(0.5)
  }
  for (const a of runs) {
    for (const b of runs) {
      expect(Math.abs(a.bitsPerSecond - b.bitsPerSecond) / Math.max(a.bitsPerSecond, b.bitsPerSecond), `${a.name} vs ${b.name}\n${table}`).toBeLessThanOrEqual(
        0.05,
      )
      if (loss !== null) expect(Math.abs(pathLoss(a) - pathLoss(b)), `${a.name} vs ${b.name}\n${table}`).toBeLessThanOrEqual(0.5)
    }
  }
  console.log(table)
}

describe('netsock perf and iperf3 agree on a shaped, lossy veth path', () => {
  testWith(
    needs,
    'UDP, 10 Mbit/s with 5% dropped: every pairing reports 9.5 Mbit/s and 5% loss, within 5% and 0.5 points',
    async () => {
      // Socket buffers of 1 MiB (-w, applied at both ends by either tool): on a busy machine a
      // receiver that is not scheduled for a while must not drop datagrams the path delivered.
      const rmemMax = Number(fs.readFileSync('/proc/sys/net/core/rmem_max', 'utf8'))
      const window = String(Math.min(1 << 20, rmemMax))
      const udp = ['-u', '-b', '10M', '-l', '1200', '-t', '5', '-w', window]
      const runs = [
        await measure('iperf3 -> iperf3', 'iperf3', IPERF3_PORT, udp),
        await measure('netsock -> iperf3', 'netsock', IPERF3_PORT, udp),
        await measure('iperf3 -> netsock', 'iperf3', NETSOCK_PORT, udp),
        await measure('netsock -> netsock', 'netsock', NETSOCK_PORT, udp),
        await measure('iperf3 server -> netsock client (-R)', 'netsock', IPERF3_PORT, [...udp, '-R']),
        await measure('netsock server -> iperf3 client (-R)', 'iperf3', NETSOCK_PORT, [...udp, '-R']),
      ]
      expectAgreement(runs, RATE * (1 - LOSS / 100), LOSS)
    },
    TIMEOUT,
  )

  testWith(
    needs,
    "TCP through the 40 Mbit/s link: every pairing reports the link's goodput within 5%",
    async () => {
      const tcp = ['-t', '5']
      const runs = [
        await measure('iperf3 -> iperf3', 'iperf3', IPERF3_PORT, tcp),
        await measure('netsock -> iperf3', 'netsock', IPERF3_PORT, tcp),
        await measure('iperf3 -> netsock', 'iperf3', NETSOCK_PORT, tcp),
        await measure('netsock -> netsock', 'netsock', NETSOCK_PORT, tcp),
      ]
      expectAgreement(runs, TCP_GOODPUT, null)
      for (const r of runs) expect(r.retransmits, r.name).toBeGreaterThanOrEqual(0)
    },
    TIMEOUT,
  )

  testWith(
    needs,
    'TCP with dropped segments: the retransmits netsock reports are the ones ss -ti shows for the connection',
    async () => {
      const p = await shapedPath()
      // Drop every 50th full-size segment towards the server for the first part of the test only.
      nft(p.server, 'add', 'chain', 'inet', 'nsk', 'tcpdrop', '{ type filter hook input priority -1; }')
      nft(
        p.server,
        'add',
        'rule',
        'inet',
        'nsk',
        'tcpdrop',
        'tcp',
        'dport',
        String(IPERF3_PORT),
        'meta',
        'length',
        '>',
        '1000',
        'numgen',
        'inc',
        'mod',
        '50',
        '==',
        '0',
        'counter',
        'drop',
      )
      const client = start([node, bin, 'perf', 'client', p.address, '-p', String(IPERF3_PORT), '-t', '4', '-w', '256K', '--json-stream'], p.client)
      const m = await client.waitFor(/"local_port":(\d+)/, 20_000)
      const localPort = m[1]
      const samples: number[] = []
      const sample = (): void => {
        const out = nsExec(p.client, ['ss', '-tinH', 'state', 'established', `sport = :${localPort}`])
        const r = /retrans:\d+\/(\d+)/.exec(out)
        if (r) samples.push(Number(r[1]))
        else if (out.includes(`:${localPort}`)) samples.push(0)
      }
      const sampler = setInterval(sample, 100)
      let dropped = 0
      const stopDrops = setTimeout(() => {
        dropped = Number(/counter packets (\d+)/.exec(nft(p.server, 'list', 'chain', 'inet', 'nsk', 'tcpdrop'))![1])
        nft(p.server, 'delete', 'chain', 'inet', 'nsk', 'tcpdrop') // flushes its rule too
      }, 1500)
      const { code } = await client.exited
      clearInterval(sampler)
      clearTimeout(stopDrops)
      expect(code, client.stderr()).toBe(0)
      const end = client
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((e) => e.event === 'end').data
      const reported = end.sum_sent.retransmits
      console.log(`nft dropped ${dropped}, netsock reported ${reported} retransmits, ss samples ${samples.join(' ')}`)
      expect(dropped).toBeGreaterThan(0)
      expect(samples.length).toBeGreaterThan(5)
      // Every dropped segment was sent again; after the drops stopped the count held still.
      expect(reported).toBeGreaterThanOrEqual(dropped)
      expect(reported).toBe(samples.at(-1))
    },
    TIMEOUT,
  )
})
