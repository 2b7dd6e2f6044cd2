#!/usr/bin/env node
// Runs the vitest suite against the ASan/UBSan addon from scripts/build-asan.cjs
// (`npm run build:asan` first). Extra arguments go to `vitest run`.
// Fails when vitest fails or when any sanitizer report shows up in its output:
// a report from a worker vitest is already stopping, or from a process a test
// spawned, need not change vitest's exit status.
'use strict'
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const addon = path.resolve(process.env.NETSOCK_ADDON || path.join(root, 'build-asan/RelWithDebInfo/netsock.node'))
if (!fs.existsSync(addon)) {
  console.error(`test-asan: ${addon} not found; run \`npm run build:asan\` first`)
  process.exit(1)
}
// Guard against silently testing an uninstrumented build.
if (!fs.readFileSync(addon).includes('__asan_init')) {
  console.error(`test-asan: ${addon} is not built with -fsanitize=address`)
  process.exit(1)
}

// node itself is not instrumented, so the ASan runtime must be loaded before
// everything else (else "ASan runtime does not come first"); use gcc's, the one
// the addon was built against.
const runtime = (lib) => execFileSync('gcc', [`-print-file-name=${lib}`], { encoding: 'utf8' }).trim()
const join = (...parts) => parts.filter(Boolean).join(':')
const preload = join(runtime('libasan.so'), runtime('libubsan.so'), process.env.LD_PRELOAD)

const env = {
  ...process.env,
  NETSOCK_ADDON: addon,
  LD_PRELOAD: preload,
  // detect_leaks=0: node does not free everything at exit, so LSan would
  // report node, not us. abort_on_error=1: a report kills the worker with
  // SIGABRT, which vitest cannot mistake for a test's own exit. Options
  // already in the environment come last, so they win.
  ASAN_OPTIONS: join('detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1', process.env.ASAN_OPTIONS),
  UBSAN_OPTIONS: join('halt_on_error=1:print_stacktrace=1', process.env.UBSAN_OPTIONS),
}

// vitest's forks pool copies process.env into each worker and pipes the
// workers' stderr into its own, so both the preload and the reports reach us.
const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), require('vitest/package.json').bin.vitest)
const child = spawn(process.execPath, [vitest, 'run', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: ['inherit', 'pipe', 'pipe'],
})

const report = /ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error: /
let reported = false
function watch(from, to) {
  let tail = '' // a report line may be split across chunks
  from.on('data', (chunk) => {
    to.write(chunk)
    const text = tail + chunk.toString('utf8')
    if (report.test(text)) reported = true
    tail = text.slice(-100)
  })
}
watch(child.stdout, process.stdout)
watch(child.stderr, process.stderr)

child.on('close', (code, signal) => {
  if (reported) {
    console.error('\ntest-asan: FAILED, a sanitizer report was printed (see above)')
    process.exit(1)
  }
  process.exit(code ?? (signal ? 1 : 0))
})
