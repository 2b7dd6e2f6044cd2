// netsock ping and trace side by side with iputils ping(8) and traceroute(8),
// through a router namespace: A — R — B, forwarding on in R, an nft rule in R
// that rejects traffic to B's second address with "administratively
// prohibited", and an address on B's link that nobody has (R's neighbour
// discovery fails: host unreachable). Both tools run in A against the same
// targets; the test compares what they print, not how fast.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { cleanupNetns, createNetns, linkNetns, nsExec } from './helpers/netns.js'
import { hasCapability } from './helpers/privilege.js'
import { haveTool, testWithTools } from './helpers/tools.js'

afterAll(cleanupNetns)

const bin = path.resolve(__dirname, '../bin/netsock.cjs')
const CAPS = ['CAP_NET_ADMIN', 'CAP_NET_RAW'] as const
const V4 = { router: '10.219.1.2', target: '10.219.2.2', filtered: '10.219.2.3', nobody: '10.219.2.99' }
const V6 = { router: 'fd00:219:1::2', target: 'fd00:219:2::2', filtered: 'fd00:219:2::3', nobody: 'fd00:219:2::99' }
let nsA = ''

const ready = CAPS.every((c) => hasCapability(c)) && ['ping', 'traceroute', 'nft'].every(haveTool)

beforeAll(() => {
  if (!ready) return
  nsA = createNetns('cmpA')
  const r = createNetns('cmpR')
  const b = createNetns('cmpB')
  linkNetns({ ns: nsA, cidr: '10.219.1.1/24', cidr6: 'fd00:219:1::1/64' }, { ns: r, cidr: `${V4.router}/24`, cidr6: `${V6.router}/64` })
  const [, toB] = linkNetns({ ns: r, cidr: '10.219.2.1/24', cidr6: 'fd00:219:2::1/64' }, { ns: b, cidr: `${V4.target}/24`, cidr6: `${V6.target}/64` })
  nsExec(b, ['ip', 'addr', 'add', `${V4.filtered}/24`, 'dev', toB.ifname])
  nsExec(b, ['ip', '-6', 'addr', 'add', `${V6.filtered}/64`, 'dev', toB.ifname, 'nodad'])
  // No rate limit on ICMP errors: each probe of each tool gets its answer.
  for (const ns of [r, b]) nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0'])
  nsExec(r, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'])
  nsExec(nsA, ['ip', 'route', 'add', 'default', 'via', V4.router])
  nsExec(nsA, ['ip', '-6', 'route', 'add', 'default', 'via', V6.router])
  nsExec(b, ['ip', 'route', 'add', 'default', 'via', '10.219.2.1'])
  nsExec(b, ['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:219:2::1'])
  nsExec(r, ['nft', 'add', 'table', 'inet', 'cmp'])
  nsExec(r, ['nft', 'add', 'chain', 'inet', 'cmp', 'forward_filter', '{ type filter hook forward priority 0; }'])
  nsExec(r, ['nft', 'add', 'rule', 'inet', 'cmp', 'forward_filter', 'ip', 'daddr', V4.filtered, 'reject', 'with', 'icmp', 'type', 'admin-prohibited'])
  nsExec(r, ['nft', 'add', 'rule', 'inet', 'cmp', 'forward_filter', 'ip6', 'daddr', V6.filtered, 'reject', 'with', 'icmpv6', 'type', 'admin-prohibited'])
})

interface Ran {
  code: number | null
  stdout: string
}

/** Runs a command in namespace A; `until(stdout)` true sends SIGINT (once), as Ctrl-C does. */
function inA(argv: string[], until?: (stdout: string) => boolean): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', nsA, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let interrupted = false
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
    child.stdout.on('data', (d) => {
      stdout += d
      if (until && !interrupted && until(stdout)) {
        interrupted = true
        child.kill('SIGINT')
      }
    })
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code === null) reject(new Error(`${argv.join(' ')} was killed; stderr: ${stderr}`))
      else resolve({ code, stdout })
    })
  })
}

const netsock = (...args: string[]): string[] => [process.execPath, bin, ...args]

/** Hop addresses from traceroute(8)'s text ('*' for a hop without answer). */
function tracerouteHops(text: string): string[] {
  return text
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => /^\s*\d+\s+(\S+)/.exec(l)![1])
}

function netsockHops(text: string): string[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.event === 'hop')
    .map((h) => h.address ?? '*')
}

/** "From ..." lines and the counts of the statistics (without the time). */
function pingGist(text: string): { from: string[]; counts: string } {
  return {
    from: text.split('\n').filter((l) => l.startsWith('From ')),
    counts: /^(\d+ packets transmitted, .*packet loss)/m.exec(text)?.[1] ?? '',
  }
}

describe.each([
  ['IPv4', V4],
  ['IPv6', V6],
])('%s: netsock and the iputils/traceroute tools agree', (family, a) => {
  for (const probe of ['udp', 'icmp'] as const) {
    testWithTools(
      ['traceroute'],
      [...CAPS],
      `the same hop list as traceroute(8), ${probe} probes`,
      async () => {
        const flags = probe === 'icmp' ? ['-I'] : []
        const [theirs, ours] = await Promise.all([
          inA(['traceroute', '-n', '-q', '1', '-w', '2', ...flags, a.target]),
          inA(netsock('trace', '-n', '-q', '1', '-w', '2', ...flags, '--json', a.target)),
        ])
        expect(tracerouteHops(theirs.stdout)).toEqual([a.router, a.target])
        expect(netsockHops(ours.stdout)).toEqual(tracerouteHops(theirs.stdout))
        expect(ours.code).toBe(0)
      },
      60_000,
    )
  }

  testWithTools(
    ['traceroute', 'nft'],
    [...CAPS],
    'an administratively prohibited hop carries the same !X mark as in traceroute(8)',
    async () => {
      const [theirs, ours] = await Promise.all([
        inA(['traceroute', '-n', '-q', '1', '-w', '2', a.filtered]),
        inA(netsock('trace', '-n', '-q', '1', '-w', '2', a.filtered)),
      ])
      const last = (t: string): string =>
        t
          .trim()
          .split('\n')
          .at(-1)!
          .replace(/\d+\.\d+ ms/g, 'T ms')
      expect(last(theirs.stdout)).toBe(` 2  ${a.router}  T ms !X`)
      expect(last(ours.stdout)).toBe(last(theirs.stdout))
      expect(ours.code).toBe(1) // not reached
    },
    60_000,
  )

  const errors: [string, string[], string][] = [
    ['TTL exceeded', ['-t', '1'], a.target],
    ['host unreachable', ['-W', '8'], a.nobody],
    ['administratively prohibited (nft)', [], a.filtered],
  ]
  for (const [kind, flags, target] of errors) {
    testWithTools(
      ['ping', 'nft'],
      [...CAPS],
      `the same ICMP error line and counts as ping(8): ${kind}`,
      async () => {
        const [theirs, ours] = await Promise.all([inA(['ping', '-n', '-c', '1', ...flags, target]), inA(netsock('ping', '-n', '-c', '1', ...flags, target))])
        const gist = pingGist(theirs.stdout)
        expect(gist.from).toHaveLength(1)
        expect(gist.counts).toBe('1 packets transmitted, 0 received, +1 errors, 100% packet loss')
        expect(pingGist(ours.stdout)).toEqual(gist)
        expect([theirs.code, ours.code]).toEqual([1, 1])
      },
      60_000,
    )
  }

  testWithTools(
    ['ping'],
    [...CAPS],
    'Ctrl-C after three replies: the same transmitted and received counts as ping(8)',
    async () => {
      const threeReplies = (out: string): boolean => (out.match(/bytes from/g) ?? []).length >= 3
      const [theirs, ours] = await Promise.all([
        inA(['ping', '-n', '-i', '1', a.target], threeReplies),
        inA(netsock('ping', '-n', '-i', '1', a.target), threeReplies),
      ])
      expect(pingGist(theirs.stdout).counts).toBe('3 packets transmitted, 3 received, 0% packet loss')
      expect(pingGist(ours.stdout).counts).toBe(pingGist(theirs.stdout).counts)
      expect([theirs.code, ours.code]).toEqual([0, 0])
    },
    60_000,
  )
})
