// The `netsock` command: subcommands, --help everywhere, exit codes scripts
// can rely on (0 ok, 1 the work failed, 2 a usage error).
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parse, UsageError, type Command, type Io } from './args.js'
import { bench } from './bench.js'
import { info } from './info.js'
import { perfCommand, perfMain } from './perf.js'
import { pingCommand } from './ping.js'
import { traceCommand } from './trace.js'
import { listen, send } from './udp.js'

export const commands: Command[] = [info, pingCommand, traceCommand, listen, send, bench, perfCommand]

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'netsock: the BSD socket layer for Node.js, at the terminal',
    '',
    'usage: netsock <command> [options]   (netsock <command> --help for its options)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 ok, 1 the work failed, 2 usage error',
  ].join('\n')
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], io: Io = defaultIo(argv)): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(overview())
    return name === undefined ? EXIT_USAGE : EXIT_OK
  }
  // perf speaks iperf3's command line (flags, exit codes): it parses its own.
  if (name === 'perf') return perfMain(rest, io)
  const command = commands.find((c) => c.name === name)
  if (!command) {
    io.err(`netsock: unknown command '${name}'\n\n${overview()}`)
    return EXIT_USAGE
  }
  try {
    const { values, positionals } = parse(command, rest)
    if (values.help) {
      io.out(`${command.summary}\n\nusage: ${command.usage}`)
      return EXIT_OK
    }
    io.json = values.json === true
    return await command.run(values, positionals, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`netsock ${name}: ${err.message}\nusage: ${command.usage}`)
      return EXIT_USAGE
    }
    const e = err as Error & { code?: string; hint?: string }
    if (io.json) io.out(JSON.stringify({ error: e.message, code: e.code }))
    else io.err(`netsock ${name}: ${e.message}`)
    return EXIT_FAILURE
  }
}

function defaultIo(argv: string[]): Io {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(text.startsWith('\r') ? text : `${text}\n`),
    json: argv.includes('--json'),
    live: process.stderr.isTTY === true,
  }
}
