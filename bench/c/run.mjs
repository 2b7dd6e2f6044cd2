// Runs the C reference (bench/bin/udpref, built on demand) and hands back
// the one JSON line each subcommand prints.
//
//   const r = await runRef(['send', '--size', '64', '--count', '1e6', '--port', String(port)])
//   const rx = await startRef(['recv', '--port', '0', '--seconds', '3'])  // resolves once bound
//   ... send to rx.port from JS ...
//   const { received, pps } = await rx.result
import { spawn } from 'node:child_process'
import { buildReference } from './build.mjs'

// Subcommands that bind and print "ready <port>" on stderr before they can receive.
const ANNOUNCES_READY = new Set(['recv', 'pingpong-server'])

// Children still running; killed if this process exits first, so a failed
// benchmark never leaves a sender blasting loopback or a server waiting.
const live = new Set()
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

// stderr without the "ready <port>" handshake line.
const message = (stderr) => stderr.replace(/^ready \d+\n/m, '').trim() || '(no message)'

async function binary() {
  const bin = await buildReference()
  if (!bin) throw new Error('the C reference is unavailable (no C compiler found)')
  return bin
}

function spawnRef(bin, args, timeoutMs) {
  const child = spawn(bin, args.map(String), { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, timeoutMs)
  const what = `udpref ${args.join(' ')}`
  const result = new Promise((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer)
      live.delete(child)
      reject(new Error(`${what}: ${err.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      const line = stdout.trim().split('\n').pop()
      let json = null
      try {
        json = line ? JSON.parse(line) : null
      } catch {}
      const fail = (msg) => reject(Object.assign(new Error(`${what}: ${msg}`), { result: json, stderr }))
      if (timedOut) fail(`killed after ${timeoutMs} ms`)
      else if (code !== 0) fail(`exited with ${signal ?? `code ${code}`}: ${message(stderr)}`)
      else if (!json) fail(`printed no JSON (stdout: ${JSON.stringify(stdout)})`)
      else resolve(json)
    })
  })
  // Callers may attach their handler late (after awaiting readiness); this
  // keeps an early failure from counting as an unhandled rejection.
  result.catch(() => {})
  return { child, result, stderr: () => stderr }
}

/** Runs one subcommand to completion; resolves to its JSON, rejects on failure or after timeoutMs (the child is killed). */
export async function runRef(args, { timeoutMs = 60_000 } = {}) {
  return spawnRef(await binary(), args, timeoutMs).result
}

/**
 * Starts a subcommand that runs alongside JS code (a receiver, an echo
 * server, a blaster). For `recv` and `pingpong-server` it resolves once the
 * socket is bound, with `port` the bound port (so `--port 0` works).
 * Returns { child, port, result, stop }: `result` is the promise of its
 * JSON; `stop()` kills it and waits for it to exit.
 */
export async function startRef(args, { timeoutMs = 120_000, readyTimeoutMs = 5_000 } = {}) {
  const { child, result, stderr } = spawnRef(await binary(), args, timeoutMs)
  const stop = () => {
    child.kill('SIGKILL')
    return result.then(
      () => undefined,
      () => undefined,
    )
  }
  let port = null
  if (ANNOUNCES_READY.has(String(args[0]))) {
    port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop()
        reject(new Error(`udpref ${args.join(' ')}: not ready after ${readyTimeoutMs} ms`))
      }, readyTimeoutMs)
      const check = () => {
        const m = /^ready (\d+)$/m.exec(stderr())
        if (!m) return
        clearTimeout(timer)
        child.stderr.off('data', check)
        resolve(Number(m[1]))
      }
      child.stderr.on('data', check)
      check()
      // Exited before binding (bad args, port in use): surface its error.
      result.then(
        () => reject(new Error(`udpref ${args.join(' ')}: exited before it was ready`)),
        (err) => {
          clearTimeout(timer)
          reject(err)
        },
      )
    })
  }
  return { child, port, result, stop }
}
