import fs from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { expect, test } from 'vitest'

const dist = path.resolve(__dirname, '../dist/cjs/index.js')

/** Runs `body` in a worker that has netsock loaded as `n`; resolves with the first message. */
function inWorker(body: string): { worker: Worker; first: Promise<any> } {
  const worker = new Worker(`const n = require(${JSON.stringify(dist)}); const { parentPort } = require('worker_threads');\n${body}`, { eval: true })
  const first = new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  return { worker, first }
}

test('netsock loads in worker threads and works there', async () => {
  const { worker, first } = inWorker(`
    const server = n.createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1').listen()
    const client = n.createSocket({ type: 'tcp4' })
    Promise.all([server.accept(), client.connect(server.address().port)]).then(([conn]) => {
      parentPort.postMessage({ peer: conn.remoteAddress().port, client: client.address().port })
      for (const s of [server, client, conn]) s.close()
    })`)
  const result = await first
  expect(result.peer).toBe(result.client)
  await worker.terminate()
})

test('terminating a worker with waiting sockets closes their descriptors and crashes nothing', async () => {
  const before = fs.readdirSync('/proc/self/fd').length
  for (let round = 0; round < 5; round++) {
    const { worker, first } = inWorker(`
      const sockets = []
      for (let i = 0; i < 20; i++) {
        const s = n.createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1').listen()
        s.accept().catch(() => {})   // a live poll handle per socket
        sockets.push(s)
      }
      parentPort.postMessage(sockets.map((s) => s.fd))`)
    const fds: number[] = await first
    expect(fds).toHaveLength(20)
    await worker.terminate()
  }
  // The 100 listening sockets are gone with their workers.
  expect(fs.readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(before + 2)
})
