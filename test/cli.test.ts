// The `netsock` command as a user meets it: flags and units of ping(8) and
// traceroute(8), --help with defaults, --version, suggestions for a mistyped
// flag, exit codes (0 ok, 1 nothing found, 2 usage or failure), one JSON form,
// a quiet end on a closed pipe, and the UDP helpers.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, test, vi } from 'vitest'
import { cleanupNetns, createNetns, linkNetns } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'

const bin = path.resolve(__dirname, '../bin/netsock.cjs')
// Each test starts netsock's CLI one or more times (up to 16 in a row); under the ASan build
// on a loaded machine a start takes over a second, so the budget is per file, not 20 s.
vi.setConfig({ testTimeout: 180_000 })

const run = (args: string[], input?: string | Buffer) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, input })
/** The command run inside network namespace `ns`. */
const runIn = (ns: string, args: string[]) => spawnSync('ip', ['netns', 'exec', ns, process.execPath, bin, ...args], { encoding: 'utf8', timeout: 60_000 })
const jsonLines = (stdout: string): any[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
const COMMANDS = ['info', 'ping', 'trace', 'listen', 'send', 'bench']

afterAll(cleanupNetns)

describe('help, version and usage errors', () => {
  test('no command prints the overview on stderr and exits 2; --help prints it and exits 0', () => {
    const none = run([])
    expect(none.status).toBe(2)
    expect(none.stderr).toContain('usage: netsock <command>')
    const help = run(['--help'])
    expect(help.status).toBe(0)
    for (const c of COMMANDS) expect(help.stdout).toContain(`  ${c}`)
    expect(help.stdout).toContain('exit codes: 0 ok, 1 nothing found')
  })

  test('--version and -V print the package version, also after a command', () => {
    const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../package.json'), 'utf8'))
    for (const args of [['--version'], ['-V'], ['ping', '--version'], ['trace', '-V']]) {
      const r = run(args)
      expect(r.status, args.join(' ')).toBe(0)
      expect(r.stdout, args.join(' ')).toContain(`netsock ${version}`)
    }
  })

  test('every command has --help listing every flag with its default', () => {
    for (const c of COMMANDS) {
      const r = run([c, '--help'])
      expect(r.status, c).toBe(0)
      expect(r.stdout, c).toContain(`usage: netsock ${c} [options]`)
      for (const flag of ['--json', '--help', '--version']) expect(r.stdout, c).toContain(flag)
    }
    const ping = run(['ping', '--help']).stdout
    for (const line of [
      '-c, --count N',
      '-i, --interval SECONDS',
      '(default: 1)',
      '-W, --timeout SECONDS',
      '(default: 10)',
      '-w, --deadline SECONDS',
      '-s, --size BYTES',
      '(default: 56)',
      '-t, --ttl N',
      '-q, --quiet',
      '-4',
      '-6',
      '-n, --numeric',
      '-I, --interface',
    ]) {
      expect(ping).toContain(line)
    }
    const trace = run(['trace', '--help']).stdout
    for (const line of [
      '-q, --queries N',
      '(default: 3)',
      '-I, --icmp',
      '-p, --port PORT',
      '(default: 33434)',
      '-m, --max-hops N',
      '(default: 30)',
      '-f, --first N',
      '-w, --wait SECONDS',
      '(default: 5)',
      '-n, --numeric',
    ]) {
      expect(trace).toContain(line)
    }
  })

  test('a mistyped flag or command is named with the closest known one; exit 2', () => {
    const cases: [string[], string][] = [
      [['ping', '--cuont', '3', '127.0.0.1'], "unknown option '--cuont' (did you mean '--count' (-c)?)"],
      [['ping', '--inter', '1', '127.0.0.1'], "(did you mean '--interval' (-i) or '--interface' (-I)?)"],
      [['trace', '--max-hop', '3', '127.0.0.1'], "(did you mean '--max-hops' (-m)?)"],
      [['send', '--hexx'], "(did you mean '--hex'?)"],
      [['pign'], "unknown command 'pign' (did you mean 'ping'?)"],
    ]
    for (const [args, message] of cases) {
      const r = run(args)
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toContain(message)
    }
  })

  test('ping and trace usage errors exit 2 before sending anything, in the units of ping(8)', () => {
    const cases: [string[], string][] = [
      [['ping'], 'ping needs exactly one HOST argument'],
      [['ping', 'a', 'b'], 'ping needs exactly one HOST argument, got 2'],
      [['ping', '127.0.0.1', '-c', '0'], "-c must be an integer 1-2147483647, got '0'"],
      [['ping', '127.0.0.1', '-i', 'soon'], "-i must be a number of seconds >= 0, got 'soon'"],
      [['ping', '127.0.0.1', '-W', '0'], "-W must be a number of seconds >= 0.001, got '0'"],
      [['ping', '127.0.0.1', '-t', '256'], "-t must be an integer 1-255, got '256'"],
      [['ping', '127.0.0.1', '-s', '70000'], "-s must be an integer 0-65527, got '70000'"],
      [['ping', '127.0.0.1', '-s', '65510'], "-s must be at most 65507 over IPv4, got '65510'"],
      [['ping', '127.0.0.1', '-4', '-6'], '-4 and -6 cannot be used together'],
      [['ping', '127.0.0.1', '--socket', 'tcp'], "--socket must be 'auto' or 'dgram' or 'raw', got 'tcp'"],
      [['trace'], 'trace needs exactly one HOST argument'],
      [['trace', '127.0.0.1', '-m', '0'], "-m must be an integer 1-255, got '0'"],
      [['trace', '127.0.0.1', '-q', '11'], "-q must be an integer 1-10, got '11'"],
      [['trace', '127.0.0.1', '-w', '-1'], "-w must be a number of seconds >= 0.001, got '-1'"],
      [['trace', '127.0.0.1', '-p', '65530'], '-p 65530 leaves no room for 30 hops of 3 probe ports'],
      [['trace', '127.0.0.1', '--probe', 'tcp'], "--probe must be 'udp' or 'icmp', got 'tcp'"],
    ]
    for (const [args, message] of cases) {
      const r = run(args)
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toContain(message)
      expect(r.stderr, args.join(' ')).toContain(`usage: netsock ${args[0]} [options] HOST`)
    }
  })

  test('flags take their values getopt-style: -c2, -qn, --count=2, and after the operand', () => {
    const r = run(['trace', '127.0.0.1', '-q1', '-nm', '2', '--wait=2', '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect(jsonLines(r.stdout)[0]).toMatchObject({ event: 'start', maxHops: 2, probesPerHop: 1 })
  })
})

describe('ping', () => {
  testWithCaps(['CAP_NET_RAW'], 'prints what ping(8) prints: header, one line per reply, the statistics; exit 0', () => {
    const r = run(['ping', '-c', '2', '-i', '0.05', '127.0.0.1'])
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe('PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.')
    expect(lines[1]).toMatch(/^64 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=64 time=\d+(\.\d{1,3})? ms$/)
    expect(lines[2]).toMatch(/^64 bytes from 127\.0\.0\.1: icmp_seq=2 ttl=64 time=\d+(\.\d{1,3})? ms$/)
    expect(lines[3]).toBe('')
    expect(lines[4]).toBe('--- 127.0.0.1 ping statistics ---')
    expect(lines[5]).toMatch(/^2 packets transmitted, 2 received, 0% packet loss, time \d+ms$/)
    expect(lines[6]).toMatch(/^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/)
  })

  testWithCaps(['CAP_NET_RAW'], 'IPv6 header as ping(8): "PING ::1(::1) 56 data bytes"; -q prints only the header and statistics', () => {
    const r = run(['ping', '-c', '2', '-i', '0.05', '-q', '::1'])
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toBe('PING ::1(::1) 56 data bytes')
    expect(lines.slice(1, 4)).toEqual(['', '--- ::1 ping statistics ---', expect.stringMatching(/^2 packets transmitted, 2 received, 0% packet loss/)])
  })

  testWithCaps(['CAP_NET_RAW'], '-i is in seconds: three requests at -i 0.2 span at least 0.4 s of sending', () => {
    const r = run(['ping', '-c', '3', '-i', '0.2', '--json', '127.0.0.1'])
    expect(r.status, r.stderr).toBe(0)
    const summary = jsonLines(r.stdout).at(-1)
    // Timers never fire early: the first and last request are two intervals apart at least.
    expect(summary).toMatchObject({ event: 'summary', transmitted: 3, received: 3 })
    expect(summary.timeMs).toBeGreaterThanOrEqual(400)
  })

  testWithCaps(['CAP_NET_RAW'], '--json: a start event, one event per reply, then a summary with the counts and mdev', () => {
    const r = run(['ping', '-c', '2', '-i', '0.05', '-s', '100', '-t', '7', '--json', '127.0.0.1'])
    expect(r.status, r.stderr).toBe(0)
    const lines = jsonLines(r.stdout)
    expect(lines).toEqual([
      { event: 'start', host: '127.0.0.1', address: '127.0.0.1', family: 4, size: 100 },
      { event: 'reply', seq: 1, bytes: 108, ttl: 64, rttMs: expect.any(Number), from: '127.0.0.1' },
      { event: 'reply', seq: 2, bytes: 108, ttl: 64, rttMs: expect.any(Number), from: '127.0.0.1' },
      {
        event: 'summary',
        host: '127.0.0.1',
        address: '127.0.0.1',
        transmitted: 2,
        received: 2,
        errors: 0,
        duplicates: 0,
        corrupted: 0,
        lossPercent: 0,
        timeMs: expect.any(Number),
        rtt: { min: expect.any(Number), avg: expect.any(Number), max: expect.any(Number), mdev: expect.any(Number) },
      },
    ])
    const { min, avg, max } = lines[3].rtt
    expect(min).toBeLessThanOrEqual(avg)
    expect(avg).toBeLessThanOrEqual(max)
  })

  testWithCaps(['CAP_NET_RAW'], 'a closed pipe ends it quietly with 141, as ping(8) killed by SIGPIPE', async () => {
    const child = spawn(process.execPath, [bin, 'ping', '-i', '0.05', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    // Like `| head -1`: read the first line, then close the pipe.
    child.stdout.once('data', () => child.stdout.destroy())
    const code = await new Promise((resolve) => child.on('exit', resolve))
    expect(code).toBe(141)
    expect(stderr).toBe('')
  })

  testWithCaps(
    ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
    'no reply: exit 1 with every request counted; Ctrl-C prints the statistics of what was sent',
    async () => {
      // A veth pair with nobody at 10.217.0.3: its ARP goes unanswered, so nothing comes back.
      const a = createNetns('cliA')
      linkNetns({ ns: a, cidr: '10.217.0.1/24' }, { ns: createNetns('cliB'), cidr: '10.217.0.2/24' })
      const p = runIn(a, ['ping', '-c', '2', '-i', '0.05', '-W', '0.2', '--json', '10.217.0.3'])
      expect(p.status, p.stderr).toBe(1)
      const lines = jsonLines(p.stdout)
      expect(
        lines
          .filter((l) => l.event === 'timeout')
          .map((l) => l.seq)
          .sort(),
      ).toEqual([1, 2])
      expect(lines.at(-1)).toMatchObject({ event: 'summary', transmitted: 2, received: 0, lossPercent: 100, rtt: null })

      const child = spawn('ip', ['netns', 'exec', a, process.execPath, bin, 'ping', '-i', '0.1', '-W', '0.3', '-O', '10.217.0.3'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let interrupted = false
      child.stdout.on('data', (d) => {
        out += d
        // Two requests reported unanswered (-O): interrupt, as Ctrl-C does.
        if (!interrupted && (out.match(/no answer yet/g) ?? []).length >= 2) {
          interrupted = true
          child.kill('SIGINT')
        }
      })
      const code = await new Promise((resolve) => child.on('exit', resolve))
      expect(code).toBe(1)
      const m = /(\d+) packets transmitted, 0 received, 100% packet loss, time \d+ms/.exec(out)
      expect(m, out).not.toBeNull()
      expect(Number(m![1])).toBeGreaterThanOrEqual(2)
    },
    60_000,
  )

  testWithCaps(
    ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
    'other failures exit 2 with the reason: no route; neither a ping nor a raw socket (hint names both, with the gid)',
    () => {
      const ns = createNetns('cliErr')
      const unreachable = runIn(ns, ['ping', '-c', '1', '10.99.0.1'])
      expect(unreachable.status).toBe(2)
      expect(unreachable.stderr).toContain('ENETUNREACH')
      // A fresh namespace keeps net.ipv4.ping_group_range at "1 0": no group may open ping sockets.
      const r = spawnSync(
        'ip',
        ['netns', 'exec', ns, 'setpriv', '--bounding-set=-net_raw', '--inh-caps=-net_raw', process.execPath, bin, 'ping', '-c', '1', '127.0.0.1'],
        { encoding: 'utf8', timeout: 30_000 },
      )
      expect(r.status, r.stderr).toBe(2)
      expect(r.stderr).toContain('net.ipv4.ping_group_range is "1 0" and your gid is 0')
      expect(r.stderr).toContain('CAP_NET_RAW')
      const json = spawnSync(
        'ip',
        ['netns', 'exec', ns, 'setpriv', '--bounding-set=-net_raw', '--inh-caps=-net_raw', process.execPath, bin, 'ping', '-c', '1', '--json', '127.0.0.1'],
        { encoding: 'utf8', timeout: 30_000 },
      )
      expect(json.status).toBe(2)
      expect(jsonLines(json.stdout).at(-1)).toMatchObject({ event: 'error', code: 'EPERM', hint: expect.stringContaining('CAP_NET_RAW') })
    },
  )
})

describe('trace', () => {
  test('prints what traceroute(8) prints (UDP probes, no privilege): 3 probes on one line; exit 0', () => {
    const r = run(['trace', '-n', '127.0.0.1'])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n')).toEqual([
      'traceroute to 127.0.0.1 (127.0.0.1), 30 hops max, 36 byte packets',
      expect.stringMatching(/^ 1 {2}127\.0\.0\.1 {2}\d+\.\d{3} ms {2}\d+\.\d{3} ms {2}\d+\.\d{3} ms$/),
    ])
  })

  test('--json: start, one hop event with its probes, then a summary', () => {
    const r = run(['trace', '127.0.0.1', '-q', '2', '-m', '5', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const probe = { address: '127.0.0.1', rttMs: expect.any(Number), reached: true, icmpType: 3, icmpCode: 3 }
    expect(jsonLines(r.stdout)).toEqual([
      { event: 'start', host: '127.0.0.1', address: '127.0.0.1', family: 4, probe: 'udp', maxHops: 5, probesPerHop: 2 },
      { event: 'hop', ttl: 1, address: '127.0.0.1', rttMs: expect.any(Number), reached: true, icmpType: 3, icmpCode: 3, probes: [probe, probe] },
      { event: 'summary', host: '127.0.0.1', address: '127.0.0.1', reached: true, hops: 1 },
    ])
  })

  testWithCaps(['CAP_NET_RAW'], '-I probes with ICMP echo requests and reaches 127.0.0.1', () => {
    const r = run(['trace', '-I', '-q', '1', '--json', '127.0.0.1'])
    expect(r.status, r.stderr).toBe(0)
    expect(jsonLines(r.stdout)[1]).toEqual({
      event: 'hop',
      ttl: 1,
      address: '127.0.0.1',
      rttMs: expect.any(Number),
      reached: true,
      probes: [{ address: '127.0.0.1', rttMs: expect.any(Number), reached: true }],
    })
  })

  testWithCaps(
    ['CAP_NET_ADMIN'],
    'unanswered probes print * and exit 1',
    () => {
      const a = createNetns('trcA')
      linkNetns({ ns: a, cidr: '10.218.0.1/24' }, { ns: createNetns('trcB'), cidr: '10.218.0.2/24' })
      const t = runIn(a, ['trace', '10.218.0.3', '-m', '2', '-q', '2', '-w', '0.2'])
      expect(t.status, t.stderr).toBe(1)
      expect(t.stdout.trim().split('\n')).toEqual(['traceroute to 10.218.0.3 (10.218.0.3), 2 hops max, 36 byte packets', ' 1  * *', ' 2  * *'])
    },
    30_000,
  )
})

describe('info', () => {
  test('--json is one document with the probed capabilities and the congestion control default and allowed list', () => {
    const r = run(['info', '--json'])
    expect(r.status).toBe(0)
    const caps = JSON.parse(r.stdout)
    expect(caps).toMatchObject({
      kernel: expect.any(String),
      gso: expect.any(Boolean),
      reusePort: true,
      tcpCongestion: expect.any(Array),
      tcpCongestionAllowed: expect.any(Array),
    })
    expect(caps.tcpCongestion).toContain(caps.tcpCongestionDefault)
    const text = run(['info']).stdout
    expect(text).toContain(`TCP congestion control, default  ${caps.tcpCongestionDefault}`)
    expect(text).toContain('allowed without CAP_NET_ADMIN')
  })
})

describe('listen and send', () => {
  /** Starts `listen` on a free loopback port; resolves with the port and the process. */
  async function listener(args: string[]) {
    const child = spawn(process.execPath, [bin, 'listen', '--udp', '0', '--address', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    const port = await new Promise<number>((resolve) =>
      child.stderr.on('data', (d) => {
        err += d
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err)
        if (m) resolve(Number(m[1]))
      }),
    )
    const done = new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out })))
    return { port, child, done }
  }

  test('send takes MESSAGE, stdin, --hex and --file; listen shows text as text and the rest as hex, then a summary', async () => {
    const l = await listener(['-c', '4', '--timeout', '20', '--json'])
    const file = path.join(os.tmpdir(), `netsock-cli-${process.pid}.bin`)
    fs.writeFileSync(file, Buffer.from([0xff, 0x00, 0x01]))
    try {
      expect(run(['send', '--udp', String(l.port), 'hello']).status).toBe(0)
      expect(run(['send', '--udp', String(l.port)], 'from stdin').status).toBe(0)
      expect(run(['send', '--udp', String(l.port), '--hex', 'de ad be ef']).status).toBe(0)
      const sent = run(['send', '--udp', String(l.port), '--file', file, '--json'])
      expect(JSON.parse(sent.stdout)).toEqual({ sent: 1, bytes: 3, to: '127.0.0.1', port: l.port })
    } finally {
      fs.rmSync(file, { force: true })
    }
    const { code, out } = await l.done
    expect(code).toBe(0)
    const lines = jsonLines(out)
    expect(lines[0]).toEqual({ event: 'listening', address: '127.0.0.1', port: l.port })
    expect(lines.slice(1, 5)).toEqual([
      expect.objectContaining({ event: 'message', size: 5, text: 'hello' }),
      expect.objectContaining({ event: 'message', size: 10, text: 'from stdin' }),
      expect.objectContaining({ event: 'message', size: 4, data: Buffer.from('deadbeef', 'hex').toString('base64') }),
      expect.objectContaining({ event: 'message', size: 3, data: Buffer.from([0xff, 0, 1]).toString('base64') }),
    ])
    expect(lines[3].text).toBeUndefined()
    expect(lines[5]).toMatchObject({ event: 'summary', datagrams: 4, bytes: 22, senders: 4 })
  })

  test('listen prints non-UTF-8 payloads as hex and a summary when interrupted', async () => {
    const l = await listener([])
    expect(run(['send', '--udp', String(l.port), '--hex', 'c3 28']).status).toBe(0) // not UTF-8
    await new Promise<void>((resolve) => l.child.stdout.on('data', (d) => /hex c328/.test(String(d)) && resolve()))
    l.child.kill('SIGINT')
    const { code, out } = await l.done
    expect(code).toBe(0)
    expect(out).toMatch(/127\.0\.0\.1:\d+ 2 B {2}hex c328\n/)
    expect(out).toMatch(/--- 1 datagram, 2 bytes from 1 sender in [\d.]+ s\n$/)
  })

  test('usage errors: a non-numeric --timeout, two payload sources, bad hex; EMSGSIZE names the 65,507-byte limit', () => {
    expect(run(['listen', '--udp', '0', '--timeout', 'soon']).stderr).toContain("--timeout must be a number of seconds >= 0.001, got 'soon'")
    expect(run(['send', '--udp', '9', 'x', '--file', '/dev/null']).stderr).toContain('give MESSAGE or --file, not both')
    expect(run(['send', '--udp', '9', '--hex', 'xyz']).stderr).toContain('--hex wants pairs of hex digits')
    const big = run(['send', '--udp', '9', '-'], Buffer.alloc(65_508, 0x61))
    expect(big.status).toBe(2)
    expect(big.stderr).toContain('65,508 bytes do not fit in one UDP datagram: at most 65,507 bytes over IPv4')
  })
})

test('bench compares netsock with dgram in one run and prints one JSON document', () => {
  const r = run(['bench', '--seconds', '1', '--json'])
  expect(r.status).toBe(0)
  const result = JSON.parse(r.stdout)
  expect(result.netsock.received).toBeGreaterThan(0)
  expect(result.dgram.received).toBeGreaterThan(0)
  expect(result.ratio).toBeGreaterThan(0)
})
