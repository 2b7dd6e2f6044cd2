// A TCP server scaled out over N workers with SO_REUSEPORT: one listening
// socket per worker on the same port, the kernel spreading new connections
// across them. Each worker serves its socket with node:net.
//
//   node examples/reuseport/tcp-server.mjs [--workers 2] [--port 8080] [--address 127.0.0.1]
//                                          [--mode thread|process] [--steering hash|cpu]
//
// Try it: `printf 'hello\n' | nc 127.0.0.1 8080` answers with the worker that served it.
// Stops on Ctrl-C / SIGTERM.
import { parseArgs } from 'node:util'
import { serveReusePort } from 'netsock'

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    port: { type: 'string', default: '8080' },
    address: { type: 'string', default: '127.0.0.1' },
    mode: { type: 'string', default: 'thread' },
    steering: { type: 'string', default: 'hash' },
  },
})

const server = await serveReusePort({
  type: values.address.includes(':') ? 'tcp6' : 'tcp4',
  count: Number(values.workers),
  port: Number(values.port),
  address: values.address,
  steering: values.steering,
  mode: values.mode,
  worker: new URL('./tcp-worker.mjs', import.meta.url),
})
// The sockets are already listening: connections queue until each worker is up.
console.log(`ready ${JSON.stringify({ port: server.port, address: server.address, workers: server.workers.length, mode: values.mode })}`)

const stop = async () => {
  await server.close()
  process.exit(0)
}
process.on('SIGINT', stop).on('SIGTERM', stop)
