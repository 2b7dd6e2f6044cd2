// Timeouts and cancellation: every waiting operation takes an AbortSignal;
// an abort rejects with an AbortError and leaves the socket usable (or, after
// close(), closed), never half-broken.
import net from 'node:net'
import { afterAll, describe, expect, test } from 'vitest'
import { constants, createSocket, tcpInfo } from '../src/index.js'
import { cleanupNetns, createNetns, linkNetns, spawnNodeInNetns } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'
import { portOf, track } from './helpers/sockets.js'

afterAll(cleanupNetns)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('connect', () => {
  test('an already aborted signal rejects with AbortError before any system call; the socket stays fresh', async () => {
    const listener = track(createSocket({ type: 'tcp4' }))
      .bind(0, '127.0.0.1')
      .listen()
    const s = track(createSocket({ type: 'tcp4' }))
    const reason = new Error('not now')
    const err = await s.connect(portOf(listener), '127.0.0.1', { signal: AbortSignal.abort(reason) }).catch((e) => e)
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason })
    expect(tcpInfo(s).stateName).toBe('CLOSE')
    await s.connect(portOf(listener), '127.0.0.1')
    expect(tcpInfo(s).stateName).toBe('ESTABLISHED')
  })

  test('a signal that never fires changes nothing, and one that fires after the connect settled is ignored', async () => {
    const listener = track(createSocket({ type: 'tcp4' }))
      .bind(0, '127.0.0.1')
      .listen()
    const ac = new AbortController()
    const s = track(createSocket({ type: 'tcp4' }))
    await s.connect(portOf(listener), '127.0.0.1', { signal: ac.signal })
    ac.abort()
    await sleep(10)
    expect(tcpInfo(s).stateName).toBe('ESTABLISHED')
    expect(s.remoteAddress().port).toBe(portOf(listener))
  })

  // A connect that hangs needs an address nobody answers: a host that does
  // not exist on a veth link inside a namespace of our own (ARP never
  // resolves; the kernel would give up with EHOSTUNREACH after ~3 s).
  testWithCaps(
    ['CAP_NET_ADMIN'],
    'aborting a hanging connect gives AbortError; the same socket then connects elsewhere, or closes cleanly',
    async () => {
      const a = createNetns('cxa')
      const b = createNetns('cxb')
      linkNetns({ ns: a, cidr: '10.133.5.1/24' }, { ns: b, cidr: '10.133.5.2/24' })
      const child = spawnNodeInNetns(
        a,
        `
        const net = require('net')
        const out = {}
        ;(async () => {
          const listener = netsock.createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1').listen()
          const s = netsock.createSocket({ type: 'tcp4' })
          const started = Date.now()
          const err = await s.connect(7, '10.133.5.9', { signal: AbortSignal.timeout(300) }).catch((e) => e)
          out.abort = { name: err.name, code: err.code, afterMs: Date.now() - started }
          out.afterAbort = { state: netsock.tcpInfo(s).stateName, soError: s.getOption('SO_ERROR') }
          // A second connect at once, to a listener that answers.
          await s.connect(listener.address().port, '127.0.0.1', { signal: AbortSignal.timeout(5000) })
          const conn = await listener.accept({ signal: AbortSignal.timeout(5000) })
          out.reconnect = { state: netsock.tcpInfo(s).stateName, peerPortMatches: conn.remoteAddress().port === s.address().port }
          // Abort again, then close: pending work is gone and the socket is closed, not half-broken.
          const t = netsock.createSocket({ type: 'tcp4' })
          const ac = new AbortController()
          const p = t.connect(7, '10.133.5.9', { signal: ac.signal }).catch((e) => e.name)
          setTimeout(() => ac.abort(), 50)
          out.second = await p
          t.close()
          out.closed = { closed: t.closed, use: (() => { try { t.getOption('SO_ERROR') } catch (e) { return e.code } })() }
          for (const x of [s, conn, listener]) x.close()
          console.log(JSON.stringify(out))
        })().catch((e) => console.log(JSON.stringify({ error: String(e && e.stack || e) })))`,
      )
      try {
        const out = await child.next()
        expect(out.error).toBeUndefined()
        expect(out.abort).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
        expect(out.abort.afterMs).toBeGreaterThanOrEqual(250)
        expect(out.abort.afterMs).toBeLessThan(2500) // the abort, not the kernel's EHOSTUNREACH, ended it
        expect(out.afterAbort).toEqual({ state: 'CLOSE', soError: 0 })
        expect(out.reconnect).toEqual({ state: 'ESTABLISHED', peerPortMatches: true })
        expect(out.second).toBe('AbortError')
        expect(out.closed).toEqual({ closed: true, use: 'ERR_SOCKET_CLOSED' })
      } finally {
        child.stop()
      }
    },
    20_000,
  )
})

describe('accept', () => {
  test('aborting one of several waiting accepts rejects only it; the others are served in order', async () => {
    const server = track(createSocket({ type: 'tcp4' }))
      .bind(0, '127.0.0.1')
      .listen()
    const ac = new AbortController()
    const first = server.accept()
    const middle = server.accept({ signal: ac.signal })
    const last = server.accept()
    ac.abort()
    await expect(middle).rejects.toMatchObject({ name: 'AbortError' })
    const c1 = net.connect(portOf(server), '127.0.0.1')
    const c2 = net.connect(portOf(server), '127.0.0.1')
    try {
      const [a, b] = [track(await first), track(await last)]
      const ports = [a.remoteAddress().port, b.remoteAddress().port].sort()
      await sleep(0)
      expect(ports).toEqual([c1.localPort, c2.localPort].sort())
    } finally {
      c1.destroy()
      c2.destroy()
    }
  })

  test('AbortSignal.timeout on accept: AbortError, then the listener accepts the next client', async () => {
    const server = track(createSocket({ type: 'tcp6' }))
      .bind(0, '::1')
      .listen()
    await expect(server.accept({ signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ name: 'AbortError' })
    expect(tcpInfo(server).stateName).toBe('LISTEN')
    const client = net.connect(portOf(server), '::1')
    try {
      const conn = track(await server.accept({ signal: AbortSignal.timeout(5000) }))
      expect(conn.remoteAddress().address).toBe('::1')
    } finally {
      client.destroy()
    }
  })

  test('close() during a pending accept rejects it with ERR_SOCKET_CLOSED', async () => {
    const server = createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1').listen()
    const pending = server.accept({ signal: new AbortController().signal })
    server.close()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' })
    expect(server.closed).toBe(true)
  })
})

describe('async iteration', () => {
  test('aborting makes the iteration throw an AbortError; the socket keeps receiving and can be iterated again', async () => {
    const rx = track(createSocket({ type: 'udp4' })).bind(0, '127.0.0.1')
    const tx = track(createSocket({ type: 'udp4' }))
    const ac = new AbortController()
    const got: string[] = []
    const loop = (async () => {
      for await (const { data } of rx.messages({ signal: ac.signal })) {
        got.push(data.toString())
        if (got.length === 2) ac.abort()
      }
    })()
    tx.send('a', portOf(rx), '127.0.0.1')
    tx.send('b', portOf(rx), '127.0.0.1')
    await expect(loop).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    expect(got).toEqual(['a', 'b'])
    tx.send('c', portOf(rx), '127.0.0.1')
    const again = rx.messages({ signal: AbortSignal.timeout(5000) })
    const next = await again.next()
    expect(next.done).toBe(false)
    expect((next.value as { data: Buffer }).data.toString()).toBe('c')
    await again.return?.()
  })

  test('a timeout signal ends an idle iteration with an AbortError and no message', async () => {
    const rx = track(createSocket({ type: 'udp6' })).bind(0, '::1')
    const started = Date.now()
    let count = 0
    const loop = (async () => {
      for await (const _ of rx.messages({ signal: AbortSignal.timeout(100) })) count++
    })()
    await expect(loop).rejects.toMatchObject({ name: 'AbortError', cause: expect.objectContaining({ name: 'TimeoutError' }) })
    expect(count).toBe(0)
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
  })
})

describe('SO_RCVTIMEO / SO_SNDTIMEO in milliseconds', () => {
  test('set and read back in ms (the kernel keeps scheduler ticks; whole ms survive)', () => {
    const s = track(createSocket({ type: 'tcp4' }))
    for (const name of ['SO_RCVTIMEO', 'SO_SNDTIMEO']) {
      expect(s.getOption(name)).toBe(0)
      s.setOption(name, 1500)
      expect(s.getOption(name)).toBe(1500)
      s.setOption(name, 100)
      expect(s.getOption(name)).toBe(100)
      // 250 ms is not a whole number of ticks at HZ=250 (4 ms): the kernel rounds up to the next tick.
      s.setOption(name, 250)
      expect(s.getOption(name)).toBeGreaterThanOrEqual(250)
      expect(s.getOption(name)).toBeLessThanOrEqual(260)
      s.setOption(name, 0)
      expect(s.getOption(name)).toBe(0)
      expect(() => s.setOption(name, -1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    }
    // The raw struct timeval agrees.
    s.setOption('SO_RCVTIMEO', 2500)
    expect(s.getsockopt(constants.SOL_SOCKET, constants.SO_RCVTIMEO, 'timeval')).toEqual({ sec: 2, usec: 500000 })
  })
})
