// traceroute: the routers on the way to a host, one line per hop.
//
//   node -r ./examples/register.cjs examples/traceroute.ts <host> [--max-hops 30]
//        [--probe udp|icmp] [--timeout 1000] [-6] [--json]
//
// UDP probes (the default) need no privilege: the ICMP answers are read from
// the socket's error queue (IP_RECVERR). ICMP probes use a ping socket or a
// raw socket, like ping. Ctrl-C stops early.
import { parseArgs } from 'node:util'
import { traceroute } from 'netsock'

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      'max-hops': { type: 'string', short: 'm', default: '30' },
      probe: { type: 'string', short: 'P', default: 'udp' },
      timeout: { type: 'string', short: 'w', default: '1000' },
      '6': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  const host = positionals[0]
  if (!host) throw new Error('usage: traceroute.ts <host> [--max-hops N] [--probe udp|icmp] [--timeout ms] [-6] [--json]')
  const ac = new AbortController()
  process.once('SIGINT', () => ac.abort())
  let reached = false
  try {
    for await (const hop of traceroute(host, {
      maxHops: Number(values['max-hops']),
      probe: values.probe as 'udp' | 'icmp',
      timeoutMs: Number(values.timeout),
      family: values['6'] ? 6 : undefined,
      signal: ac.signal,
    })) {
      reached ||= hop.reached
      if (values.json) console.log(JSON.stringify(hop))
      else console.log(`${String(hop.ttl).padStart(2)}  ${hop.address ?? '*'}${hop.rttMs === null ? '' : `  ${hop.rttMs.toFixed(3)} ms`}${hop.reached ? '  (reached)' : ''}`)
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err
  }
  process.exitCode = reached ? 0 : 1
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err.hint ? `${err.message}` : err)
    process.exit(2)
  })
}
