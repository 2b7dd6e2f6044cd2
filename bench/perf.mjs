// perf suite: `netsock perf` against iperf3 (and sockperf for latency) on
// loopback, side by side in one run, each program as its own client and
// server processes, the same flags for both:
//  1. UDP, 1200-byte datagrams, no rate limit (-u -b 0 -l 1200): datagrams/s
//     the client offers (what the kernel took from it) and the server got,
//     with CPU per datagram; plus each client against the other's server;
//  2. TCP, one stream: bits/s;
//  3. round trip, ping-pong with 64-byte messages: netsock perf --latency
//     (kernel-stamped, event loops excluded; and as the application sees it)
//     against sockperf ping-pong (its latency is half the round trip; doubled
//     here).
// Runs alternate between the programs, REPS times; figures are medians.
// The target from issue 16: at 1200 B the netsock sender offers at least 2x
// the datagrams/s of iperf3's. Nothing is asserted; every number is printed.
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSocket } from '../dist/esm/index.mjs'
import { environment, formatOps, formatRatio, table } from './common.mjs'

export const name = 'perf'
export const title = 'perf: netsock perf vs iperf3 (UDP offered/received, TCP) and vs sockperf (round trip), loopback'

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'netsock.cjs')
const REPS = Number(process.env.NETSOCK_BENCH_PERF_REPS ?? 3)
const SECONDS = 3
const HOST = '127.0.0.1'

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)] : NaN
}

function freePort() {
  for (;;) {
    const t = createSocket({ type: 'tcp4' }).bind(0, HOST)
    const port = t.address().port
    try {
      createSocket({ type: 'udp4' }).bind(port, HOST).close()
      return port
    } catch {
      // taken for UDP
    } finally {
      t.close()
    }
  }
}

async function listening(port, ms = 20_000) {
  const deadline = Date.now() + ms
  while (!spawnSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).stdout.includes('LISTEN')) {
    if (Date.now() > deadline) throw new Error(`no server on ${port}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Starts a one-test server; resolves with its port and a stop(). */
async function server(kind) {
  const port = freePort()
  const argv =
    kind === 'iperf3' ? ['iperf3', '-s', '-1', '-B', HOST, '-p', String(port)] : [process.execPath, BIN, 'perf', 'server', '-1', '-B', HOST, '-p', String(port)]
  const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' })
  const exited = new Promise((r) => child.on('exit', r))
  await listening(port)
  return {
    port,
    done: async () => {
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(t)
    },
  }
}

function client(kind, port, args) {
  const argv =
    kind === 'iperf3'
      ? ['iperf3', '-c', HOST, '-p', String(port), '-J', ...args]
      : [process.execPath, BIN, 'perf', 'client', HOST, '-p', String(port), '--json', ...args]
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 })
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stdout}${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** One UDP run: client kind -> server kind; datagrams/s offered and received, CPU µs per datagram. */
async function udpRun(clientKind, serverKind) {
  const s = await server(serverKind)
  const j = client(clientKind, s.port, ['-u', '-b', '0', '-l', '1200', '-t', String(SECONDS)])
  await s.done()
  const sent = j.end.sum_sent
  const recv = j.end.sum_received
  const offered = sent.packets / sent.seconds
  const received = (recv.packets - recv.lost_packets) / recv.seconds
  const cpu = j.end.cpu_utilization_percent
  return {
    offered,
    received,
    loss_percent: recv.lost_percent,
    sender_cpu_us_per_datagram: ((cpu.host_total / 100) * 1e6) / offered,
    receiver_cpu_us_per_datagram: ((cpu.remote_total / 100) * 1e6) / received,
  }
}

async function tcpRun(kind) {
  const s = await server(kind)
  const j = client(kind, s.port, ['-t', String(SECONDS)])
  await s.done()
  return { bits_per_second: j.end.sum_received.bits_per_second, sender_cpu_percent: j.end.cpu_utilization_percent.host_total }
}

async function netsockLatency() {
  const s = await server('netsock')
  const j = client('netsock', s.port, ['--latency', '-l', '64', '-t', String(SECONDS)])
  await s.done()
  const l = j.end.latency
  return { rtt_p50_us: l.p50_us, rtt_p99_us: l.p99_us, app_rtt_p50_us: l.app_p50_us, app_rtt_p99_us: l.app_p99_us, samples: l.samples }
}

async function sockperfLatency() {
  const port = freePort()
  const child = spawn('sockperf', ['server', '-i', HOST, '-p', String(port)], { stdio: 'ignore' })
  await new Promise((r) => setTimeout(r, 500)) // sockperf's UDP server has no TCP port to watch
  const r = spawnSync('sockperf', ['ping-pong', '-i', HOST, '-p', String(port), '-t', String(SECONDS), '-m', '64'], { encoding: 'utf8', timeout: 60_000 })
  child.kill('SIGKILL')
  const out = r.stdout + r.stderr
  const p = (q) => Number(new RegExp(`percentile ${q} =\\s*([\\d.]+)`).exec(out)?.[1])
  // sockperf's latency is half the round trip.
  return { rtt_p50_us: 2 * p('50.000'), rtt_p99_us: 2 * p('99.000') }
}

export async function run() {
  const iperf3 = has('iperf3')
  const sockperf = has('sockperf')
  const reps = { udp_nn: [], udp_ii: [], udp_ni: [], udp_in: [], tcp_n: [], tcp_i: [], lat_n: [], lat_s: [] }
  for (let i = 0; i < REPS; i++) {
    if (iperf3) reps.udp_ii.push(await udpRun('iperf3', 'iperf3'))
    reps.udp_nn.push(await udpRun('netsock', 'netsock'))
    if (iperf3) {
      reps.udp_ni.push(await udpRun('netsock', 'iperf3'))
      reps.udp_in.push(await udpRun('iperf3', 'netsock'))
      reps.tcp_i.push(await tcpRun('iperf3'))
    }
    reps.tcp_n.push(await tcpRun('netsock'))
    if (sockperf) reps.lat_s.push(await sockperfLatency())
    reps.lat_n.push(await netsockLatency())
    console.log(`perf: round ${i + 1}/${REPS} done`)
  }
  const med = (list, key) => median(list.map((r) => r[key]))
  const m = {}
  for (const [k, list] of Object.entries(reps)) {
    if (!list.length) continue
    m[k] = Object.fromEntries(Object.keys(list[0]).map((key) => [key, med(list, key)]))
  }
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? formatRatio(a / b) : '-')
  const ops = (x) => (Number.isFinite(x) ? formatOps(x) : '-')
  const us = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} µs` : '-')
  const offeredRatio = m.udp_ii ? m.udp_nn.offered / m.udp_ii.offered : NaN
  const rows = [
    [
      'UDP 1200 B, -b 0: datagrams/s offered by the client',
      ops(m.udp_nn.offered),
      ops(m.udp_ii?.offered),
      ratio(m.udp_nn.offered, m.udp_ii?.offered),
      Number.isFinite(offeredRatio) ? `≥ 2x iperf3: ${offeredRatio >= 2 ? 'met' : 'missed'}` : 'iperf3 missing',
    ],
    ['  received by its own server', ops(m.udp_nn.received), ops(m.udp_ii?.received), ratio(m.udp_nn.received, m.udp_ii?.received), ''],
    [
      '  sender CPU per datagram',
      us(m.udp_nn.sender_cpu_us_per_datagram),
      us(m.udp_ii?.sender_cpu_us_per_datagram),
      ratio(m.udp_ii?.sender_cpu_us_per_datagram, m.udp_nn.sender_cpu_us_per_datagram),
      'iperf3 / netsock',
    ],
    [
      '  receiver CPU per datagram',
      us(m.udp_nn.receiver_cpu_us_per_datagram),
      us(m.udp_ii?.receiver_cpu_us_per_datagram),
      ratio(m.udp_ii?.receiver_cpu_us_per_datagram, m.udp_nn.receiver_cpu_us_per_datagram),
      'iperf3 / netsock',
    ],
    [
      "UDP 1200 B, -b 0, each client to the other's server: offered",
      ops(m.udp_ni?.offered),
      ops(m.udp_in?.offered),
      ratio(m.udp_ni?.offered, m.udp_in?.offered),
      'netsock client to iperf3 server; iperf3 client to netsock server',
    ],
    [
      '  received by each server from the other client',
      ops(m.udp_in?.received),
      ops(m.udp_ni?.received),
      ratio(m.udp_in?.received, m.udp_ni?.received),
      'netsock server from iperf3; iperf3 server from netsock',
    ],
    [
      'TCP, 1 stream: bits/s received',
      ops(m.tcp_n.bits_per_second),
      ops(m.tcp_i?.bits_per_second),
      ratio(m.tcp_n.bits_per_second, m.tcp_i?.bits_per_second),
      '',
    ],
    [
      'round trip p50, 64 B ping-pong (vs sockperf)',
      `${us(m.lat_n.app_rtt_p50_us)} app, ${us(m.lat_n.rtt_p50_us)} kernel-stamped`,
      us(m.lat_s?.rtt_p50_us),
      ratio(m.lat_n.app_rtt_p50_us, m.lat_s?.rtt_p50_us),
      'app round trip / sockperf',
    ],
    [
      'round trip p99',
      `${us(m.lat_n.app_rtt_p99_us)} app, ${us(m.lat_n.rtt_p99_us)} kernel-stamped`,
      us(m.lat_s?.rtt_p99_us),
      ratio(m.lat_n.app_rtt_p99_us, m.lat_s?.rtt_p99_us),
      '',
    ],
  ]
  const env = environment('dist (CLI processes)')
  const lines = [
    `## ${title}`,
    '',
    `${env.node}, ${env.platform}, ${env.cpu} (${env.cpus} CPUs), load ${env.loadavg.join(' ')}; medians of ${REPS}, ${SECONDS} s per run`,
    '',
    table(['measure', '>netsock perf', '>iperf3 / sockperf', '>ratio', 'note'], rows),
  ]
  if (!iperf3) lines.push('', 'iperf3 is not installed: its columns are empty (apt-get install iperf3).')
  if (!sockperf) lines.push('', 'sockperf is not installed: the round-trip comparison is empty (apt-get install sockperf).')
  return { summary: lines.join('\n'), results: { environment: env, reps: REPS, seconds_per_run: SECONDS, medians: m, runs: reps } }
}
