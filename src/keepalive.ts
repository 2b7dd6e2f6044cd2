// TCP keepalive and user-timeout tuning for any TCP socket: a file
// descriptor, a net.Socket, or a netsock Socket. Milliseconds in the API;
// see `setKeepAlive` for how they map onto the kernel's units (man 7 tcp).
import { resolveFd, type SocketTarget } from './fdof.js'
import { getOption, lookupOption, setOption } from './options.js'
import { validateBoolean, validateInteger, validateObject } from './validate.js'

/** What setKeepAlive/getKeepAlive/tcpInfo accept: a TCP socket as a descriptor, a net.Socket or a netsock Socket. */
export type TcpTarget = SocketTarget

/** Options of `setKeepAlive()`; every field is optional, and what is left out stays as it is. */
export interface KeepAliveOptions {
  /** SO_KEEPALIVE. Defaults to true when idleMs, intervalMs or count is given; otherwise left as it is. */
  enable?: boolean
  /** Idle time before the first probe (TCP_KEEPIDLE), 1..32767000 ms; kernel seconds, rounded up. */
  idleMs?: number
  /** Time between unanswered probes (TCP_KEEPINTVL), 1..32767000 ms; kernel seconds, rounded up. */
  intervalMs?: number
  /** Unanswered probes before the connection fails with ETIMEDOUT (TCP_KEEPCNT), 1..127. */
  count?: number
  /**
   * How long sent data may stay unacknowledged (and, with keepalive on, how
   * long probes may go unanswered) before the connection fails with ETIMEDOUT
   * (TCP_USER_TIMEOUT), 0..2147483647 ms, kept in ms by the kernel; 0 restores
   * the system default (retransmission count based, man 7 tcp).
   */
  userTimeoutMs?: number
}

/** What getKeepAlive reads back; times in ms as the kernel keeps them (whole seconds for the keepalive timers). */
export interface KeepAliveSettings {
  /** SO_KEEPALIVE is on. */
  enable: boolean
  /** TCP_KEEPIDLE, in ms (a multiple of 1000). */
  idleMs: number
  /** TCP_KEEPINTVL, in ms (a multiple of 1000). */
  intervalMs: number
  /** TCP_KEEPCNT: unanswered probes before the connection fails. */
  count: number
  /** TCP_USER_TIMEOUT in ms; 0 means the system default. */
  userTimeoutMs: number
}

// The kernel's limits, from the option table (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL,
// MAX_TCP_KEEPCNT in include/net/tcp.h).
const MAX_IDLE_SECONDS = lookupOption('TCP_KEEPIDLE').max!
const MAX_INTERVAL_SECONDS = lookupOption('TCP_KEEPINTVL').max!
const MAX_KEEPCNT = lookupOption('TCP_KEEPCNT').max!
const MAX_USER_TIMEOUT = lookupOption('TCP_USER_TIMEOUT').max!

/**
 * Milliseconds to the whole seconds TCP_KEEPIDLE/TCP_KEEPINTVL take: rounded
 * up, so a timer never fires earlier than asked, and never 0 (which the
 * kernel rejects): 1 ms -> 1 s, 1000 -> 1 s, 1500 -> 2 s. Exported for the
 * tests; `setKeepAlive` documents the rounding for users.
 *
 * @example keepAliveSeconds(1500) // 2
 * @internal
 */
export function keepAliveSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

/** The file descriptor behind a TcpTarget; TypeError for anything else. */
export function tcpFd(target: TcpTarget, name = 'target'): number {
  return resolveFd(target, name)
}

/**
 * Tunes TCP keepalive and the user timeout on a TCP socket. Every value is
 * validated before any option is set. Options left out stay as they are.
 *
 * Units: the API takes milliseconds. TCP_KEEPIDLE and TCP_KEEPINTVL are
 * whole seconds in the kernel, so `idleMs`/`intervalMs` are rounded UP to
 * the next second and never to 0 (1 ms -> 1 s, 1500 ms -> 2 s);
 * `getKeepAlive` reads back what the kernel keeps. TCP_USER_TIMEOUT is kept
 * in milliseconds as given. A dead peer is detected after about
 * idle + count x interval (man 7 tcp); with TCP_USER_TIMEOUT set as well,
 * the user timeout decides instead (man 7 tcp, TCP_USER_TIMEOUT).
 *
 * @example
 * const sock = net.connect(443, host)
 * sock.on('connect', () => setKeepAlive(sock, { idleMs: 10_000, intervalMs: 2_000, count: 3, userTimeoutMs: 16_000 }))
 */
export function setKeepAlive(target: TcpTarget, options: KeepAliveOptions): void {
  validateObject(options, 'options')
  // Every user value is read and checked before the descriptor is looked up.
  const { enable, idleMs, intervalMs, count, userTimeoutMs } = options
  const on =
    enable === undefined
      ? idleMs !== undefined || intervalMs !== undefined || count !== undefined
        ? true
        : undefined
      : validateBoolean(enable, 'options.enable')
  if (idleMs !== undefined) validateInteger(idleMs, 'options.idleMs', 1, MAX_IDLE_SECONDS * 1000)
  if (intervalMs !== undefined) validateInteger(intervalMs, 'options.intervalMs', 1, MAX_INTERVAL_SECONDS * 1000)
  if (count !== undefined) validateInteger(count, 'options.count', 1, MAX_KEEPCNT)
  if (userTimeoutMs !== undefined) validateInteger(userTimeoutMs, 'options.userTimeoutMs', 0, MAX_USER_TIMEOUT)
  const fd = tcpFd(target)
  // The timers first, so a socket never runs keepalive with the old values.
  if (idleMs !== undefined) setOption(fd, 'TCP_KEEPIDLE', keepAliveSeconds(idleMs))
  if (intervalMs !== undefined) setOption(fd, 'TCP_KEEPINTVL', keepAliveSeconds(intervalMs))
  if (count !== undefined) setOption(fd, 'TCP_KEEPCNT', count)
  if (userTimeoutMs !== undefined) setOption(fd, 'TCP_USER_TIMEOUT', userTimeoutMs)
  if (on !== undefined) setOption(fd, 'SO_KEEPALIVE', on)
}

/**
 * Reads back the keepalive settings of a TCP socket, in milliseconds (the
 * keepalive timers are whole seconds in the kernel, so idleMs/intervalMs are
 * multiples of 1000).
 *
 * @example getKeepAlive(sock) // { enable: true, idleMs: 10000, intervalMs: 2000, count: 3, userTimeoutMs: 16000 }
 */
export function getKeepAlive(target: TcpTarget): KeepAliveSettings {
  const fd = tcpFd(target)
  return {
    enable: getOption(fd, 'SO_KEEPALIVE') as boolean,
    idleMs: (getOption(fd, 'TCP_KEEPIDLE') as number) * 1000,
    intervalMs: (getOption(fd, 'TCP_KEEPINTVL') as number) * 1000,
    count: getOption(fd, 'TCP_KEEPCNT') as number,
    userTimeoutMs: getOption(fd, 'TCP_USER_TIMEOUT') as number,
  }
}
