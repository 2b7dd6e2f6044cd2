// The poll handle's life: it must never outlive the descriptor, never pin an
// idle socket in memory, and never spin on a condition nobody consumes.
// Each case runs in a child process (see helpers/child.ts).
import { expect, test } from 'vitest'
import { runChild } from './helpers/child.js'

function json(r: { status: number | null; stdout: string; stderr: string }): any {
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  return JSON.parse(r.stdout.trim().split('\n').pop()!)
}

test('close() with a pending accept and an errorqueue listener rejects the accept and leaves no poll handle', () => {
  const out = json(
    runChild(`
      const srv = n.createSocket({ type: 'tcp4' }).bind(0, '127.0.0.1').listen()
      srv.on('errorqueue', () => {})
      const pending = [srv.accept().catch((e) => e.code), srv.accept().catch((e) => e.code)]
      setTimeout(async () => {
        srv.close()
        const codes = await Promise.all(pending)
        await new Promise((r) => setTimeout(r, 20))
        console.log(JSON.stringify({ codes, counts: addon.resourceCounts() }))
      }, 20)`),
  )
  expect(out.codes).toEqual(['ERR_SOCKET_CLOSED', 'ERR_SOCKET_CLOSED'])
  expect(out.counts).toEqual({ fds: 0, polls: 0 })
})

test('a socket whose listeners were removed lets go of its poll handle and can be garbage-collected', () => {
  const out = json(
    runChild(
      `
      const tick = (ms) => new Promise((r) => setTimeout(r, ms))
      ;(async () => {
        await (async () => {
          const s = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
          const f = () => {}
          s.on('message', f); await tick(5)
          s.off('message', f); await tick(5)
        })()
        for (let i = 0; i < 10 && addon.resourceCounts().fds > 0; i++) { gc(); await tick(20) }
        console.log(JSON.stringify(addon.resourceCounts()))
      })()`,
      ['--expose-gc'],
    ),
  )
  expect(out).toEqual({ fds: 0, polls: 0 })
})

test('an ICMP error nobody reads from the error queue does not keep the loop busy', () => {
  const out = json(
    runChild(`
      const dead = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'); const port = dead.address().port; dead.close()
      const s = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      s.setOption('IP_RECVERR', true)
      let errors = 0
      s.on('error', () => errors++).on('message', () => {})
      s.send(Buffer.from('x'), port, '127.0.0.1')
      setTimeout(() => {
        const c0 = process.cpuUsage()
        setTimeout(() => {
          const c = process.cpuUsage(c0)
          console.log(JSON.stringify({ cpuMs: (c.user + c.system) / 1000, errors }))
          s.close()
        }, 400)
      }, 50)`),
  )
  expect(out.cpuMs).toBeLessThan(150) // idle, not spinning on POLLERR (a spin burns ~400 ms here)
  expect(out.errors).toBe(1) // ECONNREFUSED reported once
})

test('a throwing error handler does not leave the socket deaf', () => {
  const out = json(
    runChild(`
      process.on('uncaughtException', () => {})
      const peer = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'); const port = peer.address().port; peer.close()
      const s = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      s.connect(port, '127.0.0.1')
      let got = 0
      s.on('error', () => { throw new Error('handler threw') }).on('message', () => got++)
      s.send(Buffer.from('x'))
      setTimeout(() => {
        const back = n.createSocket({ type: 'udp4' }).bind(port, '127.0.0.1')
        back.send(Buffer.from('y'), s.address().port, '127.0.0.1')
        setTimeout(() => { console.log(JSON.stringify({ got })); s.close(); back.close() }, 100)
      }, 50)`),
  )
  expect(out.got).toBe(1)
})

test("datagrams kept when a once('message') listener left mid-batch come before newer ones", () => {
  const out = json(
    runChild(`
      const r = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'); const port = r.address().port
      const s = n.createSocket({ type: 'udp4' })
      for (let i = 0; i < 5; i++) s.send(Buffer.from('a' + i), port, '127.0.0.1')
      r.once('message', () => {
        for (let i = 0; i < 3; i++) s.send(Buffer.from('b' + i), port, '127.0.0.1')
        const got = []
        setTimeout(() => r.on('message', (m) => {
          got.push(m.toString())
          if (got.length === 7) { console.log(JSON.stringify(got)); r.close(); s.close() }
        }), 10)
      })`),
  )
  expect(out).toEqual(['a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2'])
})
