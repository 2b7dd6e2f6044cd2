import { once } from 'node:events'
import net from 'node:net'
import { afterAll, describe, expect, test } from 'vitest'
import { capabilities, constants, createSocket, decodeTcpInfo, tcpInfo, TCP_STATES, TCPI_OPT } from '../src/index.js'
import { cleanupNetns, createNetns, nsExec, spawnNodeInNetns } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'
import { portOf, track } from './helpers/sockets.js'

afterAll(cleanupNetns)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A loopback connection: a Node client and the netsock socket the listener accepted. */
async function connection() {
  const server = track(createSocket({ type: 'tcp4' }))
    .bind(0, '127.0.0.1')
    .listen()
  const client = net.connect(portOf(server), '127.0.0.1')
  const conn = track(await server.accept())
  if (client.connecting) await once(client, 'connect')
  return { server, client, conn }
}

describe('tcpInfo', () => {
  test('decodes a live loopback connection sensibly, and counters grow with traffic', async () => {
    const { client, conn } = await connection()
    try {
      const before = tcpInfo(client)
      expect(before.length).toBeGreaterThanOrEqual(104)
      expect(before.state).toBe(1)
      expect(before.stateName).toBe('ESTABLISHED')
      expect(before.ca_state).toBe(0)
      expect(before.snd_mss).toBeGreaterThan(0)
      expect(before.advmss).toBeGreaterThan(0)
      expect(before.pmtu).toBe(65536 - 1) // loopback MTU
      expect(before.snd_cwnd).toBeGreaterThan(0)
      expect(before.rto).toBeGreaterThanOrEqual(200_000) // TCP_RTO_MIN, microseconds
      expect(before.options & TCPI_OPT.SACK).toBeTruthy()
      expect(before.options & TCPI_OPT.TIMESTAMPS).toBeTruthy()
      expect(before.options & TCPI_OPT.WSCALE).toBeTruthy()
      expect(before.snd_wscale).toBeGreaterThan(0)
      expect(before.rcv_wscale).toBeGreaterThan(0)
      expect(before.total_retrans).toBe(0)
      expect(before.max_pacing_rate).toBe(Infinity) // ~0: unlimited

      const payload = Buffer.alloc(200_000, 7)
      client.write(payload)
      let got = 0
      const reader = new net.Socket({ fd: conn.detach(), readable: true, writable: true })
      reader.on('data', (d) => (got += d.length))
      // Wait on the data, not on a clock (bounded by the test's timeout).
      while (got < payload.length) await sleep(10)
      expect(got).toBe(payload.length)
      const after = tcpInfo(client)
      expect(after.rtt).toBeGreaterThan(0) // microseconds; measured from the ACKs
      expect(after.rttvar).toBeGreaterThan(0)
      expect(after.min_rtt).toBeGreaterThan(0)
      expect(after.bytes_acked! - before.bytes_acked!).toBe(payload.length)
      // bytes_sent counts retransmitted bytes too (RFC 4898 HCDataOctetsOut), which a busy machine can cause.
      expect(after.bytes_sent! - before.bytes_sent!).toBe(payload.length + (after.bytes_retrans! - before.bytes_retrans!))
      expect(after.data_segs_out!).toBeGreaterThan(before.data_segs_out!)
      expect(after.segs_out!).toBeGreaterThan(before.segs_out!)
      expect(after.delivery_rate!).toBeGreaterThan(0)
      expect(after.last_data_sent).toBeLessThan(60_000) // ms since the last data: this test's own write
      const peer = tcpInfo(reader)
      expect(peer.bytes_received!).toBeGreaterThanOrEqual(payload.length)
      expect(peer.data_segs_in!).toBeGreaterThan(0)
      reader.destroy()
    } finally {
      client.destroy()
    }
  })

  test('a listener reports LISTEN with its backlog in sacked; an unconnected socket CLOSE', () => {
    const l = track(createSocket({ type: 'tcp6' }))
      .bind(0, '::1')
      .listen(77)
    const info = tcpInfo(l)
    expect(info.stateName).toBe('LISTEN')
    expect(info.state).toBe(TCP_STATES.indexOf('LISTEN'))
    expect(info.sacked).toBe(77)
    expect(info.unacked).toBe(0)
    expect(tcpInfo(track(createSocket({ type: 'tcp4' }))).stateName).toBe('CLOSE')
  })

  test('bitfields and 64-bit fields decode from synthetic bytes; a shorter (older kernel) struct leaves later fields undefined', () => {
    const bytes = new Uint8Array(232)
    const dv = new DataView(bytes.buffer)
    const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
    bytes[0] = 1
    bytes[6] = le ? 0x7 | (0x9 << 4) : (0x7 << 4) | 0x9 // snd_wscale 7, rcv_wscale 9
    bytes[7] = le ? 0x1 | (0x2 << 1) : 0x80 | (0x2 << 5) // app_limited, fastopen_client_fail 2
    dv.setUint32(68, 1234, le) // rtt
    dv.setBigUint64(104, 0xffffffffffffffffn, le) // pacing_rate: unlimited
    dv.setBigUint64(120, 2n ** 40n + 5n, le) // bytes_acked
    dv.setUint32(228, 65535, le) // snd_wnd
    const info = decodeTcpInfo(bytes)
    expect(info).toMatchObject({ state: 1, snd_wscale: 7, rcv_wscale: 9, delivery_rate_app_limited: true, fastopen_client_fail: 2, rtt: 1234 })
    expect(info.pacing_rate).toBe(Infinity)
    expect(info.bytes_acked).toBe(2 ** 40 + 5)
    expect(info.snd_wnd).toBe(65535)
    expect(info.rcv_wnd).toBeUndefined()
    // A 2.6-era struct (104 bytes): the fixed part only.
    const old = decodeTcpInfo(bytes.subarray(0, 104))
    expect(old.total_retrans).toBe(0)
    expect(old.pacing_rate).toBeUndefined()
    expect(old.bytes_acked).toBeUndefined()
    expect(Object.keys(old)).not.toContain('snd_wnd')
    // Half a u64 is not decoded.
    expect(decodeTcpInfo(bytes.subarray(0, 108)).pacing_rate).toBeUndefined()
    expect(() => decodeTcpInfo(bytes.subarray(0, 50))).toThrow(/too short/)
  })

  test('targets: fd, netsock Socket, net.Socket; non-TCP sockets give the kernel error', async () => {
    const { client, conn } = await connection()
    try {
      expect(tcpInfo(conn.fd).state).toBe(1)
      expect(tcpInfo(conn).state).toBe(1)
      expect(tcpInfo(client).state).toBe(1)
      expect(() => tcpInfo(track(createSocket({ type: 'udp4' })))).toThrow(expect.objectContaining({ syscall: 'getsockopt' }))
      expect(() => tcpInfo({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    } finally {
      client.destroy()
    }
  })
})

describe('TCP options through the typed table', () => {
  test('TCP_NODELAY sets and reads back, and tcpInfo stays consistent', () => {
    const s = track(createSocket({ type: 'tcp4' }))
    expect(s.getOption('TCP_NODELAY')).toBe(false)
    s.setOption('TCP_NODELAY', true)
    expect(s.getOption('TCP_NODELAY')).toBe(true)
    s.setOption('TCP_NODELAY', false)
    expect(s.getOption('TCP_NODELAY')).toBe(false)
  })

  test('TCP_CONGESTION: every available algorithm sets and reads back; an unknown one is ENOENT', async () => {
    const algorithms = capabilities().tcpCongestion
    expect(algorithms.length).toBeGreaterThan(0)
    const s = track(createSocket({ type: 'tcp4' }))
    for (const name of algorithms) {
      s.setOption('TCP_CONGESTION', name)
      expect(s.getOption('TCP_CONGESTION')).toBe(name)
    }
    expect(() => s.setOption('TCP_CONGESTION', 'no-such-cc')).toThrow(expect.objectContaining({ code: 'ENOENT' }))
    // On a live connection too.
    const { client, conn } = await connection()
    try {
      const last = algorithms.at(-1)!
      conn.setOption('TCP_CONGESTION', last)
      expect(conn.getOption('TCP_CONGESTION')).toBe(last)
    } finally {
      client.destroy()
    }
  })

  test('TCP_NOTSENT_LOWAT sets and reads back; tcpInfo reports unsent bytes', () => {
    const s = track(createSocket({ type: 'tcp4' }))
    s.setOption('TCP_NOTSENT_LOWAT', 16384)
    expect(s.getOption('TCP_NOTSENT_LOWAT')).toBe(16384)
    s.setOption('TCP_NOTSENT_LOWAT', 0)
    expect(s.getOption('TCP_NOTSENT_LOWAT')).toBe(0)
    expect(tcpInfo(s).notsent_bytes).toBe(0)
  })

  test('TCP_DEFER_ACCEPT: a silent client is not accepted, one that sends data is; the abort leaves the listener usable', async () => {
    const server = track(createSocket({ type: 'tcp4' })).bind(0, '127.0.0.1')
    server.setOption('TCP_DEFER_ACCEPT', 5)
    // The kernel keeps it as SYN-ACK retransmissions (1+2+4 s >= 5 s) and reports the rounded-up time.
    expect(server.getOption('TCP_DEFER_ACCEPT')).toBeGreaterThanOrEqual(5)
    server.listen()
    const client = net.connect(portOf(server), '127.0.0.1')
    await once(client, 'connect') // the client's handshake completes; the server holds the connection back
    try {
      await expect(server.accept({ signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ name: 'AbortError' })
      client.write('hello')
      const conn = track(await server.accept({ signal: AbortSignal.timeout(5000) }))
      expect(conn.remoteAddress().port).toBe(client.localPort)
    } finally {
      client.destroy()
    }
  })

  test('TCP_FASTOPEN server queue length and TCP_FASTOPEN_CONNECT read back', () => {
    const l = track(createSocket({ type: 'tcp4' })).bind(0, '127.0.0.1')
    l.setOption('TCP_FASTOPEN', 16)
    expect(l.getOption('TCP_FASTOPEN')).toBe(16)
    const c = track(createSocket({ type: 'tcp4' }))
    c.setsockopt(constants.IPPROTO_TCP, constants.TCP_FASTOPEN_CONNECT, 1)
    expect(c.getsockopt(constants.IPPROTO_TCP, constants.TCP_FASTOPEN_CONNECT)).toBe(1)
  })

  // Fast Open needs the server bit of net.ipv4.tcp_fastopen (per namespace);
  // set it to 3 inside a namespace of our own, never in the host's.
  testWithCaps(
    ['CAP_NET_ADMIN'],
    'TCP_FASTOPEN end to end: the second connection carries its data in the SYN',
    async () => {
      const ns = createNetns('tfo')
      nsExec(ns, ['sysctl', '-qw', 'net.ipv4.tcp_fastopen=3'])
      const child = spawnNodeInNetns(
        ns,
        `
        const net = require('net')
        const server = netsock.createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1')
        server.setOption('TCP_FASTOPEN', 16)
        server.listen()
        const port = server.address().port
        const node = net.createServer((c) => c.on('data', (d) => { c.end(String(d).toUpperCase()) }))
        const queue = server.getOption('TCP_FASTOPEN')
        node.listen({ fd: server.detach() })
        async function once(i) {
          const c = netsock.createSocket({ type: 'tcp4' })
          c.setsockopt(netsock.constants.IPPROTO_TCP, netsock.constants.TCP_FASTOPEN_CONNECT, 1)
          await c.connect(port, '127.0.0.1')   // returns at once: the SYN waits for the first write
          const s = new net.Socket({ fd: c.detach(), readable: true, writable: true })
          let reply = ''
          s.setEncoding('utf8').on('data', (d) => reply += d)
          s.write('hello ' + i)
          await new Promise((r) => s.on('end', r))
          const info = netsock.tcpInfo(s)
          s.destroy()
          return { reply, synData: (info.options & netsock.TCPI_OPT.SYN_DATA) !== 0, fail: info.fastopen_client_fail }
        }
        ;(async () => {
          const first = await once(1)
          const second = await once(2)
          console.log(JSON.stringify({ queue, first, second }))
          node.close()
        })().catch((e) => console.log(JSON.stringify({ error: String(e) })))`,
      )
      try {
        const result = await child.next()
        expect(result.error).toBeUndefined()
        expect(result.queue).toBe(16)
        expect(result.first.reply).toBe('HELLO 1')
        expect(result.second.reply).toBe('HELLO 2')
        // First connection: no cookie yet, so it only asks for one; the second uses it and the SYN-ACK acks the SYN's data.
        expect(result.first.synData).toBe(false)
        expect(result.second.synData).toBe(true)
      } finally {
        child.stop()
      }
    },
    20_000,
  )
})
