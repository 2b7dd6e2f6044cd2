import fs from 'node:fs'
import { expect, test } from 'vitest'
import { capabilities, constants, createSocket, socket } from '../src/index.js'
import { hasCapability } from './helpers/privilege.js'

const opens = (f: () => { close(): void }): boolean => {
  try {
    f().close()
    return true
  } catch {
    return false
  }
}

test('capabilities agree with what the sockets themselves allow', () => {
  const caps = capabilities()
  expect(caps.rawSockets).toBe(opens(() => createSocket({ type: 'raw4', protocol: 'icmp' })))
  expect(caps.rawSockets).toBe(hasCapability('CAP_NET_RAW'))
  expect(caps.packetSockets).toBe(opens(() => createSocket({ type: 'packet' })))
  expect(caps.pingSockets).toBe(opens(() => socket(constants.AF_INET, constants.SOCK_DGRAM, constants.IPPROTO_ICMP)))
  expect(caps.gso).toBe(opens(() => createSocket({ type: 'udp4' }).setOption('UDP_SEGMENT', 1200)))
  expect(caps.gro).toBe(opens(() => createSocket({ type: 'udp4' }).setOption('UDP_GRO', true)))
  expect(caps.reusePort).toBe(true)
})

test('capabilities report the sysctls as the kernel shows them', () => {
  const caps = capabilities()
  const read = (p: string) => fs.readFileSync(`/proc/sys/${p}`, 'utf8').trim()
  expect(caps.recvBufferMax).toBe(Number(read('net/core/rmem_max')))
  expect(caps.sendBufferMax).toBe(Number(read('net/core/wmem_max')))
  expect(caps.pingGroupRange).toEqual(read('net/ipv4/ping_group_range').split(/\s+/).map(Number))
  expect(caps.tcpCongestion).toContain('cubic')
  expect(caps.kernel).toMatch(/^\d+\.\d+/)
  expect(Object.isFrozen(caps)).toBe(true)
})
