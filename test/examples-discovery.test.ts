// examples/discovery.ts, run with its one command: responders answer a
// broadcast query, the seeker lists them. On loopback (127.255.255.255) and
// across a veth pair (10.243.0.0/24) to the subnet broadcast address and to
// 255.255.255.255 through an interface.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { createSocket } from '../src/index.js'
import { cleanupNetns, createNetns, linkNetns } from './helpers/netns.js'
import { trackedExamples } from './helpers/ns-udp.js'
import { testWithCaps } from './helpers/privilege.js'

afterAll(cleanupNetns)
const start = trackedExamples()

test('the examples type-check (npx tsc -p examples)', () => {
  const tsc = path.resolve(__dirname, '../node_modules/typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', path.resolve(__dirname, '../examples')], { stdio: 'pipe' })
}, 60_000)

const byName = (services: { name: string }[]) => [...services].sort((x, y) => x.name.localeCompare(y.name))

test('on loopback: two responders answer the broadcast query', async () => {
  // A free port for this run (closed at once; the responders share it with SO_REUSEADDR).
  const probe = createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
  const port = String(probe.address().port)
  probe.close()
  const alpha = start(null, 'discovery.ts', ['respond', '--name', 'alpha', '--port', port])
  const beta = start(null, 'discovery.ts', ['respond', '--name', 'beta', '--port', port])
  expect(await alpha.next()).toEqual({ answering: 'alpha', port: Number(port) })
  expect(await beta.next()).toEqual({ answering: 'beta', port: Number(port) })
  const seeker = start(null, 'discovery.ts', ['seek', '--address', '127.255.255.255', '--port', port, '--timeout', '600'])
  expect(await seeker.exit).toBe(0)
  expect(byName(await seeker.rest())).toEqual([
    { name: 'alpha', address: '127.0.0.1', port: Number(port) },
    { name: 'beta', address: '127.0.0.1', port: Number(port) },
  ])
}, 30_000)

testWithCaps(
  ['CAP_NET_ADMIN'],
  'across namespaces: the subnet broadcast and 255.255.255.255 on an interface find the responders',
  async () => {
    const a = createNetns('dsa')
    const b = createNetns('dsb')
    const [ea, eb] = linkNetns({ ns: a, cidr: '10.243.0.1/24' }, { ns: b, cidr: '10.243.0.2/24' })
    const port = '41943'
    const alpha = start(b, 'discovery.ts', ['respond', '--name', 'alpha', '--port', port])
    const beta = start(b, 'discovery.ts', ['respond', '--name', 'beta', '--port', port])
    await alpha.next()
    await beta.next()
    const expected = [
      { name: 'alpha', address: eb.address, port: 41943 },
      { name: 'beta', address: eb.address, port: 41943 },
    ]
    const subnet = start(a, 'discovery.ts', ['seek', '--address', '10.243.0.255', '--port', port, '--timeout', '600'])
    const limited = start(a, 'discovery.ts', ['seek', '--interface', ea.ifname, '--port', port, '--timeout', '600'])
    expect(await subnet.exit).toBe(0)
    expect(await limited.exit).toBe(0)
    expect(byName(await subnet.rest())).toEqual(expected)
    expect(byName(await limited.rest())).toEqual(expected)
    // Without an interface the limited broadcast has no route in A: the kernel's error, reported.
    const unrouted = start(a, 'discovery.ts', ['seek', '--port', port, '--timeout', '200'])
    expect(await unrouted.exit).toBe(1)
    expect(unrouted.stderr).toMatch(/sendto ENETUNREACH 255\.255\.255\.255:41943/)
  },
  30_000,
)
