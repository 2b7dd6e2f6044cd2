// Fuzzes the public API with fast-check: every call with arbitrary arguments
// must either succeed or throw an Error that carries a `code` (an argument
// error or a system error). A crash in native code would kill this worker and
// fail the run. A fixed seed runs in `npm test`; `npm run fuzz` runs long with
// random seeds (NETSOCK_FUZZ_RUNS, NETSOCK_FUZZ_SEED).
import fc from 'fast-check'
import { afterAll, describe, expect, test } from 'vitest'
import * as netsock from '../src/index.js'

const RUNS = Number(process.env.NETSOCK_FUZZ_RUNS ?? 150)
const SEED = process.env.NETSOCK_FUZZ_SEED === undefined ? 20261123 : Number(process.env.NETSOCK_FUZZ_SEED)
const params = { numRuns: RUNS, seed: SEED === -1 ? undefined : SEED }

const detached = (): ArrayBuffer => {
  const ab = new ArrayBuffer(16)
  structuredClone(ab, { transfer: [ab] })
  return ab
}

/** Values that break naive code: wrong types, edge numbers, odd buffers. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    1,
    -1,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    -(2 ** 31) - 1,
    65535,
    65536,
    1.5,
    '',
    'lo',
    '127.0.0.1',
    '::1',
    '::ffff:1.2.3.4',
    'fe80::1%lo',
    '999.1.1.1',
    'SO_REUSEADDR',
    'TCP_NODELAY',
    true,
    false,
    10n,
    Symbol('x'),
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.constantFrom(1, 4, 8, 100, 70000).map((n) => Buffer.alloc(n)),
  fc.constant(null).map(() => detached()),
  fc.constant(null).map(() => new Uint8Array(new SharedArrayBuffer(32))),
  fc.constant(null).map(() => new DataView(new ArrayBuffer(12), 3, 5)),
  fc.constant(null).map(() => new Float64Array(3)),
  fc.constant(null).map(() => new Uint8Array(0)),
  fc.constantFrom(
    {},
    [],
    { onoff: true, linger: 1 },
    { sec: 1, usec: 5 },
    { onoff: 'x' },
    { sec: -1, usec: 2e6 },
    [Buffer.from('a'), { data: Buffer.from('b'), port: 9 }],
    [1, 2],
    () => 0,
  ),
)

const open: netsock.Socket[] = []
afterAll(() => {
  for (const s of open) s.close()
})

function make(kind: 'udp4' | 'udp6' | 'tcp4' | 'tcp6', state: number): netsock.Socket {
  const s = netsock.createSocket({ type: kind })
  open.push(s)
  const v6 = kind.endsWith('6')
  if (state >= 1) s.bind(0, v6 ? '::1' : '127.0.0.1')
  if (state >= 2 && kind.startsWith('tcp')) s.listen()
  if (state >= 3) s.close()
  return s
}

/** Calls fn; passes if it returns (or its promise settles) or throws an Error with a code. */
async function survives(fn: () => unknown): Promise<void> {
  let result: unknown
  try {
    result = fn()
  } catch (err) {
    expect(err).toBeInstanceOf(Error)
    expect(typeof (err as { code?: unknown }).code, String(err)).toBe('string')
    return
  }
  if (result instanceof Promise) {
    const settled = await Promise.race([
      result.then(
        () => 'ok',
        (e) => e,
      ),
      new Promise((r) => setTimeout(() => r('pending'), 20)),
    ])
    if (settled instanceof Error) expect(typeof (settled as { code?: unknown }).code, String(settled)).toBe('string')
  }
}

const METHODS = [
  'bind',
  'connect',
  'listen',
  'send',
  'sendMany',
  'sendSegments',
  'recvInto',
  'setsockopt',
  'getsockopt',
  'setOption',
  'getOption',
  'shutdown',
  'setAncillary',
  'address',
  'remoteAddress',
  'disconnect',
] as const

describe('fuzzing the public API', () => {
  test('Socket methods with arbitrary arguments, in every state, never crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('udp4', 'udp6', 'tcp4', 'tcp6' as const),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(...METHODS),
        fc.array(anything, { maxLength: 5 }),
        async (kind, state, method, args) => {
          const s = make(kind, state)
          await survives(() => (s[method] as (...a: unknown[]) => unknown)(...args))
          s.close()
        },
      ),
      params,
    )
  })

  test('module functions with arbitrary arguments never crash', async () => {
    const fns = {
      createSocket: netsock.createSocket,
      socket: netsock.socket,
      htons: netsock.htons,
      htonl: netsock.htonl,
      ntohs: netsock.ntohs,
      ntohl: netsock.ntohl,
      checksum: netsock.checksum,
      fdOf: netsock.fdOf,
    } as Record<string, (...a: unknown[]) => unknown>
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(fns)), fc.array(anything, { maxLength: 4 }), async (name, args) => {
        await survives(() => {
          const r = fns[name](...args)
          if (r instanceof netsock.Socket) {
            open.push(r)
            r.close()
          }
          return r
        })
      }),
      params,
    )
  })

  test('arbitrary option names and values through setOption/getOption never crash', async () => {
    const names = [...netsock.optionTable.keys()]
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...names), fc.constantFrom('udp4', 'udp6', 'tcp4', 'tcp6' as const), anything, async (name, kind, value) => {
        const s = make(kind, 0)
        await survives(() => s.setOption(name, value as never))
        await survives(() => s.getOption(name))
        s.close()
      }),
      params,
    )
  })

  test('reentrant calls from a batch handler (send, close, recvInto) never crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('send', 'close', 'recvInto', 'removeAll', 'keepView'), { minLength: 1, maxLength: 4 }), async (actions) => {
        const rx = make('udp4', 1)
        const tx = make('udp4', 0)
        const port = rx.address().port
        let kept: Buffer | null = null
        const handled = new Promise<void>((resolve) => {
          rx.on('batch', (batch) => {
            for (const a of actions) {
              if (a === 'send') void survives(() => rx.send(batch.data(0), port, '127.0.0.1'))
              if (a === 'close') rx.close()
              if (a === 'recvInto') void survives(() => rx.recvInto(Buffer.alloc(8)))
              if (a === 'removeAll') rx.removeAllListeners('batch')
              if (a === 'keepView') kept = batch.data(0)
            }
            resolve()
          })
        })
        tx.sendMany([Buffer.from('one'), Buffer.from('two')], port)
        await Promise.race([handled, new Promise((r) => setTimeout(r, 500))])
        if (kept) expect((kept as Buffer).length).toBeGreaterThanOrEqual(0) // a stale view is readable memory, never freed
        rx.close()
        tx.close()
      }),
      { ...params, numRuns: Math.min(RUNS, 60) },
    )
  })

  test('getters and Proxies that transfer, shrink or close mid-call, over resizable and shared buffers: a coded error or a whole send, never an empty or wrong datagram', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('send', 'sendMany', 'sendSegments', 'recvInto', 'setOption', 'setsockopt', 'setAncillary', 'attachFilter'),
        fc.array(fc.constantFrom('plain', 'resizable', 'tracking', 'shared', 'growable', 'dataview', 'dataview-resizable'), { minLength: 1, maxLength: 4 }),
        fc.array(fc.constantFrom('transfer', 'shrink', 'grow', 'close', 'none'), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 64 }),
        async (method, kinds, actions, size) => {
          const rx = make('udp4', 1)
          const s = make('udp4', 0)
          const port = rx.address().port
          // Every buffer is non-empty and filled with 0x5a when made (a length-tracking view may
          // shrink, legitimately, before it is validated): a datagram that is empty, larger than any
          // buffer or holds other bytes can only come from memory read after it changed.
          const views = kinds.map((kind) => makeView(kind, size))
          let step = 0
          const act = (): void => {
            const action = actions[step++ % actions.length]
            const target = views[step % views.length]
            if (action === 'transfer' && target.buffer instanceof ArrayBuffer && !target.buffer.resizable)
              structuredClone(target.buffer, { transfer: [target.buffer] })
            if (action === 'shrink' && target.buffer instanceof ArrayBuffer && target.buffer.resizable) target.buffer.resize(1)
            if (action === 'grow' && target.buffer instanceof SharedArrayBuffer && target.buffer.growable)
              target.buffer.grow(Math.min(target.buffer.maxByteLength, target.buffer.byteLength + 8))
            if (action === 'close') s.close()
          }
          const hostile = <T>(value: T): T => {
            act()
            return value
          }
          const calls: Record<string, () => unknown> = {
            send: () => s.send(hostile(views[0].view), port, '127.0.0.1'),
            sendMany: () =>
              s.sendMany(
                new Proxy(
                  views.map((v, i) =>
                    i % 2
                      ? {
                          get data() {
                            return hostile(v.view)
                          },
                        }
                      : v.view,
                  ),
                  { get: (t, k, r) => (k !== 'length' && typeof k === 'string' && act(), Reflect.get(t, k, r)) },
                ),
                port,
                '127.0.0.1',
              ),
            sendSegments: () => s.sendSegments(hostile(views[0].view), Math.max(1, Math.floor(size / 3)), port, '127.0.0.1'),
            recvInto: () => rx.recvInto(hostile(views[0].view)),
            setOption: () =>
              s.setOption('SO_LINGER', {
                get onoff() {
                  return hostile(true)
                },
                get linger() {
                  return hostile(3)
                },
              } as never),
            setsockopt: () =>
              s.setsockopt(netsock.constants.SOL_SOCKET, netsock.constants.SO_RCVTIMEO, {
                get sec() {
                  return hostile(1)
                },
                usec: 0,
              } as never),
            setAncillary: () =>
              s.setAncillary({
                get ttl() {
                  return hostile(true)
                },
                get tos() {
                  return hostile(false)
                },
              }),
            attachFilter: () =>
              s.attachFilter([
                {
                  code: 0x06,
                  jt: 0,
                  jf: 0,
                  get k() {
                    return hostile(0xffff)
                  },
                },
              ]),
          }
          if (method === 'recvInto') make('udp4', 0).send(Buffer.alloc(size, 0x5a), port, '127.0.0.1')
          await survives(calls[method])
          // Whatever reached the receiver is whole.
          const got = Buffer.alloc(256)
          for (let r; (r = rx.recvInto(got));) {
            expect(r.size, 'an empty datagram').toBeGreaterThan(0)
            expect(r.size).toBeLessThanOrEqual(size)
            expect(
              got.subarray(0, r.bytes).every((b) => b === 0x5a),
              'bytes that were never sent',
            ).toBe(true)
          }
          rx.close()
          s.close()
        },
      ),
      { ...params, numRuns: Math.min(RUNS * 2, 400) },
    )
  })
})

/**
 * A non-empty view of 0x5a bytes over a plain, resizable (fixed or length-tracking), shared or
 * growable buffer; a DataView over a plain or resizable one ('dataview', 'dataview-resizable').
 */
function makeView(kind: string, size: number): { view: ArrayBufferView; buffer: ArrayBufferLike } {
  const buffer =
    kind === 'resizable' || kind === 'tracking' || kind === 'dataview-resizable'
      ? new ArrayBuffer(size, { maxByteLength: size * 2 })
      : kind === 'shared'
        ? new SharedArrayBuffer(size)
        : kind === 'growable'
          ? new SharedArrayBuffer(size, { maxByteLength: size * 2 })
          : new ArrayBuffer(size)
  new Uint8Array(buffer).fill(0x5a)
  if (kind.startsWith('dataview')) return { view: new DataView(buffer, 0, size), buffer }
  return { view: kind === 'tracking' ? new Uint8Array(buffer) : new Uint8Array(buffer, 0, size), buffer }
}
