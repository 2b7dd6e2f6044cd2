// `netsock listen --udp PORT` and `netsock send --udp PORT [MESSAGE]`: quick
// checks of UDP reachability. send takes the message from the command line,
// from stdin, or from a file, as text or as hex; listen prints each datagram
// (as text when it is UTF-8, as hex otherwise) and a summary at the end.
import fs from 'node:fs'
import { createSocket } from '../create.js'
import type { RemoteInfo } from '../sockaddr.js'
import { EXIT_NONE, EXIT_OK, intValue, portValue, secondsValue, untilInterrupted, UsageError, type Command } from './args.js'

function family(address: string): 'udp4' | 'udp6' {
  return address.includes(':') ? 'udp6' : 'udp4'
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The text of a UTF-8 payload, or null when it is not UTF-8 (or holds control characters other than tab/newline). */
export function asText(data: Buffer): string | null {
  let text: string
  try {
    text = utf8.decode(data)
  } catch {
    return null
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b-\u001f\u007f]/.test(text) ? null : text
}

/** The largest UDP payload: 65,535 minus the IPv4 header (20) and UDP header (8); IPv6 has no header in the count (man 7 udp). */
const UDP_MAX = { udp4: 65_507, udp6: 65_527 } as const

export const listen: Command = {
  name: 'listen',
  summary: 'print UDP datagrams arriving on a port',
  operands: '',
  streaming: true,
  flags: [
    { name: 'udp', value: 'PORT', help: 'the UDP port to listen on (0: any free port, printed on stderr)' },
    { name: 'address', value: 'ADDR', default: '0.0.0.0', help: 'the local address to bind (an IPv6 one listens on IPv6)' },
    { name: 'count', short: 'c', value: 'N', default: 'until interrupted', help: 'stop after N datagrams' },
    { name: 'timeout', short: 'w', value: 'SECONDS', default: 'none', help: 'stop after this long; decimals allowed' },
  ],
  notes: 'Payloads print as text when they are UTF-8, as hex otherwise. exit codes: 0 something arrived, 1 nothing did, 2 usage error or failure',
  async run({ values }, io) {
    if (values.udp === undefined) throw new UsageError('listen needs --udp PORT')
    const port = portValue(values.udp, '--udp')!
    const address = typeof values.address === 'string' ? values.address : '0.0.0.0'
    const count = intValue(values.count, '-c', 1, 2 ** 31 - 1) ?? Infinity
    const timeoutMs = secondsValue(values.timeout, '--timeout', 0.001)
    const s = createSocket({ type: family(address), reuseAddr: true }).bind(port, address)
    const bound = s.address().port
    io.err(`listening on ${address.includes(':') ? `[${address}]` : address}:${bound} (udp)`) // stderr: stdout stays JSON with --json
    if (io.json) io.out(JSON.stringify({ event: 'listening', address, port: bound }))
    const started = performance.now()
    let datagrams = 0
    let bytes = 0
    const senders = new Set<string>()
    await untilInterrupted(
      (signal) =>
        new Promise<void>((resolve) => {
          const timer = timeoutMs === undefined ? null : setTimeout(resolve, timeoutMs)
          signal.addEventListener('abort', () => resolve(), { once: true })
          s.on('message', (data: Buffer, rinfo: RemoteInfo) => {
            datagrams++
            bytes += rinfo.size
            senders.add(`${rinfo.address}:${rinfo.port}`)
            const text = asText(data)
            if (io.json)
              io.out(
                JSON.stringify({
                  event: 'message',
                  from: rinfo.address,
                  port: rinfo.port,
                  size: rinfo.size,
                  data: data.toString('base64'),
                  ...(text === null ? {} : { text }),
                }),
              )
            else io.out(`${rinfo.address}:${rinfo.port} ${rinfo.size} B  ${text === null ? `hex ${data.toString('hex')}` : JSON.stringify(text)}`)
            if (datagrams >= count) {
              if (timer) clearTimeout(timer)
              resolve()
            }
          })
        }),
    )
    s.close()
    const seconds = Number(((performance.now() - started) / 1000).toFixed(3))
    if (io.json) io.out(JSON.stringify({ event: 'summary', datagrams, bytes, senders: senders.size, seconds }))
    else
      io.out(
        `--- ${datagrams} datagram${datagrams === 1 ? '' : 's'}, ${bytes} bytes from ${senders.size} sender${senders.size === 1 ? '' : 's'} in ${seconds} s`,
      )
    return datagrams > 0 ? EXIT_OK : EXIT_NONE
  },
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The payload: MESSAGE, or `-`/no MESSAGE with stdin not a terminal, or --file; --hex decodes hex text. */
async function payload(values: Record<string, string | true | undefined>, positionals: string[]): Promise<Buffer> {
  if (positionals.length > 1) throw new UsageError('send takes one MESSAGE (quote it), or - for stdin')
  const file = values.file
  if (file === true) throw new UsageError('--file needs a PATH')
  const fromStdin = positionals[0] === '-' || (positionals.length === 0 && file === undefined && !process.stdin.isTTY)
  if (file !== undefined && positionals.length) throw new UsageError('give MESSAGE or --file, not both')
  if (file === undefined && positionals.length === 0 && !fromStdin) throw new UsageError('send needs a MESSAGE, - (stdin) or --file PATH')
  let data: Buffer
  if (file !== undefined) data = fs.readFileSync(file)
  else if (fromStdin) data = await readStdin()
  else data = Buffer.from(positionals[0])
  if (!values.hex) return data
  const hex = data.toString('latin1').replace(/\s+/g, '')
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new UsageError('--hex wants pairs of hex digits (spaces and newlines allowed)')
  return Buffer.from(hex, 'hex')
}

export const send: Command = {
  name: 'send',
  summary: 'send a UDP datagram to ADDR:PORT (MESSAGE, stdin or a file)',
  operands: '[MESSAGE | -]',
  streaming: false,
  flags: [
    { name: 'udp', value: 'PORT', help: 'the destination port' },
    { name: 'address', value: 'ADDR', default: '127.0.0.1', help: 'the destination address' },
    { name: 'count', short: 'c', value: 'N', default: '1', help: 'send the datagram N times' },
    { name: 'file', value: 'PATH', help: 'the payload is this file' },
    { name: 'hex', help: 'the payload (MESSAGE, stdin or file) is hex text, e.g. "de ad be ef"' },
  ],
  notes:
    'Without MESSAGE the payload is stdin (when it is not a terminal); - says so explicitly.\nOne datagram carries at most 65,507 bytes over IPv4 (65,527 over IPv6).',
  async run({ values, positionals }, io) {
    if (values.udp === undefined) throw new UsageError('send needs --udp PORT')
    const port = portValue(values.udp, '--udp')!
    const address = typeof values.address === 'string' ? values.address : '127.0.0.1'
    const count = intValue(values.count, '-c', 1, 2 ** 31 - 1) ?? 1
    const data = await payload(values, positionals)
    const kind = family(address)
    const s = createSocket({ type: kind })
    let sent = 0
    try {
      for (let i = 0; i < count; i++) {
        if (!s.send(data, port, address)) await new Promise<void>((r) => s.once('drain', r))
        sent++
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'EMSGSIZE') {
        const e = new Error(
          `${data.length.toLocaleString('en-US')} bytes do not fit in one UDP datagram: at most ${UDP_MAX[kind].toLocaleString('en-US')} bytes over IPv${kind === 'udp4' ? 4 : 6} (sendto EMSGSIZE)`,
        )
        throw Object.assign(e, { code: 'EMSGSIZE' })
      }
      throw err
    } finally {
      s.close()
    }
    if (io.json) io.out(JSON.stringify({ sent, bytes: data.length, to: address, port }))
    else io.out(`sent ${sent} datagram${sent === 1 ? '' : 's'} of ${data.length} B to ${address.includes(':') ? `[${address}]` : address}:${port}`)
    return EXIT_OK
  },
}
