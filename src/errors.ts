// Error construction. Native code returns negative errno values; this module
// turns them into errors shaped like Node's own system errors, and builds the
// argument errors (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, ...) that
// validation throws before any system call.
import os from 'node:os'
import util from 'node:util'
import { addon } from './native.js'

/** A system error as Node shapes them: `code`, `errno` (negative, as in Node), `syscall`. */
export interface SystemError extends Error {
  /** The errno name, e.g. 'EADDRINUSE'. */
  code: string
  /** The negative errno, e.g. -98 for EADDRINUSE on Linux. */
  errno: number
  /** The system call that failed, e.g. 'bind'. */
  syscall: string
  /** The address involved, for bind/connect/send errors. */
  address?: string
  /** The port involved, for bind/connect/send errors. */
  port?: number
  /** How to get past the error, when netsock knows (for example EPERM on raw sockets). */
  hint?: string
}

export interface SystemErrorContext {
  address?: string
  port?: number
  hint?: string
  /** Extra text appended to the message, for example the option name. */
  detail?: string
}

/** The errno's name ('EADDRINUSE'), 'OK' for 0, or Node's text for an unknown number. */
export function errnoName(errno: number): string {
  if (errno === 0) return 'OK'
  try {
    const name = util.getSystemErrorName(errno)
    if (!name.startsWith('Unknown')) return name
  } catch {
    // not a number libuv knows
  }
  // libuv names only the errnos it maps (not ENOMSG, EHOSTDOWN, ...); the OS table has the rest.
  return errnoNames.get(-errno) ?? `Unknown system error ${errno}`
}

const errnoNames = new Map(Object.entries(os.constants.errno).map(([name, value]) => [value, name]))

/**
 * Errors an ICMP report leaves pending in SO_ERROR (man 7 udp: with
 * IP_RECVERR, also on unconnected sockets). The next send returns the
 * pending error instead of sending (sock_error), though it belongs to an
 * earlier datagram and is in the error queue already; a send to an explicit
 * destination that meets one is tried once more (reading SO_ERROR cleared it,
 * so a real error of its own comes back on the retry). EMSGSIZE is not
 * among them: a real one adds an error-queue entry per attempt, and a stale
 * one says the path MTU fell, which the next datagram needs to hear too.
 */
const [REFUSED, HOST_UNREACH, NET_UNREACH, HOST_DOWN, PROTO] = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPROTO'].map(
  (n) => -(os.constants.errno as Record<string, number>)[n],
)

/**
 * True when a failed send to an explicit destination should be tried once
 * more (see above). Plain comparisons: it runs between a send and its retry,
 * where a patched built-in (Set.prototype.has) must not get to run user code.
 */
export function stale(rc: number, explicit: boolean): boolean {
  return rc < 0 && explicit && (rc === REFUSED || rc === HOST_UNREACH || rc === NET_UNREACH || rc === HOST_DOWN || rc === PROTO)
}

/** The bytes passed as `name` were detached (transferred) before the system call could use them. */
export function bufferDetached(name: string): TypeError & { code: string } {
  return withCode(new TypeError(`The "${name}" argument is a detached ArrayBuffer (it was transferred)`), 'ERR_BUFFER_DETACHED')
}

/** The view passed as `name` no longer covers its bytes (its resizable ArrayBuffer shrank). */
export function bufferOutOfBounds(name: string): RangeError & { code: string } {
  return withCode(new RangeError(`The "${name}" argument is out of bounds: its resizable ArrayBuffer shrank below the view`), 'ERR_BUFFER_OUT_OF_BOUNDS')
}

/**
 * The error for a native call's negative result: a system error for an
 * errno, or the buffer error when the addon found `name`'s bytes detached or
 * out of bounds at the moment of the call.
 */
export function callError(rc: number, syscall: string, context: SystemErrorContext = {}, name = 'data'): Error {
  if (rc === addon.ERR_DETACHED) return bufferDetached(name)
  if (rc === addon.ERR_OUT_OF_BOUNDS) return bufferOutOfBounds(name)
  return systemError(rc, syscall, context)
}

/**
 * Builds a system error from a negative errno, with a message like Node's:
 * `bind EADDRINUSE 127.0.0.1:5000`.
 */
export function systemError(errno: number, syscall: string, context: SystemErrorContext = {}): SystemError {
  const code = errnoName(errno)
  let message = `${syscall} ${code}`
  if (context.detail) message += ` ${context.detail}`
  if (context.address !== undefined) {
    message += context.port !== undefined ? ` ${formatHostPort(context.address, context.port)}` : ` ${context.address}`
  }
  if (context.hint) message += ` (${context.hint})`
  const err = new Error(message) as SystemError
  err.code = code
  err.errno = errno
  err.syscall = syscall
  if (context.address !== undefined) err.address = context.address
  if (context.port !== undefined) err.port = context.port
  if (context.hint) err.hint = context.hint
  Error.captureStackTrace(err, systemError)
  return err
}

function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}

/** Throws a system error when `rc` is a negative errno; returns `rc` otherwise. */
export function check(rc: number, syscall: string, context?: SystemErrorContext): number {
  if (rc < 0) throw callError(rc, syscall, context)
  return rc
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`
  if (typeof value === 'object') {
    const name = value.constructor?.name
    return name ? `an instance of ${name}` : util.inspect(value, { depth: 0 })
  }
  let shown = util.inspect(value)
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`
  return `type ${typeof value} (${shown})`
}

function withCode<E extends Error>(err: E, code: string): E & { code: string } {
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true })
  return err as E & { code: string }
}

/** `The "port" argument must be of type number. Received type string ('x')` */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & { code: string } {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE')
}

/** `The value of "port" is out of range. It must be >= 0 && <= 65535. Received 70000` */
export function outOfRange(name: string, range: string, actual: unknown): RangeError & { code: string } {
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${util.inspect(actual)}`), 'ERR_OUT_OF_RANGE')
}

/** `The argument 'type' must be one of ... Received 'udp5'` */
export function invalidArgValue(name: string, reason: string, actual: unknown): TypeError & { code: string } {
  return withCode(new TypeError(`The argument '${name}' ${reason}. Received ${util.inspect(actual)}`), 'ERR_INVALID_ARG_VALUE')
}

/** Thrown by any use of a socket after close(). */
export function socketClosed(operation: string): Error & { code: string } {
  return withCode(new Error(`Cannot ${operation}: the socket is closed`), 'ERR_SOCKET_CLOSED')
}

/** Thrown when an operation does not apply to this kind of socket. */
export function wrongSocketType(operation: string, kind: string): TypeError & { code: string } {
  return withCode(new TypeError(`${operation} is not supported on a ${kind} socket`), 'ERR_SOCKET_BAD_TYPE')
}

/** Rejection reason for an operation cut short by an AbortSignal. */
export function abortError(signal: AbortSignal | undefined): Error {
  const err = new Error('The operation was aborted', { cause: signal?.reason })
  err.name = 'AbortError'
  return withCode(err, 'ABORT_ERR')
}
