import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, test } from 'vitest'

const bin = path.resolve(__dirname, '../bin/netsock.cjs')
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 })

describe('the netsock command', () => {
  test('with no command prints the overview and exits 2; --help exits 0', () => {
    const none = run()
    expect(none.status).toBe(2)
    expect(none.stdout).toContain('usage: netsock <command>')
    const help = run('--help')
    expect(help.status).toBe(0)
    for (const c of ['info', 'listen', 'send', 'bench']) expect(help.stdout).toContain(`  ${c}`)
  })

  test('every command has --help', () => {
    for (const c of ['info', 'listen', 'send', 'bench']) {
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
