// RFC 868 TIME client over TCP: connect, read the server's 4 bytes (seconds
// since 1900-01-01 UTC, big-endian), print the date.
//
//   node -r ./examples/register.cjs examples/time-client.ts [--host 127.0.0.1] [--port 3700] [--timeout 5000] [--json]
//
// Connects with netsock (a non-blocking connect with an AbortSignal for the
// timeout), then reads through node:net. Prints the date (ISO 8601, UTC), or
// with --json {"host","port","seconds","date","offsetMs"} (offsetMs: server time
// minus this host's clock, at one-second resolution). Exit 1 on failure.
import net from 'node:net'
import { parseArgs } from 'node:util'
import { createSocket } from 'netsock'

const EPOCH_OFFSET = 2_208_988_800 // seconds from 1900-01-01 to 1970-01-01
const ERA = 2 ** 32

/**
 * The date an RFC 868 value stands for. The 32-bit count wraps on
 * 2036-02-07; values below 2^31 are taken as after the wrap (the protocol
 * came out in 1983, so no server sends a time before 1968).
 */
export function decodeTime(seconds: number): Date {
  const unix = seconds - EPOCH_OFFSET + (seconds < 2 ** 31 ? ERA : 0)
  return new Date(unix * 1000)
}

/** Connects to `host`:`port` and resolves with the 32-bit value the server sent. */
export async function queryTime(host: string, port: number, timeoutMs = 5000): Promise<number> {
  const sock = createSocket({ type: host.includes(':') ? 'tcp6' : 'tcp4' })
  try {
    await sock.connect(port, host, { signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    sock.close()
    throw err
  }
  const stream = new net.Socket({ fd: sock.detach() })
  stream.setTimeout(timeoutMs, () => stream.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)))
  return new Promise<number>((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (d: Buffer) => chunks.push(d))
    stream.on('error', reject)
    stream.on('end', () => {
      const data = Buffer.concat(chunks)
      // The server closes after 4 bytes; fewer means it did not speak TIME.
      if (data.length < 4) reject(new Error(`expected 4 bytes from ${host}:${port}, got ${data.length}`))
      else resolve(data.readUInt32BE(0))
    })
  })
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '3700' },
      timeout: { type: 'string', default: '5000' },
      json: { type: 'boolean', default: false },
    },
  })
  const port = Number(values.port)
  queryTime(values.host, port, Number(values.timeout)).then(
    (seconds) => {
      const date = decodeTime(seconds)
      if (values.json) console.log(JSON.stringify({ host: values.host, port, seconds, date: date.toISOString(), offsetMs: date.getTime() - Date.now() }))
      else console.log(date.toISOString())
    },
    (err: Error) => {
      console.error(`time-client: ${err.message}`)
      process.exitCode = 1
    },
  )
}
