// What to do about a refusal: the hints attached to EPERM/EACCES errors,
// naming the capability or sysctl that decides (man 7 capabilities).
import fs from 'node:fs'
import { constants } from './constants.js'
import type { KindInfo } from './socket-kind.js'

function sysctl(name: string): string | null {
  try {
    return fs
      .readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8')
      .trim()
      .replace(/\s+/g, ' ')
  } catch {
    return null
  }
}

/** The hint for EPERM/EACCES from socket(2), or undefined. */
export function socketPrivilegeHint(info: KindInfo): string | undefined {
  const icmp = info.protocol === constants.IPPROTO_ICMP || info.protocol === constants.IPPROTO_ICMPV6
  if (info.type === constants.SOCK_DGRAM && icmp) {
    const gid = process.getgid?.() ?? 'unknown'
    return `ICMP datagram (ping) sockets need the process's group id (${gid}) inside the sysctl net.ipv4.ping_group_range (now ${sysctl('net.ipv4.ping_group_range') ?? 'unreadable'}); with CAP_NET_RAW, use a raw socket instead`
  }
  if (info.type === constants.SOCK_RAW || info.domain === constants.AF_PACKET) {
    return 'raw and packet sockets need CAP_NET_RAW: run as root or grant it, e.g. setcap cap_net_raw+ep $(command -v node)'
  }
  return undefined
}

/** The hint for EACCES from bind(2) to `port`: privileged ports (man 7 ip). */
export function bindPrivilegeHint(port: number): string | undefined {
  const start = Number(sysctl('net.ipv4.ip_unprivileged_port_start') ?? 1024)
  return port > 0 && port < start ? `ports below ${start} (net.ipv4.ip_unprivileged_port_start) need CAP_NET_BIND_SERVICE` : undefined
}
