import dgram from 'node:dgram'
import { once } from 'node:events'
import net from 'node:net'
import { describe, expect, test } from 'vitest'
import { createSocket, fdOf } from '../src/index.js'
import { portOf, track } from './helpers/sockets.js'

/** Connects a `net` client, sends `line`, resolves with the server's reply. */
async function ask(port: number, line: string): Promise<string> {
  const client = net.connect(port, '127.0.0.1')
  client.end(line)
  let reply = ''
  client.setEncoding('utf8').on('data', (d) => (reply += d))
  await once(client, 'close')
  return reply
}

function echoServer(name: string): net.Server {
  return net.createServer((c) => {
    c.setEncoding('utf8').on('data', (d) => c.end(`${name}:${d}`))
  })
}

describe('handing netsock sockets to Node', () => {
  test('a TCP socket tuned with SO_REUSEPORT serves real net clients through net.Server.listen({ fd })', async () => {
    const s = createSocket({ type: 'tcp4', reusePort: true }).bind(0, '127.0.0.1')
    const port = portOf(s)
    const server = echoServer('a')
    await new Promise<void>((resolve) => server.listen({ fd: s.detach() }, resolve))
    try {
      expect(await ask(port, 'hello')).toBe('a:hello')
      // The option set before bind is still on the socket Node now owns.
      const view = createSocket({ fd: fdOf(server), owned: false })
      expect(view.getOption('SO_REUSEPORT')).toBe(true)
      view.close()
    } finally {
      server.close()
    }
  })

  test('two net servers share one port through SO_REUSEPORT and both serve', async () => {
    const first = createSocket({ type: 'tcp4', reusePort: true }).bind(0, '127.0.0.1')
    const port = portOf(first)
    const second = createSocket({ type: 'tcp4', reusePort: true }).bind(port, '127.0.0.1')
    const servers = [echoServer('a'), echoServer('b')]
    await Promise.all([first, second].map((s, i) => new Promise<void>((resolve) => servers[i].listen({ fd: s.detach() }, resolve))))
    try {
      const seen = new Set<string>()
      // The kernel hashes each connection (by source port) to one of the two; 64 tries make missing one ~1e-19.
      for (let i = 0; i < 64 && seen.size < 2; i++) seen.add((await ask(port, 'x')).split(':')[0])
      expect([...seen].sort()).toEqual(['a', 'b'])
    } finally {
      for (const server of servers) server.close()
    }
  })

  test('a netsock UDP socket handed to dgram via bind({ fd }) receives', async () => {
    const s = createSocket({ type: 'udp4', reuseAddr: true }).bind(0, '127.0.0.1')
    const port = portOf(s)
    const receiver = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => receiver.bind({ fd: s.detach() }, resolve))
    const sender = dgram.createSocket('udp4')
    try {
      const got = once(receiver, 'message')
      sender.send('ping', port, '127.0.0.1')
      const [msg, rinfo] = (await got) as [Buffer, dgram.RemoteInfo]
      expect(msg.toString()).toBe('ping')
      expect(rinfo.port).toBe(sender.address().port)
      expect(receiver.address().port).toBe(port)
    } finally {
      receiver.close()
      sender.close()
    }
  })

  test('an accepted connection becomes a net.Socket stream', async () => {
    const server = track(createSocket({ type: 'tcp4' }))
      .bind(0, '127.0.0.1')
      .listen()
    const client = net.connect(portOf(server), '127.0.0.1')
    const conn = await server.accept()
    const stream = new net.Socket({ fd: conn.detach(), readable: true, writable: true })
    stream.end('from netsock')
    let got = ''
    client.setEncoding('utf8').on('data', (d) => (got += d))
    await once(client, 'end')
    client.destroy()
    stream.destroy()
    expect(got).toBe('from netsock')
  })
})

describe('fdOf and tuning sockets Node created', () => {
  test('finds the descriptor of a net.Server, net.Socket and dgram.Socket', async () => {
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    await once(client, 'connect')
    const udp = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve))
    try {
      for (const target of [server, client, udp]) {
        const fd = fdOf(target)
        expect(fd).toBeGreaterThan(2)
        // The fd really is that socket: its local port matches.
        const view = createSocket({ fd, owned: false })
        const nodePort = target instanceof dgram.Socket ? target.address().port : (target.address() as net.AddressInfo).port
        expect(portOf(view)).toBe(nodePort)
        view.close()
      }
    } finally {
      client.destroy()
      server.close()
      udp.close()
    }
  })

  test('options set through a borrowed view reach the Node socket, and closing the view leaves it open', async () => {
    const server = net.createServer((c) => c.end('ok')).listen(0, '127.0.0.1')
    await once(server, 'listening')
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    await once(client, 'connect')
    try {
      const view = createSocket({ fd: fdOf(client), owned: false })
      view.setOption('TCP_KEEPIDLE', 42).setOption('TCP_NODELAY', true)
      view.close()
      const again = createSocket({ fd: fdOf(client), owned: false })
      expect(again.getOption('TCP_KEEPIDLE')).toBe(42)
      expect(again.getOption('TCP_NODELAY')).toBe(true)
      again.close()
      let got = ''
      client.setEncoding('utf8').on('data', (d) => (got += d))
      await once(client, 'end')
      expect(got).toBe('ok')
    } finally {
      client.destroy()
      server.close()
    }
  })

  test('an unopened Node socket or a foreign object is a clear error', () => {
    expect(() => fdOf(dgram.createSocket('udp4'))).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_NO_FD' }))
    expect(() => fdOf(new net.Socket())).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_NO_FD' }))
    expect(() => fdOf({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })
})
