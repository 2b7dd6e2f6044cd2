// UDP heartbeat client: sends a beat every --interval milliseconds until
// stopped (or --count beats).
//
//   node -r ./examples/register.cjs examples/heartbeat/client.ts --id web-1 \
//        [--server 127.0.0.1] [--port 41901] [--interval 1000] [--count N]
import { parseArgs } from 'node:util'
import { createSocket } from 'netsock'
import { DEFAULT_PORT, encodeBeat } from './protocol'

export interface ClientOptions {
  id: string
  server?: string
  port?: number
  intervalMs?: number
  /** Stop after this many beats (default: never). */
  count?: number
}

/** Starts beating; the returned function stops. */
export function startHeartbeat(options: ClientOptions): () => void {
  const { id, server = '127.0.0.1', port = DEFAULT_PORT, intervalMs = 1000, count = Infinity } = options
  const s = createSocket({ type: 'udp4' })
  // Connected: the kernel fixes the destination once, and an ICMP port
  // unreachable from a missing server would surface on the next send.
  s.connect(port, server)
  let seq = 0
  const beat = (): void => {
    try {
      s.send(encodeBeat({ id, seq: seq++ }))
    } catch (err) {
      // ECONNREFUSED: the server is not there (yet). Keep beating.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err
    }
    if (seq >= count) stop()
  }
  const timer = setInterval(beat, intervalMs)
  const stop = (): void => {
    clearInterval(timer)
    s.close()
  }
  beat()
  return stop
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      id: { type: 'string', default: `client-${process.pid}` },
      server: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: String(DEFAULT_PORT) },
      interval: { type: 'string', default: '1000' },
      count: { type: 'string' },
    },
  })
  startHeartbeat({
    id: values.id!,
    server: values.server,
    port: Number(values.port),
    intervalMs: Number(values.interval),
    count: values.count === undefined ? Infinity : Number(values.count),
  })
}
