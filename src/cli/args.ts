// The command-line framework every `netsock` subcommand uses. A command
// declares its flags (long name, optional one-letter form, value
// placeholder, default and help line) and gets, for free:
//   - getopt-style parsing: -c 3, -c3, -qn, --count 3, --count=3, `--`
//     ends the flags, flags and operands in any order;
//   - an unknown flag named with the closest known one ("did you mean");
//   - --help listing every flag with its default, and --version;
//   - --json, in one of two forms (see `Command.streaming`);
//   - exit codes: 0 ok, 1 the work found nothing (no reply, not reached,
//     nothing received), 2 a usage error or any other failure (ping(8)'s
//     convention);
//   - quiet exit when stdout is a closed pipe (see main.ts).
// A new subcommand is a `Command` object added to the list in main.ts.

import { editDistance } from '../suggest.js'

/** Exit code: the work succeeded. */
export const EXIT_OK = 0
/** Exit code: the work ran but found nothing (no reply, destination not reached, no datagram). */
export const EXIT_NONE = 1
/** Exit code: the command line was wrong, or the work failed (name not resolved, no permission, network unreachable...). */
export const EXIT_ERROR = 2

/** A wrong command line: printed with the command's usage, exit 2. */
export class UsageError extends Error {}

/** One flag of a command. */
export interface Flag {
  /** Long name without dashes, e.g. 'count' (also the key in `Args.values`). */
  name: string
  /** One-letter form without the dash, e.g. 'c'. */
  short?: string
  /** Placeholder of the value, e.g. 'N' or 'SECONDS'; absent for a boolean flag. */
  value?: string
  /** The default, as the help shows it (e.g. '1', 'until interrupted'). */
  default?: string
  /** One line of help. */
  help: string
}

/** The parsed command line: flag values by long name (a string, or true for a boolean flag) and the operands. */
export interface Args {
  values: Record<string, string | true | undefined>
  positionals: string[]
}

/** Where a command writes. */
export interface Io {
  /** A line to stdout. */
  out(text: string): void
  /** A line to stderr. */
  err(text: string): void
  /** Live progress on stderr (rewritten in place); dropped unless `live`. */
  progress(text: string): void
  /** --json was given. */
  json: boolean
  /** stderr is a terminal: progress is shown. */
  live: boolean
}

/** A `netsock` subcommand. */
export interface Command {
  name: string
  /** One line for the overview. */
  summary: string
  /** Operands after the flags, e.g. 'HOST' or '[MESSAGE | -]'. */
  operands: string
  flags: Flag[]
  /**
   * The --json form: true for commands that report as things happen (one
   * JSON object per line, each with an "event" field, the last one
   * "summary", or "error" on failure); false for one JSON document.
   */
  streaming: boolean
  /** Extra help text after the flag list (units, exit codes, notes). */
  notes?: string
  run(args: Args, io: Io): Promise<number>
}

/** Flags every command has. */
export const COMMON_FLAGS: Flag[] = [
  { name: 'json', help: 'machine-readable output (see README, "The netsock command")' },
  { name: 'help', short: 'h', help: 'show this help and exit' },
  { name: 'version', short: 'V', help: 'show the version and exit' },
]

/** The names in `known` closest to `word` (a typo, or the start of a name; several when it starts more than one), or []. */
export function closest(word: string, known: string[]): string[] {
  const prefixed = known.filter((k) => word.length >= 2 && k.startsWith(word))
  if (prefixed.length) return prefixed
  let best: string[] = []
  let bestD = Math.max(1, Math.ceil(word.length / 3)) + 1
  for (const k of known) {
    const d = editDistance(word, k)
    if (d < bestD) {
      best = [k]
      bestD = d
    } else if (d === bestD) best.push(k)
  }
  return best
}

function unknownFlag(token: string, flags: Flag[]): UsageError {
  const long = token.startsWith('--')
  const word = long ? token.slice(2).split('=')[0] : token.slice(1)
  const guesses = long
    ? closest(
        word,
        flags.map((f) => f.name),
      )
    : []
  const named = guesses.map((g) => flags.find((f) => f.name === g)!).map((f) => (f.short ? `--${f.name}' (-${f.short})` : `--${f.name}'`))
  const hint = named.length ? ` (did you mean ${named.map((n) => `'${n}`).join(named.length === 2 ? ' or ' : ', ')}?)` : ''
  return new UsageError(`unknown option '${long ? `--${word}` : token}'${hint}`)
}

/** Parses `argv` against `flags` (COMMON_FLAGS included by the caller) in getopt style. */
export function parseFlags(argv: string[], flags: Flag[]): Args {
  const values: Args['values'] = {}
  const positionals: string[] = []
  const byLong = new Map(flags.map((f) => [f.name, f]))
  const byShort = new Map(flags.filter((f) => f.short).map((f) => [f.short!, f]))
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      const name = token.slice(2, eq === -1 ? undefined : eq)
      const flag = byLong.get(name)
      if (!flag) throw unknownFlag(token, flags)
      if (!flag.value) {
        if (eq !== -1) throw new UsageError(`option '--${name}' takes no value`)
        values[name] = true
      } else if (eq !== -1) values[name] = token.slice(eq + 1)
      else if (i + 1 < argv.length) values[name] = argv[++i]
      else throw new UsageError(`option '--${name}' needs a value (${flag.value})`)
      continue
    }
    if (token.startsWith('-') && token.length > 1) {
      // A cluster of one-letter flags; the first that takes a value takes the rest (or the next word).
      for (let j = 1; j < token.length; j++) {
        const flag = byShort.get(token[j])
        if (!flag) throw unknownFlag(`-${token[j]}`, flags)
        if (!flag.value) {
          values[flag.name] = true
          continue
        }
        if (j + 1 < token.length) values[flag.name] = token.slice(j + 1)
        else if (i + 1 < argv.length) values[flag.name] = argv[++i]
        else throw new UsageError(`option '-${flag.short}' needs a value (${flag.value})`)
        break
      }
      continue
    }
    positionals.push(token)
  }
  return { values, positionals }
}

/** `netsock NAME [options] OPERANDS` */
export function usageLine(command: Command): string {
  return `netsock ${command.name} [options]${command.operands ? ` ${command.operands}` : ''}`
}

/** The --help text: usage, then every flag with its default. */
export function helpText(command: Command): string {
  const flags = [...command.flags, ...COMMON_FLAGS]
  // A flag whose name is its letter (-4, -6) has no long form worth showing.
  const left = flags.map((f) => (f.short === f.name ? `-${f.short}` : `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.value ? ` ${f.value}` : ''}`))
  const width = Math.max(...left.map((l) => l.length))
  const lines = flags.map((f, i) => `  ${left[i].padEnd(width)}  ${f.help}${f.default !== undefined ? ` (default: ${f.default})` : ''}`)
  return [`${command.summary}`, '', `usage: ${usageLine(command)}`, '', 'options:', ...lines, ...(command.notes ? ['', command.notes] : [])].join('\n')
}

// ---- value parsers: each names the flag and the value it refused ----------

/** An integer within [min, max]. */
export function intValue(value: string | true | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value === true || value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer ${min}-${max}, got '${String(value)}'`)
  }
  return n
}

/** A duration in seconds (decimals allowed, as ping -i 0.2), returned in milliseconds, at least `minSeconds`. */
export function secondsValue(value: string | true | undefined, flag: string, minSeconds: number): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value === true || value.trim() === '' || !Number.isFinite(n) || n < minSeconds || n * 1000 > 2 ** 31 - 1) {
    throw new UsageError(`${flag} must be a number of seconds >= ${minSeconds}, got '${String(value)}'`)
  }
  return Math.round(n * 1000)
}

/** A port number 0-65535. */
export function portValue(value: string | true | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value === true || value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`${flag} must be a port number 0-65535, got '${String(value)}'`)
  }
  return n
}

/** One of `choices`. */
export function choiceValue<T extends string>(value: string | true | undefined, flag: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if (value === true || !choices.includes(value as T))
    throw new UsageError(`${flag} must be ${choices.map((c) => `'${c}'`).join(' or ')}, got '${String(value)}'`)
  return value as T
}

/** Exactly one operand, named `what` in the error. */
export function oneOperand(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one ${what} argument${positionals.length ? `, got ${positionals.length}` : ''}`)
  return positionals[0]
}

/** Runs `work` with an AbortSignal that Ctrl-C (SIGINT) fires; an abort ends the work quietly. Resolves true when interrupted. */
export async function untilInterrupted(work: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
  const ac = new AbortController()
  const onSigint = (): void => ac.abort()
  // on, not once: a second Ctrl-C while stopping must not kill the process before the summary.
  process.on('SIGINT', onSigint)
  try {
    await work(ac.signal)
  } catch (err) {
    if (!ac.signal.aborted || (err as Error).name !== 'AbortError') throw err
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
  return ac.signal.aborted
}
