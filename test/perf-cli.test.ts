// `netsock perf` at the command line: iperf3's flags, help, output forms
// and exit codes (0 when the test ran, 1 for anything else), and bad input
// of every kind ending with a clear message, never a hang.
import net from 'node:net'
import { afterAll, describe, expect, test } from 'vitest'
import { killAll, netsockPerf, run, start } from './helpers/perf.js'

afterAll(killAll)

const RUN_MS = 60_000

/** A netsock perf server on a free loopback port (-p 0), and that port. */
async function server(...args: string[]): Promise<{ port: number; proc: ReturnType<typeof start> }> {
  const proc = start(netsockPerf('server', '-B', '127.0.0.1', '-p', '0', ...args))
  const m = await proc.waitFor(/(?:Server listening on|listening on port) (\d+)/, 20_000)
  return { port: Number(m[1]), proc }
}

describe('netsock perf: help and usage', () => {
  test('--help lists the modes; each mode lists every flag with its default; exit 0', async () => {
    const top = await run(netsockPerf('--help'), RUN_MS)
    expect(top.code).toBe(0)
    expect(top.stdout).toContain('netsock perf client HOST')
    const c = await run(netsockPerf('client', '--help'), RUN_MS)
    expect(c.code).toBe(0)
    for (const flag of [
      '--port',
      '--udp',
      '--bitrate',
      '--length',
      '--time',
      '--parallel',
      '--reverse',
      '--latency',
      '--json',
      '(default 5201)',
      '(default 10)',
    ])
      expect(c.stdout).toContain(flag)
    const s = await run(netsockPerf('server', '--help'), RUN_MS)
    expect(s.code).toBe(0)
    for (const flag of ['--port', '--one-off', '--json']) expect(s.stdout).toContain(flag)
  })

  test("bad command lines exit 1 (iperf3's code) and say what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [['client', '127.0.0.1', '--bogus'], /unknown option '--bogus'/],
      [['client', '127.0.0.1', '--revers'], /did you mean '--reverse'\?/],
      [['client'], /needs a HOST/],
      [['client', '127.0.0.1', '-b', 'fast'], /--bitrate rate must be a number/],
      [['client', '127.0.0.1', '-p', '0'], /--port must be an integer 1-65535/],
      [['client', '127.0.0.1', '-u', '-l', '8'], /--length must be 16-65507 bytes for UDP/],
      [['client', '127.0.0.1', '--latency', '-R'], /cannot be combined/],
      [['server', '-1', 'extra'], /takes no arguments/],
      [['nosuch'], /unknown mode 'nosuch'/],
    ]
    for (const [args, message] of cases) {
      const r = await run(netsockPerf(...args), RUN_MS)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr, args.join(' ')).toMatch(message)
    }
  })
})

describe('netsock perf client and server', () => {
  test('text output: the stream lines, intervals and the summary with datagrams/s, loss and CPU', async () => {
    const { port, proc } = await server('-1')
    const r = await run(netsockPerf('client', '127.0.0.1', '-p', String(port), '-u', '-b', '10M', '-l', '1200', '-t', '1', '-i', '0.5'), RUN_MS)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^Connecting to host 127\.0\.0\.1, port \d+$/m)
    expect(r.stdout).toMatch(/^\[ *\d+\] local 127\.0\.0\.1 port \d+ connected to 127\.0\.0\.1 port \d+$/m)
    expect(r.stdout).toContain('[ ID] Interval           Transfer     Bitrate         Total Datagrams')
    expect(r.stdout).toMatch(/^\[ *\d+\] +0\.00-[\d.]+ +sec +[\d.]+ \w+Bytes +[\d.]+ \w+bits\/sec +\d+$/m)
    expect(r.stdout).toMatch(/ms +\d+\/\d+ \([\d.e+-]+%\) +receiver$/m)
    expect(r.stdout).toMatch(/^Datagrams\/s: .* sent, .* received; lost \d+ .*out-of-order \d+, duplicates \d+$/m)
    expect(r.stdout).toMatch(/^CPU Utilization: local\/sender [\d.]+% .*remote\/receiver [\d.]+%/m)
    expect(r.stdout.trim().endsWith('netsock perf done.')).toBe(true)
    expect((await proc.exited).code).toBe(0)
  }, 60_000)

  test('--json prints one iperf3-shaped document; --json-stream one line per event', async () => {
    const a = await server('-1')
    const doc = await run(netsockPerf('client', '127.0.0.1', '-p', String(a.port), '-t', '1', '-J'), RUN_MS)
    expect(doc.code, doc.stderr).toBe(0)
    const j = JSON.parse(doc.stdout)
    expect(Object.keys(j)).toEqual(['start', 'intervals', 'end'])
    expect(j.start.test_start.protocol).toBe('TCP')
    expect(j.end.sum_sent.retransmits).toBeGreaterThanOrEqual(0)
    expect(j.end.sum_received.bytes).toBeGreaterThan(0)
    await a.proc.exited
    const b = await server('-1')
    const stream = await run(netsockPerf('client', '127.0.0.1', '-p', String(b.port), '-u', '-t', '1', '--json-stream'), RUN_MS)
    expect(stream.code, stream.stderr).toBe(0)
    const events = stream.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event)
    expect(events[0]).toBe('start')
    expect(events.at(-1)).toBe('end')
    expect(events.slice(1, -1).every((e: string) => e === 'interval')).toBe(true)
    await b.proc.exited
  }, 60_000)

  test('an unreachable server: exit 1, "unable to connect to server"', async () => {
    const probe = net.createServer().listen(0, '127.0.0.1')
    await new Promise((r) => probe.once('listening', r))
    const port = (probe.address() as net.AddressInfo).port
    await new Promise((r) => probe.close(r))
    const r = await run(netsockPerf('client', '127.0.0.1', '-p', String(port), '-t', '1'), RUN_MS)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^netsock perf: error - unable to connect to server 127\.0\.0\.1 port \d+: .*ECONNREFUSED/m)
  })

  test('a server that speaks something else: exit 1, and --json carries the error', async () => {
    const other = net.createServer((c) => c.end('HTTP/1.1 400 Bad Request\r\n\r\n')).listen(0, '127.0.0.1')
    await new Promise((r) => other.once('listening', r))
    const port = (other.address() as net.AddressInfo).port
    const r = await run(netsockPerf('client', '127.0.0.1', '-p', String(port), '-t', '1', '--json'), RUN_MS)
    other.close()
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/received an unknown control message \(\d+\): the server does not speak iperf3's protocol/)
    expect(JSON.parse(r.stdout).error).toMatch(/unknown control message/)
  })

  test('a server killed mid-test: the client exits 1 at once, saying the control connection closed', async () => {
    const { port, proc } = await server()
    const client = start(netsockPerf('client', '127.0.0.1', '-p', String(port), '-u', '-t', '60', '-i', '0.2'))
    await client.waitFor(/\[ *\d+\] +0\.00-/, 20_000)
    proc.kill('SIGKILL')
    const { code } = await client.exited
    expect(code).toBe(1)
    expect(client.stderr()).toMatch(/netsock perf: error - (control socket has closed unexpectedly|unable to write to stream socket)/)
  }, 60_000)

  test('a server frozen mid-test: a receiving client gives up after --rcv-timeout with exit 1', async () => {
    const { port, proc } = await server()
    const client = start(netsockPerf('client', '127.0.0.1', '-p', String(port), '-u', '-R', '-b', '1M', '-t', '60', '-i', '0.2', '--rcv-timeout', '1500'))
    await client.waitFor(/\[ *\d+\] +0\.00-/, 20_000)
    proc.kill('SIGSTOP')
    try {
      const { code } = await client.exited
      expect(code).toBe(1)
      expect(client.stderr()).toMatch(/idle timeout for receiving data/)
    } finally {
      proc.kill('SIGKILL')
    }
  }, 60_000)

  test('a client killed mid-test: the server reports the failed test and goes on serving', async () => {
    const { port, proc } = await server()
    const client = start(netsockPerf('client', '127.0.0.1', '-p', String(port), '-t', '60', '-i', '0.2'))
    await client.waitFor(/\[ *\d+\] +0\.00-/, 20_000)
    client.kill('SIGKILL')
    await proc.waitFor(/netsock perf: error - control socket has closed unexpectedly/, 20_000)
    const again = await run(netsockPerf('client', '127.0.0.1', '-p', String(port), '-u', '-t', '0.5'), RUN_MS)
    expect(again.code, again.stderr).toBe(0)
    proc.kill('SIGTERM')
    expect((await proc.exited).code).toBe(1) // interrupted, as iperf3
  }, 60_000)
})
