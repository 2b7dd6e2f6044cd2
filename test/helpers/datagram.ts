// Helpers for the datagram data-path suites: loopback sockets, bounded waits,
// and a rate-limited private loopback where UDP sends really hit EAGAIN.
import fs from 'node:fs'
import { createSocket, type CreateSocketOptions, type Socket } from '../../src/index.js'
import { hasCapability } from './privilege.js'
import { createNetns, deleteNetns, nsExec, spawnNodeInNetns } from './netns.js'
import { track } from './sockets.js'

export const LOOPBACK = { udp4: '127.0.0.1', udp6: '::1' } as const
export type UdpKind = keyof typeof LOOPBACK

/** A tracked UDP socket bound to loopback on a free port. */
export function bound(type: UdpKind = 'udp4', options: Omit<CreateSocketOptions, 'type'> = {}): Socket {
  return track(createSocket({ type, ...options })).bind(0, LOOPBACK[type])
}

/** A tracked, unbound UDP socket (for sending). */
export function sender(type: UdpKind = 'udp4', options: Omit<CreateSocketOptions, 'type'> = {}): Socket {
  return track(createSocket({ type, ...options }))
}

/**
 * A big receive buffer, so a burst on loopback is never dropped: SO_RCVBUFFORCE
 * when privileged (beyond net.core.rmem_max), else SO_RCVBUF up to the cap.
 */
export function bigReceiveBuffer(s: Socket, bytes = 32 << 20): Socket {
  if (hasCapability('CAP_NET_ADMIN')) s.setOption('SO_RCVBUFFORCE', bytes)
  else s.setOption('SO_RCVBUF', bytes)
  return s
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits (polling every 2 ms) until `cond()` holds; fails after `ms` naming what it waited for. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(2)
  }
}

/** Rejects after `ms` unless `p` settles first. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    }),
  ])
}

/** Collects copies of every datagram a socket delivers through 'message'. */
export function collect(s: Socket): { data: Buffer; rinfo: any }[] {
  const got: { data: Buffer; rinfo: any }[] = []
  s.on('message', (data, rinfo) => got.push({ data, rinfo }))
  return got
}

/** A datagram of `size` bytes whose first four bytes are `seq` (little endian). */
export function numbered(seq: number, size = 64): Buffer {
  const b = Buffer.alloc(size, seq & 0xff)
  b.writeUInt32LE(seq, 0)
  return b
}

/** Reads every datagram waiting in the kernel queue with recvInto (bounded). */
export function drainWithRecvInto(s: Socket, max = 10_000, size = 65536): Buffer[] {
  const buf = Buffer.alloc(size)
  const out: Buffer[] = []
  for (let i = 0; i < max; i++) {
    const r = s.recvInto(buf)
    if (r === null) break
    out.push(Buffer.from(buf.subarray(0, r.bytes)))
  }
  return out
}

const CAP_SYS_ADMIN = 21
function hasSysAdmin(): boolean {
  const line = fs
    .readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapEff:'))
  return line ? (BigInt(`0x${line.split(/\s+/)[1]}`) & (1n << BigInt(CAP_SYS_ADMIN))) !== 0n : false
}

/** True when this process can make a namespace and put a qdisc on its loopback. */
export const canShapeLoopback = hasCapability('CAP_NET_ADMIN') && hasSysAdmin()

/**
 * Runs `script` (netsock available as `netsock`) in a fresh network namespace
 * whose own loopback is rate limited by a tbf qdisc, and resolves with the one
 * JSON value the script prints.
 *
 * Why: on the normal loopback a UDP send never returns EAGAIN. loopback_xmit()
 * orphans each skb as it sends it, so the send buffer is released within the
 * same system call and the receiver's full buffer only causes drops (man 7
 * udp: "UDP does not implement flow control"). A qdisc that holds packets keeps
 * them charged to the sender's SO_SNDBUF, so sends fill it and hit EAGAIN, the
 * way a slow NIC does. Traffic stays on 127.0.0.1 of the private namespace.
 */
export async function onShapedLoopback(script: string, { rate = '8mbit', timeoutMs = 15_000 } = {}): Promise<any> {
  const ns = createNetns('shaped')
  try {
    // burst (16 KiB) lets a few datagrams straight through before the queue builds.
    nsExec(ns, ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', rate, 'burst', '16kb', 'limit', '4mb'])
    const child = spawnNodeInNetns(
      ns,
      `
      const print = (v) => { process.stdout.write(JSON.stringify(v) + '\\n'); process.exit(0) }
      setTimeout(() => print({ timedOut: true }), ${timeoutMs - 3000}).unref()
      ;(async () => {\n${script}\n})().catch((e) => print({ thrown: String(e && e.stack || e) }))`,
    )
    try {
      return await within(child.next(), timeoutMs, 'the child on the shaped loopback')
    } finally {
      child.stop()
    }
  } finally {
    deleteNetns(ns)
  }
}
