// examples/heartbeat/, run with its one command on loopback: clients beat
// every 150 ms, the server reports a client silent after 5 missed intervals
// and back when it beats again; a steady client is never reported.
import { expect, test } from 'vitest'
import { decodeBeat, encodeBeat } from '../examples/heartbeat/protocol.js'
import { trackedExamples } from './helpers/ns-udp.js'

const start = trackedExamples()

test('the beat datagram round-trips and foreign datagrams are ignored', () => {
  expect(decodeBeat(encodeBeat({ id: 'web 1', seq: 42 }))).toEqual({ id: 'web 1', seq: 42 })
  for (const junk of ['', 'HB1 ', 'HB1 x y', 'HB1 3', 'HB1 3 ', 'hello']) expect(decodeBeat(Buffer.from(junk))).toBeNull()
})

test('the server reports a client that went silent, and when it comes back; a steady client never', async () => {
  const INTERVAL = 150
  const MISSES = 5
  const server = start(null, 'heartbeat/server.ts', ['--port', '0', '--address', '127.0.0.1', '--interval', String(INTERVAL), '--misses', String(MISSES)])
  const listening = await server.next()
  expect(listening).toMatchObject({ event: 'listening', address: '127.0.0.1', family: 'IPv4' })
  const port = String(listening.port)
  const client = (id: string) => start(null, 'heartbeat/client.ts', ['--id', id, '--port', port, '--interval', String(INTERVAL)])
  client('steady')
  const flaky = client('flaky')
  const events: any[] = []
  const nextEvent = async () => {
    const e = await server.next(15_000)
    events.push(e)
    return e
  }
  const joined = [await nextEvent(), await nextEvent()]
  expect(joined.map((e) => e.event)).toEqual(['joined', 'joined'])
  expect(joined.map((e) => e.id).sort()).toEqual(['flaky', 'steady'])
  // Let a few beats pass, then the flaky client dies without a word.
  await new Promise((r) => setTimeout(r, 3 * INTERVAL))
  flaky.stop()
  const silent = await nextEvent()
  expect(silent).toMatchObject({ event: 'silent', id: 'flaky', address: '127.0.0.1' })
  expect(silent.silentMs).toBeGreaterThan(INTERVAL * MISSES)
  expect(silent.lastSeq).toBeGreaterThanOrEqual(2)
  client('flaky') // a new process under the same id: its sequence restarts
  const back = await nextEvent()
  expect(back).toMatchObject({ event: 'back', id: 'flaky', lastSeq: 0 })
  expect(back.silentMs).toBeGreaterThan(silent.silentMs)
  expect(events.filter((e) => e.id === 'steady' && e.event !== 'joined')).toEqual([])
}, 30_000)
