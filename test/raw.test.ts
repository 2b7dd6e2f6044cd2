// Raw IPv4/IPv6 sockets, IP_HDRINCL, AF_PACKET (SOCK_RAW and SOCK_DGRAM) and
// classic BPF socket filters. All traffic stays on loopback.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { checksum, createSocket, encodeBpf, parseBpf, type Socket } from '../src/index.js'
import { bigReceiveBuffer, collect, sleep, until } from './helpers/datagram.js'
import { testWithCaps } from './helpers/privilege.js'
import { track } from './helpers/sockets.js'

const FIXTURE = fs.readFileSync(path.join(__dirname, 'fixtures/bpf-udp-dst-40123.txt'), 'utf8')
const FILTER_PORT = 40123

/** A hand-built IPv4 + UDP packet 127.0.0.1 -> 127.0.0.1, both checksums filled in. */
function ipv4Udp(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const udpLen = 8 + payload.length
  const p = Buffer.alloc(20 + udpLen)
  p[0] = 0x45 // version 4, IHL 5
  p.writeUInt16BE(p.length, 2)
  p.writeUInt16BE(0x4000, 6) // DF
  p[8] = 64 // TTL
  p[9] = 17 // UDP
  p.set([127, 0, 0, 1], 12)
  p.set([127, 0, 0, 1], 16)
  p.writeUInt16BE(checksum(p.subarray(0, 20)), 10)
  const udp = p.subarray(20)
  udp.writeUInt16BE(srcPort, 0)
  udp.writeUInt16BE(dstPort, 2)
  udp.writeUInt16BE(udpLen, 4)
  payload.copy(udp, 8)
  // Pseudo-header (RFC 768): source, destination, zero + protocol, UDP length.
  const pseudo = 0x7f00 + 0x0001 + 0x7f00 + 0x0001 + 17 + udpLen
  udp.writeUInt16BE(checksum(udp, pseudo) || 0xffff, 6)
  return p
}

/** Classic BPF over an IPv4 header: UDP, not a fragment, destination port == port. */
function udpDstFilter(port: number) {
  return [
    { code: 0x30, jt: 0, jf: 0, k: 9 }, //         ldb [9]
    { code: 0x15, jt: 0, jf: 6, k: 17 }, //        jeq #17
    { code: 0x28, jt: 0, jf: 0, k: 6 }, //         ldh [6]
    { code: 0x45, jt: 4, jf: 0, k: 0x1fff }, //    jset #0x1fff
    { code: 0xb1, jt: 0, jf: 0, k: 0 }, //         ldxb 4*([0]&0xf)
    { code: 0x48, jt: 0, jf: 0, k: 2 }, //         ldh [x + 2]
    { code: 0x15, jt: 0, jf: 1, k: port }, //      jeq #port
    { code: 0x06, jt: 0, jf: 0, k: 0x40000 }, //   ret #262144
    { code: 0x06, jt: 0, jf: 0, k: 0 }, //         ret #0
  ]
}

function udpDstPort(ipPacket: Buffer): number {
  return ipPacket.readUInt16BE((ipPacket[0] & 0x0f) * 4 + 2)
}

describe('classic BPF programs', () => {
  test('parse the text tcpdump -dd prints', () => {
    const program = parseBpf(FIXTURE)
    expect(program.length).toBe(16)
    expect(program[0]).toEqual({ code: 0x28, jt: 0, jf: 0, k: 12 })
    expect(program[5]).toEqual({ code: 0x15, jt: 8, jf: 9, k: FILTER_PORT })
    expect(program.at(-1)).toEqual({ code: 6, jt: 0, jf: 0, k: 0 })
  })

  test('encode to struct sock_filter, the same from text, objects and tuples', () => {
    const bytes = encodeBpf(FIXTURE)
    expect(bytes.byteLength).toBe(16 * 8)
    const v = new DataView(bytes.buffer)
    expect([v.getUint16(40, true), v.getUint8(42), v.getUint8(43), v.getUint32(44, true)]).toEqual([0x15, 8, 9, FILTER_PORT])
    expect(encodeBpf(parseBpf(FIXTURE))).toEqual(bytes)
    expect(encodeBpf(parseBpf(FIXTURE).map(({ code, jt, jf, k }) => [code, jt, jf, k] as const))).toEqual(bytes)
  })

  test('reject malformed text and out-of-range fields', () => {
    expect(() => parseBpf('{ 0x28, 0, 0, 0x0c },\nnot bpf')).toThrow(/line 2/)
    expect(() => encodeBpf([{ code: 0x10000, jt: 0, jf: 0, k: 0 }])).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => encodeBpf([])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => createSocket({ type: 'udp4', packetType: 'dgram' })).toThrow(/applies only to type 'packet'/)
  })
})

describe('raw IP sockets', () => {
  testWithCaps(['CAP_NET_RAW'], 'IP_HDRINCL sends a hand-built IPv4+UDP packet that a UDP socket receives; raw receive includes the IP header', async () => {
    const receiver = track(createSocket({ type: 'udp4' })).bind(0, '127.0.0.1')
    const port = receiver.address().port
    const got = collect(receiver)
    // A raw UDP socket gets a copy of every UDP datagram on the host; the
    // filter (raw sockets see from the IP header) keeps other suites' floods out.
    const rawRx = track(createSocket({ type: 'raw4', protocol: 'udp' })).attachFilter(udpDstFilter(port))
    const rawGot = collect(rawRx)
    const raw = track(createSocket({ type: 'raw4', protocol: 'udp' }))
    raw.setOption('IP_HDRINCL', true)
    expect(raw.getOption('IP_HDRINCL')).toBe(true)
    const payload = Buffer.from(`hdrincl-${process.pid}-${port}`)
    const packet = ipv4Udp(40999, port, payload)
    // The checksums are right: each sums to zero with its pseudo-header.
    expect(checksum(packet.subarray(0, 20))).toBe(0)
    raw.send(packet, 0, '127.0.0.1')
    await until(() => got.length > 0, 'the UDP socket to receive the raw packet')
    expect(got[0].data.toString()).toBe(payload.toString())
    expect(got[0].rinfo).toMatchObject({ address: '127.0.0.1', port: 40999 })
    await until(() => rawGot.some((m) => m.data.subarray(28).equals(payload)), 'the raw socket to see the packet')
    const seen = rawGot.find((m) => m.data.subarray(28).equals(payload))!.data
    expect(seen[0]).toBe(0x45) // an IPv4 raw socket delivers the IP header (man 7 raw)
    expect(seen[9]).toBe(17)
    expect([...seen.subarray(12, 20)]).toEqual([127, 0, 0, 1, 127, 0, 0, 1])
    expect(checksum(seen.subarray(0, 20))).toBe(0)
    expect(udpDstPort(seen)).toBe(port)
  })

  testWithCaps(['CAP_NET_RAW'], 'raw IPv6 sockets by protocol number deliver the payload without the IPv6 header', async () => {
    const rx = track(createSocket({ type: 'raw6', protocol: 253 }))
    const got = collect(rx)
    const tx = track(createSocket({ type: 'raw6', protocol: 253 }))
    expect(tx.protocol).toBe(253)
    const payload = Buffer.from(`raw6-${process.pid}`)
    tx.send(payload, 0, '::1')
    await until(() => got.some((m) => m.data.equals(payload)), 'the raw6 socket to receive')
    expect(got.find((m) => m.data.equals(payload))!.rinfo).toMatchObject({ address: '::1', family: 'IPv6' })
  })
})

/** Sends marked UDP datagrams to 127.0.0.1 on two ports, interleaved. */
function sendBoth(tag: string, wanted: number, other: number, n: number): void {
  const s = track(createSocket({ type: 'udp4' }))
  for (let i = 0; i < n; i++) {
    s.send(Buffer.from(`${tag}-want-${i}`), wanted, '127.0.0.1')
    s.send(Buffer.from(`${tag}-other-${i}`), other, '127.0.0.1')
  }
}

const marked = (frames: { data: Buffer }[], tag: string): string[] =>
  frames.map((f) => f.data.toString('latin1')).flatMap((t) => t.match(new RegExp(`${tag}-(want|other)-\\d+`, 'g')) ?? [])

describe('packet sockets', () => {
  testWithCaps(['CAP_NET_RAW'], 'SOCK_RAW on lo with the tcpdump -dd filter sees only UDP to the filtered port', async () => {
    // Protocol 0 receives nothing until bind names one: attaching the filter
    // first means no unfiltered packet slips in between (man 7 packet).
    const sniff = track(createSocket({ type: 'packet', protocol: 0 }))
    sniff.attachFilter(FIXTURE).bind('lo', 0x0800)
    const frames = collect(sniff)
    await sleep(20)
    const tag = `raw${process.pid}`
    sendBoth(tag, FILTER_PORT, FILTER_PORT + 1, 5)
    await until(() => marked(frames, tag).length >= 5, 'the filtered frames')
    await sleep(50)
    expect(marked(frames, tag).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${tag}-want-${i}`))
    for (const f of frames) {
      expect(f.data.readUInt16BE(12)).toBe(0x0800) // Ethernet framing on lo, then IPv4
      expect(udpDstPort(f.data.subarray(14))).toBe(FILTER_PORT)
      expect(f.rinfo).toMatchObject({ family: 'packet', protocol: 0x0800, ifindex: sniff.packetAddress().ifindex })
    }
  })

  testWithCaps(['CAP_NET_RAW'], 'SOCK_DGRAM (packetType dgram) starts at the IP header; filters attach, detach and lock', async () => {
    const sniff: Socket = track(createSocket({ type: 'packet', packetType: 'dgram', protocol: 0 }))
    expect(sniff.getOption('SO_TYPE')).toBe(2) // SOCK_DGRAM
    expect(sniff.type).toBe('packet')
    const port = 40200 + (process.pid % 500)
    // IPv4, UDP, not a fragment, destination port == port (offsets from the IP header).
    const program = udpDstFilter(port)
    sniff.attachFilter(program).bind('lo', 0x0800) // filter first, then start receiving
    const frames = collect(sniff)
    await sleep(20)
    const tag = `dg${process.pid}`
    sendBoth(tag, port, port + 1, 4)
    await until(() => marked(frames, tag).length >= 4, 'the filtered packets')
    await sleep(50)
    expect(marked(frames, tag).every((m) => m.includes('-want-'))).toBe(true)
    for (const f of frames) {
      expect(f.data[0] >> 4).toBe(4) // no link-layer header on SOCK_DGRAM
      expect(udpDstPort(f.data)).toBe(port)
    }

    // Detached, the other port's datagrams come through too (and all other
    // loopback traffic: a big buffer keeps a busy host from crowding ours out).
    bigReceiveBuffer(sniff)
    sniff.detachFilter()
    expect(() => sniff.detachFilter()).toThrow(expect.objectContaining({ code: 'ENOENT' }))
    const tag2 = `dd${process.pid}`
    sendBoth(tag2, port, port + 1, 4)
    await until(() => marked(frames, tag2).some((m) => m.includes('-other-')), 'unfiltered packets', 10_000)

    // Locked, the filter can be neither replaced nor removed.
    sniff.attachFilter(program).lockFilter()
    expect(() => sniff.detachFilter()).toThrow(expect.objectContaining({ code: 'EPERM', syscall: 'setsockopt' }))
    expect(() => sniff.attachFilter([{ code: 0x06, jt: 0, jf: 0, k: 0 }])).toThrow(expect.objectContaining({ code: 'EPERM' }))
  })

  testWithCaps(['CAP_NET_RAW'], 'the kernel rejects an invalid program with EINVAL', () => {
    const s = track(createSocket({ type: 'packet', protocol: 'ip' }))
    // A jump past the end of the program.
    expect(() =>
      s.attachFilter([
        { code: 0x15, jt: 5, jf: 5, k: 0 },
        { code: 0x06, jt: 0, jf: 0, k: 0 },
      ]),
    ).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('SO_ATTACH_FILTER') }))
  })
})
