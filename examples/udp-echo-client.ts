// UDP echo client: sends each MESSAGE (or, with none given, each line of
// stdin) to an echo server and waits for it to come back.
//
//   node -r ./examples/register.cjs examples/udp-echo-client.ts [--host 127.0.0.1] [--port 3707] [--timeout 1000] [--json] [MESSAGE...]
//
// UDP may lose a datagram: each one waits at most --timeout ms for its echo.
// Prints the echoed text per message (with --json {"seq","echo","rttMs"} or
// {"seq","timeout":true}), then a summary line. Exit 0 when every message
// came back, 1 otherwise.
import readline from 'node:readline'
import { parseArgs } from 'node:util'
import { createSocket, type Socket } from 'netsock'

export type EchoResult = { seq: number; echo: string; rttMs: number } | { seq: number; timeout: true }

/**
 * Sends `text` and resolves with the echo, or a timeout after `timeoutMs`.
 * The socket is connected, so the kernel only delivers datagrams from the server.
 */
function roundTrip(s: Socket, seq: number, text: string, timeoutMs: number): Promise<EchoResult> {
  return new Promise((resolve) => {
    const sent = performance.now()
    const onMessage = (msg: Buffer): void => {
      const echo = msg.toString()
      if (echo !== text) return // a late echo of an earlier message
      finish({ seq, echo, rttMs: performance.now() - sent })
    }
    const timer = setTimeout(() => finish({ seq, timeout: true }), timeoutMs)
    const finish = (r: EchoResult): void => {
      clearTimeout(timer)
      s.off('message', onMessage)
      resolve(r)
    }
    s.on('message', onMessage)
    s.send(text)
  })
}

async function* stdinLines(): AsyncIterable<string> {
  yield* readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '3707' },
      timeout: { type: 'string', default: '1000' },
      json: { type: 'boolean', default: false },
    },
  })
  const host = values.host
  const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' })
  await s.connect(Number(values.port), host) // sync for UDP: sets the default destination and filters replies
  // With nobody listening, the ICMP port unreachable surfaces as ECONNREFUSED on the connected socket.
  let refused = null as Error | null
  s.on('error', (err) => (refused ??= err as Error))
  const results: EchoResult[] = []
  try {
    let seq = 0
    for await (const text of positionals.length ? positionals : stdinLines()) {
      const r = await roundTrip(s, ++seq, text, Number(values.timeout))
      results.push(r)
      if (values.json) console.log(JSON.stringify(r))
      else console.log('timeout' in r ? `#${r.seq} timeout` : r.echo)
    }
  } finally {
    s.close()
  }
  const echoed = results.filter((r) => !('timeout' in r)).length
  const summary = { sent: results.length, echoed, ...(refused ? { error: refused.message } : {}) }
  if (values.json) console.log(JSON.stringify({ summary }))
  else console.error(`${summary.sent} sent, ${echoed} echoed${refused ? ` (${refused.message})` : ''}`)
  return echoed === results.length ? 0 : 1
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(`udp-echo-client: ${(err as Error).message}`)
      process.exitCode = 1
    },
  )
}
