// Runs the C reference (bench/bin/udpref, built on demand) and hands back
// the one JSON line each subcommand prints.
//
//   const r = await runRef(['send', '--size', '64', '--count', '1e6', '--port', String(port)])
//   const rx = await startRef(['recv', '--port', '0', '--seconds', '3'])  // resolves once bound
//   ... send to rx.port from JS ...
//   const { received, pps } = await rx.result
//
// Options shared by runRef and startRef:
//   cpus: '0'            run pinned to these CPUs (taskset -c), see canPin()
//   program: [cmd, ...]  run another program with the same command line and
//                        protocol instead of udpref (the JS peers of
//                        bench/udp-peer.mjs when there is no C compiler)
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
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

let tasksetPath
/** The taskset(1) executable on PATH, or null: pinning to CPUs needs it. */
export function canPin() {
  if (tasksetPath === undefined) {
    tasksetPath = null
    for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
      try {
        fs.accessSync(path.join(dir, 'taskset'), fs.constants.X_OK)
        tasksetPath = path.join(dir, 'taskset')
        break
      } catch {}
    }
  }
  return tasksetPath
}

/** This process's CPU mask when the module loaded (Cpus_allowed_list), what pinMainThread restores. */
const ALLOWED_CPUS = (() => {
  try {
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null
  } catch {
    return null
  }
})()

/**
 * Pins this process's main thread (the one that runs JS) to `cpus` with
 * taskset -p, for an in-process sender measured beside pinned C peers;
 * returns the undo (back to the mask the process started with). Other
 * threads (libuv, V8) stay free.
 */
export function pinMainThread(cpus) {
  const set = (list) => {
    const r = spawnSync(canPin(), ['-p', '-c', String(list), String(process.pid)], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`taskset -p -c ${list} ${process.pid} failed: ${r.stderr}`)
  }
  set(cpus)
  return () => set(ALLOWED_CPUS ?? `0-${os.availableParallelism() - 1}`)
}

/** [file, argv] for the program (default udpref), pinned with taskset when cpus is given. */
async function commandLine(args, { program, cpus }) {
  const [file, ...pre] = program ?? [await binary()]
  const argv = [...pre, ...args.map(String)]
  if (cpus == null) return [file, argv]
  if (!canPin()) throw new Error('taskset not found: cannot pin to CPUs')
  return [canPin(), ['-c', String(cpus), file, ...argv]] // taskset execs the program: same pid
}

function spawnRef([file, argv], args, timeoutMs) {
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
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
  // Name the program (udpref, or the script it runs) in messages, not taskset.
  const named = argv.slice(file === canPin() ? 2 : 0)
  const program = file === canPin() ? named[0] : (named.find((a) => a.endsWith('.mjs')) ?? file)
  const what = `${path.basename(program)} ${args.join(' ')}`
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
  return { child, result, stderr: () => stderr, what }
}

/** Runs one subcommand to completion; resolves to its JSON, rejects on failure or after timeoutMs (the child is killed). */
export async function runRef(args, { timeoutMs = 60_000, program, cpus } = {}) {
  return spawnRef(await commandLine(args, { program, cpus }), args, timeoutMs).result
}

/**
 * Starts a subcommand that runs alongside JS code (a receiver, an echo
 * server, a blaster). For `recv` and `pingpong-server` it resolves once the
 * socket is bound, with `port` the bound port (so `--port 0` works).
 * Returns { child, port, result, stop }: `result` is the promise of its
 * JSON; `stop()` kills it and waits for it to exit.
 */
export async function startRef(args, { timeoutMs = 120_000, readyTimeoutMs = 5_000, program, cpus } = {}) {
  const { child, result, stderr, what } = spawnRef(await commandLine(args, { program, cpus }), args, timeoutMs)
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
        reject(new Error(`${what}: not ready after ${readyTimeoutMs} ms`))
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
        () => reject(new Error(`${what}: exited before it was ready`)),
        (err) => {
          clearTimeout(timer)
          reject(err)
        },
      )
    })
  }
  return { child, port, result, stop }
}
