// Shared command-line plumbing: parsing with node:util, usage errors (exit 2)
// and output that is either human text or one JSON document (--json).
import { parseArgs, type ParseArgsConfig } from 'node:util'

export const EXIT_OK = 0
/** The work ran and failed (no reply, socket error...). */
export const EXIT_FAILURE = 1
/** The command line was wrong. */
export const EXIT_USAGE = 2

export class UsageError extends Error {}

export interface Command {
  name: string
  summary: string
  usage: string
  options: NonNullable<ParseArgsConfig['options']>
  run(values: Record<string, unknown>, positionals: string[], io: Io): Promise<number>
}

export interface Io {
  out(text: string): void
  err(text: string): void
  json: boolean
  /** True when stderr is a terminal: live progress is shown. */
  live: boolean
}

export function parse(command: Command, argv: string[]): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    })
    return { values, positionals }
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/** A port number option or positional, or a UsageError. */
export function portArg(value: unknown, what: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${what} must be a port number 0-65535, got '${String(value)}'`)
  return n
}

export function countArg(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got '${String(value)}'`)
  return n
}
