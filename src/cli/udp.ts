// `netsock listen --udp PORT` and `netsock send --udp PORT MESSAGE`: quick
// checks of UDP reachability.
import { createSocket } from '../create.js'
import { countArg, EXIT_FAILURE, EXIT_OK, portArg, UsageError, type Command } from './args.js'

function family(address: string): 'udp4' | 'udp6' {
  return address.includes(':') ? 'udp6' : 'udp4'
}

export const listen: Command = {
  name: 'listen',
  summary: 'print UDP datagrams arriving on a port',
  usage: 'netsock listen --udp PORT [--address ADDR] [--count N] [--timeout SECONDS] [--json]',
  options: { udp: { type: 'string' }, address: { type: 'string' }, count: { type: 'string' }, timeout: { type: 'string' } },
  async run(values, _positionals, io) {
    if (values.udp === undefined) throw new UsageError('listen needs --udp PORT')
    const port = portArg(values.udp, '--udp')
    const address = (values.address as string | undefined) ?? '0.0.0.0'
    const count = countArg(values.count, '--count', Infinity)
    const timeout = values.timeout === undefined ? Infinity : Number(values.timeout) * 1000
    const s = createSocket({ type: family(address), reuseAddr: true }).bind(port, address)
    io.err(`listening on ${address}:${s.address().port} (udp)`) // stderr: stdout stays pure JSON with --json
    let seen = 0
    return new Promise<number>((resolve) => {
      const timer = Number.isFinite(timeout) ? setTimeout(() => finish(seen > 0 ? EXIT_OK : EXIT_FAILURE), timeout) : null
      const finish = (code: number): void => {
        if (timer) clearTimeout(timer)
        s.close()
        resolve(code)
      }
      s.on('message', (data, rinfo) => {
        seen++
        if (io.json) io.out(JSON.stringify({ from: rinfo.address, port: rinfo.port, size: rinfo.size, data: data.toString('base64') }))
        else io.out(`${rinfo.address}:${rinfo.port} ${rinfo.size} B  ${JSON.stringify(data.toString('utf8'))}`)
        if (seen >= count) finish(EXIT_OK)
      })
      process.once('SIGINT', () => finish(EXIT_OK))
    })
  },
}

export const send: Command = {
  name: 'send',
  summary: 'send a UDP datagram (MESSAGE) to ADDR:PORT',
  usage: 'netsock send --udp PORT [--address ADDR] [--count N] MESSAGE [--json]',
  options: { udp: { type: 'string' }, address: { type: 'string' }, count: { type: 'string' } },
  async run(values, positionals, io) {
    if (values.udp === undefined) throw new UsageError('send needs --udp PORT')
    if (positionals.length !== 1) throw new UsageError('send needs exactly one MESSAGE argument')
    const port = portArg(values.udp, '--udp')
    const address = (values.address as string | undefined) ?? '127.0.0.1'
    const count = countArg(values.count, '--count', 1)
    const s = createSocket({ type: family(address) })
    const data = Buffer.from(positionals[0])
    let sent = 0
    try {
      for (let i = 0; i < count; i++) {
        if (!s.send(data, port, address)) await new Promise<void>((r) => s.once('drain', r))
        sent++
      }
    } finally {
      s.close()
    }
    if (io.json) io.out(JSON.stringify({ sent, bytes: data.length, to: address, port }))
    else io.out(`sent ${sent} datagram${sent === 1 ? '' : 's'} of ${data.length} B to ${address}:${port}`)
    return sent === count ? EXIT_OK : EXIT_FAILURE
  },
}
