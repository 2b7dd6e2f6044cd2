// `netsock info`: what this host allows.
import { capabilities } from '../capabilities.js'
import { EXIT_OK, type Command } from './args.js'

export const info: Command = {
  name: 'info',
  summary: 'what this host allows: GSO/GRO, raw/packet/ping sockets, reuseport, buffer limits, kernel',
  usage: 'netsock info [--json]',
  options: {},
  async run(_values, _positionals, io) {
    const c = capabilities()
    if (io.json) {
      io.out(JSON.stringify(c, null, 2))
      return EXIT_OK
    }
    const yes = (b: boolean): string => (b ? 'yes' : 'no')
    const rows: [string, string][] = [
      ['kernel', c.kernel],
      ['UDP GSO (UDP_SEGMENT)', yes(c.gso)],
      ['UDP GRO (UDP_GRO)', yes(c.gro)],
      ['SO_REUSEPORT', yes(c.reusePort)],
      ['raw sockets (CAP_NET_RAW)', yes(c.rawSockets)],
      ['packet sockets (CAP_NET_RAW)', yes(c.packetSockets)],
      ['ping sockets', `${yes(c.pingSockets)} (net.ipv4.ping_group_range ${c.pingGroupRange?.join(' ') ?? 'unreadable'})`],
      ['receive buffer max (rmem_max)', String(c.recvBufferMax ?? 'unknown')],
      ['send buffer max (wmem_max)', String(c.sendBufferMax ?? 'unknown')],
      ['TCP congestion control', c.tcpCongestion.join(' ')],
    ]
    const width = Math.max(...rows.map(([k]) => k.length))
    for (const [k, v] of rows) io.out(`${k.padEnd(width)}  ${v}`)
    return EXIT_OK
  },
}
