// The system constants, as compiled into the addon from the system headers.
import { addon } from './native.js'

/**
 * Socket constants taken from the system headers when the addon was built:
 * `AF_*`, `SOCK_*`, `SOL_*`, `SO_*`, `SCM_*`, `MSG_*`, `IPPROTO_*`, `IP_*`,
 * `IPV6_*`, `TCP_*`, `UDP_*`, `PACKET_*`, `ETH_P_*`, `ICMP_*`, `ICMP6_*`,
 * `BPF_*` and more. A name the headers lack is absent. Frozen.
 *
 * @example
 * import { constants } from 'netsock'
 * s.setsockopt(constants.SOL_SOCKET, constants.SO_REUSEADDR, 1)
 */
export const constants: Readonly<Record<string, number>> = Object.freeze({ ...addon.constants })

/** A constant that must exist on this system (internal use). */
export function constant(name: string): number {
  const value = constants[name]
  if (value === undefined) throw new Error(`netsock: constant ${name} is not available on this system`)
  return value
}
