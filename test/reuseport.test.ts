import { type ChildProcess, spawn } from 'node:child_process'
import dgram from 'node:dgram'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import net from 'node:net'
import path from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import {
  attachReusePortProgram,
  constants,
  createSocket,
  openReusePort,
  type ReusePortGroup,
  reusePortWorker,
  serveReusePort,
  steeringProgram,
} from '../src/index.js'
import { addon } from '../src/native.js'
import { portOf, track } from './helpers/sockets.js'

const groups: ReusePortGroup[] = []
afterEach(() => {
  for (const g of groups.splice(0)) g.close()
})
const open = (options: Parameters<typeof openReusePort>[0]) => {
  const g = openReusePort(options)
  groups.push(g)
  return g
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** struct sock_filter[] by hand: [code, jt, jf, k] per instruction. */
function program(...insns: [number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(insns.length * 8)
  const dv = new DataView(out.buffer)
  insns.forEach(([code, jt, jf, k], i) => {
    dv.setUint16(i * 8, code, le)
    dv.setUint8(i * 8 + 2, jt)
    dv.setUint8(i * 8 + 3, jf)
    dv.setUint32(i * 8 + 4, k >>> 0, le)
  })
  return out
}
const retK = (k: number) => program([constants.BPF_RET | constants.BPF_K, 0, 0, k])

/** Sends `n` datagrams from one socket (one flow) and counts what each group member received. */
async function spread(group: ReusePortGroup, n: number): Promise<number[]> {
  const counts = group.sockets.map(() => 0)
  group.sockets.forEach((s, i) => s.on('batch', (b) => (counts[i] += b.length)))
  const tx = track(createSocket({ type: group.type as 'udp4' }))
  const payload = Buffer.from('x')
  for (let i = 0; i < n; i++) tx.send(payload, group.port, '127.0.0.1')
  for (let i = 0; i < 200 && counts.reduce((a, b) => a + b, 0) < n; i++) await sleep(5)
  return counts
}

describe('openReusePort', () => {
  test('N UDP sockets share one port, in index order', () => {
    const g = open({ type: 'udp4', count: 3, address: '127.0.0.1' })
    expect(g.sockets).toHaveLength(3)
    for (const s of g.sockets) {
      expect(portOf(s)).toBe(g.port)
      expect(s.getOption('SO_REUSEPORT')).toBe(true)
    }
  })

  test("'hash' (the default) keeps one flow on one socket", async () => {
    const g = open({ type: 'udp4', count: 2, address: '127.0.0.1' })
    const counts = await spread(g, 100)
    expect(counts.reduce((a, b) => a + b)).toBe(100)
    expect(counts.filter((c) => c > 0)).toHaveLength(1)
  })

  test("'random' steering spreads even a single flow across every socket", async () => {
    const g = open({ type: 'udp4', count: 2, address: '127.0.0.1', steering: 'random' })
    const counts = await spread(g, 200)
    expect(counts.reduce((a, b) => a + b)).toBe(200)
    // Each datagram picks a socket at random: missing one in 200 has probability 2^-199.
    for (const c of counts) expect(c).toBeGreaterThan(0)
  })

  test('a custom program picks the socket: "return 1" sends everything to index 1', async () => {
    const g = open({ type: 'udp6', count: 3, address: '::1', steering: retK(1) })
    const counts = group6(g)
    const tx = track(createSocket({ type: 'udp6' }))
    for (let i = 0; i < 50; i++) tx.send('y', g.port, '::1')
    for (let i = 0; i < 200 && counts[1] < 50; i++) await sleep(5)
    expect(counts).toEqual([0, 50, 0])
  })

  test("'cpu' steering on a TCP group: every connection is accepted by some member", async () => {
    const g = open({ type: 'tcp4', count: 2, address: '127.0.0.1', steering: 'cpu' })
    const accepted = g.sockets.map(() => 0)
    const ac = new AbortController()
    g.sockets.forEach((s, i) => {
      const loop = async () => {
        for (;;) {
          const c = await s.accept({ signal: ac.signal }).catch(() => null)
          if (!c) return
          accepted[i]++
          c.close()
        }
      }
      void loop()
    })
    const clients: net.Socket[] = []
    for (let i = 0; i < 10; i++) {
      const c = net.connect(g.port, '127.0.0.1')
      c.on('error', () => {})
      clients.push(c)
    }
    for (let i = 0; i < 200 && accepted[0] + accepted[1] < 10; i++) await sleep(5)
    ac.abort()
    for (const c of clients) c.destroy()
    expect(accepted[0] + accepted[1]).toBe(10)
  })

  test('an index past the group falls back to the hash', async () => {
    const g = open({ type: 'udp4', count: 2, address: '127.0.0.1', steering: retK(7) })
    const counts = await spread(g, 20)
    expect(counts.reduce((a, b) => a + b)).toBe(20)
  })

  test('steeringProgram encodes ld #ancillary; mod #n; ret a', () => {
    const p = steeringProgram('cpu', 4)
    expect(p.byteLength).toBe(24)
    const dv = new DataView(p.buffer, p.byteOffset)
    expect(dv.getUint16(0, le)).toBe(constants.BPF_LD | constants.BPF_W | constants.BPF_ABS)
    expect(dv.getUint32(4, le)).toBe((constants.SKF_AD_OFF + constants.SKF_AD_CPU) >>> 0)
    expect(dv.getUint32(12, le)).toBe(4)
    expect(dv.getUint16(16, le)).toBe(constants.BPF_RET | constants.BPF_A)
  })

  test('bad arguments and kernel refusals are clear errors, and nothing is left open', () => {
    const before = openFds()
    expect(() => openReusePort({ type: 'raw4' as never, count: 2 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => openReusePort({ type: 'udp4', count: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => openReusePort({ type: 'udp4', count: 2, steering: 'bogus' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    // An invalid program (jump out of bounds) is rejected by the kernel's checker; the sockets made so far are closed.
    const bad = program([constants.BPF_JMP | constants.BPF_JA, 0, 0, 5], [constants.BPF_RET | constants.BPF_K, 0, 0, 0])
    expect(() => openReusePort({ type: 'udp4', count: 2, address: '127.0.0.1', steering: bad })).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'setsockopt' }),
    )
    expect(openFds()).toBe(before)
    // A socket bound without SO_REUSEPORT has no group to steer.
    const plain = track(createSocket({ type: 'udp4' })).bind(0, '127.0.0.1')
    expect(() => attachReusePortProgram(plain, retK(0))).toThrow(expect.objectContaining({ code: 'EINVAL' }))
    expect(() => attachReusePortProgram(plain, new Uint8Array(5))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    // The native function asserts the shape JS validated.
    expect(() => addon.attachFilter(plain.fd, constants.SOL_SOCKET, constants.SO_ATTACH_REUSEPORT_CBPF, new Uint8Array(12))).toThrow(/sock_filter entries/)
    expect(() => reusePortWorker()).toThrow(expect.objectContaining({ code: 'ERR_NOT_REUSEPORT_WORKER' }))
  })
})

function group6(g: ReusePortGroup): number[] {
  const counts = g.sockets.map(() => 0)
  g.sockets.forEach((s, i) => s.on('message', () => counts[i]++))
  return counts
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length
}

describe('serveReusePort', () => {
  const dir = path.resolve(__dirname, '../examples/reuseport')

  test('hands each socket to a worker thread that serves it with dgram', async () => {
    // A worker written inline: echo the worker index back with node:dgram, and say when it is bound.
    const file = path.join(os.tmpdir(), `netsock-rp-worker-${process.pid}.cjs`)
    fs.writeFileSync(
      file,
      `const dgram = require('dgram'); const n = require(${JSON.stringify(path.resolve(__dirname, '../dist/cjs/index.js'))})
       const { fd, index, count, data } = n.reusePortWorker()
       const s = dgram.createSocket('udp4'); s.bind({ fd }, () => require('worker_threads').parentPort.postMessage('bound'))
       s.on('message', (m, r) => s.send(index + '/' + count + '/' + data.tag, r.port, r.address))`,
    )
    const server = await serveReusePort({ type: 'udp4', count: 2, address: '127.0.0.1', steering: 'random', worker: file, workerData: { tag: 'hi' } })
    const client = dgram.createSocket('udp4')
    try {
      expect(server.workers).toHaveLength(2)
      await Promise.all(server.workers.map((w) => once(w, 'message')))
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', r))
      // Random steering: each query goes to either worker; ask until both answered (bounded).
      const seen = new Set<string>()
      for (let round = 0; round < 200 && seen.size < 2; round++) {
        const reply = once(client, 'message')
        client.send('q', server.port, '127.0.0.1')
        seen.add(String((await reply)[0]))
      }
      expect([...seen].sort()).toEqual(['0/2/hi', '1/2/hi'])
    } finally {
      client.close()
      await server.close()
      fs.rmSync(file, { force: true })
    }
  })

  test('thread mode: a worker that ends, or is stopped, before taking its socket leaves no descriptor in the group', async () => {
    const quitter = path.join(os.tmpdir(), `netsock-rp-quit-${process.pid}.cjs`)
    const idler = path.join(os.tmpdir(), `netsock-rp-idle-${process.pid}.cjs`)
    fs.writeFileSync(quitter, `// ends at once, never calling reusePortWorker()\n`)
    fs.writeFileSync(idler, `setInterval(() => {}, 1000) // runs until stopped, never calling reusePortWorker()\n`)
    try {
      const before = openFds()
      for (const [file, stopFirst] of [
        [quitter, false],
        [idler, true],
      ] as const) {
        const server = await serveReusePort({ type: 'tcp4', count: 3, address: '127.0.0.1', worker: file })
        if (!stopFirst) await Promise.all(server.workers.map((w) => once(w, 'exit')))
        await server.close()
        // Nothing of the group is left: a plain listener (no SO_REUSEPORT) can take the port.
        const plain = createSocket({ type: 'tcp4' }).bind(server.port, '127.0.0.1').listen()
        plain.close()
      }
      expect(openFds()).toBe(before)
    } finally {
      fs.rmSync(quitter, { force: true })
      fs.rmSync(idler, { force: true })
    }
  }, 60_000)

  /** Runs an example with --port 0; resolves with its "ready" JSON and the child. */
  async function runExample(file: string, args: string[]): Promise<{ child: ChildProcess; ready: any; output: () => string }> {
    const child = spawn(process.execPath, [path.join(dir, file), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d) => (out += d))
    child.stderr!.setEncoding('utf8').on('data', (d) => (out += d))
    for (let i = 0; i < 200 && !/^ready /m.test(out) && child.exitCode === null; i++) await sleep(25)
    const m = /^ready (.*)$/m.exec(out)
    if (!m) {
      child.kill('SIGKILL')
      throw new Error(`${file} did not start: ${out}`)
    }
    return { child, ready: JSON.parse(m[1]), output: () => out }
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  async function askTcp(port: number, line: string): Promise<string> {
    const c = net.connect(port, '127.0.0.1')
    c.end(`${line}\n`)
    let reply = ''
    c.setEncoding('utf8').on('data', (d) => (reply += d))
    await once(c, 'close')
    return reply
  }

  for (const mode of ['thread', 'process']) {
    test(`examples/reuseport/tcp-server.mjs (${mode} workers) serves from every worker on one port`, async () => {
      const { child, ready } = await runExample('tcp-server.mjs', ['--workers', '2', '--mode', mode])
      try {
        expect(ready).toMatchObject({ workers: 2, mode })
        const seen = new Set<string>()
        // The kernel hashes each connection (new source port each time) to one of the two listeners.
        for (let i = 0; i < 64 && seen.size < 2; i++) {
          const reply = await askTcp(ready.port, `hello ${i}`)
          expect(reply).toMatch(new RegExp(`^worker [01] .*: HELLO ${i}\\n$`))
          seen.add(reply.slice(0, 8))
        }
        expect([...seen].sort()).toEqual(['worker 0', 'worker 1'])
      } finally {
        await stop(child)
      }
    }, 30_000)
  }

  test('examples/reuseport/udp-receiver.mjs spreads one flow over both workers with random steering', async () => {
    const { child, ready, output } = await runExample('udp-receiver.mjs', ['--workers', '2', '--steering', 'random', '--report-ms', '100'])
    const client = dgram.createSocket('udp4')
    try {
      const replies = new Map<string, number>()
      client.on('message', (m) => replies.set(m.toString(), (replies.get(m.toString()) ?? 0) + 1))
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', r))
      for (let i = 0; i < 100; i++) client.send('ping', ready.port, '127.0.0.1')
      let total = 0
      for (let i = 0; i < 200 && total < 100; i++) {
        await sleep(10)
        total = [...replies.values()].reduce((a, b) => a + b, 0)
      }
      expect(total).toBe(100)
      expect([...replies.keys()].sort()).toEqual(['worker 0\n', 'worker 1\n'])
      // The receiver's own report (lines only when the counts change) reaches the 100 datagrams.
      const reported = () => {
        const last = [...output().matchAll(/received \[(\d+),(\d+)\]/g)].at(-1)
        return last ? Number(last[1]) + Number(last[2]) : 0
      }
      for (let i = 0; i < 100 && reported() < 100; i++) await sleep(20)
      expect(reported()).toBe(100)
    } finally {
      client.close()
      await stop(child)
    }
  }, 30_000)
})
