// Helpers for the netsock perf tests: the CLI and iperf3 as child processes
// (optionally inside a network namespace) with every wait bounded, a free
// port on loopback, and tests that need tools besides privileges.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { it, test } from 'vitest'
import { createSocket } from '../../src/index.js'
import { hasCapability, type Capability } from './privilege.js'

export const bin = path.resolve(__dirname, '../../bin/netsock.cjs')
export const node = process.execPath

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0
}

/** In CI (which installs iperf3, sockperf and nftables) a missing tool or privilege fails the test instead of skipping it. */
const required = process.env.NETSOCK_REQUIRE_PRIV === '1' || process.env.CI === 'true'

/** `test` when the tools and capabilities are there; otherwise skipped with the reason (or failing in CI). */
export function testWith(needs: { tools?: string[]; caps?: Capability[] }, name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  const missing = [...(needs.caps ?? []).filter((c) => !hasCapability(c)), ...(needs.tools ?? []).filter((t) => !hasTool(t))]
  if (missing.length === 0) test(name, fn, timeout)
  else if (required) test(name, () => Promise.reject(new Error(`CI needs ${missing.join(', ')}`)))
  else it.skip(`${name} (skipped: needs ${missing.join(', ')})`, fn)
}

export interface Proc {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves with the first match of `re` in stdout+stderr, or rejects after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray>
  kill(signal?: NodeJS.Signals): void
}

const running = new Set<ChildProcess>()

/** Stops every child these helpers started (by pid; for afterAll). */
export function killAll(): void {
  for (const c of running) c.kill('SIGKILL')
  running.clear()
}

export function start(argv: string[], ns?: string): Proc {
  const cmd = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout!.on('data', (d) => {
    out += d
    for (const l of listeners) l()
  })
  child.stderr!.on('data', (d) => {
    err += d
    for (const l of listeners) l()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child)
      for (const l of listeners) l()
      resolve({ code, signal })
    }),
  )
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGKILL') => child.kill(signal),
    waitFor: (re, ms) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = (out + err).match(re)
          if (m) done(null, m)
          else if (child.exitCode !== null || child.signalCode !== null) done(new Error(`exited before ${re}: ${out}${err}`))
        }
        const done = (e: Error | null, m?: RegExpMatchArray): void => {
          clearTimeout(timer)
          listeners.delete(check)
          if (e) reject(e)
          else resolve(m!)
        }
        const timer = setTimeout(() => done(new Error(`no ${re} within ${ms} ms: ${out}${err}`)), ms)
        listeners.add(check)
        check()
      }),
  }
}

/** Runs a command to its end (killed after `ms`): exit code and output. */
export async function run(argv: string[], ms: number, ns?: string): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const p = start(argv, ns)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    p.kill()
  }, ms)
  const { code } = await p.exited
  clearTimeout(timer)
  return { code, stdout: p.stdout(), stderr: p.stderr(), timedOut }
}

/** A port free for both TCP and UDP on 127.0.0.1 right now (iperf3 needs one given). */
export function freePort(): number {
  for (let i = 0; i < 20; i++) {
    const t = createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1')
    const port = t.address().port
    try {
      createSocket({ type: 'udp4' }).bind(port, '127.0.0.1').close()
      return port
    } catch {
      // taken for UDP: try another
    } finally {
      t.close()
    }
  }
  throw new Error('no free port')
}

/** Waits until something listens on TCP `port` (ss, inside `ns` if given), without connecting to it. */
export async function waitListening(port: number, ns?: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const argv = ['ss', '-Hltn', `sport = :${port}`]
    const r = spawnSync(ns ? 'ip' : argv[0], ns ? ['netns', 'exec', ns, ...argv] : argv.slice(1), { encoding: 'utf8' })
    if (r.stdout.includes('LISTEN')) return
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export const netsockPerf = (...args: string[]): string[] => [node, bin, 'perf', ...args]
