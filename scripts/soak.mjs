#!/usr/bin/env node
// Soak run (`npm run soak`): sends and receives DATAGRAMS (default 1,000,000)
// on loopback and reports RSS after warm-up and at the end; then opens and
// closes SOCKETS (default 10,000) and checks that descriptors and poll handles
// return to their baseline. Prints one JSON line; exits 1 on a leak.
import fs from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const netsock = require('../dist/cjs/index.js')
const { addon } = require('../dist/cjs/native.js')

const DATAGRAMS = Number(process.env.DATAGRAMS ?? 1_000_000)
const SOCKETS = Number(process.env.SOCKETS ?? 10_000)
const WARMUP = Math.min(100_000, Math.floor(DATAGRAMS / 10))
const mib = (b) => Math.round((b / 1048576) * 10) / 10
const fdCount = () => fs.readdirSync('/proc/self/fd').length

async function datagrams() {
  const rx = netsock.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 }).bind(0, '127.0.0.1')
  const tx = netsock.createSocket({ type: 'udp4' })
  const port = rx.address().port
  const payload = Buffer.alloc(256, 7)
  let received = 0
  let rssWarm = 0
  rx.on('batch', (batch) => {
    received += batch.length
    if (!rssWarm && received >= WARMUP) rssWarm = process.memoryUsage().rss
  })
  const deadline = Date.now() + 120_000
  let sent = 0
  while (sent < DATAGRAMS && Date.now() < deadline) {
    // Send in bursts and yield so the receiver keeps up (bounded in count and time).
    for (let i = 0; i < 256 && sent < DATAGRAMS; i++) if (tx.send(payload, port, '127.0.0.1')) sent++
    if (tx.stats.queued > 0) await new Promise((r) => tx.once('drain', r))
    await new Promise((r) => setImmediate(r))
  }
  const settle = Date.now() + 2000
  while (received + rx.stats.dropped < sent && Date.now() < settle) await new Promise((r) => setTimeout(r, 10))
  globalThis.gc?.()
  const rssEnd = process.memoryUsage().rss
  const result = { sent, received, dropped: rx.stats.dropped, rssAfterWarmupMiB: mib(rssWarm), rssEndMiB: mib(rssEnd), growthMiB: mib(rssEnd - rssWarm) }
  rx.close()
  tx.close()
  return result
}

async function openClose() {
  const fds = fdCount()
  const native = addon.resourceCounts()
  for (let i = 0; i < SOCKETS; i++) {
    const kind = i % 3
    if (kind === 0) netsock.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1').close()
    else if (kind === 1) {
      const rx = netsock.createSocket({ type: 'udp6' }).bind(0, '::1')
      rx.on('message', () => {}) // starts a poll handle
      await new Promise((r) => setImmediate(r))
      rx.close()
    } else {
      const l = netsock.createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1').listen()
      l.accept().catch(() => {}) // pending accept: a live poll handle, rejected by close
      l.close()
    }
  }
  await new Promise((r) => setTimeout(r, 50))
  const after = addon.resourceCounts()
  return {
    cycles: SOCKETS,
    fdsBefore: fds,
    fdsAfter: fdCount(),
    ownedFdsBefore: native.fds,
    ownedFdsAfter: after.fds,
    pollsBefore: native.polls,
    pollsAfter: after.polls,
  }
}

const d = await datagrams()
const o = await openClose()
const leak = o.fdsAfter > o.fdsBefore || o.ownedFdsAfter !== o.ownedFdsBefore || o.pollsAfter !== o.pollsBefore
console.log(JSON.stringify({ datagrams: d, openClose: o, leak }))
process.exit(leak ? 1 : 0)
