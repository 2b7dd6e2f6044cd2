// What an ICMP / ICMPv6 error means, in the words ping(8) from iputils
// prints ("Time to live exceeded", "Destination Host Unreachable", ...) and
// with the annotation traceroute(8) puts after a hop's time (!H, !N, !P, !X,
// !F, ...). Types and codes: RFC 792 / RFC 1812 (IPv4), RFC 4443 (IPv6).

const V4_UNREACHABLE: Record<number, [reason: string, annotation: string]> = {
  0: ['Destination Net Unreachable', '!N'],
  1: ['Destination Host Unreachable', '!H'],
  2: ['Destination Protocol Unreachable', '!P'],
  3: ['Destination Port Unreachable', ''],
  4: ['Frag needed and DF set', '!F'],
  5: ['Source Route Failed', '!S'],
  6: ['Destination Net Unknown', '!N'],
  7: ['Destination Host Unknown', '!H'],
  8: ['Source Host Isolated', '!N'],
  9: ['Destination Net Prohibited', '!X'],
  10: ['Destination Host Prohibited', '!X'],
  11: ['Destination Net Unreachable for Type of Service', '!N'],
  12: ['Destination Host Unreachable for Type of Service', '!H'],
  13: ['Packet filtered', '!X'],
  14: ['Precedence Violation', '!V'],
  15: ['Precedence Cutoff', '!C'],
}

const V6_UNREACHABLE: Record<number, [reason: string, annotation: string]> = {
  0: ['Destination unreachable: No route', '!N'],
  1: ['Destination unreachable: Administratively prohibited', '!X'],
  2: ['Destination unreachable: Beyond scope of source address', '!H'],
  3: ['Destination unreachable: Address unreachable', '!H'],
  4: ['Destination unreachable: Port unreachable', ''],
  5: ['Destination unreachable: Source address failed ingress/egress policy', '!X'],
  6: ['Destination unreachable: Reject route to destination', '!X'],
}

/** ICMP types that report a failed packet (not echo replies). */
export const ICMP_ERROR_TYPES = {
  4: { unreachable: 3, timeExceeded: 11, parameterProblem: 12 },
  6: { unreachable: 1, packetTooBig: 2, timeExceeded: 3, parameterProblem: 4 },
} as const

/** An ICMP error explained. */
export interface IcmpMeaning {
  /** ping(8)'s wording, e.g. 'Time to live exceeded' or 'Frag needed and DF set (mtu = 1400)'. */
  reason: string
  /** traceroute(8)'s annotation: '' for time exceeded and port unreachable, else '!H', '!N', '!P', '!X', '!F', ... */
  annotation: string
  /** The answer says the probe reached the destination (port unreachable). */
  reached: boolean
  /** The answer ends a trace (any destination unreachable, or packet too big). */
  final: boolean
}

/** The meaning of ICMP (family 4) or ICMPv6 (family 6) `type`/`code`; `info` is ee_info (the MTU for "too big"). */
export function icmpMeaning(family: 4 | 6, type: number, code: number, info = 0): IcmpMeaning {
  if (family === 4) {
    if (type === 11)
      return {
        reason: code === 0 ? 'Time to live exceeded' : code === 1 ? 'Frag reassembly time exceeded' : `Time exceeded, Bad Code: ${code}`,
        annotation: '',
        reached: false,
        final: false,
      }
    if (type === 3) {
      const [reason, annotation] = V4_UNREACHABLE[code] ?? [`Dest Unreachable, Bad Code: ${code}`, `!<${code}>`]
      return { reason: code === 4 ? `${reason} (mtu = ${info})` : reason, annotation, reached: code === 3, final: true }
    }
    if (type === 12) return { reason: `Parameter problem: pointer = ${info}`, annotation: `!<${type}-${code}>`, reached: false, final: true }
    return { reason: `Bad ICMP type: ${type}`, annotation: `!<${type}-${code}>`, reached: false, final: true }
  }
  if (type === 3)
    return {
      reason: code === 0 ? 'Time exceeded: Hop limit' : code === 1 ? 'Time exceeded: Defragmentation failure' : `Time exceeded: code ${code}`,
      annotation: '',
      reached: false,
      final: false,
    }
  if (type === 1) {
    const [reason, annotation] = V6_UNREACHABLE[code] ?? [`Destination unreachable: Unknown code ${code}`, `!<${code}>`]
    return { reason, annotation, reached: code === 4, final: true }
  }
  if (type === 2) return { reason: `Packet too big: mtu=${info}`, annotation: '!F', reached: false, final: true }
  if (type === 4) return { reason: `Parameter problem: code ${code} at ${info}`, annotation: `!<${type}-${code}>`, reached: false, final: true }
  return { reason: `unknown icmp type: ${type}`, annotation: `!<${type}-${code}>`, reached: false, final: true }
}
