// fdOf: the file descriptor behind a socket Node created.
import dgram from 'node:dgram'
import net from 'node:net'
import { invalidArgType } from './errors.js'
import { Socket } from './socket.js'
import { validateInteger } from './validate.js'

/**
 * Anything that stands for a socket: a file descriptor, a netsock Socket,
 * or a socket Node created (net.Socket, net.Server, dgram.Socket).
 */
export type SocketTarget = number | Socket | net.Socket | net.Server | dgram.Socket

interface HandleLike {
  fd?: number
}

function fdOfHandle(handle: HandleLike | null | undefined, what: string): number {
  const fd = handle?.fd
  if (typeof fd !== 'number' || fd < 0) {
    throw Object.assign(new Error(`${what} has no file descriptor (not open or not yet bound)`), { code: 'ERR_SOCKET_NO_FD' })
  }
  return fd
}

/** dgram keeps its handle behind a symbol-keyed state object; read it without the deprecated `_handle` getter. */
function dgramHandle(sock: dgram.Socket): HandleLike | undefined {
  for (const sym of Object.getOwnPropertySymbols(sock)) {
    const state = (sock as unknown as Record<symbol, { handle?: HandleLike } | undefined>)[sym]
    if (state && typeof state === 'object' && 'handle' in state) return state.handle
  }
  return undefined
}

/**
 * The file descriptor behind a `net.Socket`, `net.Server` or `dgram.Socket`
 * (or a netsock Socket). Node has no public API for this: it reads the `fd`
 * of the libuv handle wrap (`_handle` on net sockets and servers; the
 * symbol-keyed state of dgram sockets, avoiding dgram's deprecated
 * `_handle` getter, DEP0112). Throws ERR_SOCKET_NO_FD when the socket is
 * not open yet.
 *
 * @example
 * const server = net.createServer().listen(0, () => {
 *   setKeepAlive(fdOf(server), { enable: true })
 * })
 */
export function fdOf(target: net.Socket | net.Server | dgram.Socket | Socket): number {
  if (target instanceof Socket) return fdOfHandle({ fd: target.fd }, 'netsock socket')
  if (target instanceof net.Socket || target instanceof net.Server) {
    return fdOfHandle((target as unknown as { _handle?: HandleLike })._handle, target.constructor.name)
  }
  if (target instanceof dgram.Socket) return fdOfHandle(dgramHandle(target), 'dgram.Socket')
  throw invalidArgType('target', 'a net.Socket, net.Server, dgram.Socket or netsock Socket', target)
}

/** The descriptor a SocketTarget stands for: a number as it is (checked), anything else through fdOf. */
export function resolveFd(target: unknown, name = 'target'): number {
  if (typeof target === 'number') return validateInteger(target, name, 0, 2 ** 31 - 1)
  if (target instanceof Socket || target instanceof net.Socket || target instanceof net.Server || target instanceof dgram.Socket) return fdOf(target)
  throw invalidArgType(name, 'a file descriptor, a netsock Socket, or a net.Socket, net.Server or dgram.Socket', target)
}
