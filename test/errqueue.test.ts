// The socket error queue: ICMP errors for UDP on loopback, decoded from
// sock_extended_err. Needs no privilege.
import { describe, expect, test } from 'vitest'
import os from 'node:os'
import { createSocket, type ErrorQueueMessage, type Socket } from '../src/index.js'
import { until } from './helpers/datagram.js'
import { track } from './helpers/sockets.js'

/** A port nothing listens on (bound and released just now). */
function closedPort(type: 'udp4' | 'udp6', host: string): number {
  const s = createSocket({ type }).bind(0, host)
  const port = s.address().port
  s.close()
  return port
}

function drain(s: Socket, into: ErrorQueueMessage[]): void {
  for (let e = s.readErrorQueue(); e; e = s.readErrorQueue()) into.push(e)
}

describe('readErrorQueue', () => {
  test('is null when the queue is empty', () => {
    const s = track(createSocket({ type: 'udp4' }))
    s.setOption('IP_RECVERR', true)
    expect(s.readErrorQueue()).toBeNull()
  })

  test('IPv4: a datagram to a closed port queues ICMP port unreachable with the offender and the quoted payload', async () => {
    const s = track(createSocket({ type: 'udp4' }))
    s.setOption('IP_RECVERR', true)
    s.setOption('SO_TIMESTAMPNS', true)
    const errors: ErrorQueueMessage[] = []
    let wakeups = 0
    s.on('errorqueue', () => {
      wakeups++
      drain(s, errors)
    })
    const port = closedPort('udp4', '127.0.0.1')
    const payload = Buffer.from('probe-v4')
    s.send(payload, port, '127.0.0.1')
    await until(() => errors.length > 0, "the 'errorqueue' event")
    expect(wakeups).toBeGreaterThan(0)
    const e = errors[0]
    expect(e).toMatchObject({
      errnoName: 'ECONNREFUSED',
      origin: 'icmp',
      type: 3, // destination unreachable
      code: 3, // port unreachable
      offender: { address: '127.0.0.1', family: 'IPv4' },
      destination: { address: '127.0.0.1', port },
      truncated: false,
    })
    expect(e.errno).toBe(-os.constants.errno.ECONNREFUSED)
    expect(e.payload.toString()).toBe('probe-v4')
    expect(typeof e.timestampNs).toBe('bigint')
    expect(s.readErrorQueue()).toBeNull()
  })

  test('IPv6: ICMPv6 port unreachable, origin icmp6, into a caller buffer', async () => {
    const s = track(createSocket({ type: 'udp6' }))
    s.setOption('IPV6_RECVERR', true)
    const port = closedPort('udp6', '::1')
    s.send(Buffer.from('probe-v6-long-payload'), port, '::1')
    const buf = Buffer.alloc(64)
    let e: ErrorQueueMessage | null = null
    await until(() => (e = s.readErrorQueue(buf, 8, 5)) !== null, 'the ICMPv6 error')
    expect(e).toMatchObject({
      errnoName: 'ECONNREFUSED',
      origin: 'icmp6',
      type: 1, // destination unreachable
      code: 4, // port unreachable
      offender: { address: '::1', family: 'IPv6' },
      destination: { address: '::1', port },
      size: 5, // the error queue reports what was copied, even with MSG_TRUNC
      truncated: true,
    })
    expect(e!.payload.toString()).toBe('probe')
    expect(buf.subarray(8, 13).toString()).toBe('probe') // landed in the caller's memory
  })

  test('validates its arguments', () => {
    const s = track(createSocket({ type: 'udp4' }))
    expect(() => s.readErrorQueue(Buffer.alloc(4), 5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    s.close()
    expect(() => s.readErrorQueue()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
  })
})
