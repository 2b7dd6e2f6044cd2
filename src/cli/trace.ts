// `netsock trace HOST`: traceroute(8), with its flags and its output: one
// line per hop once its probes are answered or timed out, several probes
// per hop (-q), '*' for a probe with no answer and !H !N !P !X !F after an
// unreachable one. UDP probes (the default) need no privilege: the ICMP
// answers come from the socket's error queue. Exit 0 when the destination
// answered, 1 when it did not, 2 on errors.
import { resolveHost, type IcmpSocketMode } from '../icmp.js'
import { traceroute, type TracerouteHop } from '../traceroute.js'
import { choiceValue, EXIT_NONE, EXIT_OK, intValue, oneOperand, portValue, secondsValue, untilInterrupted, UsageError, type Command } from './args.js'
import { familyFlag, FAMILY_FLAGS, SOCKET_FLAG } from './ping.js'

/** A hop as traceroute(8) prints it: ' 1  10.0.0.1  0.123 ms  0.045 ms !H  *' */
export function hopLine(hop: TracerouteHop): string {
  let line = `${String(hop.ttl).padStart(2)} `
  let shown: string | null = null
  for (const p of hop.probes) {
    if (p.address === null || p.rttMs === null) {
      line += ' *'
      continue
    }
    if (p.address !== shown) {
      line += ` ${p.address}`
      shown = p.address
    }
    line += `  ${p.rttMs.toFixed(3)} ms${p.annotation ? ` ${p.annotation}` : ''}`
  }
  return line
}

/** Bytes of one probe on the wire: IP header, UDP or ICMP header, and the 8-byte cookie. */
function probeBytes(family: 4 | 6): number {
  return (family === 4 ? 20 : 40) + 8 + 8
}

export const traceCommand: Command = {
  name: 'trace',
  summary: 'trace the route to HOST, as traceroute(8) does',
  operands: 'HOST',
  streaming: true,
  flags: [
    { name: 'icmp', short: 'I', help: 'probe with ICMP echo requests (a ping or raw socket, like ping)' },
    { name: 'probe', value: 'udp|icmp', default: 'udp', help: 'the probe kind; --probe icmp is -I' },
    { name: 'queries', short: 'q', value: 'N', default: '3', help: 'probes per hop' },
    { name: 'max-hops', short: 'm', value: 'N', default: '30', help: 'the largest TTL to try' },
    { name: 'first', short: 'f', value: 'N', default: '1', help: 'the TTL to start from' },
    { name: 'port', short: 'p', value: 'PORT', default: '33434', help: 'UDP probes: destination port of the first probe, +1 per probe' },
    { name: 'wait', short: 'w', value: 'SECONDS', default: '5', help: "how long to wait for a hop's answers; decimals allowed" },
    { name: 'interface', short: 'i', value: 'IFACE|ADDR', default: 'routing decides', help: 'send through this interface, or from this source address' },
    { name: 'numeric', short: 'n', help: 'numeric addresses only (netsock never looks names up in reverse; accepted for traceroute(8) habits)' },
    ...FAMILY_FLAGS,
    SOCKET_FLAG,
  ],
  notes: 'exit codes: 0 the destination answered, 1 it did not (traceroute(8) itself exits 0 either way), 2 usage error or failure',
  async run({ values, positionals }, io) {
    const host = oneOperand(positionals, 'HOST', 'trace')
    const probeFlag = choiceValue(values.probe, '--probe', ['udp', 'icmp'] as const)
    if (values.icmp && probeFlag === 'udp') throw new UsageError('-I and --probe udp contradict each other')
    const probe = values.icmp ? 'icmp' : (probeFlag ?? 'udp')
    const maxHops = intValue(values['max-hops'], '-m', 1, 255) ?? 30
    const options = {
      probe,
      maxHops,
      firstHop: intValue(values.first, '-f', 1, maxHops) ?? 1,
      probesPerHop: intValue(values.queries, '-q', 1, 10) ?? 3,
      port: portValue(values.port, '-p') ?? 33434,
      timeoutMs: secondsValue(values.wait, '-w', 0.001) ?? 5000,
      interface: values.interface === true ? undefined : values.interface,
      socket: choiceValue<IcmpSocketMode>(values.socket, '--socket', ['auto', 'dgram', 'raw']),
    } as const
    if (probe === 'udp' && options.port + maxHops * options.probesPerHop - 1 > 65535) {
      throw new UsageError(`-p ${options.port} leaves no room for ${maxHops} hops of ${options.probesPerHop} probe ports`)
    }
    const target = await resolveHost(host, familyFlag(values))
    if (io.json)
      io.out(JSON.stringify({ event: 'start', host, address: target.address, family: target.family, probe, maxHops, probesPerHop: options.probesPerHop }))
    else io.out(`traceroute to ${host} (${target.address}), ${maxHops} hops max, ${probeBytes(target.family)} byte packets`)
    const hops: TracerouteHop[] = []
    await untilInterrupted(async (signal) => {
      for await (const hop of traceroute(target.address, { ...options, family: target.family, signal })) {
        hops.push(hop)
        io.out(io.json ? JSON.stringify({ event: 'hop', ...hop }) : hopLine(hop))
      }
    })
    const last = hops[hops.length - 1]
    const reached = last?.reached === true
    if (io.json) io.out(JSON.stringify({ event: 'summary', host, address: target.address, reached, hops: hops.length }))
    return reached ? EXIT_OK : EXIT_NONE
  },
}
