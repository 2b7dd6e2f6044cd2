// `netsock bench`: a quick loopback UDP throughput check, netsock against
// node:dgram in the same run. The full benchmark with the C reference is
// `npm run bench` in a checkout.
import dgram from 'node:dgram'
import { createSocket } from '../create.js'
import { EXIT_OK, intValue, type Command, type Io } from './args.js'

interface Result {
  sent: number
  received: number
  seconds: number
  pps: number
}

async function measure(
  label: string,
  seconds: number,
  io: Io,
  run: (until: number, tick: () => void) => Promise<Omit<Result, 'pps' | 'seconds'>>,
): Promise<Result> {
  const start = performance.now()
  const until = start + seconds * 1000
  let last = 0
  const tick = (): void => {
    const now = performance.now()
    if (now - last > 200) {
      last = now
      io.progress(`${label}: ${Math.min(100, Math.round(((now - start) / (seconds * 1000)) * 100))}%`)
    }
  }
  const r = await run(until, tick)
  io.progress('')
  const elapsed = (performance.now() - start) / 1000
  return { ...r, seconds: elapsed, pps: r.received / elapsed }
}

const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r))

async function netsockRun(size: number, until: number, tick: () => void): Promise<{ sent: number; received: number }> {
  const rx = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 }).bind(0, '127.0.0.1')
  const tx = createSocket({ type: 'udp4' })
  const port = rx.address().port
  const payload = Buffer.alloc(size)
  const list = Array.from({ length: 64 }, () => payload)
  let received = 0
  rx.on('batch', (b) => (received += b.length))
  let sent = 0
  while (performance.now() < until) {
    sent += tx.sendMany(list, port, '127.0.0.1')
    if (tx.stats.queued > 0) await new Promise<void>((r) => tx.once('drain', r))
    await yieldLoop()
    tick()
  }
  sent += tx.stats.queued
  await new Promise((r) => setTimeout(r, 50))
  rx.close()
  tx.close()
  return { sent, received }
}

async function dgramRun(size: number, until: number, tick: () => void): Promise<{ sent: number; received: number }> {
  const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 })
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r))
  const tx = dgram.createSocket('udp4')
  const port = rx.address().port
  const payload = Buffer.alloc(size)
  let received = 0
  rx.on('message', () => received++)
  let sent = 0
  while (performance.now() < until) {
    await new Promise<void>((resolve) => {
      let pending = 64
      for (let i = 0; i < 64; i++) tx.send(payload, port, '127.0.0.1', () => --pending === 0 && resolve())
    })
    sent += 64
    await yieldLoop()
    tick()
  }
  await new Promise((r) => setTimeout(r, 50))
  rx.close()
  tx.close()
  return { sent, received }
}

export const bench: Command = {
  name: 'bench',
  summary: 'quick loopback UDP throughput: netsock vs node:dgram (the full benchmark is npm run bench)',
  operands: '',
  streaming: false,
  flags: [
    { name: 'seconds', value: 'N', default: '2', help: 'seconds per contestant' },
    { name: 'size', value: 'BYTES', default: '64', help: 'datagram payload size' },
  ],
  async run({ values }, io) {
    const seconds = intValue(values.seconds, '--seconds', 1, 3600) ?? 2
    const size = intValue(values.size, '--size', 1, 65507) ?? 64
    const ns = await measure('netsock', seconds, io, (until, tick) => netsockRun(size, until, tick))
    const dg = await measure('dgram', seconds, io, (until, tick) => dgramRun(size, until, tick))
    const ratio = ns.pps / dg.pps
    if (io.json) {
      io.out(JSON.stringify({ size, netsock: ns, dgram: dg, ratio }, null, 2))
      return EXIT_OK
    }
    const fmt = (r: Result): string => `${Math.round(r.pps).toLocaleString('en-US').padStart(12)} datagrams/s delivered  (${r.received}/${r.sent})`
    io.out(`UDP over loopback, ${size} B datagrams, ${seconds} s each`)
    io.out(`netsock sendMany + 'batch'   ${fmt(ns)}`)
    io.out(`node:dgram send + 'message'  ${fmt(dg)}`)
    io.out(`netsock / dgram: ${ratio.toFixed(2)}x`)
    return EXIT_OK
  },
}
