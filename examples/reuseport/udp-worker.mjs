// One worker of udp-receiver.mjs: adopts its socket into netsock, counts
// datagrams per batch (zero-copy views) and answers each with its index.
import { parentPort } from 'node:worker_threads'
import { createSocket, reusePortWorker } from 'netsock'

const { fd, index } = reusePortWorker()
const socket = createSocket({ fd })
const reply = Buffer.from(`worker ${index}\n`)
let received = 0
socket.on('batch', (batch) => {
  received += batch.length
  for (let i = 0; i < batch.length; i++) {
    const from = batch.rinfo(i)
    socket.send(reply, from.port, from.address)
  }
})
// Report at most every 50 ms, so the primary sees counts without a message per datagram.
setInterval(() => parentPort?.postMessage({ received }), 50).unref()
