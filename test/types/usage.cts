// Compiled by test/types.test.ts against the shipped declarations (dist/),
// as a consumer with `types: []` would: each @ts-expect-error line must be
// an error, every other line must compile.
import { createSocket, optionTable, setKeepAlive, type OptionValueOf, type RemoteInfo, type Socket } from '../../dist/cjs/index.js'

const s: Socket = createSocket({ type: 'udp4' })

// Options: names and value types come from the table.
s.setOption('SO_REUSEPORT', true).setOption('IP_TTL', 32).setOption('SO_LINGER', { onoff: true, linger: 5 })
const ttl: number = s.getOption('IP_TTL')
const bound: string = s.getOption('SO_BINDTODEVICE')
// @ts-expect-error a misspelt option name
s.setOption('SO_REUSEPROT', true)
// @ts-expect-error IP_TTL takes a number
s.setOption('IP_TTL', 'thirty-two')
// @ts-expect-error SO_TYPE is read-only
s.setOption('SO_TYPE', 1)
// @ts-expect-error SO_RCVBUFFORCE cannot be read back
s.getOption('SO_RCVBUFFORCE')
// @ts-expect-error a boolean option read as a number
const wrong: number = s.getOption('SO_REUSEADDR')
const value: OptionValueOf<'TCP_CONGESTION'> = 'reno'

// Events: names and listener arguments are typed.
s.on('message', (msg: Buffer, rinfo: RemoteInfo) => msg.length + rinfo.port)
s.on('batch', (batch) => batch.data(0).length + batch.length)
s.on('drain', () => undefined)
  .on('close', () => undefined)
  .on('errorqueue', () => s.readErrorQueue())
s.on('error', (err: Error) => err.message)
// @ts-expect-error a misspelt event
s.on('mesage', () => undefined)
// @ts-expect-error RecvBatch has no dtaa()
s.on('batch', (b) => b.dtaa(0))
// @ts-expect-error 'message' listeners get a Buffer, not a string
s.on('message', (msg: string) => msg)

// Arguments.
s.bind(0, '127.0.0.1', () => undefined)
// @ts-expect-error a port is a number (only a packet socket binds to an interface name)
s.bind('5000')
createSocket({ type: 'packet', protocol: 'arp' }).bind('lo').packetAddress()
createSocket({ type: 'udp4' }).bind(0).type satisfies 'udp4'
// @ts-expect-error the kind is known from createSocket's type
createSocket({ type: 'udp4' }).type satisfies 'tcp4'
// @ts-expect-error close() takes a callback, not a value
s.close(5)

setKeepAlive(s, { idleMs: 1000 })
// @ts-expect-error keepalive takes milliseconds under idleMs
setKeepAlive(s, { idle: 1000 })

void [ttl, bound, wrong, value, optionTable.size]
