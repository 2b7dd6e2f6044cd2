// Runtime probes of what this kernel and this process allow. Each probe opens
// a socket and tries the real thing; nothing is inferred from version numbers.
import fs from 'node:fs'
import os from 'node:os'
import { constants } from './constants.js'
import { addon } from './native.js'

/** What this host allows, as measured by `capabilities()`. */
export interface Capabilities {
  /** Kernel release (uname -r). */
  kernel: string
  /** UDP generic segmentation offload (UDP_SEGMENT) is accepted. */
  gso: boolean
  /** UDP generic receive offload (UDP_GRO) is accepted. */
  gro: boolean
  /** SO_REUSEPORT is accepted. */
  reusePort: boolean
  /** Raw IPv4 sockets can be opened (CAP_NET_RAW). */
  rawSockets: boolean
  /** AF_PACKET sockets can be opened (CAP_NET_RAW). */
  packetSockets: boolean
  /** Unprivileged ICMP datagram ("ping") sockets can be opened by this process. */
  pingSockets: boolean
  /** net.ipv4.ping_group_range as [low, high], or null when unreadable. */
  pingGroupRange: [number, number] | null
  /** net.core.rmem_max / wmem_max: the cap on SO_RCVBUF / SO_SNDBUF without CAP_NET_ADMIN. */
  recvBufferMax: number | null
  /** net.core.wmem_max: the cap on SO_SNDBUF without CAP_NET_ADMIN (null when unreadable). */
  sendBufferMax: number | null
  /** Congestion control algorithms that TCP_CONGESTION accepts here. */
  tcpCongestion: string[]
}

function readSysctl(name: string): string | null {
  try {
    return fs.readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim()
  } catch {
    return null
  }
}

function numberSysctl(name: string): number | null {
  const v = readSysctl(name)
  return v === null ? null : Number(v)
}

/** Opens a socket, runs `probe` on it, closes it; false if either fails. */
function tryOpen(domain: number | undefined, type: number | undefined, protocol: number, probe?: (fd: number) => boolean): boolean {
  if (domain === undefined || type === undefined) return false
  const fd = addon.open(domain, type, protocol)
  if (fd < 0) return false
  try {
    return probe ? probe(fd) : true
  } finally {
    addon.close(fd)
  }
}

function trySetInt(level: number | undefined, name: number | undefined, value: number): (fd: number) => boolean {
  return (fd) => level !== undefined && name !== undefined && addon.setsockopt(fd, level, name, value) === 0
}

let cached: Capabilities | undefined

/**
 * Probes what this host allows: GSO/GRO, raw/packet/ping sockets, reuseport,
 * buffer limits, congestion control algorithms. Measured once per process
 * (privileges and kernels do not change under a running process).
 *
 * @example
 * if (capabilities().gso) s.sendSegments(big, 1200, port)
 */
export function capabilities(): Readonly<Capabilities> {
  if (cached) return cached
  const c = constants
  const range = readSysctl('net.ipv4.ping_group_range')?.split(/\s+/).map(Number)
  const probed: Capabilities = {
    kernel: os.release(),
    gso: tryOpen(c.AF_INET, c.SOCK_DGRAM, 0, trySetInt(c.IPPROTO_UDP, c.UDP_SEGMENT, 1200)),
    gro: tryOpen(c.AF_INET, c.SOCK_DGRAM, 0, trySetInt(c.IPPROTO_UDP, c.UDP_GRO, 1)),
    reusePort: tryOpen(c.AF_INET, c.SOCK_DGRAM, 0, trySetInt(c.SOL_SOCKET, c.SO_REUSEPORT, 1)),
    rawSockets: tryOpen(c.AF_INET, c.SOCK_RAW, c.IPPROTO_ICMP),
    packetSockets: tryOpen(c.AF_PACKET, c.SOCK_RAW, 0),
    pingSockets: tryOpen(c.AF_INET, c.SOCK_DGRAM, c.IPPROTO_ICMP),
    pingGroupRange: range && range.length === 2 ? [range[0], range[1]] : null,
    recvBufferMax: numberSysctl('net.core.rmem_max'),
    sendBufferMax: numberSysctl('net.core.wmem_max'),
    tcpCongestion: (readSysctl('net.ipv4.tcp_available_congestion_control') ?? '').split(/\s+/).filter(Boolean),
  }
  cached = Object.freeze(probed)
  return cached
}
