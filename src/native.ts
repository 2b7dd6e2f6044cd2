// The only module that touches the addon. It loads the build with
// node-gyp-build (build/Release when compiled here, else the prebuild that
// matches), or the file named by NETSOCK_ADDON (used to run the suite against
// the ASan build), throws netsock's own error when neither exists, and
// describes the addon's flat functions. Every function returns a value >= 0 or
// a negative errno unless noted.
import fs from 'node:fs'
import path from 'node:path'

/** The directory holding netsock's package.json (dist/cjs/.. or src/..). */
function packageRoot(): string {
  let dir = __dirname
  for (;;) {
    const pkg = path.join(dir, 'package.json')
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'netsock') return dir
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`netsock: cannot find the package root above ${__dirname}`)
    dir = parent
  }
}

/** node-gyp-build: `resolve` finds the addon file for this process or throws. */
interface NodeGypBuild {
  (dir: string): unknown
  resolve(dir: string): string
}

/** The running glibc's version, or undefined (musl, or no report). node-gyp-build takes musl for Alpine only. */
function glibcVersion(): string | undefined {
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    return report?.header?.glibcVersionRuntime
  } catch {
    return undefined
  }
}

/**
 * What node-gyp-build matches prebuilds against, with the same overrides it
 * honours (npm_config_platform, npm_config_arch, LIBC), and what the process
 * really runs on, for the message of {@link noBuildError}.
 */
function detected(): string {
  const env = process.env
  const platform = env.npm_config_platform || process.platform
  const arch = env.npm_config_arch || process.arch
  const libc = env.LIBC || (platform === 'linux' && fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc')
  const glibc = glibcVersion()
  const real = glibc ? `glibc ${glibc}` : 'not glibc'
  const notes = [
    env.npm_config_platform ? `npm_config_platform=${env.npm_config_platform}` : '',
    env.npm_config_arch ? `npm_config_arch=${env.npm_config_arch}` : '',
    env.LIBC ? `LIBC=${env.LIBC}` : '',
  ].filter(Boolean)
  return (
    `platform=${platform} arch=${arch} libc=${libc} (runtime: ${real}) ` +
    `node=${process.versions.node} abi=${process.versions.modules} napi=${process.versions.napi}` +
    (notes.length ? ` [set by ${notes.join(', ')}]` : '')
  )
}

/** The prebuilds in `root`/prebuilds as "linux-x64 (glibc)", or "none". */
function shipped(root: string): string {
  const dir = path.join(root, 'prebuilds')
  const list: string[] = []
  for (const target of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    const sub = path.join(dir, target)
    if (!fs.statSync(sub).isDirectory()) continue
    for (const file of fs.readdirSync(sub).filter((f) => f.endsWith('.node'))) {
      const libc = file.split('.').find((tag) => tag === 'glibc' || tag === 'musl')
      list.push(libc ? `${target} (${libc})` : target)
    }
  }
  return list.length ? list.join(', ') : 'none'
}

/**
 * netsock's own error when no addon fits this system: what it ships, what it
 * detected and how to build it, instead of node-gyp-build's one-liner (whose
 * facts it repeats). `reason` says which of the two cases it is; `cause` is
 * the loader's error when a prebuild was found but failed to load.
 */
function noBuildError(root: string, reason: string, cause?: unknown): Error {
  const message = [
    `netsock: ${reason}`,
    `  ships prebuilds for: ${shipped(root)}`,
    `  detected: ${detected()}`,
    `  package: ${root}`,
    '  Build it from source here (needs python3, make and a C++ compiler, e.g.',
    '  `apt-get install python3 make g++` or `apk add build-base python3`):',
    '    npm install-scripts approve netsock   # when npm asks to approve install scripts',
    "    npm rebuild netsock                   # runs netsock's install script: compiles the addon",
  ].join('\n')
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code: 'ERR_NETSOCK_NO_BUILD' })
}

/** Bytes netsock reads or writes: any TypedArray, DataView, Buffer, or an ArrayBuffer. */
export type Bytes = ArrayBufferView | ArrayBuffer

/** One uv_poll_t on the calling environment's loop. */
export interface NativePoller {
  /** uv_poll_init_socket: 0 or -errno. */
  open(fd: number): number
  /** uv_poll_start with UV_READABLE | UV_WRITABLE | UV_PRIORITIZED: 0 or -errno. */
  start(events: number): number
  /** uv_close; the poller cannot be used again. */
  close(): void
  ref(): void
  unref(): void
}

/** Int32 fields per received datagram, in the order native/layout.h lists them (NETSOCK_RECV_META). */
export const RECV_FIELDS = ['length', 'addrLen', 'segment', 'ttl', 'tos', 'ifindex', 'tsSecLow', 'tsSecHigh', 'tsNsec', 'dropped', 'dstFamily', 'dst'] as const
/** Int32 fields per error-queue entry (NETSOCK_ERRQUEUE_META in native/layout.h). */
export const ERRQUEUE_FIELDS = [
  'bytes',
  'size',
  'flags',
  'nameLen',
  'hasError',
  'eeErrno',
  'origin',
  'type',
  'code',
  'info',
  'data',
  'offenderLen',
  'ttl',
  'tsSecLow',
  'tsSecHigh',
  'tsNsec',
  'txSecLow',
  'txSecHigh',
  'txNsec',
] as const
/** Int32 fields per datagram sent with control messages (NETSOCK_SEND_META in native/layout.h), and the flag bits. */
export const SEND_FIELDS = ['flags', 'tos', 'ttl', 'ifindex', 'srcFamily', 'src', 'segment', 'ipv4', 'TOS', 'TTL', 'PKTINFO', 'SEGMENT'] as const

/** Field name -> Int32 index, and `stride`: Int32s per entry. */
export type Layout<F extends string> = Readonly<Record<F | 'stride', number>>

/** Sizes native code works with (native/layout.h). */
export interface Limits {
  /** Datagrams one batched call handles (UIO_MAXIOV). */
  maxBatch: number
  /** Bytes per sockaddr slot in address arrays. */
  addrStride: number
  /** Largest UDP payload over IPv4, and so the largest datagram and GSO send. */
  maxUdpPayload: number
  /** Segments one GSO send may carry (UDP_MAX_SEGMENTS). */
  maxGsoSegments: number
  /** sizeof(long): 8 on 64-bit Linux, 4 on 32-bit (struct timeval, group_source_req). */
  longBytes: number
}

export interface Addon {
  noop(): void
  /** Descriptors owned and poll handles alive in this environment. */
  resourceCounts(): { fds: number; polls: number }
  open(domain: number, type: number, protocol: number): number
  adopt(fd: number): number
  release(fd: number): number
  close(fd: number): number
  bind(fd: number, family: number, address: string, port: number): number
  bindPacket(fd: number, ifindex: number, protocol: number): number
  connect(fd: number, family: number, address?: string, port?: number): number
  listen(fd: number, backlog: number): number
  accept(fd: number): number
  shutdown(fd: number, how: number): number
  /** Writes the local sockaddr into `out`: its byte length, or -errno. */
  getsockname(fd: number, out: Uint8Array): number
  /** Writes the peer's sockaddr into `out`: its byte length, or -errno. */
  getpeername(fd: number, out: Uint8Array): number
  ifNameToIndex(name: string): number
  setsockopt(fd: number, level: number, name: number, value: number | Bytes): number
  /** Writes the option into `out`; returns the byte length or -errno. */
  getsockopt(fd: number, level: number, name: number, out: Bytes): number
  /**
   * setsockopt(fd, level, optname, &struct sock_fprog) over a classic BPF
   * program: bytes of struct sock_filter[] (8 bytes each, host order). For
   * SO_ATTACH_REUSEPORT_CBPF, SO_ATTACH_FILTER and the like. 0 or -errno.
   */
  attachFilter(fd: number, level: number, optname: number, program: Bytes): number
  /**
   * recvmsg(MSG_ERRQUEUE) of one queued error: its quoted packet lands in
   * data[offset, offset + length), its fields in `meta` (errqueueLayout) and
   * the addresses it names in `addrs` (msg_name, then the offender, each
   * `limits.addrStride` bytes). 1, or -errno (-EAGAIN: queue empty).
   */
  readErrorQueue(fd: number, data: Bytes, offset: number, length: number, meta: Int32Array, addrs: Uint8Array): number
  /** Writes CLOCK_REALTIME (ns since the epoch, the time base of SO_TIMESTAMPNS) into out[index]; 0 or -errno. */
  clockRealtime(out: BigInt64Array, index: number): number
  /** RFC 1071 checksum of `data` with a partial sum `initial`. */
  checksum(data: Bytes, initial: number): number
  /** Writes a struct sockaddr for (family, address, port) into out; returns its length. */
  encodeSockaddr(family: number, address: string, port: number, out: Uint8Array): number
  /** sendto: bytes sent. addr: an encoded sockaddr, or undefined on a connected socket. */
  send(fd: number, data: Bytes, offset: number, length: number, addr: Uint8Array | undefined): number
  /** sendto of all of `data` to the first `addrLen` bytes of the send slot (src/send-slot.ts), or with 0 to the connected peer: bytes sent. */
  sendTo(fd: number, data: ArrayBufferView, addrLen: number): number
  /** sendmsg of all of `data` with the control messages of the send slot's record, addressed as for sendTo: bytes sent. */
  sendMsg(fd: number, data: Bytes, addrLen: number): number
  /** The send slot (native/io.h SendSlot): a sockaddr at 0, a sendLayout record at sendSlotControl. */
  sendSlot: ArrayBuffer
  /** Byte offset of the send slot's control record. */
  sendSlotControl: number
  /**
   * sendmmsg of datagrams [start, start + count): datagrams sent. Without
   * `spans`, datagram i is all of sources[i]; with it (SPAN_INTS per
   * datagram, src/send-spans.ts), a range of a source. `controls`:
   * sendLayout records parallel to the datagrams.
   */
  sendMany(
    fd: number,
    sources: Bytes[],
    addrs: Uint8Array | (Uint8Array | undefined)[] | undefined,
    start: number,
    count: number,
    controls?: Int32Array,
    spans?: Int32Array,
  ): number
  /** One GSO sendmsg (gso 1) or one sendmmsg of segment-sized pieces (gso 0): bytes sent. */
  sendSegments(fd: number, data: Bytes, offset: number, length: number, segment: number, addr: Uint8Array | undefined, gso: number): number
  /**
   * recvmmsg of up to max datagrams into one memory: datagram i at
   * memory[i * slot], its metadata (recvLayout) at metaOffset and its sender
   * at addrsOffset (limits.addrStride bytes each): datagrams received.
   */
  recvMany(fd: number, memory: Uint8Array, slot: number, max: number, metaOffset: number, addrsOffset: number): number
  /** recvmsg of one datagram into data[offset, offset + length): 1. */
  recvInto(fd: number, data: Bytes, offset: number, length: number, meta: Int32Array, addr: Uint8Array): number
  /** Where each field of a received datagram's metadata sits. */
  recvLayout: Layout<(typeof RECV_FIELDS)[number]>
  /** Where each field of an error-queue entry's metadata sits. */
  errqueueLayout: Layout<(typeof ERRQUEUE_FIELDS)[number]>
  /** Where each field of a send-control record sits, and its flag bits (TOS, TTL, PKTINFO, SEGMENT). */
  sendLayout: Layout<(typeof SEND_FIELDS)[number]>
  limits: Limits
  /** Result for bytes that were detached before the call (never an errno). */
  ERR_DETACHED: number
  /** Result for a range no longer inside its bytes (a resizable buffer shrank). */
  ERR_OUT_OF_BOUNDS: number
  constants: Record<string, number>
  Poller: new (callback: (status: number, events: number) => void) => NativePoller
  UV_READABLE: number
  UV_WRITABLE: number
  /** POLLPRI; a poll started with only this still reports POLLERR (the error queue). */
  UV_PRIORITIZED: number
}

/** Fails loudly when the addon and src/ disagree about a layout (a stale build). */
function checkLayout(name: string, layout: Record<string, number> | undefined, fields: readonly string[]): void {
  const missing = fields.filter((f) => typeof layout?.[f] !== 'number')
  if (missing.length > 0 || typeof layout?.stride !== 'number') {
    throw new Error(`netsock: the native addon's ${name} lacks ${missing.join(', ') || 'stride'}; rebuild it (npm rebuild netsock)`)
  }
}

function load(): Addon {
  const override = process.env.NETSOCK_ADDON
  if (override) return require(path.resolve(override)) as Addon
  const root = packageRoot()
  const nodeGypBuild = require('node-gyp-build') as NodeGypBuild
  let file: string
  try {
    // build/Release when compiled here, else the prebuild that matches.
    file = nodeGypBuild.resolve(root)
  } catch {
    throw noBuildError(root, 'no native addon was built here and no prebuild matches this system.')
  }
  try {
    return require(file) as Addon
  } catch (err) {
    // A prebuild that matched by name but cannot load (e.g. a glibc prebuild
    // on a musl system other than Alpine): the same advice applies.
    if (!file.startsWith(path.join(root, 'prebuilds') + path.sep)) throw err
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw noBuildError(root, `the prebuild ${path.relative(root, file)} does not load here: ${detail}`, err)
  }
}

/**
 * The addon's exports as the prototype of the object src/ calls through. The
 * exports object itself is in dictionary mode (many properties added one by
 * one), so `addon.send(...)` would be a hash lookup and a call to an unknown
 * target; read through a prototype, V8 knows each function at the call site
 * and calls it directly. That is measurable on the per-datagram paths.
 */
function callable(exports: Addon): Addon {
  return Object.create(Object.assign({}, exports)) as Addon
}

export const addon: Addon = callable(load())
checkLayout('recvLayout', addon.recvLayout, RECV_FIELDS)
checkLayout('errqueueLayout', addon.errqueueLayout, ERRQUEUE_FIELDS)
checkLayout('sendLayout', addon.sendLayout, SEND_FIELDS)
