// The `netsock` command: subcommands, --help and --version everywhere, the
// JSON forms, exit codes scripts can rely on (see args.ts), and a quiet end
// when stdout is a pipe that closed (`netsock ping host | head -1`).
import fs from 'node:fs'
import path from 'node:path'
import { COMMON_FLAGS, EXIT_ERROR, EXIT_OK, closest, helpText, parseFlags, usageLine, UsageError, type Command, type Io } from './args.js'
import { bench } from './bench.js'
import { info } from './info.js'
import { perfCommand, perfMain } from './perf.js'
import { pingCommand } from './ping.js'
import { traceCommand } from './trace.js'
import { listen, send } from './udp.js'

/** Every subcommand, in the order the overview lists them. Add a new one here. */
export const commands: Command[] = [info, pingCommand, traceCommand, listen, send, bench, perfCommand]

/** 'netsock 0.1.0 (Node v20.20.2, linux-x64)' */
export function versionText(): string {
  let version = 'unknown'
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
      if (pkg.name === 'netsock') {
        version = pkg.version
        break
      }
    } catch {
      // not here
    }
    if (path.dirname(dir) === dir) break
  }
  return `netsock ${version} (Node ${process.version}, ${process.platform}-${process.arch})`
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'netsock: the BSD socket layer for Node.js, at the terminal',
    '',
    'usage: netsock <command> [options]   (netsock <command> --help lists its options)',
    '       netsock --version',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 ok, 1 nothing found (no reply, not reached, nothing received), 2 usage error or failure',
    '--json: one JSON object per line with an "event" field for ping, trace and listen; one JSON document otherwise',
  ].join('\n')
}

/** A failure as the user sees it: the message (with its hint) and, under --json, a JSON form. */
function reportFailure(command: Command, err: unknown, io: Io): void {
  const e = err as Error & { code?: string; hint?: string; hostname?: string }
  let message = e.message
  // dns.lookup's ENOTFOUND reads 'getaddrinfo ENOTFOUND x'; say it as ping(8) does.
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    message = `${e.hostname ?? ''}: ${e.code === 'ENOTFOUND' ? 'Name or service not known' : 'Temporary failure in name resolution'}`
  if (io.json) {
    const body = { message, code: e.code, hint: e.hint }
    io.out(JSON.stringify(command.streaming ? { event: 'error', ...body } : { error: body }))
  } else io.err(`netsock ${command.name}: ${message}`)
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...rest] = argv
  if (name === '--version' || name === '-V') {
    io.out(versionText())
    return EXIT_OK
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) io.err(overview())
    else io.out(overview())
    return name === undefined ? EXIT_ERROR : EXIT_OK
  }
  // perf speaks iperf3's command line (flags, exit codes): it parses its own.
  if (name === 'perf') return perfMain(rest, io)
  const command = commands.find((c) => c.name === name)
  if (!command) {
    const guesses = closest(
      name,
      commands.map((c) => c.name),
    )
    io.err(`netsock: unknown command '${name}'${guesses.length ? ` (did you mean ${guesses.map((g) => `'${g}'`).join(' or ')}?)` : ''}\n\n${overview()}`)
    return EXIT_ERROR
  }
  try {
    const args = parseFlags(rest, [...command.flags, ...COMMON_FLAGS])
    if (args.values.help) {
      io.out(helpText(command))
      return EXIT_OK
    }
    if (args.values.version) {
      io.out(versionText())
      return EXIT_OK
    }
    io.json = args.values.json === true
    return await command.run(args, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`netsock ${name}: ${err.message}\nusage: ${usageLine(command)}   (netsock ${name} --help lists the options)`)
      return EXIT_ERROR
    }
    reportFailure(command, err, io)
    return EXIT_ERROR
  }
}

/**
 * The exit code of a process killed by SIGPIPE (128 + 13), which is how
 * ping(8) and other Unix tools end when the reader of their output goes
 * away: Node ignores SIGPIPE, so a write to a closed pipe fails with EPIPE
 * instead, and netsock then exits quietly with this code.
 */
export const EXIT_PIPE = 141

function defaultIo(): Io {
  const quietOnEpipe = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') process.exit(EXIT_PIPE)
    throw err
  }
  process.stdout.on('error', quietOnEpipe)
  process.stderr.on('error', quietOnEpipe)
  const live = process.stderr.isTTY === true
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    progress: (text) => {
      if (live) process.stderr.write(`\r${text}\x1b[K`)
    },
    json: false,
    live,
  }
}
