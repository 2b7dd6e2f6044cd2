// `netsock trace HOST`: the routers on the way to HOST, one line per hop as
// its answer (or timeout) arrives, then a summary. Exits 1 when the
// destination was not reached within --max-hops. UDP probes (the default)
// need no privilege: the ICMP answers come from the socket's error queue.
import { traceroute, type TracerouteHop } from '../traceroute.js'
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from './args.js'
import { hostArg, intArg, untilInterrupted } from './ping.js'

export const traceCommand: Command = {
  name: 'trace',
  summary: 'trace the route to HOST, printing each hop as it answers',
  usage: 'netsock trace HOST [--max-hops N] [--probe udp|icmp] [--timeout MS] [--json]',
  options: {
    'max-hops': { type: 'string', short: 'm' },
    probe: { type: 'string', short: 'P' },
    timeout: { type: 'string', short: 'w' },
  },
  async run(values, positionals, io) {
    const host = hostArg(positionals, 'trace')
    const maxHops = intArg(values['max-hops'], '--max-hops', 1, 255, 30)!
    const timeoutMs = intArg(values.timeout, '--timeout', 1, 2 ** 31 - 1, 1000)!
    const probe = (values.probe as string | undefined) ?? 'udp'
    if (probe !== 'udp' && probe !== 'icmp') throw new UsageError(`--probe must be 'udp' or 'icmp', got '${probe}'`)
    if (!io.json) io.out(`trace to ${host}, ${maxHops} hops max, ${probe} probes`)
    const hops: TracerouteHop[] = []
    await untilInterrupted(async (signal) => {
      for await (const hop of traceroute(host, { maxHops, probe, timeoutMs, signal })) {
        hops.push(hop)
        if (io.json) io.out(JSON.stringify(hop))
        else io.out(`${String(hop.ttl).padStart(3)}  ${hop.address ?? '*'}${hop.rttMs === null ? '' : `  ${hop.rttMs.toFixed(3)} ms`}${hop.reached ? '  (reached)' : ''}`)
      }
    })
    const last = hops[hops.length - 1]
    const reached = last?.reached === true
    if (io.json) io.out(JSON.stringify({ summary: { host, reached, hops: hops.length, address: reached ? last.address : null } }))
    else io.out(reached ? `reached ${last.address} in ${hops.length} hop${hops.length === 1 ? '' : 's'}` : `${host} not reached in ${hops.length} hop${hops.length === 1 ? '' : 's'}`)
    return reached ? EXIT_OK : EXIT_FAILURE
  },
}
