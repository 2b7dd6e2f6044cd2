// `netsock ping HOST`: ICMP echo, one line per reply or timeout as it
// happens (the live progress), then a summary. Exits 1 when no reply came
// back, like ping(8); Ctrl-C stops early and still prints the summary.
import { ping, type PingResult } from '../ping.js'
import { countArg, EXIT_FAILURE, EXIT_OK, UsageError, type Command } from './args.js'

/** An integer option within [min, max], or `fallback` when absent. */
export function intArg(value: unknown, what: string, min: number, max: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback
  const n = Number(value)
  if (value === '' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${what} must be an integer ${min}-${max}, got '${String(value)}'`)
  return n
}

/** The one HOST positional, or a UsageError. */
export function hostArg(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one HOST argument`)
  return positionals[0]
}

/** Runs `work` with an AbortSignal that Ctrl-C fires; an abort ends the work quietly. */
export async function untilInterrupted(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const ac = new AbortController()
  const onSigint = (): void => ac.abort()
  process.once('SIGINT', onSigint)
  try {
    await work(ac.signal)
  } catch (err) {
    if (!ac.signal.aborted || (err as Error).name !== 'AbortError') throw err
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
}

const ms = (v: number): string => v.toFixed(3)

export const pingCommand: Command = {
  name: 'ping',
  summary: 'send ICMP echo requests to HOST and print each reply as it arrives',
  usage: 'netsock ping HOST [--count N] [--interval MS] [--timeout MS] [--ttl N] [--size B] [--json]',
  options: {
    count: { type: 'string', short: 'c' },
    interval: { type: 'string', short: 'i' },
    timeout: { type: 'string', short: 'W' },
    ttl: { type: 'string', short: 't' },
    size: { type: 'string', short: 's' },
  },
  async run(values, positionals, io) {
    const host = hostArg(positionals, 'ping')
    const options = {
      count: countArg(values.count, '--count', 4),
      intervalMs: intArg(values.interval, '--interval', 0, 2 ** 31 - 1, 1000)!,
      timeoutMs: intArg(values.timeout, '--timeout', 1, 2 ** 31 - 1, 1000)!,
      ttl: intArg(values.ttl, '--ttl', 1, 255),
      size: intArg(values.size, '--size', 0, 65000, 56)!,
    }
    if (options.count > 65535) throw new UsageError(`--count must be an integer 1-65535, got '${String(values.count)}'`)
    if (!io.json) io.out(`PING ${host}: ${options.size} data bytes`)
    const results: PingResult[] = []
    await untilInterrupted(async (signal) => {
      for await (const r of ping(host, { ...options, signal })) {
        results.push(r)
        if (io.json) io.out(JSON.stringify(r))
        else if (r.timeout) io.out(`seq=${r.seq} timeout`)
        else if (r.error) io.out(`From ${r.from} icmp_seq=${r.seq} ${r.reason}`)
        else io.out(`${r.bytes} bytes from ${r.from}: seq=${r.seq}${r.ttl === undefined ? '' : ` ttl=${r.ttl}`} time=${ms(r.rttMs)} ms`)
      }
    })
    const rtts = results.flatMap((r) => (r.timeout || r.error ? [] : [r.rttMs]))
    const sent = results.length
    const summary = {
      host,
      sent,
      received: rtts.length,
      lossPercent: sent === 0 ? 0 : Math.round(((sent - rtts.length) / sent) * 1000) / 10,
      minMs: rtts.length ? Math.min(...rtts) : null,
      avgMs: rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null,
      maxMs: rtts.length ? Math.max(...rtts) : null,
    }
    if (io.json) io.out(JSON.stringify({ summary }))
    else {
      io.out(`--- ${host} ping statistics ---`)
      io.out(
        `${sent} sent, ${summary.received} received, ${summary.lossPercent}% loss` +
          (rtts.length ? `, rtt min/avg/max ${ms(summary.minMs!)}/${ms(summary.avgMs!)}/${ms(summary.maxMs!)} ms` : ''),
      )
    }
    return rtts.length > 0 ? EXIT_OK : EXIT_FAILURE
  },
}
