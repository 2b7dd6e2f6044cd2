// Hostile but legal use: each case here once crashed the process, lost or
// corrupted a datagram, leaked a descriptor or threw an uncoded error
// (issue 11). Nothing may escape a poll callback; every receive-path failure
// is a coded 'error' event or a delivered datagram.
import { spawnSync } from 'node:child_process'
import dgram from 'node:dgram'
import { once } from 'node:events'
import fs from 'node:fs'
import { afterAll, describe, expect, test } from 'vitest'
import { attachReusePortProgram, constants, createSocket, fdOf, socket, type Socket } from '../src/index.js'
import { distLiteral, runChild } from './helpers/child.js'
import { bound, collect, onShapedLoopback, sender, until } from './helpers/datagram.js'
import { cleanupNetns } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'
import { portOf, track } from './helpers/sockets.js'

afterAll(cleanupNetns)

/** The error `fn` throws (fails the test when it returns). */
function thrown(fn: () => unknown): Error & { code?: string; syscall?: string } {
  try {
    fn()
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected the call to throw')
}

/** An RTM_GETLINK dump request (rtnetlink(7)): nlmsghdr + rtgenmsg, padded to 4. */
function linkDumpRequest(): Buffer {
  const b = Buffer.alloc(20)
  b.writeUInt32LE(20, 0) // nlmsg_len
  b.writeUInt16LE(18, 4) // RTM_GETLINK
  b.writeUInt16LE(0x301, 6) // NLM_F_REQUEST | NLM_F_DUMP
  b.writeUInt32LE(1, 8) // nlmsg_seq
  return b
}

describe('senders netsock has no name for are delivered, never thrown', () => {
  test("netlink: the kernel's route dump arrives in 'message' and recvInto with the sender's family number", async () => {
    const AF_NETLINK = constants.AF_NETLINK ?? 16
    const nl = track(socket(AF_NETLINK, constants.SOCK_RAW, 0))
    expect(nl.type).toBe('other')
    const errors: Error[] = []
    nl.on('error', (e) => errors.push(e))
    const first = once(nl, 'message')
    nl.send(linkDumpRequest())
    const [msg, rinfo] = await first
    expect(msg.length).toBeGreaterThanOrEqual(16)
    expect(rinfo).toMatchObject({ family: AF_NETLINK, port: 0, size: msg.length })
    expect(typeof rinfo.address).toBe('string')
    nl.removeAllListeners('message')
    // The same through recvInto: a second dump, read synchronously once it is queued.
    nl.send(linkDumpRequest())
    const buf = Buffer.alloc(65536)
    let r = null
    for (let i = 0; i < 200 && !r; i++) {
      r = nl.recvInto(buf)
      if (!r) await new Promise((f) => setTimeout(f, 5))
    }
    expect(r).not.toBeNull()
    expect(r!.rinfo.family).toBe(AF_NETLINK)
    expect(errors).toEqual([])
  })

  test('an adopted AF_UNIX socketpair (no sender address at all) delivers each datagram with family unix', () => {
    // Python makes the pair and hands one end to a node child (its number in PAIR_FD).
    const child = `
      const n = require(${distLiteral})
      const s = n.createSocket({ fd: Number(process.env.PAIR_FD) })
      const got = []
      s.on('error', (e) => got.push('error ' + e.code))
      s.on('message', (m, r) => { got.push({ data: m.toString(), family: r.family, address: r.address, size: r.size }); if (got.length === 2) { console.log(JSON.stringify({ type: s.type, got })); s.close() } })
      console.log('ready')`
    const py = `
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
p = subprocess.Popen([sys.argv[1], '-e', sys.argv[2]], pass_fds=[b.fileno()], stdout=subprocess.PIPE, text=True, env={'PAIR_FD': str(b.fileno())})
b.close()
assert p.stdout.readline().strip() == 'ready'
a.send(b'one'); a.send(b'two')
print(p.stdout.readline().strip()); p.wait(timeout=60)
`
    const r = spawnSync('python3', ['-c', py, process.execPath, child], { encoding: 'utf8', timeout: 90_000 })
    expect(r.stderr).toBe('')
    const out = JSON.parse(r.stdout)
    expect(out.type).toBe('other')
    expect(out.got).toEqual([
      { data: 'one', family: 'unix', address: '', size: 3 },
      { data: 'two', family: 'unix', address: '', size: 3 },
    ])
  })
})

describe('receive memory', () => {
  test("a 'batch' handler that transfers the receive memory away changes nothing: every later datagram arrives intact", async () => {
    const rx = track(bound('udp4'))
    const tx = track(sender('udp4'))
    const seen: string[] = []
    const errors: unknown[] = []
    rx.on('error', (e) => errors.push(e))
    let attempts = 0
    rx.on('batch', (batch) => {
      for (let i = 0; i < batch.length; i++) seen.push(batch.data(i).toString())
      const memory = batch.buffer.buffer
      // Each way of taking the memory away that this Node offers.
      structuredClone(memory, { transfer: [memory] })
      const { port1, port2 } = new MessageChannel()
      port1.postMessage(memory, [memory])
      port1.close()
      port2.close()
      const transfer = (memory as ArrayBuffer & { transfer?: () => ArrayBuffer }).transfer
      if (typeof transfer === 'function') transfer.call(memory) // Node 22+: detaches for real; netsock makes new memory
      attempts++
    })
    for (let i = 0; i < 20; i++) {
      tx.send(Buffer.from(`datagram ${i}`), portOf(rx), '127.0.0.1')
      await until(() => seen.length > i, `datagram ${i}`)
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `datagram ${i}`))
    expect(attempts).toBeGreaterThanOrEqual(1)
    expect(errors).toEqual([])
  })

  test('receive memory that cannot be allocated is a coded error event, and reading stops instead of spinning', () => {
    // 1024 x 1 MiB of receive memory under a 1.5 GB address-space limit.
    const script = `
      const n = require(${distLiteral})
      const rx = n.createSocket({ type: 'udp4', recvBatchSize: 1024, recvMessageSize: 1 << 20 }).bind(0, '127.0.0.1')
      const errors = []
      rx.on('error', (e) => errors.push(e.code))
      rx.on('message', () => errors.push('message'))
      const tx = n.createSocket({ type: 'udp4' })
      for (let i = 0; i < 3; i++) tx.send(Buffer.from('x'), rx.address().port, '127.0.0.1')
      setTimeout(() => { console.log(JSON.stringify({ errors, sent: tx.stats.sent })); rx.close(); tx.close() }, 300)`
    // ASan reserves terabytes of shadow address space, so under it (test:asan) an
    // address-space limit cannot be set: its allocator is told to fail the
    // allocation instead, which Node reports the same way.
    const asan = (process.env.LD_PRELOAD ?? '').includes('libasan')
    const limit = asan ? '' : 'ulimit -v 1500000; '
    const env = asan
      ? { ...process.env, ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:max_allocation_size_mb=512:allocator_may_return_null=1` }
      : process.env
    const r = spawnSync('bash', ['-c', `${limit}exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8', timeout: 90_000, env })
    // Under ASan the refused allocation is announced on stderr (a WARNING, not a report).
    const stderr = r.stderr
      .split('\n')
      .filter((line) => line !== '' && !(asan && /^==\d+==WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes$/.test(line)))
    expect(stderr).toEqual([])
    expect(JSON.parse(r.stdout)).toEqual({ errors: ['ERR_NETSOCK_RECV_MEMORY'], sent: 3 })
  })
})

describe('a socket adopted with owned: false', () => {
  test("refuses 'message', 'batch' and 'errorqueue' listeners synchronously, with a coded error, when Node already watches the descriptor", async () => {
    const node = dgram.createSocket('udp4')
    await new Promise<void>((r) => node.bind(0, '127.0.0.1', r))
    node.on('message', () => {}) // dgram's handle is reading
    try {
      const view = createSocket({ fd: fdOf(node), owned: false })
      for (const event of ['message', 'batch', 'errorqueue'] as const) {
        const err = thrown(() => view.on(event, () => {}))
        expect(err.code, event).toBe('EEXIST')
        expect(err.syscall).toBe('uv_poll_init')
        expect(err.message).toContain('owned: false')
        expect(view.listenerCount(event)).toBe(0)
      }
      // What a view is for still works.
      view.setOption('IP_TTL', 9)
      expect(node.getTTL ? view.getOption('IP_TTL') : 9).toBe(9)
      expect(view.send(Buffer.from('hi'), node.address().port, '127.0.0.1')).toBe(true)
      view.close()
      expect(node.address().port).toBeGreaterThan(0) // Node's socket is untouched
    } finally {
      node.close()
    }
  })
})

describe('views of receive memory are copied before they wait in any queue', () => {
  testWithCaps(
    ['CAP_NET_ADMIN'],
    'forwarding batch.data(i) through a second socket that hits EAGAIN sends the original bytes',
    async () => {
      const result = await onShapedLoopback(
        `
      const final = netsock.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      final.setOption('SO_RCVBUFFORCE', 8 << 20)
      const a = netsock.createSocket({ type: 'udp4', recvBatchSize: 8 }).bind(0, '127.0.0.1')
      a.setOption('SO_RCVBUFFORCE', 8 << 20)
      const b = netsock.createSocket({ type: 'udp4', sendBufferSize: 1 })
      const src = netsock.createSocket({ type: 'udp4' })
      let forwarded = 0, queued = 0
      a.on('batch', (batch) => { for (let i = 0; i < batch.length; i++) { if (!b.send(batch.data(i), final.address().port, '127.0.0.1')) queued++; forwarded++ } })
      const got = []
      final.on('message', (m) => got.push(m.readUInt32LE(0) + ':' + m[999]))
      for (let i = 0; i < 400; i++) { const d = Buffer.alloc(1000, i & 0xff); d.writeUInt32LE(i, 0); src.send(d, a.address().port, '127.0.0.1'); if (i % 50 === 49) await new Promise((f) => setTimeout(f, 1)) }
      const end = Date.now() + 12000
      while (got.length < 400 && Date.now() < end) await new Promise((f) => setTimeout(f, 5))
      print({ got, forwarded, queued })`,
        { timeoutMs: 20_000 },
      )
      expect(result.thrown ?? result.timedOut).toBeUndefined()
      expect(result.queued).toBeGreaterThan(0) // the shaped link made the second socket queue
      expect(result.got).toEqual(Array.from({ length: 400 }, (_, i) => `${i}:${i & 0xff}`))
    },
    40_000,
  )
})

describe('buffers that change between validation and the system call', () => {
  test('a getter in a sendMany list that transfers an earlier entry: ERR_BUFFER_DETACHED naming that entry, nothing sent', async () => {
    const rx = track(bound('udp4'))
    const got = collect(rx)
    const tx = track(sender('udp4'))
    const first = new Uint8Array(Buffer.from('first datagram')) // its own ArrayBuffer (Buffer.from uses the untransferable pool)
    const list = [
      first,
      {
        get data() {
          structuredClone(first.buffer, { transfer: [first.buffer] })
          return Buffer.from('second')
        },
      },
    ]
    const err = thrown(() => tx.sendMany(list, portOf(rx), '127.0.0.1'))
    expect(err.code).toBe('ERR_BUFFER_DETACHED')
    expect(err.message).toContain('list[0]')
    expect(tx.stats.sent).toBe(0)
    tx.send(Buffer.from('marker'), portOf(rx), '127.0.0.1')
    await until(() => got.length === 1, 'the marker')
    expect(got.map((m) => m.data.toString())).toEqual(['marker'])
  })

  test("a Proxy list whose element getter shrinks an earlier entry's resizable buffer: ERR_BUFFER_OUT_OF_BOUNDS, nothing sent", () => {
    const tx = track(sender('udp4'))
    const rab = new ArrayBuffer(64, { maxByteLength: 128 })
    const fixed = new Uint8Array(rab, 0, 64)
    const list = new Proxy([fixed, Buffer.from('x')], {
      get(target, key, receiver) {
        if (key === '1') rab.resize(8)
        return Reflect.get(target, key, receiver)
      },
    })
    const err = thrown(() => tx.sendMany(list, 9, '127.0.0.1'))
    expect(err.code).toBe('ERR_BUFFER_OUT_OF_BOUNDS')
    expect(err.message).toContain('list[0]')
    expect(tx.stats.sent).toBe(0)
  })

  test('a view its resizable buffer shrank away from: send and sendSegments throw ERR_BUFFER_OUT_OF_BOUNDS; recvInto throws and the datagram waits', async () => {
    const rx = track(bound('udp4'))
    const tx = track(sender('udp4'))
    const rab = new ArrayBuffer(64, { maxByteLength: 128 })
    const view = new Uint8Array(rab, 16, 32)
    rab.resize(8)
    expect(view.byteLength).toBe(0) // out of bounds reads as empty
    expect(thrown(() => tx.send(view, portOf(rx), '127.0.0.1')).code).toBe('ERR_BUFFER_OUT_OF_BOUNDS')
    expect(thrown(() => tx.sendSegments(view, 4, portOf(rx), '127.0.0.1')).code).toBe('ERR_BUFFER_OUT_OF_BOUNDS')
    expect(tx.stats.sent).toBe(0)
    tx.send(Buffer.from('kept'), portOf(rx), '127.0.0.1')
    await new Promise((f) => setTimeout(f, 20))
    expect(thrown(() => rx.recvInto(view)).code).toBe('ERR_BUFFER_OUT_OF_BOUNDS')
    const buf = Buffer.alloc(16)
    let r = null
    for (let i = 0; i < 200 && !r; i++) {
      r = rx.recvInto(buf)
      if (!r) await new Promise((f) => setTimeout(f, 5))
    }
    expect(buf.subarray(0, r!.bytes).toString()).toBe('kept')
  })
})

describe('re-entrant calls from user getters', () => {
  test('a SO_LINGER value getter that sets SO_LINGER itself cannot change what the outer call sends', () => {
    const s = track(createSocket({ type: 'tcp4' }))
    const value = {
      onoff: true,
      get linger() {
        s.setOption('SO_LINGER', { onoff: false, linger: 9 })
        return 3
      },
    }
    s.setOption('SO_LINGER', value)
    expect(s.getOption('SO_LINGER')).toEqual({ onoff: true, linger: 3 })
  })

  test('a getter that closes the socket and opens another (same fd number) puts nothing on the new socket', () => {
    /** A getter body: closes `victim`, opens a socket of the same kind in its fd number. */
    const swapper = (victim: Socket, made: Socket[]) => () => {
      const fd = victim.fd
      victim.close()
      const next = track(createSocket({ type: victim.type as 'tcp4' | 'udp4' }))
      expect(next.fd).toBe(fd)
      made.push(next)
    }
    const cases: [string, 'tcp4' | 'udp4', (victim: Socket, swap: () => void) => unknown, (s: Socket) => unknown, unknown][] = [
      [
        'setOption',
        'tcp4',
        (v, swap) =>
          v.setOption('SO_LINGER', {
            onoff: true,
            get linger() {
              swap()
              return 7
            },
          }),
        (s) => s.getOption('SO_LINGER'),
        { onoff: false, linger: 0 },
      ],
      [
        'setsockopt',
        'tcp4',
        (v, swap) =>
          v.setsockopt(constants.SOL_SOCKET, constants.SO_LINGER, {
            onoff: true,
            get linger() {
              swap()
              return 7
            },
          }),
        (s) => s.getOption('SO_LINGER'),
        { onoff: false, linger: 0 },
      ],
      [
        'attachFilter',
        'udp4',
        (v, swap) =>
          v.attachFilter([
            {
              code: 0x06,
              jt: 0,
              jf: 0,
              get k() {
                swap()
                return 0
              },
            },
          ]),
        (s) => thrown(() => s.detachFilter()).code,
        'ENOENT',
      ],
      [
        'setAncillary',
        'udp4',
        (v, swap) =>
          v.setAncillary({
            get ttl() {
              swap()
              return true
            },
          }),
        (s) => s.getOption('IP_RECVTTL'),
        false,
      ],
    ]
    for (const [name, type, call, probe, untouched] of cases) {
      const victim = createSocket({ type })
      const made: Socket[] = []
      const err = thrown(() => call(victim, swapper(victim, made)))
      expect(err.code, name).toBe('ERR_SOCKET_CLOSED')
      expect(made, name).toHaveLength(1)
      expect(probe(made[0]), name).toEqual(untouched)
    }
  })
})

describe("a throwing 'batch' listener", () => {
  test("does not take its batch from 'message' listeners and iterators; the error reaches uncaughtException", () => {
    const r = runChild(`
      const rx = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      const tx = n.createSocket({ type: 'udp4' })
      let messages = 0, iterated = 0, uncaught = 0
      process.on('uncaughtException', () => uncaught++)
      rx.on('batch', () => { throw new Error('batch listener failed') })
      rx.on('message', () => messages++)
      ;(async () => { for await (const m of rx) if (++iterated === 16) break })()
      for (let i = 0; i < 16; i++) tx.send(Buffer.from('d' + i), rx.address().port, '127.0.0.1')
      const end = Date.now() + 20000
      const check = () => (messages === 16 && iterated === 16) || Date.now() > end ? (console.log(JSON.stringify({ messages, iterated, received: rx.stats.received, threw: uncaught > 0 })), rx.close(), tx.close()) : setTimeout(check, 10)
      check()`)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({ messages: 16, iterated: 16, received: 16, threw: true })
  })
})

describe('errors are coded', () => {
  test('getsockopt with a kind that does not fit the option is ERR_INVALID_ARG_VALUE', () => {
    const s = track(createSocket({ type: 'tcp4' }))
    const err = thrown(() => s.getsockopt(constants.SOL_SOCKET, constants.SO_LINGER, 'timeval'))
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
    expect(err.message).toContain('SO_LINGER')
  })

  test('a BPF program over 4096 instructions is ERR_INVALID_ARG_VALUE, as instructions and as bytes', () => {
    const s = track(createSocket({ type: 'udp4' }))
    const many = Array.from({ length: 4097 }, () => ({ code: 6, jt: 0, jf: 0, k: 0 }))
    expect(thrown(() => s.attachFilter(many)).code).toBe('ERR_INVALID_ARG_VALUE')
    expect(thrown(() => s.attachFilter(new Uint8Array(4097 * 8))).code).toBe('ERR_INVALID_ARG_VALUE')
    const group = track(createSocket({ type: 'udp4', reusePort: true }).bind(0, '127.0.0.1'))
    expect(thrown(() => attachReusePortProgram(group, new Uint8Array(4097 * 8))).code).toBe('ERR_INVALID_ARG_VALUE')
  })

  test('an interface name with a NUL or longer than IFNAMSIZ is refused, not cut short', () => {
    const s = track(createSocket({ type: 'udp4' }))
    for (const name of ['lo\0eth0', 'x'.repeat(16)]) {
      expect(thrown(() => s.setOption('SO_BINDTODEVICE', name)).code).toMatch(/^ERR_(INVALID_ARG_VALUE|OUT_OF_RANGE)$/)
      expect(thrown(() => s.setMulticastInterface(name)).code).toBe('ERR_INVALID_ARG_VALUE')
    }
    expect(s.getOption('SO_BINDTODEVICE')).toBe('')
  })

  test('a numeric IPv6 zone beyond 32 bits is EINVAL, never wrapped to another interface', () => {
    const s = track(createSocket({ type: 'udp6' }))
    expect(thrown(() => s.bind(0, `fe80::1%${2 ** 32 + 1}`)).code).toBe('EINVAL')
  })

  test('SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC is a udp4 socket, and an ICMP datagram socket is not UDP', () => {
    const s = track(socket(constants.AF_INET, constants.SOCK_DGRAM | constants.SOCK_NONBLOCK | constants.SOCK_CLOEXEC, 0))
    expect(s.type).toBe('udp4')
    expect(s.socketType).toBe(constants.SOCK_DGRAM)
    s.setOption('UDP_GRO', true) // the table knows it is UDP
  })
})

describe('hints for privilege errors', () => {
  // No capabilities at all (what the kernel checks for these calls), still uid 0: the
  // checkout stays readable wherever it is (a clone under a mode-0700 mktemp directory).
  const unprivileged = (script: string) =>
    spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-all', process.execPath, '-e', `const n = require(${distLiteral});\n${script}`], {
      encoding: 'utf8',
      timeout: 60_000,
    })

  testWithCaps(['CAP_NET_ADMIN'], 'EPERM on an option the table marks privileged names the capability; EACCES on a low port names the sysctl', () => {
    const r = unprivileged(`
      const s = n.createSocket({ type: 'udp4' })
      const out = {}
      for (const [name, value] of [['SO_MARK', 1], ['SO_PRIORITY', 7], ['IP_TRANSPARENT', true]]) {
        try { s.setOption(name, value); out[name] = 'set' } catch (e) { out[name] = e.code + ': ' + (e.hint || '') }
      }
      try { n.createSocket({ type: 'tcp4' }).bind(80, '127.0.0.1'); out.bind = 'bound' } catch (e) { out.bind = e.code + ': ' + (e.hint || '') }
      console.log(JSON.stringify(out))`)
    expect(r.stderr).toBe('')
    const out = JSON.parse(r.stdout)
    expect(out.SO_MARK).toBe('EPERM: SO_MARK needs CAP_NET_ADMIN')
    expect(out.SO_PRIORITY).toBe('EPERM: SO_PRIORITY above 6 needs CAP_NET_ADMIN')
    expect(out.IP_TRANSPARENT).toMatch(/^EPERM: IP_TRANSPARENT needs CAP_NET_ADMIN/)
    const start = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
    if (start > 80) expect(out.bind).toBe(`EACCES: ports below ${start} (net.ipv4.ip_unprivileged_port_start) need CAP_NET_BIND_SERVICE`)
  })
})

// Found by a review of the restructured core (each failed before its fix).
describe('review findings', () => {
  test("close() inside a 'txtimestamp' handler ends netsock's own draining quietly", async () => {
    const r = runChild(`
      process.on('uncaughtException', (e) => { console.log(JSON.stringify({ uncaught: e.code })); process.exit(1) })
      const rx = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      const s = n.createSocket({ type: 'udp4' }).setTimestamping({ tx: true })
      s.on('txtimestamp', () => { s.close(); rx.close() })
      s.on('close', () => setTimeout(() => console.log(JSON.stringify({ closed: s.closed })), 50))
      s.send(Buffer.from('a'), rx.address().port, '127.0.0.1')`)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({ closed: true })
  })

  testWithCaps(['CAP_NET_ADMIN'], 'a send that meets EAGAIN on a socket adopted with owned: false throws EAGAIN and queues nothing', async () => {
    const result = await onShapedLoopback(`
      const dgram = require('dgram')
      const rx = netsock.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      const d = dgram.createSocket('udp4')
      await new Promise((r) => d.bind(0, '127.0.0.1', r))
      d.setSendBufferSize(1)
      const s = netsock.createSocket({ fd: netsock.fdOf(d), owned: false })
      const codes = []
      for (let i = 0; i < 3000 && codes.length < 3; i++) {
        try { s.send(Buffer.alloc(1000), rx.address().port, '127.0.0.1') } catch (e) { codes.push(e.code + ' ' + e.syscall) }
      }
      print({ codes, queued: s.stats.queued })`)
    expect(result.thrown ?? result.timedOut).toBeUndefined()
    expect(result.codes).toEqual(['EAGAIN sendto', 'EAGAIN sendto', 'EAGAIN sendto'])
    expect(result.queued).toBe(0)
  })

  test("after shutdown('read') a socket with a 'message' listener stops reading instead of spinning", async () => {
    const peer = track(createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'))
    const s = track(createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'))
    await s.connect(portOf(peer), '127.0.0.1')
    s.on('message', () => {})
    await new Promise((r) => setTimeout(r, 10))
    s.shutdown('read')
    const before = process.cpuUsage()
    await new Promise((r) => setTimeout(r, 500))
    const used = process.cpuUsage(before)
    // Spinning on EOF costs most of the half second; an idle wait costs next to nothing.
    expect((used.user + used.system) / 1000).toBeLessThan(150)
  })

  test("an adopted SOCK_SEQPACKET socket delivers each message once and stops at the peer's end", () => {
    const child = `
      const n = require(${distLiteral})
      const s = n.createSocket({ fd: Number(process.env.PAIR_FD) })
      let count = 0, empty = 0
      s.on('message', (m) => { count++; if (m.length === 0) empty++ })
      ;(async () => { for await (const _ of s) {} console.log(JSON.stringify({ count, empty, ended: true })); s.close() })()
      console.log('ready')`
    const py = `
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
p = subprocess.Popen([sys.argv[1], '-e', sys.argv[2]], pass_fds=[b.fileno()], stdout=subprocess.PIPE, text=True, env={'PAIR_FD': str(b.fileno())})
b.close()
assert p.stdout.readline().strip() == 'ready'
for i in range(100): a.send(i.to_bytes(4, 'little'))
a.close()
print(p.stdout.readline().strip()); p.wait(timeout=60)
`
    const r = spawnSync('python3', ['-c', py, process.execPath, child], { encoding: 'utf8', timeout: 90_000 })
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({ count: 100, empty: 0, ended: true })
  })

  test("an ICMP error left pending for a sent datagram does not crash a socket that only has a 'message' listener", async () => {
    const closed = createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
    const deadPort = portOf(closed)
    closed.close()
    const s = track(bound('udp4')).setOption('IP_RECVERR', true)
    const got = collect(s)
    s.send(Buffer.from('x'), deadPort, '127.0.0.1') // port unreachable comes back
    await new Promise((r) => setTimeout(r, 50))
    const tx = track(sender('udp4'))
    tx.send(Buffer.from('still reading'), portOf(s), '127.0.0.1')
    await until(() => got.length === 1, 'the next datagram')
    expect(got[0].data.toString()).toBe('still reading')
  })

  test('removeAllListeners() does not switch receiving off for listeners added afterwards', async () => {
    const rx = track(bound('udp4'))
    rx.on('message', () => {})
    rx.removeAllListeners()
    const got = collect(rx)
    track(sender('udp4')).send(Buffer.from('hi'), portOf(rx), '127.0.0.1')
    await until(() => got.length === 1, 'the datagram')
  })

  test('a udp6 socket connected to an IPv4-mapped peer written in hex sends control with the IPv4 options', async () => {
    const rx = bound('udp4').setAncillary({ ttl: true })
    const got = collect(rx)
    const s = track(createSocket({ type: 'udp6' }))
    await s.connect(portOf(rx), '::ffff:7f00:1')
    s.sendMessage({ data: Buffer.from('hex'), ttl: 5 })
    await until(() => got.length === 1, 'the datagram')
    expect(got[0].rinfo.ttl).toBe(5)
  })

  test('a send made from a getter of a sendMany entry does not change the control of the entries before it', async () => {
    const rx = bound('udp4').setAncillary({ ttl: true })
    const got = collect(rx)
    const s = track(sender('udp4'))
    const port = portOf(rx)
    s.sendMany(
      [
        { data: Buffer.from('A'), ttl: 10 },
        {
          data: Buffer.from('B'),
          get ttl() {
            s.sendMany([{ data: Buffer.from('X'), ttl: 99 }], port, '127.0.0.1')
            return 20
          },
        },
      ],
      port,
      '127.0.0.1',
    )
    await until(() => got.length === 3, 'three datagrams')
    expect(got.map((m) => `${m.data} ${m.rinfo.ttl}`).sort()).toEqual(['A 10', 'B 20', 'X 99'])
  })

  test('user code reached while a sendMany is prepared (a Proxy prototype, a patched Function.prototype.call) cannot change what it sends', () => {
    // In a child: patching Function.prototype.call would reach the test runner too.
    const r = runChild(`
      const rx = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      rx.setOption('SO_RCVBUF', 1 << 20)
      const s = n.createSocket({ type: 'udp4' })
      const port = rx.address().port
      const arena = new TextEncoder().encode('abcd........................').buffer
      let inside = false, nested = 0
      // Every time user code runs, a nested sendMany on the same socket (not from inside itself).
      const meddle = () => {
        if (inside || nested >= 200) return
        inside = true
        nested++
        s.sendMany([new Uint8Array(arena, 10, 18), new Uint8Array(new ArrayBuffer(3))], port, '127.0.0.1')
        inside = false
      }
      const trap = (proto) => new Proxy(proto, { getPrototypeOf(t) { meddle(); return Reflect.getPrototypeOf(t) } })
      const view = new DataView(new TextEncoder().encode('efgh').buffer)
      Object.setPrototypeOf(view, trap(DataView.prototype))
      const other = new TextEncoder().encode('ijkl').buffer
      Object.setPrototypeOf(other, trap(ArrayBuffer.prototype))
      const call = Function.prototype.call
      Function.prototype.call = function (...args) { meddle(); return Reflect.apply(call, this, args) }
      const outer = [new Uint8Array(arena, 0, 4), view, new Uint8Array(other), new Uint8Array(arena, 0, 4), Buffer.from('mnop')]
      const took = s.sendMany(outer, port, '127.0.0.1')
      Function.prototype.call = call
      const got = [], buf = Buffer.alloc(64), deadline = Date.now() + 5000
      while (got.length < outer.length + 2 * nested && Date.now() < deadline) {
        const m = rx.recvInto(buf)
        if (m) got.push(buf.toString('latin1', 0, m.bytes))
      }
      console.log(JSON.stringify({ took, nested, outer: got.filter((t) => !t.startsWith('.') && t !== '\\0\\0\\0'), total: got.length }))
      s.close(); rx.close()`)
    expect(r.stderr).toBe('')
    const out = JSON.parse(r.stdout) as { took: number; nested: number; outer: string[]; total: number }
    expect(out.took).toBe(5)
    expect(out.nested).toBeGreaterThan(0) // the user code did run, and sent
    expect(out.total).toBe(5 + 2 * out.nested)
    // The outer datagrams are the outer entries' own bytes, in order.
    expect(out.outer).toEqual(['abcd', 'efgh', 'ijkl', 'abcd', 'mnop'])
  })

  test('a sendMany entry longer than 2 GiB is refused by the kernel (EMSGSIZE), never sent cut to its low 32 bits', () => {
    const s = track(sender('udp4'))
    const rx = bound('udp4')
    for (const entry of [new ArrayBuffer(2 ** 32 + 5), new Uint8Array(new ArrayBuffer(2 ** 31 + 8), 8)]) {
      expect(() => s.sendMany([entry], portOf(rx), '127.0.0.1')).toThrow(expect.objectContaining({ code: 'EMSGSIZE', syscall: 'sendmmsg', sent: 0 }))
    }
    expect(s.stats.sent).toBe(0)
  })

  test('serveReusePort that cannot start a worker leaves no descriptor in the group', async () => {
    const { serveReusePort } = await import('../src/index.js')
    const before = fs.readdirSync('/proc/self/fd').length
    const err = await serveReusePort({ type: 'udp4', count: 2, address: '127.0.0.1', worker: __filename, workerData: { fn() {} } }).catch((e) => e)
    expect(err.name).toBe('DataCloneError')
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before)
  })

  test('SharedArrayBuffers work wherever bytes are taken (recvInto, sendSegments, readErrorQueue)', async () => {
    const rx = track(bound('udp4'))
    const tx = track(sender('udp4'))
    const shared = new SharedArrayBuffer(64)
    new Uint8Array(shared).fill(7)
    expect(tx.sendSegments(shared, 16, portOf(rx), '127.0.0.1')).toBe(true)
    await new Promise((r) => setTimeout(r, 20))
    const into = new SharedArrayBuffer(64)
    const r = rx.recvInto(into)
    expect(r?.bytes).toBe(16)
    expect(tx.readErrorQueue(new SharedArrayBuffer(64))).toBeNull()
  })

  test("an enum option value that names an Object.prototype member ('toString') is ERR_INVALID_ARG_VALUE", () => {
    const s = track(createSocket({ type: 'udp4' }))
    for (const value of ['toString', '__proto__', 'constructor']) expect(thrown(() => s.setOption('IP_MTU_DISCOVER', value)).code).toBe('ERR_INVALID_ARG_VALUE')
  })

  test("close(callback) on a closed socket runs the callback and emits no second 'close'", async () => {
    const s = createSocket({ type: 'udp4' })
    let closes = 0
    s.on('close', () => closes++)
    s.close()
    await new Promise<void>((resolve) => s.close(resolve))
    await s[Symbol.asyncDispose]()
    await new Promise((r) => setTimeout(r, 20))
    expect(closes).toBe(1)
  })

  test('the destination cache stays bounded when a socket sends to many ports', () => {
    const r = runChild(
      `
      const s = n.createSocket({ type: 'udp4' })
      const data = Buffer.alloc(1)
      gc(); const before = process.memoryUsage().heapUsed
      for (let a = 1; a <= 4; a++) for (let p = 1; p < 65536; p++) s.send(data, p, '127.0.0.' + a)
      gc(); console.log(JSON.stringify({ growthMB: (process.memoryUsage().heapUsed - before) / 1e6 }))`,
      ['--expose-gc'],
    )
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout).growthMB).toBeLessThan(20)
  }, 120_000)

  test('two copies of the JS modules over one addon (a module reset) each send to their own destinations', () => {
    const r = runChild(`
      const x = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      const y = n.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      // A second copy of every module but the addon, as a test runner's module reset makes.
      for (const k of Object.keys(require.cache)) if (k.includes('dist') && !k.endsWith('.node')) delete require.cache[k]
      const n2 = require(${distLiteral})
      const a = n.createSocket({ type: 'udp4' }), b = n2.createSocket({ type: 'udp4' })
      const px = x.address().port, py = y.address().port
      for (const [s, p] of [[a, px], [a, px], [b, py], [b, py], [a, px], [b, py], [a, px]]) s.send(Buffer.from('d'), p, '127.0.0.1')
      // Until 7 have arrived (or 5 s): loopback delivery may lag the sends on a busy machine.
      const counts = { x: 0, y: 0 }, buf = Buffer.alloc(8), deadline = Date.now() + 5000
      while (counts.x + counts.y < 7 && Date.now() < deadline) {
        if (x.recvInto(buf)) counts.x++
        if (y.recvInto(buf)) counts.y++
      }
      console.log(JSON.stringify({ ...counts, twoCopies: n !== n2 }))
      for (const s of [x, y, a, b]) s.close()`)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({ x: 4, y: 3, twoCopies: true })
  })

  test('zeroing stats.raw while a datagram is queued does not let a later send overtake it', () => {
    // Python makes an AF_UNIX datagram pair and hands both ends to a node child.
    const child = `
      const n = require(${distLiteral})
      const a = n.createSocket({ fd: Number(process.env.A_FD) })
      const b = n.createSocket({ fd: Number(process.env.B_FD) })
      let seq = 0
      const mk = () => { const d = Buffer.alloc(64); d.writeUInt32LE(seq++, 0); return d }
      while (a.send(mk()) && seq < 100000);
      const queuedAt = seq - 1
      a.stats.raw.fill(0)
      const got = []
      const buf = Buffer.alloc(64)
      const readAll = () => { let r; while ((r = b.recvInto(buf)) !== null) got.push(buf.readUInt32LE(0)) }
      readAll()
      const later = a.send(mk())
      a.once('drain', () => setImmediate(() => { readAll(); console.log(JSON.stringify({ queuedAt, later, got, total: seq })); a.close(); b.close() }))`
    const py = `
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
p = subprocess.Popen([sys.argv[1], '-e', sys.argv[2]], pass_fds=[a.fileno(), b.fileno()], stdout=subprocess.PIPE, text=True, env={'A_FD': str(a.fileno()), 'B_FD': str(b.fileno())})
a.close(); b.close()
print(p.stdout.readline().strip()); p.wait(timeout=60)
`
    const r = spawnSync('python3', ['-c', py, process.execPath, child], { encoding: 'utf8', timeout: 90_000 })
    expect(r.stderr).toBe('')
    const out = JSON.parse(r.stdout)
    expect(out.queuedAt).toBeGreaterThan(0)
    expect(out.later).toBe(false) // queued behind the waiting datagram, whatever the counters say
    expect(out.got).toEqual(Array.from({ length: out.total }, (_, i) => i))
  })

  test('a DataView whose buffer was detached is ERR_BUFFER_DETACHED in send, sendMany and sendMessage', () => {
    const s = track(createSocket({ type: 'udp4' }).bind(0, '127.0.0.1'))
    const port = portOf(s)
    const detachedView = (): DataView => {
      const view = new DataView(new ArrayBuffer(8))
      structuredClone(view.buffer, { transfer: [view.buffer] })
      return view
    }
    expect(thrown(() => s.send(detachedView(), port, '127.0.0.1')).code).toBe('ERR_BUFFER_DETACHED')
    expect(thrown(() => s.sendMany([detachedView()], port, '127.0.0.1')).code).toBe('ERR_BUFFER_DETACHED')
    expect(thrown(() => s.sendMessage({ data: detachedView(), port, address: '127.0.0.1' })).code).toBe('ERR_BUFFER_DETACHED')
    // Detached by a getter of a later entry, after the first was checked.
    const view = new DataView(new ArrayBuffer(8))
    const entry = {
      get data() {
        structuredClone(view.buffer, { transfer: [view.buffer] })
        return Buffer.alloc(4)
      },
    }
    expect(thrown(() => s.sendMany([view, entry], port, '127.0.0.1')).code).toBe('ERR_BUFFER_DETACHED')
    expect(s.stats.sent).toBe(0)
  })
})
