// UDP heartbeat server: clients beat every --interval milliseconds; a client
// not heard from for --misses intervals is reported silent, and reported
// back when it beats again.
//
//   node -r ./examples/register.cjs examples/heartbeat/server.ts \
//        [--port 41901] [--address 0.0.0.0] [--interval 1000] [--misses 3]
//
// Prints one JSON line per event: {"event":"listening","address","port"} first,
// then {"event":"joined"|"silent"|"back","id","address","port","lastSeq",...}.
import { EventEmitter } from 'node:events'
import { parseArgs } from 'node:util'
import { createSocket, type Socket } from 'netsock'
import { DEFAULT_PORT, decodeBeat } from './protocol'

export interface ServerOptions {
  port?: number
  address?: string
  intervalMs?: number
  /** Intervals without a beat before a client counts as silent. */
  misses?: number
}

export interface ClientState {
  id: string
  address: string
  port: number
  lastSeq: number
  lastSeen: number
  silent: boolean
}

/**
 * Tracks clients by id. Events: 'joined' (first beat), 'silent' (no beat for
 * `misses` intervals; with `silentMs`), 'back' (a silent client beat again).
 */
export class HeartbeatServer extends EventEmitter {
  readonly socket: Socket
  readonly clients = new Map<string, ClientState>()
  #timer: NodeJS.Timeout
  #limitMs: number

  constructor(options: ServerOptions = {}) {
    super()
    const { port = DEFAULT_PORT, address = '0.0.0.0', intervalMs = 1000, misses = 3 } = options
    this.#limitMs = intervalMs * misses
    this.socket = createSocket({ type: 'udp4', reuseAddr: true }).bind(port, address)
    this.socket.on('message', (msg, rinfo) => {
      const beat = decodeBeat(msg)
      if (!beat) return
      const now = Date.now()
      const known = this.clients.get(beat.id)
      const state = { id: beat.id, address: rinfo.address, port: rinfo.port, lastSeq: beat.seq, lastSeen: now, silent: false }
      this.clients.set(beat.id, state)
      if (!known) this.emit('joined', state)
      else if (known.silent) this.emit('back', { ...state, silentMs: now - known.lastSeen })
    })
    // Check twice per interval, so a silence is reported at most half an interval late.
    this.#timer = setInterval(() => this.#check(), Math.max(1, intervalMs / 2))
  }

  #check(): void {
    const now = Date.now()
    for (const state of this.clients.values()) {
      if (!state.silent && now - state.lastSeen > this.#limitMs) {
        state.silent = true
        this.emit('silent', { ...state, silentMs: now - state.lastSeen })
      }
    }
  }

  close(): void {
    clearInterval(this.#timer)
    this.socket.close()
  }
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PORT) },
      address: { type: 'string', default: '0.0.0.0' },
      interval: { type: 'string', default: '1000' },
      misses: { type: 'string', default: '3' },
    },
  })
  const server = new HeartbeatServer({
    port: Number(values.port),
    address: values.address,
    intervalMs: Number(values.interval),
    misses: Number(values.misses),
  })
  for (const event of ['joined', 'silent', 'back']) {
    server.on(event, (state: ClientState & { silentMs?: number }) => {
      const { id, address, port, lastSeq, silentMs } = state
      console.log(JSON.stringify({ event, id, address, port, lastSeq, ...(silentMs === undefined ? {} : { silentMs }) }))
    })
  }
  console.log(JSON.stringify({ event: 'listening', ...server.socket.address() }))
}
