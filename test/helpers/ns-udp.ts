// UDP programs inside network namespaces, for the broadcast, multicast and
// example suites: a receiver that records what reaches it until an 'end'
// datagram, and one-shot scripts that print one JSON result.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterEach } from 'vitest'
import { nsExec, spawnNodeInNetns, type VethEnd } from './netns.js'

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

export interface Received {
  text: string
  from: string
  ttl?: number
  destination?: string
}

/**
 * Starts a receiver in `ns`: a `type` socket bound to `port` on the wildcard
 * address (`netsock` and `s` are in scope for `setup`). It records every
 * datagram until one reads 'end', then waits 100 ms more (a looped-back copy
 * may trail) and reports. Send 'end' by unicast on the same path after the
 * datagrams under test: the path keeps order, so anything that was going to
 * arrive has arrived.
 */
export async function receiver(ns: string, type: 'udp4' | 'udp6', port: number, setup = '') {
  const child = spawnNodeInNetns(
    ns,
    `
    const s = netsock.createSocket({ type: '${type}', reuseAddr: true }).bind(${port})
    s.setAncillary({ ttl: true, pktinfo: true })
    ${setup}
    const got = []
    s.on('message', (m, r) => {
      const text = m.toString()
      if (text === 'end') setTimeout(() => { console.log(JSON.stringify({ got })); process.exit(0) }, 100)
      else got.push({ text, from: r.address, ttl: r.ttl, destination: r.destination })
    })
    console.log(JSON.stringify({ ready: true }))`,
  )
  try {
    await within(child.next(), 10_000, `the receiver in ${ns} to start`)
  } catch (err) {
    child.stop()
    throw err
  }
  return {
    /** What arrived before 'end'. */
    result: async (): Promise<Received[]> => {
      try {
        return (await within(child.next(), 10_000, `the receiver in ${ns} to see 'end'`)).got
      } finally {
        child.stop()
      }
    },
    stop: child.stop,
  }
}

/**
 * Runs `code` in `ns` (netsock as `netsock`); it reports by calling
 * `done(value)`, and a throw is reported as `{ error: { message, code } }`.
 */
export async function run(ns: string, code: string): Promise<any> {
  const child = spawnNodeInNetns(
    ns,
    `
    const done = (v = {}) => { process.stdout.write(JSON.stringify(v) + '\\n', () => process.exit(0)) }
    const attempt = (f) => { try { f(); return { ok: true } } catch (e) { return { error: { message: e.message, code: e.code, hint: e.hint } } } }
    ;(async () => {\n${code}\n})().catch((e) => done({ thrown: String(e && e.stack || e) }))`,
  )
  try {
    const out = await within(child.next(), 10_000, `the script in ${ns}`)
    if (out && out.thrown) throw new Error(`script in ${ns} threw: ${out.thrown}`)
    return out
  } finally {
    child.stop()
  }
}

/** Turns off duplicate address detection, so link-local addresses are usable at once. */
export function noDad(ns: string): void {
  for (const scope of ['all', 'default']) nsExec(ns, ['sysctl', '-qw', `net.ipv6.conf.${scope}.accept_dad=0`])
}

/** The interface index of a veth end, read in its namespace. */
export function ifindexOf(end: VethEnd): number {
  return Number(nsExec(end.ns, ['cat', `/sys/class/net/${end.ifname}/ifindex`]).trim())
}

/**
 * Waits until IPv6 is up on each veth end: the kernel configures IPv6 on a
 * link (its link-local address, the ff00::/8 route) only once the carrier
 * event arrives, which the link watcher can delay by up to a second; sends
 * before that are lost. Bounded: fails after `ms`.
 */
export async function ipv6Ready(ends: VethEnd[], ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  for (const end of ends) {
    for (;;) {
      const out = nsExec(end.ns, ['ip', '-6', '-o', 'addr', 'show', 'dev', end.ifname, 'scope', 'link'])
      if (out.includes('fe80:') && !out.includes('tentative')) break
      if (Date.now() > deadline) throw new Error(`IPv6 did not come up on ${end.ifname} in ${end.ns} within ${ms} ms: ${out}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

const repoRoot = path.resolve(__dirname, '../..')

/**
 * Runs an example with its one command, `node -r ./examples/register.cjs
 * examples/<file> args`, inside namespace `ns` (or here when null). JSON
 * lines it prints arrive through `next()`; plain lines are skipped.
 */
/**
 * `spawnExample` for a test file: every example started through the returned
 * function is stopped after each test.
 */
export function trackedExamples(): typeof spawnExample {
  const running: { stop: () => void }[] = []
  afterEach(() => {
    for (const p of running.splice(0)) p.stop()
  })
  return (...args) => {
    const p = spawnExample(...args)
    running.push(p)
    return p
  }
}

export function spawnExample(ns: string | null, file: string, args: string[]) {
  const node = [process.execPath, '-r', './examples/register.cjs', `examples/${file}`, ...args]
  const child = ns ? spawn('ip', ['netns', 'exec', ns, ...node], { cwd: repoRoot }) : spawn(node[0], node.slice(1), { cwd: repoRoot })
  const lines: any[] = []
  const waiters: ((v: any) => void)[] = []
  let buffered = ''
  let stderr = ''
  let exited = false
  child.stderr.on('data', (d) => (stderr += d))
  child.stdout.on('data', (d) => {
    buffered += d
    let nl
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl).trim()
      buffered = buffered.slice(nl + 1)
      if (!line.startsWith('{')) continue
      const value = JSON.parse(line)
      const w = waiters.shift()
      if (w) w(value)
      else lines.push(value)
    }
  })
  // 'close', not 'exit': stdout has been read to its end by then.
  const exit = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      exited = true
      resolve(code)
    }),
  )
  return {
    /** The next JSON line, failing after `ms` or when the program exits first. */
    next: (ms = 10_000): Promise<any> =>
      lines.length
        ? Promise.resolve(lines.shift())
        : within(
            new Promise((resolve, reject) => {
              waiters.push(resolve)
              void exit.then((code) => reject(new Error(`examples/${file} exited (${code}); stderr: ${stderr}`)))
            }),
            ms,
            `a line from examples/${file}`,
          ),
    /** Resolves with the exit code. */
    exit,
    /** Every JSON line not yet taken, once the program has ended. */
    rest: async (): Promise<any[]> => {
      await within(exit, 15_000, `examples/${file} to end`)
      return lines.splice(0)
    },
    get stderr() {
      return stderr
    },
    stop: () => {
      if (!exited) child.kill('SIGKILL')
    },
  }
}
