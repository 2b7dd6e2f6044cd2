import fs from 'node:fs'
import util from 'node:util'
import { describe, expect, test } from 'vitest'
import { constants, createSocket, socket, Socket } from '../src/index.js'
import { testWithCaps } from './helpers/privilege.js'
import { portOf, track } from './helpers/sockets.js'

const fdFlags = (fd: number): string => fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
const O_NONBLOCK = 0o4000
const O_CLOEXEC = 0o2000000

function flagsOf(fd: number): number {
  const line = fdFlags(fd)
    .split('\n')
    .find((l) => l.startsWith('flags:'))!
  return parseInt(line.split(/\s+/)[1], 8)
}

describe('creating sockets', () => {
  test.each(['udp4', 'udp6', 'tcp4', 'tcp6'] as const)('%s is non-blocking and close-on-exec with the right type', (type) => {
    const s = track(createSocket({ type }))
    expect(s.fd).toBeGreaterThan(2)
    expect(flagsOf(s.fd) & O_NONBLOCK).toBe(O_NONBLOCK)
    expect(flagsOf(s.fd) & O_CLOEXEC).toBe(O_CLOEXEC)
    expect(s.type).toBe(type)
    expect(s.getOption('SO_DOMAIN')).toBe(type.endsWith('6') ? constants.AF_INET6 : constants.AF_INET)
    expect(s.getOption('SO_TYPE')).toBe(type.startsWith('udp') ? constants.SOCK_DGRAM : constants.SOCK_STREAM)
  })

  testWithCaps(['CAP_NET_RAW'], 'raw4, raw6 and packet sockets open with their protocol', () => {
    const icmp = track(createSocket({ type: 'raw4', protocol: 'icmp' }))
    expect(icmp.getOption('SO_TYPE')).toBe(constants.SOCK_RAW)
    expect(icmp.getOption('SO_PROTOCOL')).toBe(constants.IPPROTO_ICMP)
    const icmp6 = track(createSocket({ type: 'raw6', protocol: 'icmpv6' }))
    expect(icmp6.getOption('SO_PROTOCOL')).toBe(constants.IPPROTO_ICMPV6)
    const packet = track(createSocket({ type: 'packet' }))
    expect(packet.getOption('SO_DOMAIN')).toBe(constants.AF_PACKET)
    expect(packet.protocol).toBe(constants.ETH_P_ALL)
    expect(flagsOf(packet.fd) & O_NONBLOCK).toBe(O_NONBLOCK)
  })

  test('raw sockets require a protocol', () => {
    expect(() => createSocket({ type: 'raw4' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
  })

  test('an unknown type or protocol name is a TypeError naming the argument', () => {
    expect(() => createSocket({ type: 'udp5' as never })).toThrow(/'type' must be one of 'udp4'/)
    expect(() => createSocket({ type: 'raw4', protocol: 'icmpx' })).toThrow(/'protocol' is not a known IPPROTO_\* name/)
    expect(() => createSocket({ type: 'udp4', protocol: 300 })).toThrow(RangeError)
    expect(() => createSocket(undefined as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })

  test('socket() creates any family/type/protocol combination', () => {
    const s = track(socket(constants.AF_INET, constants.SOCK_DGRAM, 0))
    expect(s).toBeInstanceOf(Socket)
    expect(s.type).toBe('udp4')
    const unix = track(socket(constants.AF_UNIX, constants.SOCK_DGRAM))
    expect(unix.type).toBe('other')
    expect(flagsOf(unix.fd) & O_CLOEXEC).toBe(O_CLOEXEC)
  })

  test('socket() reports the kernel error for an impossible combination', () => {
    expect(() => socket(constants.AF_INET, constants.SOCK_STREAM, constants.IPPROTO_UDP)).toThrow(
      expect.objectContaining({ code: 'EPROTONOSUPPORT', syscall: 'socket', errno: expect.any(Number) }),
    )
  })

  test('adopting a descriptor makes it non-blocking and derives its kind', () => {
    const original = track(createSocket({ type: 'udp6' }))
    const fd = original.detach()
    const adopted = track(createSocket({ fd }))
    expect(adopted.fd).toBe(fd)
    expect(adopted.type).toBe('udp6')
    expect(flagsOf(fd) & O_NONBLOCK).toBe(O_NONBLOCK)
    const file = fs.openSync('/dev/null', 'r')
    try {
      expect(() => createSocket({ fd: file })).toThrow(expect.objectContaining({ code: 'ENOTSOCK', syscall: 'getsockopt' }))
    } finally {
      fs.closeSync(file)
    }
    const other = track(createSocket({ type: 'tcp4' }))
    const fd2 = other.detach()
    try {
      expect(() => createSocket({ fd: fd2, type: 'udp4' })).toThrow(/is a tcp4 socket/)
    } finally {
      track(createSocket({ fd: fd2 }))
    }
  })
})

describe('bind and addresses', () => {
  test('bind with no arguments takes any free port on all addresses', () => {
    const s = track(createSocket({ type: 'udp4' })).bind()
    expect(s.address()).toEqual({ address: '0.0.0.0', family: 'IPv4', port: expect.any(Number) })
    expect(portOf(s)).toBeGreaterThan(0)
    const s6 = track(createSocket({ type: 'udp6' })).bind(0, '::1')
    expect(s6.address()).toMatchObject({ address: '::1', family: 'IPv6' })
  })

  test('an IPv4 literal on an IPv6 socket binds the v4-mapped address', () => {
    const s = track(createSocket({ type: 'udp6' })).bind(0, '127.0.0.1')
    expect(s.address()).toMatchObject({ address: '::ffff:127.0.0.1', family: 'IPv6' })
  })

  test('binding a taken port fails with EADDRINUSE and names the address', () => {
    const a = track(createSocket({ type: 'tcp4' })).bind(0, '127.0.0.1')
    const b = track(createSocket({ type: 'tcp4' }))
    const port = portOf(a)
    let err: any
    try {
      b.bind(port, '127.0.0.1')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(Error)
    expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', address: '127.0.0.1', port })
    expect(err.errno).toBeLessThan(0)
    expect(err.message).toBe(`bind EADDRINUSE 127.0.0.1:${port}`)
  })

  test('SO_REUSEPORT set before bind lets two sockets share a port', () => {
    const a = track(createSocket({ type: 'udp4', reusePort: true })).bind(0, '127.0.0.1')
    const b = track(createSocket({ type: 'udp4', reusePort: true })).bind(portOf(a), '127.0.0.1')
    expect(portOf(b)).toBe(portOf(a))
  })

  test('bad addresses and ports are rejected before any system call', () => {
    const s = track(createSocket({ type: 'udp4' }))
    expect(() => s.bind(70000)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => s.bind('80' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => s.bind(0, 'localhost')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_IP_ADDRESS' }))
    expect(() => s.bind(0, '::1')).toThrow(/IPv4 address on an IPv4 socket/)
    expect(s.address().port).toBe(0) // still unbound
  })

  test('an IPv6 zone names an interface; an unknown one is ENODEV', () => {
    const s = track(createSocket({ type: 'udp6' })).bind(0, '::1%lo')
    expect(s.address()).toMatchObject({ address: '::1' })
    const t = track(createSocket({ type: 'udp6' }))
    expect(() => t.bind(0, 'fe80::1%nosuchif0')).toThrow(expect.objectContaining({ code: 'ENODEV' }))
  })

  test('remoteAddress on an unconnected socket is ENOTCONN', () => {
    const s = track(createSocket({ type: 'udp4' }))
    expect(() => s.remoteAddress()).toThrow(expect.objectContaining({ code: 'ENOTCONN', syscall: 'getpeername' }))
  })

  testWithCaps(['CAP_NET_RAW'], 'a packet socket binds to an interface by name and reports it', () => {
    const p = track(createSocket({ type: 'packet', protocol: 'ip' })).bind('lo')
    const addr = p.packetAddress()
    expect(() => p.address()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_TYPE' }))
    expect(() => track(createSocket({ type: 'udp4' })).packetAddress()).toThrow(/not supported on a udp4 socket/)
    expect(addr.family).toBe('packet')
    expect(addr.ifindex).toBe(1)
    expect(addr.protocol).toBe(constants.ETH_P_IP)
    const q = track(createSocket({ type: 'packet' }))
    expect(() => q.bind('nosuchif0')).toThrow(expect.objectContaining({ code: 'ENODEV', syscall: 'if_nametoindex' }))
  })
})

describe('UDP connect', () => {
  test('connect is synchronous and sets the peer; disconnect clears it', async () => {
    const server = track(createSocket({ type: 'udp4' })).bind(0, '127.0.0.1')
    const client = track(createSocket({ type: 'udp4' }))
    const done = client.connect(portOf(server), '127.0.0.1')
    expect(client.remoteAddress()).toEqual({ address: '127.0.0.1', family: 'IPv4', port: portOf(server) })
    await expect(done).resolves.toBeUndefined()
    client.disconnect()
    expect(() => client.remoteAddress()).toThrow(expect.objectContaining({ code: 'ENOTCONN' }))
  })
})

describe('TCP connect, listen, accept', () => {
  test('accept resolves with a connected socket whose peer is the client', async () => {
    const server = track(createSocket({ type: 'tcp4', reuseAddr: true }))
      .bind(0, '127.0.0.1')
      .listen()
    const client = track(createSocket({ type: 'tcp4' }))
    const [conn] = await Promise.all([server.accept(), client.connect(portOf(server), '127.0.0.1')])
    track(conn)
    expect(conn).toBeInstanceOf(Socket)
    expect(conn.type).toBe('tcp4')
    expect(conn.remoteAddress().port).toBe(portOf(client))
    expect(client.remoteAddress().port).toBe(portOf(server))
    expect(flagsOf(conn.fd) & O_NONBLOCK).toBe(O_NONBLOCK)
  })

  test('several pending accepts are served in order', async () => {
    const server = track(createSocket({ type: 'tcp6' }))
      .bind(0, '::1')
      .listen()
    const accepts = [server.accept(), server.accept(), server.accept()]
    const clients = [0, 1, 2].map(() => track(createSocket({ type: 'tcp6' })))
    for (const c of clients) await c.connect(portOf(server), '::1')
    const conns = (await Promise.all(accepts)).map(track)
    expect(conns.map((c) => c.remoteAddress().port).sort()).toEqual(clients.map(portOf).sort())
  })

  test('connecting to a closed port rejects with ECONNREFUSED and the address', async () => {
    const probe = track(createSocket({ type: 'tcp4' })).bind(0, '127.0.0.1')
    const port = portOf(probe)
    probe.close() // the port is now free and nothing listens
    const client = track(createSocket({ type: 'tcp4' }))
    await expect(client.connect(port, '127.0.0.1')).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: '127.0.0.1',
      port,
    })
  })

  test('shutdown("write") delivers end-of-stream to the peer', async () => {
    const server = track(createSocket({ type: 'tcp4' }))
      .bind(0, '127.0.0.1')
      .listen()
    const client = track(createSocket({ type: 'tcp4' }))
    const [conn] = await Promise.all([server.accept(), client.connect(portOf(server))])
    track(conn)
    client.shutdown('write')
    // The accepted side now reads EOF: hand it to Node and wait for 'end'.
    const net = await import('node:net')
    const stream = new net.Socket({ fd: conn.detach(), readable: true })
    await new Promise<void>((resolve) => stream.on('end', resolve).resume())
    stream.destroy()
    expect(() => client.shutdown('sideways' as never)).toThrow(/'how' must be/)
  })

  test('an aborted accept rejects with AbortError and the socket keeps accepting', async () => {
    const server = track(createSocket({ type: 'tcp4' }))
      .bind(0, '127.0.0.1')
      .listen()
    const ac = new AbortController()
    const pending = server.accept({ signal: ac.signal })
    ac.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    await expect(server.accept({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    const client = track(createSocket({ type: 'tcp4' }))
    const [conn] = await Promise.all([server.accept(), client.connect(portOf(server))])
    expect(track(conn).remoteAddress().port).toBe(portOf(client))
  })

  test('closing a listener rejects its pending accepts with ERR_SOCKET_CLOSED', async () => {
    const server = createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1').listen()
    const pending = server.accept()
    server.close()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' })
  })
})

describe('close', () => {
  test('close is idempotent, emits close once, and frees the descriptor', async () => {
    const s = createSocket({ type: 'udp4' })
    const fd = s.fd
    let closes = 0
    s.on('close', () => closes++)
    s.close()
    s.close()
    expect(s.closed).toBe(true)
    expect(s.fd).toBe(-1)
    expect(fs.existsSync(`/proc/self/fd/${fd}`)).toBe(false)
    await new Promise((r) => setImmediate(r))
    expect(closes).toBe(1)
  })

  test('every operation after close throws ERR_SOCKET_CLOSED', () => {
    const s = createSocket({ type: 'tcp4' })
    s.close()
    const calls: [string, () => unknown][] = [
      ['bind', () => s.bind(0)],
      ['connect', () => s.connect(1)],
      ['listen', () => s.listen()],
      ['accept', () => s.accept()],
      ['shutdown', () => s.shutdown()],
      ['address', () => s.address()],
      ['packetAddress', () => s.packetAddress()],
      ['remoteAddress', () => s.remoteAddress()],
      ['setsockopt', () => s.setsockopt(constants.SOL_SOCKET, constants.SO_REUSEADDR, 1)],
      ['getsockopt', () => s.getsockopt(constants.SOL_SOCKET, constants.SO_REUSEADDR)],
      ['setOption', () => s.setOption('SO_REUSEADDR', true)],
      ['getOption', () => s.getOption('SO_REUSEADDR')],
      ['detach', () => s.detach()],
    ]
    for (const [name, call] of calls) {
      expect(call, name).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED', message: expect.stringContaining(name) }))
    }
  })

  test('detach hands the descriptor over without closing it', () => {
    const s = createSocket({ type: 'udp4' })
    const fd = s.detach()
    expect(s.closed).toBe(true)
    expect(fs.existsSync(`/proc/self/fd/${fd}`)).toBe(true)
    track(createSocket({ fd })) // close it through a new owner
  })
})

describe('Node habits', () => {
  test('bind(port, address, callback) and bind(port, callback) call back once bound; close(callback) runs on close', async () => {
    const a = createSocket({ type: 'udp4' })
    const b = createSocket({ type: 'udp4' })
    const bound = await Promise.all([
      new Promise<number>((resolve) => a.bind(0, '127.0.0.1', () => resolve(a.address().port))),
      new Promise<void>((resolve) => b.bind(0, resolve)),
    ])
    expect(bound[0]).toBeGreaterThan(0)
    expect(b.address().port).toBeGreaterThan(0)
    await Promise.all([new Promise<void>((resolve) => a.close(resolve)), new Promise<void>((resolve) => b.close(resolve))])
    expect(a.closed && b.closed).toBe(true)
    // A callback on a socket already closed still runs.
    await new Promise<void>((resolve) => a.close(resolve))
  })

  test('a close() argument that is not a function is a TypeError, never ignored', () => {
    const s = track(createSocket({ type: 'udp4' }))
    expect(() => s.close(5 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(s.closed).toBe(false)
  })

  test('Symbol.dispose closes at the end of a using block; Symbol.asyncDispose waits for close', async () => {
    const s = createSocket({ type: 'udp4' })
    s[Symbol.dispose]()
    expect(s.closed).toBe(true)
    const t = createSocket({ type: 'udp4' })
    let closed = false
    t.on('close', () => (closed = true))
    await t[Symbol.asyncDispose]()
    expect(closed).toBe(true)
  })

  test('util.inspect shows a socket by kind, fd, address and state, and stats by name', () => {
    const s = track(createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'))
    const shown = util.inspect(s)
    expect(shown).toMatch(new RegExp(`^Socket \\{ type: 'udp4', fd: ${s.fd}, state: 'open', address: '127\\.0\\.0\\.1:${s.address().port}' \\}$`))
    expect(util.inspect(s.stats, { breakLength: Infinity })).toMatch(/^SocketStats \{ sent: 0, received: 0, bytesSent: 0,/)
    s.close()
    expect(util.inspect(s)).toBe("Socket { type: 'udp4', fd: -1, state: 'closed' }")
  })
})
