// ping: ICMP echo to a host, one line per reply or ICMP error, then the
// statistics, in the shape ping(8) from iputils prints them.
//
//   node -r ./examples/register.cjs examples/ping.ts <host> [-c 4] [-i 1]
//        [-W 1] [-t 64] [-s 56] [-6] [--json]        (-i and -W in seconds)
//
// Uses an ICMP datagram ("ping") socket when net.ipv4.ping_group_range admits
// your group, a raw socket (root or CAP_NET_RAW) otherwise. Ctrl-C stops early
// and still prints the statistics (run.stats counts what was sent).
import { parseArgs } from 'node:util'
import { ping } from 'netsock'

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      count: { type: 'string', short: 'c', default: '4' },
      interval: { type: 'string', short: 'i', default: '1' },
      timeout: { type: 'string', short: 'W', default: '1' },
      ttl: { type: 'string', short: 't' },
      size: { type: 'string', short: 's', default: '56' },
      '6': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  const host = positionals[0]
  if (!host) throw new Error('usage: ping.ts <host> [-c N] [-i seconds] [-W seconds] [-t ttl] [-s bytes] [-6] [--json]')
  const ac = new AbortController()
  process.once('SIGINT', () => ac.abort())
  const run = ping(host, {
    count: Number(values.count),
    intervalMs: Number(values.interval) * 1000,
    timeoutMs: Number(values.timeout) * 1000,
    ttl: values.ttl === undefined ? undefined : Number(values.ttl),
    size: Number(values.size),
    family: values['6'] ? 6 : undefined,
    signal: ac.signal,
  })
  try {
    for await (const r of run) {
      if (values.json) console.log(JSON.stringify(r))
      else if (r.timeout)
        continue // ping(8) prints nothing for a lost request
      else if (r.error) console.log(`From ${r.from} icmp_seq=${r.seq} ${r.reason}`)
      else console.log(`${r.bytes} bytes from ${r.from}: icmp_seq=${r.seq} ttl=${r.ttl ?? '?'} time=${r.rttMs.toFixed(3)} ms`)
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err
  }
  const s = run.stats
  if (values.json) console.log(JSON.stringify({ summary: s }))
  else {
    const loss = s.transmitted ? Math.round(((s.transmitted - s.received) / s.transmitted) * 100) : 0
    console.log(`\n--- ${host} ping statistics ---`)
    console.log(`${s.transmitted} packets transmitted, ${s.received} received${s.errors ? `, +${s.errors} errors` : ''}, ${loss}% packet loss`)
    if (s.rtt) console.log(`rtt min/avg/max/mdev = ${[s.rtt.min, s.rtt.avg, s.rtt.max, s.rtt.mdev].map((v) => v.toFixed(3)).join('/')} ms`)
  }
  process.exitCode = s.received ? 0 : 1
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err.hint ? `${err.message}` : err)
    process.exit(2)
  })
}
