// `netsock info`: what this host allows.
import fs from 'node:fs'
import { capabilities } from '../capabilities.js'
import { EXIT_OK, type Command } from './args.js'

function sysctl(name: string): string | null {
  try {
    return fs.readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim()
  } catch {
    return null
  }
}

/** TCP congestion control: the default new sockets get, what unprivileged TCP_CONGESTION may pick, and what the kernel has loaded. */
export function congestionControl(): { default: string | null; allowed: string[]; available: string[] } {
  const list = (name: string): string[] => (sysctl(name) ?? '').split(/\s+/).filter(Boolean)
  return {
    default: sysctl('net.ipv4.tcp_congestion_control'),
    allowed: list('net.ipv4.tcp_allowed_congestion_control'),
    available: capabilities().tcpCongestion,
  }
}

export const info: Command = {
  name: 'info',
  summary: 'what this host allows: GSO/GRO, raw/packet/ping sockets, reuseport, buffer limits, congestion control',
  operands: '',
  streaming: false,
  flags: [],
  run(_args, io) {
    const c = capabilities()
    const cc = congestionControl()
    if (io.json) {
      io.out(JSON.stringify({ ...c, tcpCongestionDefault: cc.default, tcpCongestionAllowed: cc.allowed }, null, 2))
      return Promise.resolve(EXIT_OK)
    }
    const yes = (b: boolean): string => (b ? 'yes' : 'no')
    const rows: [string, string][] = [
      ['kernel', c.kernel],
      ['UDP GSO (UDP_SEGMENT)', yes(c.gso)],
      ['UDP GRO (UDP_GRO)', yes(c.gro)],
      ['SO_REUSEPORT', yes(c.reusePort)],
      ['raw sockets (CAP_NET_RAW)', yes(c.rawSockets)],
      ['packet sockets (CAP_NET_RAW)', yes(c.packetSockets)],
      [
        'ping sockets',
        `${yes(c.pingSockets)} (net.ipv4.ping_group_range ${c.pingGroupRange?.join(' ') ?? 'unreadable'}, your gid ${process.getgid?.() ?? '?'})`,
      ],
      ['receive buffer max (rmem_max)', `${c.recvBufferMax ?? 'unknown'} (SO_RCVBUF above it is clamped; SO_RCVBUFFORCE with CAP_NET_ADMIN is not)`],
      ['send buffer max (wmem_max)', String(c.sendBufferMax ?? 'unknown')],
      ['TCP congestion control, default', cc.default ?? 'unknown'],
      ['  allowed without CAP_NET_ADMIN', cc.allowed.join(' ') || 'unknown'],
      ['  available (loaded)', cc.available.join(' ') || 'unknown'],
    ]
    const width = Math.max(...rows.map(([k]) => k.length))
    for (const [k, v] of rows) io.out(`${k.padEnd(width)}  ${v}`)
    return Promise.resolve(EXIT_OK)
  },
}
