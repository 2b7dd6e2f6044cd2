// RFC 868 TIME server over TCP: on each connection, send the time as 32-bit
// big-endian seconds since 1900-01-01 00:00 UTC and close.
//
//   node -r ./examples/register.cjs examples/time-server.ts [--port 3700] [--address 0.0.0.0]
//
// The standard port is 37 (privileged); the default here is 3700. The socket
// is made, bound and accepted with netsock; each accepted connection is handed
// to node:net for the write. Prints one JSON line per event:
// {"event":"listening","address","family","port"}, then {"event":"served","client","port","seconds"}.
// Try it: examples/time-client.ts, or `nc 127.0.0.1 3700 | od -An -tu1`.
import net from 'node:net'
import { parseArgs } from 'node:util'
import { createSocket, type Socket } from 'netsock'

export const DEFAULT_PORT = 3700
/** Seconds from 1900-01-01 (the RFC 868 epoch) to 1970-01-01 (the Unix epoch). */
export const EPOCH_OFFSET = 2_208_988_800

/** The RFC 868 time for `date`: 4 bytes, big-endian, modulo 2^32 (it wraps in 2036). */
export function encodeTime(date: Date): Buffer {
  const seconds = (Math.floor(date.getTime() / 1000) + EPOCH_OFFSET) % 2 ** 32
  const buf = Buffer.alloc(4)
  buf.writeUInt32BE(seconds)
  return buf
}

/** Accepts forever (until the socket closes); `onServed` hears of each client. */
export async function serveTime(server: Socket, onServed: (client: { address: string; port: number; seconds: number }) => void): Promise<void> {
  for (;;) {
    let conn: Socket
    try {
      conn = await server.accept()
    } catch (err) {
      if (server.closed) return // close() ends the loop
      throw err
    }
    const peer = conn.remoteAddress()
    const time = encodeTime(new Date())
    // Node owns the descriptor from here: end() writes the 4 bytes, then FIN.
    const stream = new net.Socket({ fd: conn.detach() })
    stream.on('error', () => stream.destroy()) // a client that resets early is no concern of ours
    stream.end(time)
    onServed({ address: peer.address, port: peer.port, seconds: time.readUInt32BE() })
  }
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PORT) },
      address: { type: 'string', default: '0.0.0.0' },
    },
  })
  const address = values.address
  // SO_REUSEADDR: a restarted server binds although old connections sit in TIME_WAIT.
  const server = createSocket({ type: address.includes(':') ? 'tcp6' : 'tcp4', reuseAddr: true })
    .bind(Number(values.port), address)
    .listen()
  console.log(JSON.stringify({ event: 'listening', ...server.address() }))
  serveTime(server, (c) => console.log(JSON.stringify({ event: 'served', client: c.address, port: c.port, seconds: c.seconds }))).catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
