// The datagram path across a socket's life: close() in every state (sends
// queued, inside 'batch' and 'message' handlers, with a waiting iterator),
// use after close, ref/unref of a receiving socket, and worker threads
// (traffic inside a worker; terminating one mid-flood).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, test } from 'vitest'
import { createSocket } from '../src/index.js'
import { bound, canShapeLoopback, collect, onShapedLoopback, sender, sleep, until, within } from './helpers/datagram.js'
import { cleanupNetns } from './helpers/netns.js'
import { requirePriv } from './helpers/privilege.js'
import { portOf, track } from './helpers/sockets.js'

afterAll(cleanupNetns)

const dist = path.resolve(__dirname, '../dist/cjs/index.js')

/** The inode behind an fd of this process ('socket:[1234]'), or null when the fd is not open. */
function fdTarget(fd: number): string | null {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`)
  } catch {
    return null
  }
}

/** Whether any fd of this process refers to `target`. */
function anyFdIs(target: string): boolean {
  return fs.readdirSync('/proc/self/fd').some((fd) => fdTarget(Number(fd)) === target)
}

describe('close', () => {
  const shaped = canShapeLoopback ? test : requirePriv ? test : test.skip
  shaped('close() with sends queued: one last flush, the rest counted in stats.discarded, close emitted, fd gone, no crash', async () => {
    const result = await onShapedLoopback(`
      const fs = require('node:fs')
      const r = netsock.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      r.setOption('SO_RCVBUFFORCE', 8 << 20)
      const s = netsock.createSocket({ type: 'udp4', sendBufferSize: 1 })
      const port = r.address().port
      let seq = 0
      const mk = () => { const b = Buffer.alloc(1000); b.writeUInt32LE(seq++, 0); return b }
      while (seq < 5000 && s.send(mk(), port, '127.0.0.1')) {}
      for (let k = 0; k < 50; k++) s.send(mk(), port, '127.0.0.1')
      const queuedBefore = s.stats.queued
      const events = []
      for (const e of ['close', 'drain', 'error']) s.on(e, (x) => events.push(e + (x && x.code ? ':' + x.code : '')))
      const fd = s.fd
      const target = fs.readlinkSync('/proc/self/fd/' + fd)
      s.close()
      const stats = s.stats.toJSON()
      const got = []
      r.on('message', (m) => got.push(m.readUInt32LE(0)))
      await new Promise((f) => setTimeout(f, 300))
      const stillOpen = fs.readdirSync('/proc/self/fd').some((x) => { try { return fs.readlinkSync('/proc/self/fd/' + x) === target } catch { return false } })
      print({ total: seq, queuedBefore, stats, events, got, stillOpen, fdAfter: s.fd, closed: s.closed })`)
    expect(result.thrown ?? result.timedOut).toBeUndefined()
    expect(result.queuedBefore).toBeGreaterThanOrEqual(50)
    expect(result.stats.discarded).toBeGreaterThan(0) // the kernel could not take all of them at once
    expect(result.stats.queued).toBe(0)
    expect(result.stats.sent + result.stats.discarded).toBe(result.total)
    expect(result.events).toEqual(['close']) // no drain, no error after close
    // What close() flushed arrived, in order; nothing it discarded did.
    expect(result.got).toEqual(Array.from({ length: result.stats.sent }, (_, i) => i))
    expect(result.stillOpen).toBe(false)
    expect(result.fdAfter).toBe(-1)
    expect(result.closed).toBe(true)
  })

  test("close() inside a 'batch' handler: no more events, no crash", async () => {
    const rx = bound()
    const port = portOf(rx)
    const tx = sender()
    tx.sendMany(
      Array.from({ length: 10 }, (_, i) => Buffer.from([i])),
      port,
    )
    await sleep(10) // all ten wait in the kernel: they come as one batch
    const events: string[] = []
    rx.on('batch', (batch) => {
      events.push(`batch:${batch.length}`)
      rx.close()
      expect(batch.data(0)[0]).toBe(0) // the memory stays readable for the rest of the handler
    })
    rx.on('message', () => events.push('message'))
    rx.on('close', () => events.push('close'))
    rx.on('error', (e) => events.push(`error:${e}`))
    await until(() => events.includes('close'), 'close')
    tx.sendMany([Buffer.from('late'), Buffer.from('later')], port)
    await sleep(30)
    expect(events).toEqual(['batch:10', 'close'])
    expect(rx.stats.received).toBe(10)
  })

  test("close() inside a 'message' handler: the rest of the batch is not delivered, a pending iterator ends", async () => {
    const rx = bound()
    const tx = sender()
    tx.sendMany(
      Array.from({ length: 10 }, (_, i) => Buffer.from([i])),
      portOf(rx),
    )
    await sleep(10)
    const events: string[] = []
    const it = rx.messages()
    rx.on('message', (m) => {
      events.push(`message:${m[0]}`)
      rx.close()
    })
    rx.on('close', () => events.push('close'))
    rx.on('error', (e) => events.push(`error:${e}`))
    await until(() => events.includes('close'), 'close')
    expect(await within(it.next(), 1000, 'the iterator')).toEqual({ value: undefined, done: true })
    await sleep(20)
    expect(events).toEqual(['message:0', 'close'])
  })

  test('close() while an iterator waits ends the iteration', async () => {
    const rx = bound()
    const loop = (async () => {
      let n = 0
      for await (const _ of rx) n++
      return n
    })()
    await sleep(10)
    rx.close()
    expect(await within(loop, 2000, 'the loop to end')).toBe(0)
    // A new iteration on the closed socket is refused.
    expect(() => rx.messages()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
  })

  test('every data-path call after close throws ERR_SOCKET_CLOSED; stats stay readable', async () => {
    const rx = bound()
    const got = collect(rx)
    const tx = sender()
    tx.send('before', portOf(rx))
    await until(() => got.length === 1, 'a datagram')
    tx.close()
    rx.close()
    const closed = expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' })
    expect(() => tx.send('x', portOf(rx))).toThrow(closed)
    expect(() => tx.send(Buffer.alloc(4), 0, 2, 9)).toThrow(closed)
    expect(() => tx.sendMany([Buffer.from('x')], 9)).toThrow(closed)
    expect(() => tx.sendSegments(Buffer.alloc(4), 2, 9)).toThrow(closed)
    expect(() => rx.recvInto(Buffer.alloc(4))).toThrow(closed)
    expect(() => rx.setAncillary({ ttl: true })).toThrow(closed)
    expect(() => rx.messages()).toThrow(closed)
    expect(tx.stats.sent).toBe(1)
    expect(rx.stats.received).toBe(1)
    expect(tx.closed && rx.closed).toBe(true)
    // Listening on a closed socket is harmless: nothing is read, nothing thrown.
    rx.on('message', () => {})
    await sleep(5)
  })
})

// Regression (fixed in src/socket.ts) `get stats()` (line ~711): the counters of a socket that
// used its data path stay readable after close(), but a datagram socket
// closed before any send/receive throws ERR_SOCKET_CLOSED from the getter,
// because it builds the data path (#io('stats')) to answer. Fix: when closed
// and #data is null, return an all-zero SocketStats (like EMPTY_STATS for
// stream sockets).
test('stats of a datagram socket closed before any traffic read as zeros', () => {
  const s = track(createSocket({ type: 'udp4' }))
  s.close()
  expect(s.stats.toJSON()).toMatchObject({ sent: 0, received: 0 })
})

describe('ref / unref', () => {
  /**
   * Starts a child with a receiving netsock socket; once it printed 'ready',
   * waits up to `ms` for it to exit. Resolves 'exited' (code 0) or 'alive'
   * (then kills it).
   */
  async function child(body: string, ms: number): Promise<'exited' | 'alive' | string> {
    const script = `const n = require(${JSON.stringify(dist)})
      const s = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1');
      ${body}
      console.log('ready')`
    const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    c.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code)))
    try {
      await within(
        new Promise<void>((resolve) => c.stdout.on('data', (d) => (stdout += d).includes('ready') && resolve())),
        10_000,
        `the child to start (stderr: ${stderr})`,
      )
      const outcome = await Promise.race([exited.then((code) => (code === 0 ? 'exited' : `exit ${code}: ${stderr}`)), sleep(ms).then(() => 'alive')])
      return outcome
    } finally {
      c.kill('SIGKILL')
    }
  }

  test("an unref'd receiving socket does not keep the process alive (unref before or after listening, or with an iterator)", async () => {
    for (const body of [
      `s.unref(); s.on('message', () => {})`,
      `s.on('message', () => {}); setImmediate(() => s.unref())`,
      `s.on('batch', () => {}); s.unref()`,
      `s.unref(); (async () => { for await (const m of s) {} })()`,
    ]) {
      expect({ body, outcome: await child(body, 5000) }).toEqual({ body, outcome: 'exited' })
    }
  })

  test('a referenced receiving socket keeps the process alive (the control for the test above)', async () => {
    for (const body of [`s.on('message', () => {})`, `s.unref(); s.on('message', () => {}); s.ref()`, `(async () => { for await (const m of s) {} })()`]) {
      expect({ body, outcome: await child(body, 500) }).toEqual({ body, outcome: 'alive' })
    }
  })
})

describe('worker threads', () => {
  function worker(body: string): { w: Worker; messages: any[]; next: () => Promise<any> } {
    const w = new Worker(`const n = require(${JSON.stringify(dist)}); const { parentPort } = require('worker_threads');\n${body}`, { eval: true })
    const messages: any[] = []
    const waiters: ((v: any) => void)[] = []
    w.on('message', (m) => {
      const f = waiters.shift()
      if (f) f(m)
      else messages.push(m)
    })
    w.on('error', (e) => {
      messages.push({ workerError: String(e) })
    })
    const next = (): Promise<any> =>
      within(messages.length ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiters.push(resolve)), 5000, 'a worker message')
    return { w, messages, next }
  }

  test('a worker receives with batch and message listeners and answers with send and sendMany', async () => {
    const { w, next } = worker(`
      const s = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address))
      s.on('batch', (batch) => {
        // Views of the batch may be sent from inside the handler: a send that returns true copied them.
        const replies = []
        for (let i = 0; i < batch.length; i++) replies.push({ data: batch.data(i), port: batch.rinfo(i).port })
        if (s.sendMany(replies, 0, '127.0.0.1') !== replies.length) throw new Error('queued')
      })
      parentPort.postMessage(s.address().port)`)
    try {
      const port = await next()
      const main = bound()
      const got = collect(main)
      main.sendMany([Buffer.from('a'), Buffer.from('b')], port)
      await until(() => got.length === 4, 'four replies')
      const texts = got.map((m) => m.data.toString()).sort()
      expect(texts).toEqual(['a', 'b', 'echo:a', 'echo:b'])
      expect(got.every((m) => m.rinfo.port === port)).toBe(true)
    } finally {
      await w.terminate()
    }
  })

  test('terminating a worker in the middle of a flood crashes nothing and closes its socket', async () => {
    for (let round = 0; round < 3; round++) {
      const { w, next, messages } = worker(`
        const fs = require('fs')
        const s = n.createSocket({ type: 'udp4', recvBatchSize: 16 }).bind(0, '127.0.0.1')
        let count = 0
        s.on('message', () => { if (++count === 200) parentPort.postMessage('flowing') })
        s.on('batch', (b) => { for (let i = 0; i < b.length; i++) b.rinfo(i) })
        parentPort.postMessage({ port: s.address().port, target: fs.readlinkSync('/proc/self/fd/' + s.fd) })`)
      const { port, target } = await next()
      expect(anyFdIs(target)).toBe(true)
      const tx = sender()
      const payload = Array.from({ length: 64 }, () => Buffer.alloc(200))
      let flooding = true
      let sentBatches = 0
      const flood = (async () => {
        const end = Date.now() + 5000
        while (flooding && Date.now() < end) {
          tx.sendMany(payload, port)
          sentBatches++
          await new Promise((resolve) => setImmediate(resolve))
        }
      })()
      expect(await next()).toBe('flowing')
      await w.terminate() // while datagrams keep arriving
      await sleep(30)
      flooding = false
      await flood
      expect(sentBatches).toBeGreaterThan(0)
      expect(messages.filter((m) => m && m.workerError)).toEqual([])
      // The worker's socket is closed with it: no fd of this process refers to it, and its port is free.
      expect(anyFdIs(target)).toBe(false)
      const again = track(createSocket({ type: 'udp4' }))
      expect(() => again.bind(port, '127.0.0.1')).not.toThrow()
      again.close()
    }
  })
})
