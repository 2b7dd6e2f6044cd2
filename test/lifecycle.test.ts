// Lifecycle under stress (child processes, so that GC, worker teardown and
// process exit happen for real): unreferenced sockets are collected without
// leaking their fd, 100 workers terminated mid-traffic crash nothing, and a
// process exits cleanly with sockets still open.
import { expect, test } from 'vitest'
import { distLiteral as dist, runChild } from './helpers/child.js'

test('sockets dropped without close() are garbage-collected and their descriptors closed', () => {
  const r = runChild(
    `
    const fds = () => require('fs').readdirSync('/proc/self/fd').length
    const before = fds()
    ;(() => { for (let i = 0; i < 200; i++) n.createSocket({ type: i % 2 ? 'udp4' : 'tcp6' }).bind(0, i % 2 ? '127.0.0.1' : '::1') })()
    const opened = addon.resourceCounts().fds
    // A socket waiting for datagrams stays alive through its poll handle (documented).
    const kept = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'); kept.on('message', () => {})
    ;(async () => {
      for (let i = 0; i < 20 && addon.resourceCounts().fds > 1; i++) { gc(); await new Promise((r) => setTimeout(r, 20)) }
      console.log(JSON.stringify({ opened, left: addon.resourceCounts().fds, keptOpen: !kept.closed, fdGrowth: fds() - before }))
      kept.close()
    })()`,
    ['--expose-gc'],
  )
  expect(r.stderr).toBe('')
  const out = JSON.parse(r.stdout)
  expect(out.opened).toBe(200)
  expect(out.left).toBe(1) // only the socket that is still listening
  expect(out.keptOpen).toBe(true)
  expect(out.fdGrowth).toBeLessThanOrEqual(2)
})

test('100 worker threads terminated mid-traffic crash nothing and leave no descriptors', () => {
  const r = runChild(`
    const { Worker } = require('worker_threads')
    const fds = () => require('fs').readdirSync('/proc/self/fd').length
    const sink = n.createSocket({ type: 'udp4' })
    const body = \`
      const n = require(${dist.replace(/\\/g, '\\\\')}); const { parentPort } = require('worker_threads')
      const rx = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      const tx = n.createSocket({ type: 'udp4' })
      rx.on('batch', (b) => { tx.sendMany([b.data(0)], rx.address().port) })   // traffic in both directions, queued sends too
      parentPort.postMessage(rx.address().port)\`
    ;(async () => {
      const before = fds()
      for (let round = 0; round < 10; round++) {
        const workers = Array.from({ length: 10 }, () => new Worker(body, { eval: true }))
        const ports = await Promise.all(workers.map((w) => new Promise((r, j) => { w.once('message', r); w.once('error', j) })))
        for (let k = 0; k < 50; k++) for (const p of ports) sink.send(Buffer.alloc(200), p, '127.0.0.1')
        await new Promise((r) => setTimeout(r, 5))
        await Promise.all(workers.map((w) => w.terminate()))
      }
      sink.close()
      console.log(JSON.stringify({ workers: 100, fdGrowth: fds() - before }))
    })()`)
  expect(r.status).toBe(0)
  expect(r.stderr).toBe('')
  const out = JSON.parse(r.stdout)
  expect(out.workers).toBe(100)
  expect(out.fdGrowth).toBeLessThanOrEqual(2)
}, 180_000) // 100 worker start-ups: seconds on an idle machine, much longer on a busy one

test('a process exits cleanly with open, busy sockets, whether it ends by itself or by process.exit', () => {
  const setup = `
    const l = n.createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1').listen(); l.accept().catch(() => {})
    const u = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'); u.on('message', () => {})
    for (let i = 0; i < 100; i++) u.send(Buffer.alloc(100), u.address().port, '127.0.0.1')`
  const byExit = runChild(`${setup}\n setTimeout(() => process.exit(7), 20)`)
  expect(byExit.stderr).toBe('')
  expect(byExit.status).toBe(7)
  const unrefd = runChild(`${setup}\n l.unref(); u.unref()`)
  expect(unrefd.stderr).toBe('')
  expect(unrefd.status).toBe(0) // unreferenced sockets do not keep the process alive
})
