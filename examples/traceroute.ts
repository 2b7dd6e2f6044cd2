// traceroute: the routers on the way to a host, one line per hop with one
// time per probe, '*' for a probe nobody answered and traceroute(8)'s marks
// (!H, !N, !P, !X, !F) after an unreachable answer.
//
//   node -r ./examples/register.cjs examples/traceroute.ts <host> [-m 30]
//        [-q 3] [-I] [-w 1] [-6] [--json]                 (-w in seconds)
//
// UDP probes (the default) need no privilege: the ICMP answers are read from
// the socket's error queue (IP_RECVERR). ICMP probes (-I) use a ping socket or
// a raw socket, like ping. Ctrl-C stops early.
import { parseArgs } from 'node:util'
import { traceroute } from 'netsock'

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      'max-hops': { type: 'string', short: 'm', default: '30' },
      queries: { type: 'string', short: 'q', default: '3' },
      icmp: { type: 'boolean', short: 'I', default: false },
      wait: { type: 'string', short: 'w', default: '1' },
      '6': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  const host = positionals[0]
  if (!host) throw new Error('usage: traceroute.ts <host> [-m N] [-q N] [-I] [-w seconds] [-6] [--json]')
  const ac = new AbortController()
  process.once('SIGINT', () => ac.abort())
  let reached = false
  try {
    for await (const hop of traceroute(host, {
      maxHops: Number(values['max-hops']),
      probesPerHop: Number(values.queries),
      probe: values.icmp ? 'icmp' : 'udp',
      timeoutMs: Number(values.wait) * 1000,
      family: values['6'] ? 6 : undefined,
      signal: ac.signal,
    })) {
      reached ||= hop.reached
      if (values.json) {
        console.log(JSON.stringify(hop))
        continue
      }
      let line = String(hop.ttl).padStart(2)
      let shown: string | null = null
      for (const p of hop.probes) {
        if (p.address === null || p.rttMs === null) line += '  *'
        else {
          if (p.address !== shown) line += `  ${(shown = p.address)}`
          line += `  ${p.rttMs.toFixed(3)} ms${p.annotation ? ` ${p.annotation}` : ''}`
        }
      }
      console.log(line)
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
