// SO_REUSEADDR and TIME_WAIT: why a restarted TCP server needs SO_REUSEADDR.
//
//   node -r ./examples/register.cjs examples/reuseaddr-restart.ts [--port 3701] [--address 127.0.0.1] [--old-without-reuseaddr] [--json]
//
// A server accepts a client and closes the connection first (the side that
// closes first keeps it in TIME_WAIT for 60 s on Linux, man 7 tcp), then
// stops. A new server then binds the same port, as a restarted process would:
// without SO_REUSEADDR bind fails with EADDRINUSE because of the TIME_WAIT
// connection; with it, bind succeeds (man 7 socket). Linux also wants the
// option on the old server: the TIME_WAIT connection inherits its setting,
// and with --old-without-reuseaddr both restarts fail. Hence the rule: set
// SO_REUSEADDR on every listening socket. Output: one line per step (JSON
// with --json); the TIME_WAIT connections are shown with `ss` when it exists.
import { execFileSync } from 'node:child_process'
import net from 'node:net'
import { parseArgs } from 'node:util'
import { createSocket } from 'netsock'

type Step =
  | { event: 'served'; port: number; oldReuseAddr: boolean; client: string }
  | { event: 'time-wait'; port: number; connections: string[] | null }
  | { event: 'restart'; reuseAddr: boolean; ok: true }
  | { event: 'restart'; reuseAddr: boolean; ok: false; code: string; message: string }

/** The TIME_WAIT connections on local `port`, as `ss` lists them; null without ss. */
function timeWait(port: number): string[] | null {
  try {
    const out = execFileSync('ss', ['-Htan', 'state', 'time-wait', `sport = :${port}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/).slice(-2).join(' '))
      .filter((l) => l.length > 0)
  } catch {
    return null
  }
}

/** Runs the first server generation: one connection, closed by the server first. */
async function firstServer(port: number, address: string, reuseAddr: boolean, report: (s: Step) => void): Promise<number> {
  const server = createSocket({ type: address.includes(':') ? 'tcp6' : 'tcp4', reuseAddr })
    .bind(port, address)
    .listen()
  port = server.address().port
  const client = createSocket({ type: address.includes(':') ? 'tcp6' : 'tcp4' })
  const [conn] = await Promise.all([server.accept(), client.connect(port, address)])
  // The client reads until the server's FIN, then closes its side (net ends on EOF).
  const stream = new net.Socket({ fd: client.detach() })
  const clientDone = new Promise((resolve) => stream.on('close', resolve))
  stream.resume()
  const { address: peer, port: peerPort } = conn.remoteAddress()
  conn.close() // the server closes first: this side goes FIN_WAIT → TIME_WAIT
  server.close() // and the server stops
  await clientDone
  report({ event: 'served', port, oldReuseAddr: reuseAddr, client: `${peer}:${peerPort}` })
  // The client's FIN turns the server side into TIME_WAIT; wait until ss shows it (bounded).
  let tw = timeWait(port)
  for (let i = 0; tw !== null && tw.length === 0 && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20))
    tw = timeWait(port)
  }
  if (tw === null) await new Promise((r) => setTimeout(r, 100))
  report({ event: 'time-wait', port, connections: tw })
  return port
}

/** A restarted server binding the same port, with or without SO_REUSEADDR. */
function restart(port: number, address: string, reuseAddr: boolean): Step {
  const s = createSocket({ type: address.includes(':') ? 'tcp6' : 'tcp4', reuseAddr })
  try {
    s.bind(port, address).listen()
    return { event: 'restart', reuseAddr, ok: true }
  } catch (err) {
    const e = err as Error & { code: string }
    return { event: 'restart', reuseAddr, ok: false, code: e.code, message: e.message }
  } finally {
    s.close()
  }
}

function describe(s: Step): string {
  switch (s.event) {
    case 'served':
      return `server on port ${s.port} (SO_REUSEADDR ${s.oldReuseAddr ? 'on' : 'off'}) served ${s.client}, closed the connection first, and stopped`
    case 'time-wait':
      return s.connections === null
        ? 'the connection is now in TIME_WAIT on the server side (ss not found to show it)'
        : `TIME_WAIT on port ${s.port}: ${s.connections.join(', ') || '(none listed)'}`
    case 'restart':
      return `restart ${s.reuseAddr ? 'with' : 'without'} SO_REUSEADDR: ${s.ok ? 'bind succeeded' : `bind failed, ${s.message}`}`
  }
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3701' },
      address: { type: 'string', default: '127.0.0.1' },
      'old-without-reuseaddr': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  const report = (s: Step): void => console.log(values.json ? JSON.stringify(s) : describe(s))
  const address = values.address
  firstServer(Number(values.port), address, !values['old-without-reuseaddr'], report).then(
    (port) => {
      report(restart(port, address, false))
      report(restart(port, address, true))
    },
    (err: Error) => {
      console.error(`reuseaddr-restart: ${err.message}`)
      process.exitCode = 1
    },
  )
}
