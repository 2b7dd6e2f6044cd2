// A packet socket for all protocols (ETH_P_ALL, as tcpdump opens) on lo sees
// each frame twice: once going out (dev_queue_xmit hands a copy to such taps,
// pkttype PACKET_OUTGOING) and once coming back in (netif_receive_skb,
// PACKET_HOST); PACKET_IGNORE_OUTGOING drops the first copy (man 7 packet). Run in a namespace of its own, so only the test's
// datagram crosses that lo.
import { execFileSync } from 'node:child_process'
import { afterAll, expect } from 'vitest'
import { constants, createSocket } from '../src/index.js'
import { distLiteral } from './helpers/child.js'
import { cleanupNetns, createNetns } from './helpers/netns.js'
import { testWithCaps } from './helpers/privilege.js'

afterAll(cleanupNetns)

testWithCaps(['CAP_NET_RAW'], 'PACKET_IGNORE_OUTGOING is set and read back on a packet socket', () => {
  const s = createSocket({ type: 'packet', packetType: 'dgram', protocol: 0 })
  try {
    expect(s.getOption('PACKET_IGNORE_OUTGOING')).toBe(false)
    s.setOption('PACKET_IGNORE_OUTGOING', true)
    expect(s.getOption('PACKET_IGNORE_OUTGOING')).toBe(true)
    expect(s.getsockopt(constants.SOL_PACKET, constants.PACKET_IGNORE_OUTGOING, 'int')).toBe(1)
  } finally {
    s.close()
  }
})

testWithCaps(
  ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
  'on lo an ETH_P_ALL packet socket sees each frame twice (out, then in); PACKET_IGNORE_OUTGOING keeps only the one coming in',
  () => {
    const ns = createNetns('pktlo')
    const script = `
    const { createSocket } = require(${distLiteral})
    ;(async () => {
      const out = {}
      for (const ignore of [false, true]) {
        const sniff = createSocket({ type: 'packet', packetType: 'dgram', protocol: 0 })
        if (ignore) sniff.setOption('PACKET_IGNORE_OUTGOING', true)
        sniff.bind('lo', ${constants.ETH_P_ALL}) // ETH_P_ALL: taps of outgoing frames are for all-protocol sockets only
        const rx = createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
        const tx = createSocket({ type: 'udp4' })
        const marker = Buffer.from('netsock-lo-' + ignore)
        const arrived = new Promise((r) => rx.once('message', r))
        tx.send(marker, rx.address().port, '127.0.0.1')
        // The UDP socket has it: both taps of the frame ran before its delivery.
        await arrived
        const buf = Buffer.alloc(2048)
        const seen = []
        for (let r; (r = sniff.recvInto(buf)); ) if (buf.subarray(0, r.bytes).includes(marker)) seen.push(r.rinfo.pkttype)
        out[ignore ? 'ignoring' : 'default'] = seen
        for (const s of [sniff, rx, tx]) s.close()
      }
      console.log(JSON.stringify(out))
    })().catch((e) => console.log(JSON.stringify({ error: String(e.stack) })))`
    const out = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 }))
    expect(out.error).toBeUndefined()
    expect(out.default).toEqual([constants.PACKET_OUTGOING, constants.PACKET_HOST])
    expect(out.ignoring).toEqual([constants.PACKET_HOST])
  },
)
