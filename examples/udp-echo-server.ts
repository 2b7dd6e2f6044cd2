// UDP echo server (the RFC 862 service): every datagram goes straight back
// to its sender.
//
//   node -r ./examples/register.cjs examples/udp-echo-server.ts [--port 3707] [--address 0.0.0.0] [--quiet]
//
// The standard port is 7 (privileged); the default here is 3707. Prints one
// JSON line per event: {"event":"listening","address","family","port"}, then
// {"event":"echo","from","port","bytes"} per datagram (not with --quiet).
// Try it: examples/udp-echo-client.ts, or `nc -u 127.0.0.1 3707`.
import { parseArgs } from 'node:util'
import { createSocket, type Socket } from 'netsock'

export const DEFAULT_PORT = 3707

/** Echoes every datagram arriving on `s`; `onEcho` hears of each. */
export function serveEcho(s: Socket, onEcho?: (from: string, port: number, bytes: number) => void): void {
  s.on('message', (msg, rinfo) => {
    // 'message' hands us a copy, so a send that is queued (false: the socket
    // buffer was full) may keep a reference to it until 'drain'.
    s.send(msg, rinfo.port, rinfo.address)
    onEcho?.(rinfo.address, rinfo.port, msg.length)
  })
  // A queued echo whose sender has gone (ICMP port unreachable) is not the server's problem.
  s.on('error', (err) => console.error(`udp-echo-server: ${(err as Error).message}`))
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PORT) },
      address: { type: 'string', default: '0.0.0.0' },
      quiet: { type: 'boolean', default: false },
    },
  })
  const address = values.address
  const s = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', reuseAddr: true }).bind(Number(values.port), address)
  console.log(JSON.stringify({ event: 'listening', ...s.address() }))
  serveEcho(s, values.quiet ? undefined : (from, port, bytes) => console.log(JSON.stringify({ event: 'echo', from, port, bytes })))
}
