// Network namespaces and veth pairs for tests that need real hops. Every
// namespace, link and address is created by the test and removed after it;
// traffic stays inside them. Names carry the pid so parallel test files never
// collide. Needs CAP_NET_ADMIN and iproute2 (`ip`).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'

let counter = 0
const made = new Set<string>()

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Runs a command inside namespace `ns` and returns its stdout. */
export function nsExec(ns: string, command: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** A fresh namespace with its loopback up. */
export function createNetns(tag: string): string {
  const name = `nsk-${process.pid}-${tag}-${counter++}`
  ip(['netns', 'add', name])
  made.add(name)
  nsExec(name, ['ip', 'link', 'set', 'lo', 'up'])
  return name
}

export function deleteNetns(name: string): void {
  try {
    ip(['netns', 'del', name])
  } catch {
    // already gone
  }
  made.delete(name)
}

/** Removes every namespace this process made (veths inside them go too). */
export function cleanupNetns(): void {
  for (const name of [...made]) deleteNetns(name)
}
process.on('exit', cleanupNetns)

export interface VethEnd {
  ns: string
  ifname: string
  /** Address with prefix, e.g. '10.201.0.1/24'. */
  cidr: string
  address: string
}

/**
 * Links two namespaces with a veth pair and addresses both ends (IPv4, and
 * IPv6 when given). Interface names are short (IFNAMSIZ is 16).
 */
export function linkNetns(a: { ns: string; cidr: string; cidr6?: string }, b: { ns: string; cidr: string; cidr6?: string }): [VethEnd, VethEnd] {
  const id = `${process.pid % 10000}${counter++}`
  const ifA = `va${id}`
  const ifB = `vb${id}`
  ip(['link', 'add', ifA, 'netns', a.ns, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.ns])
  const ends: [VethEnd, VethEnd] = [
    { ns: a.ns, ifname: ifA, cidr: a.cidr, address: a.cidr.split('/')[0] },
    { ns: b.ns, ifname: ifB, cidr: b.cidr, address: b.cidr.split('/')[0] },
  ]
  for (const [end, spec] of [
    [ends[0], a],
    [ends[1], b],
  ] as const) {
    nsExec(end.ns, ['ip', 'addr', 'add', end.cidr, 'dev', end.ifname])
    if (spec.cidr6) nsExec(end.ns, ['ip', '-6', 'addr', 'add', spec.cidr6, 'dev', end.ifname, 'nodad'])
    nsExec(end.ns, ['ip', 'link', 'set', end.ifname, 'up'])
  }
  return ends
}

const repoRoot = path.resolve(__dirname, '../..')

/**
 * Starts `node -e <script>` inside namespace `ns`, with netsock available as
 * `netsock` (the CommonJS build in dist/, which `npm test` builds first).
 * Lines the script prints as JSON arrive through `next()`.
 */
export function spawnNodeInNetns(ns: string, script: string): { child: ChildProcess; next: () => Promise<any>; stop: () => void } {
  const prelude = `const netsock = require(${JSON.stringify(path.join(repoRoot, 'dist/cjs/index.js'))});\n`
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', prelude + script], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines: any[] = []
  const waiters: ((v: any) => void)[] = []
  let buffered = ''
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  child.stdout!.on('data', (d) => {
    buffered += d
    let nl
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (!line.trim()) continue
      const value = JSON.parse(line)
      const w = waiters.shift()
      if (w) w(value)
      else lines.push(value)
    }
  })
  const next = (): Promise<any> =>
    lines.length
      ? Promise.resolve(lines.shift())
      : new Promise((resolve, reject) => {
          waiters.push(resolve)
          child.once('exit', (code) => reject(new Error(`child in ${ns} exited (${code}) before printing; stderr: ${stderr}`)))
        })
  return { child, next, stop: () => child.kill('SIGKILL') }
}
