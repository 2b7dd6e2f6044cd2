import { once } from 'node:events'
import net from 'node:net'
import { afterAll, describe, expect, test } from 'vitest'
import { createSocket, getKeepAlive, keepAliveSeconds, setKeepAlive } from '../src/index.js'
import { cleanupNetns, createNetns, linkNetns, nsExec, spawnNodeInNetns } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'
import { portOf, track } from './helpers/sockets.js'

afterAll(cleanupNetns)

/** A connected loopback pair of Node sockets; closed by the returned function. */
async function nodePair(): Promise<{ client: net.Socket; close: () => void }> {
  const server = net.createServer((c) => c.on('error', () => {})).listen(0, '127.0.0.1')
  await once(server, 'listening')
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(client, 'connect')
  return {
    client,
    close: () => {
      client.destroy()
      server.close()
    },
  }
}

describe('setKeepAlive / getKeepAlive read back', () => {
  test('milliseconds round UP to whole kernel seconds, never to 0', () => {
    expect(keepAliveSeconds(1)).toBe(1)
    expect(keepAliveSeconds(999)).toBe(1)
    expect(keepAliveSeconds(1000)).toBe(1)
    expect(keepAliveSeconds(1001)).toBe(2)
    expect(keepAliveSeconds(1500)).toBe(2)
    const s = track(createSocket({ type: 'tcp4' }))
    setKeepAlive(s, { idleMs: 1500, intervalMs: 1, count: 3 })
    expect(getKeepAlive(s)).toMatchObject({ enable: true, idleMs: 2000, intervalMs: 1000, count: 3 })
    // What the kernel holds, read without netsock's conversion.
    expect(s.getOption('TCP_KEEPIDLE')).toBe(2)
    expect(s.getOption('TCP_KEEPINTVL')).toBe(1)
  })

  test('every setting reads back on a netsock socket, an fd and a connected net.Socket', async () => {
    const { client, close } = await nodePair()
    try {
      const s = track(createSocket({ type: 'tcp6' }))
      const settings = { enable: true, idleMs: 7000, intervalMs: 3000, count: 5, userTimeoutMs: 12345 }
      for (const target of [s, s.fd, client]) {
        setKeepAlive(target, settings)
        expect(getKeepAlive(target)).toEqual(settings)
        setKeepAlive(target, { enable: false })
        expect(getKeepAlive(target)).toEqual({ ...settings, enable: false })
      }
    } finally {
      close()
    }
  })

  test('enable defaults to true with a timer, and userTimeoutMs alone leaves SO_KEEPALIVE as it is', () => {
    const s = track(createSocket({ type: 'tcp4' }))
    expect(getKeepAlive(s).enable).toBe(false)
    setKeepAlive(s, { userTimeoutMs: 2000 })
    expect(getKeepAlive(s)).toMatchObject({ enable: false, userTimeoutMs: 2000 })
    setKeepAlive(s, { count: 2 })
    expect(getKeepAlive(s)).toMatchObject({ enable: true, count: 2 })
    setKeepAlive(s, { userTimeoutMs: 0 }) // back to the system default
    expect(getKeepAlive(s)).toMatchObject({ enable: true, userTimeoutMs: 0 })
  })

  test("agrees with Node's own socket.setKeepAlive", async () => {
    const { client, close } = await nodePair()
    try {
      client.setKeepAlive(true, 42_000)
      expect(getKeepAlive(client)).toMatchObject({ enable: true, idleMs: 42_000 })
      setKeepAlive(client, { enable: false })
      client.setKeepAlive(true, 1500) // Node truncates to whole seconds (1 s) where netsock rounds up
      expect(getKeepAlive(client).idleMs).toBe(1000)
    } finally {
      close()
    }
  })

  test('invalid values throw before any option is set', () => {
    const s = track(createSocket({ type: 'tcp4' }))
    const before = getKeepAlive(s)
    const bad: [object, string][] = [
      [{ idleMs: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ intervalMs: 32767 * 1000 + 1 }, 'ERR_OUT_OF_RANGE'],
      [{ count: 128 }, 'ERR_OUT_OF_RANGE'],
      [{ count: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ idleMs: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ userTimeoutMs: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ idleMs: '1000' }, 'ERR_INVALID_ARG_TYPE'],
      [{ enable: 1 }, 'ERR_INVALID_ARG_TYPE'],
      // The valid idleMs must not be applied when count is bad.
      [{ idleMs: 5000, count: 1000 }, 'ERR_OUT_OF_RANGE'],
    ]
    for (const [options, code] of bad) expect(() => setKeepAlive(s, options as never)).toThrow(expect.objectContaining({ code }))
    expect(getKeepAlive(s)).toEqual(before)
    expect(() => setKeepAlive(s, null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => setKeepAlive('3' as never, {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => getKeepAlive(new net.Socket())).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_NO_FD' }))
    const closed = createSocket({ type: 'tcp4' })
    closed.close()
    expect(() => getKeepAlive(closed)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_NO_FD' }))
  })

  test('a UDP socket gives the kernel error, naming the option', () => {
    const u = track(createSocket({ type: 'udp4' }))
    expect(() => setKeepAlive(u, { idleMs: 1000 })).toThrow(/setsockopt E\w+ TCP_KEEPIDLE/)
  })

  test('works on an accepted netsock connection and on a listener (inherited by accepted sockets)', async () => {
    const server = track(createSocket({ type: 'tcp4' }))
      .bind(0, '127.0.0.1')
      .listen()
    setKeepAlive(server, { idleMs: 9000, intervalMs: 2000, count: 4 })
    const client = net.connect(portOf(server), '127.0.0.1')
    try {
      const conn = track(await server.accept())
      expect(getKeepAlive(conn)).toMatchObject({ enable: true, idleMs: 9000, intervalMs: 2000, count: 4 })
    } finally {
      client.destroy()
    }
  })
})

// Dead-peer detection across a veth pair between two namespaces. The link is
// "cut" by a blackhole route in the server's namespace back to the client:
// the server's ACKs and probe answers vanish silently, so the client's kernel
// sees nothing at all and must time out (no ICMP, no carrier change, no
// neighbour failure that would turn the error into EHOSTUNREACH).
describe('dead peer detection across namespaces', () => {
  function setup(tag: string) {
    const a = createNetns(`${tag}a`)
    const b = createNetns(`${tag}b`)
    const subnet = 100 + Math.floor(Math.random() * 100)
    const [ea, eb] = linkNetns({ ns: a, cidr: `10.${subnet}.7.1/24` }, { ns: b, cidr: `10.${subnet}.7.2/24` })
    const server = spawnNodeInNetns(
      b,
      `
      const net = require('net')
      const srv = net.createServer((c) => { c.on('data', () => {}); c.on('error', () => {}) })
      srv.listen(7001, '${eb.address}', () => console.log(JSON.stringify({ ready: true })))`,
    )
    const cut = () => nsExec(b, ['ip', 'route', 'add', 'blackhole', `${ea.address}/32`])
    return { a, b, ea, eb, server, cut }
  }

  testWithCaps(
    ['CAP_NET_ADMIN'],
    'keepalive (idle 1 s, interval 1 s, count 2) fails the connection with ETIMEDOUT within ~3 s of silence',
    async () => {
      const { a, eb, server, cut } = setup('ka')
      let client: ReturnType<typeof spawnNodeInNetns> | undefined
      try {
        expect(await server.next()).toEqual({ ready: true })
        client = spawnNodeInNetns(
          a,
          `
        const net = require('net')
        const c = net.connect(7001, '${eb.address}')
        let cutAt = 0, connectedAt = 0, maxProbes = 0
        const sample = setInterval(() => { try { maxProbes = Math.max(maxProbes, netsock.tcpInfo(c).probes) } catch {} }, 100)
        c.on('connect', () => {
          connectedAt = Date.now()
          netsock.setKeepAlive(c, { enable: true, idleMs: 1000, intervalMs: 1000, count: 2 })
          console.log(JSON.stringify({ connected: true, settings: netsock.getKeepAlive(c) }))
        })
        process.stdin.on('data', () => { cutAt = Date.now(); console.log(JSON.stringify({ cut: true })) })
        c.on('error', (e) => {
          console.log(JSON.stringify({ code: e.code, afterCutMs: Date.now() - cutAt, afterConnectMs: Date.now() - connectedAt, maxProbes }))
          process.exit(0)
        })
        c.on('close', () => { console.log(JSON.stringify({ code: 'closed without error' })); process.exit(0) })
        setTimeout(() => { console.log(JSON.stringify({ code: 'still connected after 12 s' })); process.exit(0) }, 12000)`,
        )
        expect(await client.next()).toEqual({ connected: true, settings: { enable: true, idleMs: 1000, intervalMs: 1000, count: 2, userTimeoutMs: 0 } })
        cut()
        client!.child.stdin!.write('cut\n')
        expect(await client.next()).toEqual({ cut: true })
        const result = await client.next()
        expect(result.code).toBe('ETIMEDOUT')
        // idle 1 s + 2 probes x 1 s = 3 s after the last packet (the handshake); slack for a loaded machine.
        expect(result.afterConnectMs).toBeGreaterThanOrEqual(2500)
        expect(result.afterCutMs).toBeLessThan(3000 + 3000)
        expect(result.maxProbes).toBeGreaterThanOrEqual(1)
      } finally {
        client?.stop()
        server.stop()
      }
    },
    20_000,
  )

  testWithCaps(
    ['CAP_NET_ADMIN'],
    'TCP_USER_TIMEOUT 2 s fails a connection with unacknowledged data with ETIMEDOUT',
    async () => {
      const { a, eb, server, cut } = setup('ut')
      let client: ReturnType<typeof spawnNodeInNetns> | undefined
      try {
        expect(await server.next()).toEqual({ ready: true })
        // A netsock socket connects (with an AbortSignal bound), is tuned, then handed to Node for the byte stream.
        client = spawnNodeInNetns(
          a,
          `
        const net = require('net')
        const s = netsock.createSocket({ type: 'tcp4' })
        let wroteAt = 0
        s.connect(7001, '${eb.address}', { signal: AbortSignal.timeout(5000) }).then(() => {
          netsock.setKeepAlive(s, { userTimeoutMs: 2000 })
          const settings = netsock.getKeepAlive(s)
          const c = new net.Socket({ fd: s.detach(), readable: true, writable: true })
          c.on('error', (e) => {
            console.log(JSON.stringify({ code: e.code, afterWriteMs: Date.now() - wroteAt }))
            process.exit(0)
          })
          process.stdin.on('data', () => {
            wroteAt = Date.now()
            c.write(Buffer.alloc(1000, 1))
            console.log(JSON.stringify({ wrote: true }))
          })
          console.log(JSON.stringify({ connected: true, userTimeoutMs: settings.userTimeoutMs, keepalive: settings.enable }))
        }, (e) => console.log(JSON.stringify({ code: 'connect ' + e.code })))
        setTimeout(() => { console.log(JSON.stringify({ code: 'still connected after 12 s' })); process.exit(0) }, 12000)`,
        )
        expect(await client.next()).toEqual({ connected: true, userTimeoutMs: 2000, keepalive: false })
        cut()
        client!.child.stdin!.write('write\n')
        expect(await client.next()).toEqual({ wrote: true })
        const result = await client.next()
        expect(result.code).toBe('ETIMEDOUT')
        expect(result.afterWriteMs).toBeGreaterThanOrEqual(1500)
        expect(result.afterWriteMs).toBeLessThan(2000 + 3000)
      } finally {
        client?.stop()
        server.stop()
      }
    },
    20_000,
  )
})
