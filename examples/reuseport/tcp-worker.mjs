// One worker of tcp-server.mjs: serves the listening socket it was handed with node:net.
import net from 'node:net'
import { threadId } from 'node:worker_threads'
import { reusePortWorker } from 'netsock'

const { fd, index } = reusePortWorker()
const server = net.createServer((conn) => {
  conn.setEncoding('utf8')
  let line = ''
  conn.on('data', (d) => {
    line += d
    const nl = line.indexOf('\n')
    if (nl === -1) return
    conn.end(`worker ${index} (pid ${process.pid}, thread ${threadId}): ${line.slice(0, nl).toUpperCase()}\n`)
  })
  conn.on('error', () => {})
})
server.listen({ fd })
// A process worker exits on SIGTERM from the primary; a thread worker is terminated.
process.on('SIGTERM', () => server.close(() => process.exit(0)))
