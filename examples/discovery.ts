// Broadcast service discovery: responders answer a seeker's broadcast query
// with their name; the seeker announces the query a few times and collects
// the answers (unicast, straight back to it).
//
//   node -r ./examples/register.cjs examples/discovery.ts respond --name printer
//   node -r ./examples/register.cjs examples/discovery.ts seek [--address 192.168.1.255]
//        [--interface eth0] [--timeout 1000] [--port 41900]
//
// Respond prints {"answering","port"} once listening; seek prints one JSON
// line per service found: {"name","address","port"}.
// Broadcasts reach one link only. To 255.255.255.255 (the default) the kernel
// needs a route or an interface: give --interface (SO_BINDTODEVICE) or a
// subnet broadcast address. Sending to any broadcast address needs
// SO_BROADCAST (`broadcast: true`), or sendto fails with EACCES.
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createSocket, type Socket } from 'netsock'

export const DEFAULT_PORT = 41900
const QUERY = 'NETSOCK-DISCOVER? '
const ANSWER = 'NETSOCK-HERE '

export interface Service {
  name: string
  address: string
  port: number
}

/** Answers every query that reaches `port` with `name`. Close the socket to stop. */
export function respond(name: string, port = DEFAULT_PORT): Socket {
  // reuseAddr: several responders on one host each get a copy of a broadcast.
  const s = createSocket({ type: 'udp4', reuseAddr: true }).bind(port)
  s.on('message', (msg, rinfo) => {
    const text = msg.toString()
    if (!text.startsWith(QUERY)) return
    const nonce = text.slice(QUERY.length)
    s.send(Buffer.from(ANSWER + JSON.stringify({ nonce, name })), rinfo.port, rinfo.address)
  })
  return s
}

export interface SeekOptions {
  port?: number
  /** Where the query goes: 255.255.255.255 (default) or a subnet broadcast address. */
  address?: string
  /** Send through this interface only (SO_BINDTODEVICE). */
  iface?: string
  /** How long to collect answers, in milliseconds. */
  timeoutMs?: number
  /** How many times the query is sent, spread over the first half of the wait (UDP may drop one). */
  repeats?: number
  onService?: (service: Service) => void
}

/** Broadcasts a query and resolves with the services that answered within the time. */
export async function seek(options: SeekOptions = {}): Promise<Service[]> {
  const { port = DEFAULT_PORT, address = '255.255.255.255', iface, timeoutMs = 1000, repeats = 3 } = options
  const s = createSocket({ type: 'udp4', broadcast: true })
  if (iface) s.setOption('SO_BINDTODEVICE', iface)
  const nonce = randomBytes(8).toString('hex') // answers to someone else's query are ignored
  const found = new Map<string, Service>()
  s.on('message', (msg, rinfo) => {
    const text = msg.toString()
    if (!text.startsWith(ANSWER)) return
    const answer = JSON.parse(text.slice(ANSWER.length))
    const key = `${answer.name}@${rinfo.address}:${rinfo.port}`
    if (answer.nonce !== nonce || found.has(key)) return
    const service = { name: String(answer.name), address: rinfo.address, port: rinfo.port }
    found.set(key, service)
    options.onService?.(service)
  })
  const query = Buffer.from(QUERY + nonce)
  try {
    for (let i = 0; i < repeats; i++) {
      s.send(query, port, address)
      await sleep(timeoutMs / 2 / repeats)
    }
    await sleep(timeoutMs / 2)
  } finally {
    s.close()
  }
  return [...found.values()]
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string', default: 'netsock' },
      port: { type: 'string', default: String(DEFAULT_PORT) },
      address: { type: 'string', default: '255.255.255.255' },
      interface: { type: 'string' },
      timeout: { type: 'string', default: '1000' },
    },
  })
  const port = Number(values.port)
  if (positionals[0] === 'respond') {
    const s = respond(values.name!, port)
    console.log(JSON.stringify({ answering: values.name, port: s.address().port }))
  } else if (positionals[0] === 'seek') {
    await seek({
      port,
      address: values.address,
      iface: values.interface,
      timeoutMs: Number(values.timeout),
      onService: (service) => console.log(JSON.stringify(service)),
    })
  } else {
    console.error('usage: discovery.ts respond [--name N] [--port P] | seek [--address A] [--interface I] [--timeout MS] [--port P]')
    process.exitCode = 2
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err.message)
    process.exit(1)
  })
}
