import { expect, test } from 'vitest'
import { constants } from '../src/index.js'

test('constants carry the values of the system headers', () => {
  // Values fixed by the Linux ABI, checked against what the addon compiled in.
  expect(constants).toMatchObject({
    AF_INET: 2,
    AF_INET6: 10,
    AF_PACKET: 17,
    SOCK_STREAM: 1,
    SOCK_DGRAM: 2,
    SOCK_RAW: 3,
    SOL_SOCKET: 1,
    SO_REUSEADDR: 2,
    SO_REUSEPORT: 15,
    IPPROTO_ICMP: 1,
    IPPROTO_TCP: 6,
    IPPROTO_UDP: 17,
    IPPROTO_ICMPV6: 58,
    IPPROTO_RAW: 255,
    ETH_P_ALL: 3,
    ETH_P_IP: 0x0800,
    ETH_P_IPV6: 0x86dd,
    ICMP_ECHO: 8,
    ICMP_ECHOREPLY: 0,
    ICMP6_ECHO_REQUEST: 128,
    MSG_DONTWAIT: 0x40,
    TCP_NODELAY: 1,
  })
})

test('every family of names the API documents is present', () => {
  for (const prefix of ['AF_', 'SOCK_', 'SOL_', 'SO_', 'IPPROTO_', 'IP_', 'IPV6_', 'TCP_', 'UDP_', 'MSG_', 'ETH_P_', 'ICMP_', 'ICMP6_']) {
    expect(Object.keys(constants).filter((k) => k.startsWith(prefix)).length, prefix).toBeGreaterThan(2)
  }
  expect(Object.values(constants).every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true)
})

test('constants are frozen', () => {
  expect(Object.isFrozen(constants)).toBe(true)
  expect(() => {
    ;(constants as Record<string, number>).AF_INET = 3
  }).toThrow(TypeError)
})
