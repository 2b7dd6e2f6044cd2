#!/usr/bin/env node
// A short run of every data-path call (send, sendMany, sendSegments with and
// without GSO, recvmmsg with ancillary data and truncation, recvInto, the
// EAGAIN queue, close with queued sends), small enough to run under valgrind:
//   valgrind --error-exitcode=1 --undef-value-errors=no node scripts/datapath-smoke.mjs
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const netsock = require('../dist/cjs/index.js')
const { addon } = require('../dist/cjs/native.js')

const rx = netsock.createSocket({ type: 'udp4', recvMessageSize: 1500, recvBatchSize: 16, recvBufferSize: 4 << 20 }).bind(0, '127.0.0.1')
rx.setAncillary({ ttl: true, tos: true, pktinfo: true, timestamp: true })
rx.setOption('UDP_GRO', true)
const port = rx.address().port
const tx = netsock.createSocket({ type: 'udp4', sendBufferSize: 4096 })
const payload = Buffer.alloc(1200, 1)
let received = 0
let expected = 0
rx.on('batch', (b) => {
  for (let i = 0; i < b.length; i++) {
    b.data(i)
    b.rinfo(i)
    b.ancillary(i)
    b.truncated(i)
  }
  received += b.length
})
for (let i = 0; i < 200; i++) if (tx.send(payload, port, '127.0.0.1')) expected++
expected += tx.sendMany([payload, payload.subarray(0, 10), { data: payload, port }], port)
tx.sendSegments(Buffer.alloc(12000, 2), 1200, port, '127.0.0.1')
expected += 10
addon.sendSegments(tx.fd, Buffer.alloc(3600, 3), 0, 3600, 1200, undefined, false) // fallback path, unconnected: -EDESTADDRREQ
tx.send(Buffer.alloc(3000, 4), port, '127.0.0.1') // truncated at the 1500-byte slot
expected++

const v6 = netsock.createSocket({ type: 'udp6' }).bind(0, '::1')
v6.setAncillary({ ttl: true, pktinfo: true })
netsock.createSocket({ type: 'udp6' }).send(Buffer.from('six'), v6.address().port, '::1')
await new Promise((r) => setTimeout(r, 200))
const got = v6.recvInto(Buffer.alloc(2))
v6.close()

const deadline = Date.now() + 5000
while (received < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
// Leave some sends queued, then close.
for (let i = 0; i < 2000; i++) tx.send(payload, port, '127.0.0.1')
tx.close()
rx.close()
console.log(JSON.stringify({ received, expected, recvInto: got && { bytes: got.bytes, size: got.size, truncated: got.truncated } }))
