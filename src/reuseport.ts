// Reuseport scale-out: N sockets with SO_REUSEPORT on one address and port,
// an optional classic BPF program that steers each packet or connection to
// one of them (SO_ATTACH_REUSEPORT_CBPF, man 7 socket), and a way to hand
// each socket to its own worker thread or child process, which serves it
// with net, dgram or netsock.
//
// The sockets are bound (and, for TCP, listening) before any worker starts,
// so nothing is lost while workers boot: connections wait in each listener's
// accept queue, datagrams in each socket's receive buffer.
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Worker, workerData } from 'node:worker_threads'
import { attachProgram, encodeBpf, type BpfProgram } from './bpf.js'
import { resolveFd, type SocketTarget } from './fdof.js'
import { constants } from './constants.js'
import { createSocket } from './create.js'
import { check, invalidArgType, invalidArgValue } from './errors.js'
import { addon } from './native.js'
import type { Socket } from './socket.js'
import { validateAddress, validateInteger, validateObject, validatePort } from './validate.js'

/** The socket kinds a reuseport group can hold. */
export type ReusePortType = 'tcp4' | 'tcp6' | 'udp4' | 'udp6'

/**
 * How the kernel picks a socket of the group for each datagram / new connection:
 * - 'hash' (default): the kernel's hash of the 4-tuple, so one flow always
 *   lands on one socket (and a single sender's flow on a single worker);
 * - 'cpu': the CPU that processes the packet, modulo the group size
 *   (pairs well with RSS/RPS spreading flows over CPUs);
 * - 'random': a random socket per packet (spreads even a single flow; UDP
 *   only makes sense here, as order within a flow is lost);
 * - bytes: your own classic BPF program as struct sock_filter[] (8 bytes
 *   per instruction, host order; netsock's `encodeBpf` makes them). It
 *   returns the socket index; an index past the group falls back to the hash. For UDP it sees the payload at offset 0, for TCP
 *   the SYN's payload (none).
 */
export type ReusePortSteering = 'hash' | 'cpu' | 'random' | Uint8Array

/** Options of `openReusePort()`. */
export interface ReusePortOptions {
  /** The kind of every socket in the group. */
  type: ReusePortType
  /** How many sockets (1..1024). */
  count: number
  /** Port for all of them; 0 (default) lets the kernel pick one for the first, the rest join it. */
  port?: number
  /** Local address (default: all addresses of the family). */
  address?: string
  /** How the kernel picks a socket per datagram / connection (default 'hash'; see `ReusePortSteering`). */
  steering?: ReusePortSteering
  /** listen() backlog for TCP (default 511). */
  backlog?: number
  /** SO_RCVBUF per socket, bytes (the kernel doubles it). */
  recvBufferSize?: number
}

/**
 * A steering program that returns (an ancillary value) mod `count`: the
 * packet's CPU ('cpu', SKF_AD_CPU) or a random number ('random', SKF_AD_RANDOM).
 *
 * @example
 * attachReusePortProgram(group.sockets[0], steeringProgram('cpu', group.sockets.length))
 */
export function steeringProgram(kind: 'cpu' | 'random', count: number): Uint8Array {
  validateInteger(count, 'count', 1, 1024)
  const ancillary = kind === 'cpu' ? constants.SKF_AD_CPU : kind === 'random' ? constants.SKF_AD_RANDOM : undefined
  if (ancillary === undefined) throw invalidArgValue('kind', "must be 'cpu' or 'random' (and known to this system's headers)", kind)
  const c = constants
  return encodeBpf([
    // k is a u32: SKF_AD_OFF is negative, so the offset wraps as the kernel reads it.
    { code: c.BPF_LD | c.BPF_W | c.BPF_ABS, jt: 0, jf: 0, k: (c.SKF_AD_OFF + ancillary) >>> 0 },
    { code: c.BPF_ALU | c.BPF_MOD | c.BPF_K, jt: 0, jf: 0, k: count },
    { code: c.BPF_RET | c.BPF_A, jt: 0, jf: 0, k: 0 },
  ])
}

/**
 * Attaches a classic BPF steering program to the reuseport group of `socket`
 * (SO_ATTACH_REUSEPORT_CBPF; the socket must be bound with SO_REUSEPORT).
 * The program replaces any earlier one and applies to the whole group.
 *
 * @example
 * attachReusePortProgram(group.sockets[0], steeringProgram('random', group.sockets.length))
 */
export function attachReusePortProgram(socket: SocketTarget, program: BpfProgram): void {
  if (constants.SO_ATTACH_REUSEPORT_CBPF === undefined) throw invalidArgValue('option', 'is not known to this system', 'SO_ATTACH_REUSEPORT_CBPF')
  if (program instanceof Uint8Array && (program.byteLength === 0 || program.byteLength % 8 !== 0)) {
    throw invalidArgType('program', 'a Uint8Array of struct sock_filter (8 bytes each, see encodeBpf)', program)
  }
  // The program is encoded (and checked) before the descriptor is looked up.
  const bytes = encodeBpf(program)
  attachProgram(
    resolveFd(socket, 'socket'),
    constants.SOL_SOCKET,
    constants.SO_ATTACH_REUSEPORT_CBPF,
    'SO_ATTACH_REUSEPORT_CBPF',
    bytes,
    'attachReusePortProgram',
  )
}

/** N sockets sharing one port through SO_REUSEPORT. */
export interface ReusePortGroup {
  /** The kind of every socket in the group. */
  readonly type: ReusePortType
  /** The port they share (the kernel's pick when 0 was asked for). */
  readonly port: number
  /** The local address they are bound to. */
  readonly address: string
  /** The sockets, in the group's index order (what a steering program returns). */
  readonly sockets: Socket[]
  /**
   * Closes every socket still held.
   * @example process.on('SIGTERM', () => group.close())
   */
  close(): void
}

const TYPES = new Set<ReusePortType>(['tcp4', 'tcp6', 'udp4', 'udp6'])

/**
 * Opens `count` sockets with SO_REUSEPORT on one port, binds them (and
 * listens, for TCP) in order, so socket i has index i in the kernel's group,
 * then attaches the steering program if one is asked for.
 *
 * @example
 * const group = openReusePort({ type: 'udp4', count: 4, port: 9000, steering: 'cpu' })
 * group.sockets.forEach((s, i) => s.on('message', (msg) => console.log(i, msg.length)))
 */
export function openReusePort(options: ReusePortOptions): ReusePortGroup {
  validateObject(options, 'options')
  const type = options.type
  if (!TYPES.has(type)) throw invalidArgValue('options.type', "must be 'tcp4', 'tcp6', 'udp4' or 'udp6'", type)
  const count = validateInteger(options.count, 'options.count', 1, 1024)
  let port = validatePort(options.port ?? 0, 'options.port')
  const v6 = type.endsWith('6')
  const address = options.address === undefined ? (v6 ? '::' : '0.0.0.0') : validateAddress(options.address, 'options.address', v6 ? 6 : 4)
  const backlog = validateInteger(options.backlog ?? 511, 'options.backlog', 0, 2 ** 31 - 1)
  const steering = options.steering ?? 'hash'
  let program: Uint8Array | null = null
  if (steering === 'cpu' || steering === 'random') program = steeringProgram(steering, count)
  else if (steering instanceof Uint8Array) program = steering
  else if (steering !== 'hash') throw invalidArgValue('options.steering', "must be 'hash', 'cpu', 'random' or a BPF program (Uint8Array)", steering)
  const sockets: Socket[] = []
  try {
    for (let i = 0; i < count; i++) {
      const s = createSocket({ type, reusePort: true, recvBufferSize: options.recvBufferSize })
      sockets.push(s)
      s.bind(port, address)
      if (port === 0) port = s.address().port
      // A TCP listener joins the group at listen(), a UDP socket at bind().
      if (type.startsWith('tcp')) s.listen(backlog)
    }
    if (program) attachReusePortProgram(sockets[0], program)
  } catch (err) {
    for (const s of sockets) s.close()
    throw err
  }
  return {
    type,
    port,
    address,
    sockets,
    close() {
      for (const s of sockets) s.close()
    },
  }
}

/** What a worker learns about the socket it serves (see `reusePortWorker`). */
export interface ReusePortWorkerInfo {
  /** The socket's file descriptor in this thread/process. */
  fd: number
  /** Its index in the group (what a steering program returns). */
  index: number
  /** How many sockets the group has. */
  count: number
  /** The kind of the sockets. */
  type: ReusePortType
  /** The port the group shares. */
  port: number
  /** The local address the group is bound to. */
  address: string
  /** The `workerData` given to serveReusePort. */
  data: unknown
}

/** Options of `serveReusePort()`: the group's options plus how to run its workers. */
export interface ServeReusePortOptions extends ReusePortOptions {
  /**
   * The module each worker runs (a path or file: URL). It calls
   * `reusePortWorker()` for its fd and serves it, e.g.
   * `net.createServer(h).listen({ fd })`, `dgram.createSocket('udp4').bind({ fd })`
   * or `createSocket({ fd })`.
   */
  worker: string | URL
  /** 'thread' (worker_threads, default) or 'process' (child_process.fork, the fd passed as fd 3). */
  mode?: 'thread' | 'process'
  /** Passed to every worker as `reusePortWorker().data` (structured-cloned / JSON for processes). */
  workerData?: unknown
}

/** The result of `serveReusePort()`: the group's address and its running workers. */
export interface ReusePortServer {
  /** The kind of every socket in the group. */
  readonly type: ReusePortType
  /** The port the group shares. */
  readonly port: number
  /** The local address the group is bound to. */
  readonly address: string
  /** One per socket, in index order: Worker objects ('thread') or ChildProcess objects ('process'). */
  readonly workers: (Worker | ChildProcess)[]
  /**
   * Stops every worker (terminate / SIGTERM) and waits until they are gone.
   * @example await server.close()
   */
  close(): Promise<void>
}

const ENV_KEY = 'NETSOCK_REUSEPORT_WORKER'
const DATA_KEY = '__netsockReusePort'
const TAKEN_KEY = '__netsockReusePortTaken'

/**
 * Opens a reuseport group (see `openReusePort`) and hands each socket to
 * its own worker: a worker_thread (the fd is shared within the process) or
 * a child process (the fd is passed as its fd 3; the parent's copy is
 * closed). The sockets are bound and listening before the workers start.
 *
 * @example
 * const server = await serveReusePort({ type: 'tcp4', count: 2, port: 8080, worker: new URL('./worker.mjs', import.meta.url) })
 * // worker.mjs: const { fd } = reusePortWorker(); net.createServer(onConn).listen({ fd })
 */
export async function serveReusePort(options: ServeReusePortOptions): Promise<ReusePortServer> {
  validateObject(options, 'options')
  const mode = options.mode ?? 'thread'
  if (mode !== 'thread' && mode !== 'process') throw invalidArgValue('options.mode', "must be 'thread' or 'process'", mode)
  const file = options.worker instanceof URL ? fileURLToPath(options.worker) : options.worker
  if (typeof file !== 'string') throw invalidArgType('options.worker', 'a path or a file: URL', options.worker)
  const group = openReusePort(options)
  const workers: (Worker | ChildProcess)[] = []
  const info = (fd: number, index: number): ReusePortWorkerInfo => ({
    fd,
    index,
    count: group.sockets.length,
    type: group.type,
    port: group.port,
    address: group.address,
    data: options.workerData,
  })
  // Thread mode: this thread owns each descriptor until its worker takes it
  // by calling reusePortWorker() (a flag it sets in shared memory); one that
  // exits or is stopped before that has its descriptor closed here, so no
  // socket lingers in the group with nobody serving it.
  const taken = new Int32Array(new SharedArrayBuffer(4 * group.sockets.length))
  try {
    group.sockets.forEach((s, index) => {
      const fd = s.detach()
      try {
        if (mode === 'thread') {
          const worker = new Worker(file, { workerData: { [DATA_KEY]: info(fd, index), [TAKEN_KEY]: { taken, index } } })
          worker.once('exit', () => {
            if (Atomics.compareExchange(taken, index, 0, 2) === 0) addon.close(fd)
          })
          workers.push(worker)
        } else {
          const child = fork(file, [], {
            stdio: ['inherit', 'inherit', 'inherit', fd, 'ipc'],
            env: { ...process.env, [ENV_KEY]: JSON.stringify(info(3, index)) },
          })
          // The child has its own copy now.
          check(addon.close(fd), 'close')
          workers.push(child)
        }
      } catch (err) {
        // No worker took it (workerData that cannot be cloned, a fork that failed): close it
        // here, or it would stay in the SO_REUSEPORT group with nobody serving it.
        addon.close(fd)
        throw err
      }
    })
  } catch (err) {
    group.close()
    await stopAll(workers)
    throw err
  }
  return {
    type: group.type,
    port: group.port,
    address: group.address,
    workers,
    close: () => stopAll(workers),
  }
}

async function stopAll(workers: (Worker | ChildProcess)[]): Promise<void> {
  await Promise.all(
    workers.map((w) => {
      if (w instanceof Worker) return w.terminate().then(() => undefined)
      if (w.exitCode !== null || w.signalCode !== null) return Promise.resolve()
      return new Promise<void>((resolve) => {
        w.once('exit', () => resolve())
        w.kill('SIGTERM')
      })
    }),
  )
}

/**
 * Inside a worker started by `serveReusePort`: the socket to serve and the
 * group it belongs to. Throws when this thread/process was not started that way.
 * Calling it takes the descriptor over: adopt it (net, dgram or
 * `createSocket({ fd })`) so it is closed when the worker ends. A worker that
 * ends without calling it has its descriptor closed by the parent.
 *
 * @example
 * // worker.mjs, started by serveReusePort({ type: 'udp4', ..., worker: 'worker.mjs' })
 * const { fd, index } = reusePortWorker()
 * dgram.createSocket('udp4').bind({ fd }).on('message', (msg) => console.log(index, msg.length))
 */
export function reusePortWorker(): ReusePortWorkerInfo {
  const data = workerData as Record<string, unknown> | null
  const fromThread = data?.[DATA_KEY]
  if (fromThread) {
    // From here on the worker owns the descriptor (Node closes what net, dgram
    // or netsock adopted when the thread ends); the parent no longer closes it.
    const { taken, index } = data[TAKEN_KEY] as { taken: Int32Array; index: number }
    Atomics.compareExchange(taken, index, 0, 1)
    return fromThread as ReusePortWorkerInfo
  }
  const fromEnv = process.env[ENV_KEY]
  if (fromEnv) return JSON.parse(fromEnv) as ReusePortWorkerInfo
  throw Object.assign(new Error('reusePortWorker(): this thread or process was not started by serveReusePort'), { code: 'ERR_NOT_REUSEPORT_WORKER' })
}
