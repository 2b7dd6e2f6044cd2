// `netsock ping HOST`: ping(8) from iputils, flag for flag and line for
// line: the same flags and units (seconds), one line per reply or ICMP error
// as it happens, the statistics block at the end (also after Ctrl-C), and
// the exit codes: 0 when any reply came, 1 when none did, 2 on other errors.
import { resolveHost, type IcmpSocketMode } from '../icmp.js'
import { sameAddress } from '../ip-address.js'
import { ping, type PingIterator, type PingOptions, type PingResult, type PingStats } from '../ping.js'
import {
  choiceValue,
  EXIT_NONE,
  EXIT_OK,
  intValue,
  oneOperand,
  secondsValue,
  untilInterrupted,
  UsageError,
  type Args,
  type Command,
  type Flag,
} from './args.js'

/** The family -4 / -6 ask for, or undefined; both is a usage error. */
export function familyFlag(values: Args['values']): 4 | 6 | undefined {
  if (values['4'] && values['6']) throw new UsageError('-4 and -6 cannot be used together')
  return values['4'] ? 4 : values['6'] ? 6 : undefined
}

export const FAMILY_FLAGS: Flag[] = [
  { name: '4', short: '4', help: 'use IPv4 only' },
  { name: '6', short: '6', help: 'use IPv6 only' },
]

export const SOCKET_FLAG: Flag = {
  name: 'socket',
  value: 'auto|dgram|raw',
  default: 'auto',
  help: 'ICMP socket: a ping socket if net.ipv4.ping_group_range admits you (dgram), else a raw one (CAP_NET_RAW)',
}

/** ping(8)'s RTT format: three decimals below 1 ms, two below 10, one below 100, none above (from whole µs). */
export function formatRtt(ms: number): string {
  const us = Math.floor(ms * 1000)
  if (us >= 100_000 - 50) return String(Math.floor((us + 500) / 1000))
  if (us >= 10_000 - 5) return `${Math.floor((us + 50) / 1000)}.${Math.floor(((us + 50) % 1000) / 100)}`
  if (us >= 1000) return `${Math.floor((us + 5) / 1000)}.${String(Math.floor(((us + 5) % 1000) / 10)).padStart(2, '0')}`
  return `0.${String(us).padStart(3, '0')}`
}

/** Loss as ping(8) prints it (%g): '0', '20', '33.3333', '100'. */
export function lossPercent(stats: PingStats): number {
  return stats.transmitted === 0 ? 0 : Number((((stats.transmitted - stats.received) * 100) / stats.transmitted).toPrecision(6))
}

/** The statistics block ping(8) ends with. */
export function statisticsText(host: string, stats: PingStats): string[] {
  const counts =
    `${stats.transmitted} packets transmitted, ${stats.received} received` +
    (stats.duplicates ? `, +${stats.duplicates} duplicates` : '') +
    (stats.corrupted ? `, +${stats.corrupted} corrupted` : '') +
    (stats.errors ? `, +${stats.errors} errors` : '') +
    (stats.transmitted ? `, ${lossPercent(stats)}% packet loss, time ${Math.round(stats.timeMs)}ms` : '')
  const lines = ['', `--- ${host} ping statistics ---`, counts]
  if (stats.rtt) {
    const { min, avg, max, mdev } = stats.rtt
    lines.push(`rtt min/avg/max/mdev = ${[min, avg, max, mdev].map((v) => v.toFixed(3)).join('/')} ms`)
  } else lines.push('') // ping(8) ends the block with an empty line when it has no RTT line
  return lines
}

function resultLine(r: PingResult, target: string): string | null {
  if (r.timeout) return null
  if (r.error) return `From ${r.from} icmp_seq=${r.seq} ${r.reason}`
  return `${r.bytes} bytes from ${r.from}: icmp_seq=${r.seq}${r.ttl === undefined ? '' : ` ttl=${r.ttl}`} time=${formatRtt(r.rttMs)} ms${sameAddress(r.from, target) ? '' : ' (DIFFERENT ADDRESS!)'}`
}

function resultEvent(r: PingResult): object {
  if (r.timeout) return { event: 'timeout', seq: r.seq }
  if (r.error) {
    const { error: _e, ...rest } = r
    return { event: 'icmp-error', ...rest }
  }
  return { event: 'reply', ...r }
}

export const pingCommand: Command = {
  name: 'ping',
  summary: 'send ICMP echo requests to HOST, as ping(8) does',
  operands: 'HOST',
  streaming: true,
  flags: [
    { name: 'count', short: 'c', value: 'N', default: 'until interrupted', help: 'stop after N requests (with -w: after N replies)' },
    { name: 'interval', short: 'i', value: 'SECONDS', default: '1', help: 'wait between requests; decimals allowed (below 0.002 only as root)' },
    { name: 'timeout', short: 'W', value: 'SECONDS', default: '10', help: 'time to wait for each reply' },
    { name: 'deadline', short: 'w', value: 'SECONDS', default: 'none', help: 'stop after this long, whatever was sent or received' },
    { name: 'size', short: 's', value: 'BYTES', default: '56', help: 'payload bytes per request (at most 65507 over IPv4, 65527 over IPv6)' },
    { name: 'ttl', short: 't', value: 'N', default: "the system's", help: 'TTL / hop limit of the requests' },
    { name: 'interface', short: 'I', value: 'IFACE|ADDR', default: 'routing decides', help: 'send through this interface, or from this source address' },
    { name: 'quiet', short: 'q', help: 'print only the first line and the statistics' },
    { name: 'numeric', short: 'n', help: 'numeric addresses only (netsock never looks names up in reverse; accepted for ping(8) habits)' },
    { name: 'report-outstanding', short: 'O', help: 'print "no answer yet for icmp_seq=N" when a request times out' },
    ...FAMILY_FLAGS,
    SOCKET_FLAG,
  ],
  notes: [
    'Units as ping(8): seconds, with decimals. Ctrl-C prints the statistics and exits.',
    'exit codes: 0 a reply came (with -w and -c: all N), 1 no reply, 2 usage error or failure (name not resolved,',
    'network unreachable, no permission: the message names net.ipv4.ping_group_range and CAP_NET_RAW).',
  ].join('\n'),
  async run({ values, positionals }, io) {
    const host = oneOperand(positionals, 'HOST', 'ping')
    const root = process.geteuid?.() === 0
    const options: PingOptions = {
      count: intValue(values.count, '-c', 1, 2 ** 31 - 1),
      intervalMs: secondsValue(values.interval, '-i', root ? 0 : 0.002) ?? 1000,
      timeoutMs: secondsValue(values.timeout, '-W', 0.001) ?? 10_000,
      deadlineMs: secondsValue(values.deadline, '-w', 0),
      size: intValue(values.size, '-s', 0, 65527) ?? 56,
      ttl: intValue(values.ttl, '-t', 1, 255),
      interface: values.interface === true ? undefined : values.interface,
      socket: choiceValue<IcmpSocketMode>(values.socket, '--socket', ['auto', 'dgram', 'raw']),
    }
    if (options.count === undefined && options.deadlineMs === undefined) options.count = Infinity
    const target = await resolveHost(host, familyFlag(values))
    if (target.family === 4 && options.size! > 65507) throw new UsageError(`-s must be at most 65507 over IPv4, got '${String(values.size)}'`)
    const quiet = values.quiet === true
    const size = options.size!
    if (io.json) io.out(JSON.stringify({ event: 'start', host, address: target.address, family: target.family, size }))
    else if (target.family === 4) io.out(`PING ${host} (${target.address}) ${size}(${size + 28}) bytes of data.`)
    else io.out(`PING ${host}(${target.address}) ${size} data bytes`)
    let run: PingIterator | undefined
    await untilInterrupted(async (signal) => {
      run = ping(target.address, { ...options, family: target.family, signal })
      for await (const r of run) {
        if (io.json) io.out(JSON.stringify(resultEvent(r)))
        else if (r.timeout && values['report-outstanding']) io.out(`no answer yet for icmp_seq=${r.seq}`)
        else if (!quiet) {
          const line = resultLine(r, target.address)
          if (line) io.out(line)
        }
      }
    })
    const stats = run!.stats
    if (io.json) io.out(JSON.stringify({ event: 'summary', host, address: target.address, ...stats, lossPercent: lossPercent(stats) }))
    else for (const line of statisticsText(host, stats)) io.out(line)
    const all = options.deadlineMs !== undefined && options.count !== undefined && Number.isFinite(options.count) ? stats.received >= options.count : true
    return stats.received > 0 && all ? EXIT_OK : EXIT_NONE
  },
}
