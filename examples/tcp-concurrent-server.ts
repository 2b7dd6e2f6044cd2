// A concurrent TCP server: an uppercase line service that serves many
// clients at once. Each line a client sends comes back in upper case.
//
//   node -r ./examples/register.cjs examples/tcp-concurrent-server.ts [--port 3702] [--address 0.0.0.0] [--backlog 128]
//
// The classic forms fork a process or start a thread per client; here one
// event loop serves them all. netsock owns the listening socket and the
// accept loop (tuning each connection before Node sees it); node:net carries
// each connection's byte stream. Prints one JSON line per event:
// {"event":"listening",...}, {"event":"connected","client","port","active"},
// {"event":"closed","client","port","active","lines","maxActive"}.
// Try it: `nc 127.0.0.1 3702`, type lines.
import net from 'node:net'
import { parseArgs } from 'node:util'
import { createSocket, type Socket } from 'netsock'

export const DEFAULT_PORT = 3702

export interface ServerEvents {
  connected(client: { address: string; port: number; active: number }): void
  closed(client: { address: string; port: number; active: number; lines: number; maxActive: number }): void
}

/** Serves one connection: reads lines, writes each back in upper case. Resolves with the line count when it ends. */
function serveClient(stream: net.Socket): Promise<number> {
  return new Promise((resolve) => {
    let pending = ''
    let lines = 0
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      pending += chunk
      let nl
      while ((nl = pending.indexOf('\n')) !== -1) {
        stream.write(pending.slice(0, nl + 1).toUpperCase())
        pending = pending.slice(nl + 1)
        lines++
      }
    })
    // The client is done sending: answer any unterminated last line, then close our side.
    stream.on('end', () => stream.end(pending.toUpperCase()))
    stream.on('error', () => stream.destroy()) // a reset from one client ends only that client
    stream.on('close', () => resolve(lines))
  })
}

/** The accept loop: runs until `server` closes, never waiting on any one client. */
export async function serveConcurrently(server: Socket, events: Partial<ServerEvents> = {}): Promise<void> {
  let active = 0
  let maxActive = 0
  for (;;) {
    let conn: Socket
    try {
      conn = await server.accept()
    } catch (err) {
      if (server.closed) return
      throw err
    }
    const { address, port } = conn.remoteAddress()
    // Small request/response lines: send each answer at once (no Nagle delay).
    conn.setOption('TCP_NODELAY', true)
    const stream = new net.Socket({ fd: conn.detach() })
    active++
    maxActive = Math.max(maxActive, active)
    events.connected?.({ address, port, active })
    // Not awaited: the loop goes straight back to accept().
    void serveClient(stream).then((lines) => {
      active--
      events.closed?.({ address, port, active, lines, maxActive })
    })
  }
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PORT) },
      address: { type: 'string', default: '0.0.0.0' },
      backlog: { type: 'string', default: '128' },
    },
  })
  const address = values.address
  const server = createSocket({ type: address.includes(':') ? 'tcp6' : 'tcp4', reuseAddr: true })
    .bind(Number(values.port), address)
    .listen(Number(values.backlog))
  console.log(JSON.stringify({ event: 'listening', ...server.address() }))
  serveConcurrently(server, {
    connected: (c) => console.log(JSON.stringify({ event: 'connected', client: c.address, port: c.port, active: c.active })),
    closed: (c) => console.log(JSON.stringify({ event: 'closed', client: c.address, port: c.port, active: c.active, lines: c.lines, maxActive: c.maxActive })),
  }).catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
