// A UDP receiver scaled out over N worker threads with SO_REUSEPORT. Each
// worker reads its socket with netsock's batched receive (recvmmsg) and
// answers every datagram with the index of the worker that got it.
//
//   node examples/reuseport/udp-receiver.mjs [--workers 2] [--port 9000] [--address 127.0.0.1]
//                                            [--steering hash|cpu|random] [--report-ms 1000]
//
// Try it: `echo hi | nc -u -w1 127.0.0.1 9000`. Every --report-ms it prints
// how many datagrams each worker received. Stops on Ctrl-C / SIGTERM.
import { parseArgs } from 'node:util'
import { serveReusePort } from 'netsock'

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    port: { type: 'string', default: '9000' },
    address: { type: 'string', default: '127.0.0.1' },
    steering: { type: 'string', default: 'hash' },
    'report-ms': { type: 'string', default: '1000' },
  },
})

const server = await serveReusePort({
  type: values.address.includes(':') ? 'udp6' : 'udp4',
  count: Number(values.workers),
  port: Number(values.port),
  address: values.address,
  steering: values.steering,
  recvBufferSize: 4 << 20,
  worker: new URL('./udp-worker.mjs', import.meta.url),
})
console.log(`ready ${JSON.stringify({ port: server.port, address: server.address, workers: server.workers.length, steering: values.steering })}`)

const counts = new Array(server.workers.length).fill(0)
server.workers.forEach((w, i) => w.on('message', (m) => (counts[i] = m.received)))
let last = ''
const timer = setInterval(() => {
  const line = `received ${JSON.stringify(counts)}`
  if (line !== last) console.log(line)
  last = line
}, Number(values['report-ms']))

const stop = async () => {
  clearInterval(timer)
  await server.close()
  process.exit(0)
}
process.on('SIGINT', stop).on('SIGTERM', stop)
