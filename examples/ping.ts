// ping: ICMP echo to a host, one line per reply or timeout, then a summary.
//
//   node -r ./examples/register.cjs examples/ping.ts <host> [--count 4]
//        [--interval 1000] [--timeout 1000] [--ttl 64] [--size 56] [-6] [--json]
//
// Uses an ICMP datagram ("ping") socket when net.ipv4.ping_group_range admits
// your group, a raw socket (root or CAP_NET_RAW) otherwise. Ctrl-C stops early.
import { parseArgs } from 'node:util'
import { ping, type PingResult } from 'netsock'

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      count: { type: 'string', short: 'c', default: '4' },
      interval: { type: 'string', short: 'i', default: '1000' },
      timeout: { type: 'string', short: 'W', default: '1000' },
      ttl: { type: 'string', short: 't' },
      size: { type: 'string', short: 's', default: '56' },
      '6': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  const host = positionals[0]
  if (!host) throw new Error('usage: ping.ts <host> [--count N] [--interval ms] [--timeout ms] [--ttl N] [--size N] [-6] [--json]')
  const ac = new AbortController()
  process.once('SIGINT', () => ac.abort())
  const results: PingResult[] = []
  try {
    for await (const r of ping(host, {
      count: Number(values.count),
      intervalMs: Number(values.interval),
      timeoutMs: Number(values.timeout),
      ttl: values.ttl === undefined ? undefined : Number(values.ttl),
      size: Number(values.size),
      family: values['6'] ? 6 : undefined,
      signal: ac.signal,
    })) {
      results.push(r)
      if (values.json) console.log(JSON.stringify(r))
      else if (r.timeout) console.log(`seq=${r.seq} timeout`)
      else console.log(`${r.bytes} bytes from ${r.from}: seq=${r.seq} ttl=${r.ttl ?? '?'} time=${r.rttMs.toFixed(3)} ms`)
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err
  }
  const replies = results.filter((r) => !r.timeout)
  const rtts = replies.map((r) => (r.timeout ? 0 : r.rttMs))
  const summary = {
    sent: results.length,
    received: replies.length,
    minMs: rtts.length ? Math.min(...rtts) : null,
    avgMs: rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null,
    maxMs: rtts.length ? Math.max(...rtts) : null,
  }
  if (values.json) console.log(JSON.stringify({ summary }))
  else console.log(`--- ${host}: ${summary.sent} sent, ${summary.received} received` + (rtts.length ? `, rtt min/avg/max ${summary.minMs!.toFixed(3)}/${summary.avgMs!.toFixed(3)}/${summary.maxMs!.toFixed(3)} ms` : ''))
  process.exitCode = replies.length ? 0 : 1
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err.hint ? `${err.message}` : err)
    process.exit(2)
  })
}
