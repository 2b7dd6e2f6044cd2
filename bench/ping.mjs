// ping suite: the RTT netsock ping reports against iputils ping(8), side by
// side in one run, on loopback and across a veth pair between two network
// namespaces this suite makes and removes. Both are run as commands, the
// same way, alternating (iputils, netsock, iputils, ...) so a noisy moment
// hits one run, not one column, with the same count, interval and target.
// Measures: the median RTT of each (the goal: netsock within 1.3x of
// iputils), and the first reply of each run against that run's median (the
// goal: no outlier, at most 2x). traceroute(8) and `netsock trace` are
// compared the same way for the first probe of the first hop (no goal).
// A figure whose tool or privilege is missing is reported as not testable.
// No timing is asserted.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { environment, table } from './common.mjs'

export const name = 'ping'
export const title = 'ping: RTT of netsock ping vs iputils ping(8), loopback and veth'
export const measures = 'ping/trace RTT vs iputils ping and traceroute(8), loopback and a veth pair'
export const estimateSeconds = 60

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CLI = path.join(ROOT, 'bin/netsock.cjs')
const RUNS = 6 // per tool and path, alternating
const COUNT = 30 // requests per run
const INTERVAL = '0.05' // seconds between requests, for both tools
const TRACE_RUNS = 5
const TARGET = { median: 1.3, first: 2 }

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** What `command args` prints (stdout and stderr), or null when it cannot run. */
function have(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8' })
  return r.error ? null : `${r.stdout ?? ''}${r.stderr ?? ''}`
}

/** Runs `argv` (in namespace `ns` when given) and resolves with its stdout; an exit code outside `ok` rejects. */
function runCommand(argv, ns, ok = [0]) {
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('exit', (code) => (ok.includes(code) ? resolve(out) : reject(new Error(`${full.join(' ')} exited ${code}: ${err.trim()}`))))
  })
}

/** RTTs in ms of one run of each tool. */
const TOOLS = {
  iputils: async (host, ns) =>
    [...(await runCommand(['ping', '-n', '-c', String(COUNT), '-i', INTERVAL, host], ns)).matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])),
  netsock: async (host, ns) =>
    (await runCommand([process.execPath, CLI, 'ping', '-c', String(COUNT), '-i', INTERVAL, '--json', host], ns))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'reply')
      .map((e) => e.rttMs),
}

/** First probe RTT (ms) of hop 1, per tool. */
const TRACERS = {
  // A probe without an answer is NaN, left out of the median.
  traceroute: async (host, ns) => Number(/^\s*1\s+\S+\s+([\d.]+) ms/m.exec(await runCommand(['traceroute', '-n', '-q', '3', '-m', '1', host], ns))?.[1]),
  netsock: async (host, ns) => {
    const lines = (await runCommand([process.execPath, CLI, 'trace', '-q', '3', '-m', '1', '--json', host], ns, [0, 1]))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    return lines.find((e) => e.event === 'hop')?.probes[0]?.rttMs ?? NaN
  },
}

async function comparePing(host, ns, progress) {
  const rtts = { iputils: [], netsock: [] }
  const firsts = { iputils: [], netsock: [] }
  // Each netsock run against the iputils run just before it: the two saw the same load.
  const pairRatios = []
  for (let run = 0; run < RUNS; run++) {
    const medians = {}
    for (const tool of ['iputils', 'netsock']) {
      progress(`${tool} run ${run + 1}/${RUNS}`)
      const r = await TOOLS[tool](host, ns)
      if (r.length === 0) throw new Error(`${tool} got no reply from ${host}`)
      rtts[tool].push(...r)
      firsts[tool].push(r[0] / median(r))
      medians[tool] = median(r)
    }
    pairRatios.push(medians.netsock / medians.iputils)
  }
  const row = (tool) => ({
    median_ms: median(rtts[tool]),
    p10_ms: [...rtts[tool]].sort((a, b) => a - b)[Math.floor(rtts[tool].length * 0.1)],
    p90_ms: [...rtts[tool]].sort((a, b) => a - b)[Math.floor(rtts[tool].length * 0.9)],
    replies: rtts[tool].length,
    first_over_median: median(firsts[tool]),
    first_over_median_worst: Math.max(...firsts[tool]),
  })
  return { iputils: row('iputils'), netsock: row('netsock'), ratio: median(pairRatios), pair_ratios: pairRatios }
}

async function compareTrace(host, ns, progress) {
  const firsts = { traceroute: [], netsock: [] }
  for (let run = 0; run < TRACE_RUNS; run++) {
    for (const tool of ['traceroute', 'netsock']) {
      progress(`trace ${tool} run ${run + 1}/${TRACE_RUNS}`)
      firsts[tool].push(await TRACERS[tool](host, ns))
    }
  }
  const answered = (xs) => xs.filter((x) => Number.isFinite(x))
  return { traceroute_ms: median(answered(firsts.traceroute)), netsock_ms: median(answered(firsts.netsock)) }
}

/** Two namespaces joined by a veth pair; returns them and a cleanup. Needs CAP_NET_ADMIN. */
function vethPair() {
  const tag = `nsbench-${process.pid}`
  const a = `${tag}-a`
  const b = `${tag}-b`
  const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const cleanup = () => {
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns)
      } catch {
        // not made, or gone
      }
    }
  }
  process.on('exit', cleanup)
  try {
    ip('netns', 'add', a)
    ip('netns', 'add', b)
    ip('link', 'add', `vbp${process.pid % 100000}`, 'netns', a, 'type', 'veth', 'peer', 'name', `vbq${process.pid % 100000}`, 'netns', b)
    ip('-n', a, 'addr', 'add', '10.250.0.1/24', 'dev', `vbp${process.pid % 100000}`)
    ip('-n', b, 'addr', 'add', '10.250.0.2/24', 'dev', `vbq${process.pid % 100000}`)
    for (const [ns, dev] of [
      [a, `vbp${process.pid % 100000}`],
      [b, `vbq${process.pid % 100000}`],
    ]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', ns, 'link', 'set', dev, 'up')
      // No rate limit on ICMP errors (port unreachable for trace probes): every probe of every run is answered.
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0'], { stdio: 'ignore' })
    }
    // Resolve the neighbour before timing anything.
    execFileSync('ip', ['netns', 'exec', a, 'ping', '-c', '1', '-W', '2', '10.250.0.2'], { stdio: 'ignore' })
  } catch (err) {
    cleanup()
    throw err
  }
  return { ns: a, host: '10.250.0.2', cleanup }
}

function untestable() {
  const why = []
  if (!/iputils/.test(have('ping', ['-V']) ?? '')) why.push('iputils ping is not installed (apt-get install iputils-ping)')
  if (process.geteuid?.() !== 0) why.push('not root: raw sockets and namespaces need CAP_NET_RAW and CAP_NET_ADMIN')
  return why.length ? why.join('; ') : null
}

export async function run({ progress = () => {} } = {}) {
  const env = environment('bin/netsock.cjs (spawned)')
  const why = untestable()
  const haveTraceroute = /traceroute/i.test(have('traceroute', ['--version']) ?? '')
  const paths = {}
  if (!why) {
    paths.loopback = { label: 'loopback, 127.0.0.1', ...(await comparePing('127.0.0.1', null, (s) => progress(`loopback: ${s}`))) }
    if (haveTraceroute) paths.loopback.trace = await compareTrace('127.0.0.1', null, (s) => progress(`loopback: ${s}`))
    const veth = vethPair()
    try {
      paths.veth = { label: 'veth pair between two namespaces', ...(await comparePing(veth.host, veth.ns, (s) => progress(`veth: ${s}`))) }
      if (haveTraceroute) paths.veth.trace = await compareTrace(veth.host, veth.ns, (s) => progress(`veth: ${s}`))
    } finally {
      veth.cleanup()
    }
  }
  const targets = []
  for (const id of ['loopback', 'veth']) {
    const p = paths[id]
    const where = id === 'loopback' ? 'loopback' : 'veth pair'
    const ratio = p ? p.ratio : null
    targets.push({
      section: 'ping',
      what: `netsock / iputils median RTT (median of ${RUNS} back-to-back run pairs), ${where}`,
      ratio,
      target: `<= ${TARGET.median}x`,
      met: p ? ratio <= TARGET.median : null,
      untestable: p ? undefined : why,
    })
    const first = p ? p.netsock.first_over_median : null
    targets.push({
      section: 'ping',
      what: `netsock first reply / its run's median, ${where}`,
      ratio: first,
      target: `<= ${TARGET.first}x`,
      met: p ? first <= TARGET.first : null,
      untestable: p ? undefined : why,
    })
  }
  const results = {
    suite: name,
    environment: env,
    method: `${RUNS} runs per tool and path, alternating, each \`-c ${COUNT} -i ${INTERVAL}\` as a separate command; RTT medians over all replies; the ratio is the median over run pairs (a netsock run over the iputils run just before it, which saw the same load); first reply / median per run, median over runs (worst run shown too)`,
    untestable: why,
    paths,
    targets,
  }
  return { summary: report(results), results }
}

const ms = (x) => (x == null || Number.isNaN(x) ? '-' : `${(x * 1000).toFixed(1)} µs`)
const x2 = (x) => (x == null || Number.isNaN(x) ? '-' : `${x.toFixed(2)}x`)

function report(res) {
  const lines = [`## ${title}`, '']
  const say = (s = '') => lines.push(s)
  const e = res.environment
  say(`${e.node}, ${e.platform}, ${e.cpu} (${e.cpus} CPUs), load ${e.loadavg.join(' ')}. ${res.method}.`)
  if (res.untestable) {
    say()
    say(`Not testable on this machine: ${res.untestable}. Every figure below is marked so.`)
  }
  say()
  const rows = []
  for (const id of ['loopback', 'veth']) {
    const p = res.paths[id]
    if (!p) {
      rows.push([id, 'not testable', 'not testable', '-', '-', '-'])
      continue
    }
    rows.push([
      p.label,
      `${ms(p.netsock.median_ms)} (p10 ${ms(p.netsock.p10_ms)}, p90 ${ms(p.netsock.p90_ms)})`,
      `${ms(p.iputils.median_ms)} (p10 ${ms(p.iputils.p10_ms)}, p90 ${ms(p.iputils.p90_ms)})`,
      `${x2(p.ratio)} (pairs ${x2(Math.min(...p.pair_ratios))}–${x2(Math.max(...p.pair_ratios))})`,
      `${x2(p.netsock.first_over_median)} (worst ${x2(p.netsock.first_over_median_worst)})`,
      `${x2(p.iputils.first_over_median)} (worst ${x2(p.iputils.first_over_median_worst)})`,
    ])
  }
  say(table(['path', '>netsock median RTT', '>iputils median RTT', '>netsock / iputils', '>netsock first / median', '>iputils first / median'], rows))
  const traced = ['loopback', 'veth'].filter((id) => res.paths[id]?.trace)
  if (traced.length) {
    say()
    say(
      `First probe of hop 1, median of ${TRACE_RUNS} runs each (no goal): ` +
        traced.map((id) => `${id}: netsock trace ${ms(res.paths[id].trace.netsock_ms)}, traceroute(8) ${ms(res.paths[id].trace.traceroute_ms)}`).join('; '),
    )
  }
  say()
  say(
    table(
      ['measure', '>ratio', 'target', 'result'],
      res.targets.map((t) => [t.what, x2(t.ratio), t.target, t.untestable ? 'not testable' : t.met ? 'MET' : 'MISSED']),
    ),
  )
  return lines.join('\n')
}

/** Up to three lines for the closing screen of `npm run bench`. */
export function headline(res) {
  if (res.untestable) return [`not testable: ${res.untestable}`]
  return ['loopback', 'veth']
    .filter((id) => res.paths[id])
    .map((id) => {
      const p = res.paths[id]
      return `${id}: netsock ${ms(p.netsock.median_ms)} vs iputils ${ms(p.iputils.median_ms)} median RTT (${x2(p.ratio)} by run pairs), first reply ${x2(p.netsock.first_over_median)} its median`
    })
}
