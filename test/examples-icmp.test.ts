// The ping and traceroute examples, run the way their headers say: on
// loopback, and through a router between two namespaces.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, expect } from 'vitest'
import { cleanupNetns, createNetns, linkNetns, nsExec } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'

afterAll(cleanupNetns)

const run = promisify(execFile)
const root = path.resolve(__dirname, '..')
const example = (name: string, args: string[]): string[] => [process.execPath, '-r', './examples/register.cjs', `examples/${name}.ts`, ...args]

async function lines(argv: string[]): Promise<any[]> {
  const { stdout } = await run(argv[0], argv.slice(1), { cwd: root, timeout: 20_000 })
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
}

testWithCaps(['CAP_NET_RAW'], 'examples/ping.ts pings loopback and prints a summary', async () => {
  const out = await lines(example('ping', ['127.0.0.1', '-c', '2', '-i', '0.05', '--json']))
  expect(out).toEqual([
    expect.objectContaining({ seq: 1, from: '127.0.0.1' }),
    expect.objectContaining({ seq: 2, from: '127.0.0.1' }),
    { summary: expect.objectContaining({ transmitted: 2, received: 2 }) },
  ])
})

testWithCaps(
  ['CAP_NET_ADMIN'],
  'examples/traceroute.ts run in namespace A shows the router, then B',
  async () => {
    const a = createNetns('exA')
    const r = createNetns('exR')
    const b = createNetns('exB')
    linkNetns({ ns: a, cidr: '10.214.1.1/24' }, { ns: r, cidr: '10.214.1.2/24' })
    linkNetns({ ns: r, cidr: '10.214.2.1/24' }, { ns: b, cidr: '10.214.2.2/24' })
    nsExec(r, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
    nsExec(a, ['ip', 'route', 'add', 'default', 'via', '10.214.1.2'])
    nsExec(b, ['ip', 'route', 'add', 'default', 'via', '10.214.2.1'])
    const out = await lines(['ip', 'netns', 'exec', a, ...example('traceroute', ['10.214.2.2', '-m', '4', '-q', '2', '-w', '2', '--json'])])
    expect(out).toEqual([
      expect.objectContaining({ ttl: 1, address: '10.214.1.2', reached: false, probes: [expect.anything(), expect.anything()] }),
      expect.objectContaining({ ttl: 2, address: '10.214.2.2', reached: true }),
    ])
  },
  30_000,
)
