// The classic socket programs in examples/, each run with its one command on
// loopback: the RFC 868 time server and client, the UDP echo server and
// client, the concurrent TCP server (20 clients at once) and the
// SO_REUSEADDR restart while a connection sits in TIME_WAIT. Every program
// started here is killed after its test.
import { execFile, spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'
import { trackedExamples } from './helpers/ns-udp.js'

const start = trackedExamples()
const root = path.resolve(__dirname, '..')
const EPOCH_OFFSET = 2_208_988_800

/** Runs an example to its end with its one command; resolves with its exit code and output. */
async function runExample(file: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['-r', './examples/register.cjs', `examples/${file}`, ...args], { cwd: root })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.end(input ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}
const jsonLines = (text: string): any[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))

/** A port that nothing listens on (a TCP or UDP socket bound and closed again). */
function unusedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

test('time server and client (RFC 868): 4 bytes of seconds since 1900, the client prints the date', async () => {
  const server = start(null, 'time-server.ts', ['--port', '0', '--address', '127.0.0.1'])
  const listening = await server.next()
  expect(listening).toMatchObject({ event: 'listening', address: '127.0.0.1', family: 'IPv4', port: expect.any(Number) })
  const port = String(listening.port)

  // The wire format, read with a plain socket: exactly 4 bytes, then the server closes.
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    net
      .connect(listening.port, '127.0.0.1')
      .on('data', (d) => chunks.push(d))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', reject)
  })
  expect(raw).toHaveLength(4)
  expect(Math.abs(raw.readUInt32BE(0) - EPOCH_OFFSET - Date.now() / 1000)).toBeLessThan(5)
  expect(await server.next()).toMatchObject({ event: 'served', client: '127.0.0.1', seconds: raw.readUInt32BE(0) })

  const json = await runExample('time-client.ts', ['--port', port, '--json'])
  expect(json.code, json.stderr).toBe(0)
  const [answer] = jsonLines(json.stdout)
  expect(answer).toMatchObject({ host: '127.0.0.1', port: listening.port, seconds: expect.any(Number), date: expect.any(String) })
  expect(Math.abs(Date.parse(answer.date) - Date.now())).toBeLessThan(5000)
  expect(Math.abs(answer.offsetMs)).toBeLessThan(5000)
  expect(await server.next()).toMatchObject({ event: 'served', client: '127.0.0.1', seconds: answer.seconds })

  const text = await runExample('time-client.ts', ['--host', '127.0.0.1', '--port', port])
  expect(text.code, text.stderr).toBe(0)
  expect(text.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z\n$/)
  expect(Math.abs(Date.parse(text.stdout.trim()) - Date.now())).toBeLessThan(5000)
}, 30_000)

test('time client: a refused connection exits 1 and says why', async () => {
  const r = await runExample('time-client.ts', ['--port', String(await unusedPort())])
  expect(r.code).toBe(1)
  expect(r.stderr).toContain('ECONNREFUSED')
  expect(r.stdout).toBe('')
})

test('UDP echo server and client: messages from the command line and from stdin come back', async () => {
  const server = start(null, 'udp-echo-server.ts', ['--port', '0', '--address', '127.0.0.1'])
  const listening = await server.next()
  expect(listening).toMatchObject({ event: 'listening', address: '127.0.0.1', family: 'IPv4' })
  const port = String(listening.port)

  const json = await runExample('udp-echo-client.ts', ['--port', port, '--json', 'hello', 'two words', 'ünïcode'])
  expect(json.code, json.stderr).toBe(0)
  expect(jsonLines(json.stdout)).toEqual([
    { seq: 1, echo: 'hello', rttMs: expect.any(Number) },
    { seq: 2, echo: 'two words', rttMs: expect.any(Number) },
    { seq: 3, echo: 'ünïcode', rttMs: expect.any(Number) },
    { summary: { sent: 3, echoed: 3 } },
  ])
  const echoes = [await server.next(), await server.next(), await server.next()]
  expect(echoes).toEqual(
    ['hello', 'two words', 'ünïcode'].map((m) => Buffer.byteLength(m)).map((bytes) => ({ event: 'echo', from: '127.0.0.1', port: expect.any(Number), bytes })),
  )

  const lines = await runExample('udp-echo-client.ts', ['--host', '127.0.0.1', '--port', port], 'first line\nsecond line\n')
  expect(lines.code, lines.stderr).toBe(0)
  expect(lines.stdout).toBe('first line\nsecond line\n')
  expect(lines.stderr).toContain('2 sent, 2 echoed')
}, 30_000)

test('UDP echo client: no server means timeouts (and the refusal) and exit 1', async () => {
  const r = await runExample('udp-echo-client.ts', ['--port', String(await unusedPort()), '--timeout', '200', '--json', 'anyone?'])
  expect(r.code).toBe(1)
  expect(jsonLines(r.stdout)).toEqual([{ seq: 1, timeout: true }, { summary: { sent: 1, echoed: 0, error: expect.stringContaining('ECONNREFUSED') } }])
})

test('concurrent TCP server: 20 clients connected at once are all served', async () => {
  const CLIENTS = 20
  const server = start(null, 'tcp-concurrent-server.ts', ['--port', '0', '--address', '127.0.0.1'])
  const listening = await server.next()
  expect(listening).toMatchObject({ event: 'listening', address: '127.0.0.1', family: 'IPv4' })

  type Client = { sock: net.Socket; received: string; waitFor(text: string): Promise<void>; closed: Promise<void> }
  const connect = (): Client => {
    const sock = net.connect(listening.port, '127.0.0.1')
    const c: Client = {
      sock,
      received: '',
      waitFor: (text) =>
        new Promise((resolve, reject) => {
          const check = (): void => {
            if (c.received.includes(text)) {
              sock.off('data', check)
              resolve()
            }
          }
          sock.on('data', check)
          sock.once('error', reject)
          check()
        }),
      closed: new Promise((resolve) => sock.once('close', () => resolve())),
    }
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => (c.received += d))
    return c
  }
  const clients = Array.from({ length: CLIENTS }, connect)
  // Every client sends a line and gets its answer while all 20 stay connected:
  // a server serving one client at a time would never answer the second.
  clients.forEach((c, i) => c.sock.write(`hello from client ${i}\n`))
  await Promise.all(clients.map((c, i) => c.waitFor(`HELLO FROM CLIENT ${i}\n`)))
  // Then each sends an unterminated last line and closes its side; the server answers it and closes too.
  clients.forEach((c, i) => c.sock.end(`bye ${i}`))
  await Promise.all(clients.map((c) => c.closed))
  clients.forEach((c, i) => expect(c.received).toBe(`HELLO FROM CLIENT ${i}\nBYE ${i}`))

  const events = [] as any[]
  while (events.filter((e) => e.event === 'closed').length < CLIENTS) events.push(await server.next())
  const connected = events.filter((e) => e.event === 'connected')
  expect(connected).toHaveLength(CLIENTS)
  expect(connected.map((e) => e.active)).toEqual(Array.from({ length: CLIENTS }, (_, i) => i + 1))
  expect(new Set(connected.map((e) => e.port)).size).toBe(CLIENTS)
  const closed = events.filter((e) => e.event === 'closed')
  for (const e of closed) expect(e).toMatchObject({ client: '127.0.0.1', lines: 1, maxActive: CLIENTS })
  expect(closed[closed.length - 1].active).toBe(0)
}, 30_000)

test('SO_REUSEADDR restart: with a connection in TIME_WAIT, bind fails without it and succeeds with it', async () => {
  const demo = start(null, 'reuseaddr-restart.ts', ['--port', '0', '--json'])
  const steps = await demo.rest()
  expect(await demo.exit).toBe(0)
  const port = steps[0]?.port
  expect(steps).toEqual([
    { event: 'served', port: expect.any(Number), oldReuseAddr: true, client: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
    { event: 'time-wait', port, connections: expect.anything() },
    { event: 'restart', reuseAddr: false, ok: false, code: 'EADDRINUSE', message: `bind EADDRINUSE 127.0.0.1:${port}` },
    { event: 'restart', reuseAddr: true, ok: true },
  ])
  // ss, when present, shows the server side of the connection in TIME_WAIT on that port.
  const { connections } = steps[1]
  if (connections !== null) expect(connections).toContain(`127.0.0.1:${port} ${steps[0].client}`)
}, 30_000)

test("SO_REUSEADDR restart: the TIME_WAIT connection keeps the old server's setting, so without it there both restarts fail", async () => {
  const demo = start(null, 'reuseaddr-restart.ts', ['--port', '0', '--json', '--old-without-reuseaddr'])
  const steps = await demo.rest()
  expect(await demo.exit).toBe(0)
  expect(steps.map((s) => [s.event, s.oldReuseAddr ?? s.reuseAddr, s.code])).toEqual([
    ['served', false, undefined],
    ['time-wait', undefined, undefined],
    ['restart', false, 'EADDRINUSE'],
    ['restart', true, 'EADDRINUSE'],
  ])
}, 30_000)

test('SO_REUSEADDR restart: the human-readable output says both outcomes', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['-r', './examples/register.cjs', 'examples/reuseaddr-restart.ts', '--port', '0'], {
    cwd: root,
    timeout: 15_000,
  })
  expect(stdout).toContain('closed the connection first')
  expect(stdout).toMatch(/restart without SO_REUSEADDR: bind failed, bind EADDRINUSE 127\.0\.0\.1:\d+\n/)
  expect(stdout).toContain('restart with SO_REUSEADDR: bind succeeded\n')
})
