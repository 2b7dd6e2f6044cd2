import { afterAll, expect } from 'vitest'
import { cleanupNetns, createNetns, linkNetns, nsExec, spawnNodeInNetns } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'

afterAll(cleanupNetns)

testWithCaps(['CAP_NET_ADMIN'], 'two namespaces linked by a veth pair exchange UDP through netsock', async () => {
  const a = createNetns('a')
  const b = createNetns('b')
  const [ea, eb] = linkNetns({ ns: a, cidr: '10.231.0.1/24' }, { ns: b, cidr: '10.231.0.2/24' })
  expect(nsExec(a, ['ip', '-o', 'addr', 'show', 'dev', ea.ifname])).toContain('10.231.0.1/24')
  const receiver = spawnNodeInNetns(
    b,
    `
    const s = netsock.createSocket({ type: 'udp4' }).bind(7000, '${eb.address}')
    s.on('message', (m, r) => { console.log(JSON.stringify({ text: m.toString(), from: r.address })); s.close() })
    console.log(JSON.stringify({ ready: true }))`,
  )
  try {
    expect(await receiver.next()).toEqual({ ready: true })
    const sender = spawnNodeInNetns(
      a,
      `
      const s = netsock.createSocket({ type: 'udp4' })
      s.send(Buffer.from('across'), 7000, '${eb.address}'); s.close(); console.log('{}')`,
    )
    await sender.next()
    expect(await receiver.next()).toEqual({ text: 'across', from: ea.address })
  } finally {
    receiver.stop()
  }
})
