import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { cleanupNetns, createNetns, linkNetns } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'

const bin = path.resolve(__dirname, '../bin/netsock.cjs')
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 })
/** The command run inside network namespace `ns`. */
const runIn = (ns: string, ...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, process.execPath, bin, ...args], { encoding: 'utf8', timeout: 60_000 })
const jsonLines = (stdout: string): any[] => stdout.trim().split('\n').map((l) => JSON.parse(l))

afterAll(cleanupNetns)

describe('the netsock command', () => {
  test('with no command prints the overview and exits 2; --help exits 0', () => {
    const none = run()
    expect(none.status).toBe(2)
    expect(none.stdout).toContain('usage: netsock <command>')
    const help = run('--help')
    expect(help.status).toBe(0)
    for (const c of ['info', 'ping', 'trace', 'listen', 'send', 'bench']) expect(help.stdout).toContain(`  ${c}`)
  })

  test('every command has --help', () => {
    for (const c of ['info', 'ping', 'trace', 'listen', 'send', 'bench']) {
      const r = run(c, '--help')
      expect(r.status, c).toBe(0)
      expect(r.stdout, c).toContain(`usage: netsock ${c}`)
    }
  })

  test('usage errors exit 2 and say what is wrong', () => {
    expect(run('nosuch').status).toBe(2)
    const bad = run('send', '--udp', 'x', 'hi')
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("--udp must be a port number 0-65535, got 'x'")
    expect(run('listen', '--bogus').status).toBe(2)
  })

  test('ping and trace usage errors exit 2 before sending anything', () => {
    const cases: [string[], string][] = [
      [['ping'], 'ping needs exactly one HOST argument'],
      [['ping', 'a', 'b'], 'ping needs exactly one HOST argument'],
      [['ping', '127.0.0.1', '--count', '0'], "--count must be a positive integer, got '0'"],
      [['ping', '127.0.0.1', '--interval', 'soon'], "--interval must be an integer 0-2147483647, got 'soon'"],
      [['ping', '127.0.0.1', '--timeout', '0'], "--timeout must be an integer 1-2147483647, got '0'"],
      [['ping', '127.0.0.1', '--ttl', '256'], "--ttl must be an integer 1-255, got '256'"],
      [['ping', '127.0.0.1', '--size', '70000'], "--size must be an integer 0-65000, got '70000'"],
      [['ping', '127.0.0.1', '--bogus'], "Unknown option '--bogus'"],
      [['trace'], 'trace needs exactly one HOST argument'],
      [['trace', '127.0.0.1', '--max-hops', '0'], "--max-hops must be an integer 1-255, got '0'"],
      [['trace', '127.0.0.1', '--probe', 'tcp'], "--probe must be 'udp' or 'icmp', got 'tcp'"],
    ]
    for (const [args, message] of cases) {
      const r = run(...args)
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toContain(message)
      expect(r.stderr, args.join(' ')).toContain(`usage: netsock ${args[0]} HOST`)
      expect(r.stdout, args.join(' ')).toBe('')
    }
  })

  testWithCaps(['CAP_NET_RAW'], 'ping 127.0.0.1 --count 2 prints each reply, then the statistics; exit 0', () => {
    const r = run('ping', '127.0.0.1', '--count', '2', '--interval', '50')
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toBe('PING 127.0.0.1: 56 data bytes')
    expect(lines[1]).toMatch(/^64 bytes from 127\.0\.0\.1: seq=1 ttl=\d+ time=\d+\.\d{3} ms$/)
    expect(lines[2]).toMatch(/^64 bytes from 127\.0\.0\.1: seq=2 ttl=\d+ time=\d+\.\d{3} ms$/)
    expect(lines[3]).toBe('--- 127.0.0.1 ping statistics ---')
    expect(lines[4]).toMatch(/^2 sent, 2 received, 0% loss, rtt min\/avg\/max [\d.]+\/[\d.]+\/[\d.]+ ms$/)
  })

  testWithCaps(['CAP_NET_RAW'], 'ping --json: one line per reply, then a summary line', () => {
    const r = run('ping', '127.0.0.1', '--count', '2', '--interval', '50', '--size', '100', '--ttl', '7', '--json')
    expect(r.status, r.stderr).toBe(0)
    const lines = jsonLines(r.stdout)
    expect(lines).toEqual([
      { seq: 1, bytes: 108, ttl: expect.any(Number), rttMs: expect.any(Number), from: '127.0.0.1' },
      { seq: 2, bytes: 108, ttl: expect.any(Number), rttMs: expect.any(Number), from: '127.0.0.1' },
      { summary: { host: '127.0.0.1', sent: 2, received: 2, lossPercent: 0, minMs: expect.any(Number), avgMs: expect.any(Number), maxMs: expect.any(Number) } },
    ])
    const { minMs, avgMs, maxMs } = lines[2].summary
    expect(minMs).toBeLessThanOrEqual(avgMs)
    expect(avgMs).toBeLessThanOrEqual(maxMs)
  })

  test('trace 127.0.0.1 (UDP probes, no privilege) reaches it in one hop; exit 0', () => {
    const r = run('trace', '127.0.0.1')
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toEqual(['trace to 127.0.0.1, 30 hops max, udp probes', expect.stringMatching(/^ {2}1 {2}127\.0\.0\.1 {2}\d+\.\d{3} ms {2}\(reached\)$/), 'reached 127.0.0.1 in 1 hop'])
  })

  test('trace --json: one line per hop, then a summary line', () => {
    const r = run('trace', '127.0.0.1', '--max-hops', '5', '--json')
    expect(r.status, r.stderr).toBe(0)
    expect(jsonLines(r.stdout)).toEqual([
      { ttl: 1, address: '127.0.0.1', rttMs: expect.any(Number), reached: true, icmpType: 3, icmpCode: 3 },
      { summary: { host: '127.0.0.1', reached: true, hops: 1, address: '127.0.0.1' } },
    ])
  })

  testWithCaps(['CAP_NET_RAW'], 'trace --probe icmp reaches 127.0.0.1 with an echo reply', () => {
    const r = run('trace', '127.0.0.1', '--probe', 'icmp', '--json')
    expect(r.status, r.stderr).toBe(0)
    expect(jsonLines(r.stdout)).toEqual([
      { ttl: 1, address: '127.0.0.1', rttMs: expect.any(Number), reached: true },
      { summary: { host: '127.0.0.1', reached: true, hops: 1, address: '127.0.0.1' } },
    ])
  })

  testWithCaps(['CAP_NET_ADMIN', 'CAP_NET_RAW'], 'no reply: ping exits 1 with every request timed out; trace exits 1, not reached', () => {
    // A veth pair with nobody at 10.217.0.3: its ARP goes unanswered, so nothing comes back.
    const a = createNetns('cliA')
    const b = createNetns('cliB')
    linkNetns({ ns: a, cidr: '10.217.0.1/24' }, { ns: b, cidr: '10.217.0.2/24' })
    const p = runIn(a, 'ping', '10.217.0.3', '--count', '2', '--interval', '50', '--timeout', '200', '--json')
    expect(p.status, p.stderr).toBe(1)
    expect(jsonLines(p.stdout)).toEqual([
      { seq: 1, timeout: true },
      { seq: 2, timeout: true },
      { summary: { host: '10.217.0.3', sent: 2, received: 0, lossPercent: 100, minMs: null, avgMs: null, maxMs: null } },
    ])
    const text = runIn(a, 'ping', '10.217.0.3', '--count', '1', '--timeout', '200')
    expect(text.status).toBe(1)
    expect(text.stdout).toContain('seq=1 timeout')
    expect(text.stdout).toContain('1 sent, 0 received, 100% loss')
    const t = runIn(a, 'trace', '10.217.0.3', '--max-hops', '2', '--timeout', '200', '--json')
    expect(t.status, t.stderr).toBe(1)
    expect(jsonLines(t.stdout)).toEqual([
      { ttl: 1, address: null, rttMs: null, reached: false },
      { ttl: 2, address: null, rttMs: null, reached: false },
      { summary: { host: '10.217.0.3', reached: false, hops: 2, address: null } },
    ])
    const tt = runIn(a, 'trace', '10.217.0.3', '--max-hops', '1', '--timeout', '200')
    expect(tt.status).toBe(1)
    expect(tt.stdout.trim().split('\n')).toEqual(['trace to 10.217.0.3, 1 hops max, udp probes', '  1  *', '10.217.0.3 not reached in 1 hop'])
  }, 30_000)


  test('info --json reports the probed capabilities', () => {
    const r = run('info', '--json')
    expect(r.status).toBe(0)
    const caps = JSON.parse(r.stdout)
    expect(caps).toMatchObject({ kernel: expect.any(String), gso: expect.any(Boolean), reusePort: true })
  })

  test('listen receives what send sends', async () => {
    const listener = spawn(process.execPath, [bin, 'listen', '--udp', '0', '--address', '127.0.0.1', '--count', '2', '--timeout', '20', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    listener.stdout.on('data', (d) => (out += d))
    const port = await new Promise<number>((resolve) =>
      listener.stderr.on('data', (d) => {
        err += d
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err)
        if (m) resolve(Number(m[1]))
      }),
    )
    const sent = run('send', '--udp', String(port), '--count', '2', 'hello', '--json')
    expect(sent.status).toBe(0)
    expect(JSON.parse(sent.stdout)).toMatchObject({ sent: 2, bytes: 5 })
    const code = await new Promise((resolve) => listener.on('exit', resolve))
    expect(code).toBe(0)
    const lines = out.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines).toHaveLength(2)
    expect(Buffer.from(lines[0].data, 'base64').toString()).toBe('hello')
  })

  test('bench compares netsock with dgram in one run', () => {
    const r = run('bench', '--seconds', '1', '--json')
    expect(r.status).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result.netsock.received).toBeGreaterThan(0)
    expect(result.dgram.received).toBeGreaterThan(0)
    expect(result.ratio).toBeGreaterThan(0)
  })
})
