// `npm run bench`: runs the bench suites in order, says up front what they
// measure and about how long they take, shows progress, prints each suite's
// report (Markdown, ready to paste) and ends with a one-screen summary.
//   npm run bench                    all suites; results to bench/results/local/ (git-ignored)
//   npm run bench -- udp ping        only the named suites
//   npm run bench -- --update        write the committed results in bench/results/ instead
//   npm run bench -- --list          the suites, what each measures and how long it takes
//
// A suite is a module in SUITES exporting:
//   name, title                      identifiers for the command line and the report
//   measures                         one line: what it compares
//   estimateSeconds                  its usual duration (the last run's, when recorded, is used instead)
//   async run({ progress })          -> { summary: Markdown, results: object }; progress(text) shows live status
//   headline(results)?               up to three lines for the closing summary
// and `results.targets` (optional): [{ what, ratio, target, met: true | false | null, untestable?: reason }],
// which the closing summary lists. Keep side effects inside run(): every suite is
// imported up front. A suite registers its mitata benches inside run() and calls
// mitata's run() there (mitata clears its registry after each run, so suites do not mix).
import fs from 'node:fs'
import path from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'

const SUITES = ['./foundation.mjs', './udp.mjs', './tcp.mjs', './ping.mjs', './perf.mjs']

// mitata collects garbage after each warmup; without --expose-gc it falls
// back to allocating 1 GiB instead. Expose gc before mitata is loaded.
if (typeof globalThis.gc !== 'function') {
  v8.setFlagsFromString('--expose-gc')
  globalThis.gc = vm.runInNewContext('gc')
}

const common = await import('./common.mjs')
const args = process.argv.slice(2)
const flags = new Set(args.filter((a) => a.startsWith('--')))
const wanted = args.filter((a) => !a.startsWith('--'))
const knownFlags = ['--update', '--list', '--help']
const badFlag = [...flags].find((f) => !knownFlags.includes(f))
if (badFlag) {
  console.error(`unknown option ${badFlag}; known: ${knownFlags.join(' ')}`)
  process.exit(2)
}
const update = flags.has('--update')
common.setResultsDir(update ? common.committedResultsDir : common.localResultsDir)

const suites = []
for (const file of SUITES) suites.push(await import(file))
const unknown = wanted.filter((w) => !suites.some((s) => s.name === w))
if (unknown.length) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${suites.map((s) => s.name).join(', ')}`)
  process.exit(2)
}
const chosen = suites.filter((s) => !wanted.length || wanted.includes(s.name))

/** The suite's last recorded duration here, else its own estimate. */
function expectedSeconds(suite) {
  for (const dir of [common.localResultsDir, common.committedResultsDir]) {
    try {
      const seconds = JSON.parse(fs.readFileSync(path.join(dir, `${suite.name}.json`), 'utf8')).seconds
      if (typeof seconds === 'number') return seconds
    } catch {
      // none recorded
    }
  }
  return suite.estimateSeconds ?? 60
}

const clock = (s) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`
const total = chosen.reduce((sum, s) => sum + expectedSeconds(s), 0)
const width = Math.max(...chosen.map((s) => s.name.length))
const intro = [
  `netsock benchmark: ${chosen.length} suite${chosen.length === 1 ? '' : 's'}, about ${clock(total)} (min:s) on this machine; nothing is asserted, every figure is reported.`,
  ...chosen.map((s) => `  ${s.name.padEnd(width)}  ~${String(Math.round(expectedSeconds(s))).padStart(3)} s  ${s.measures ?? s.title}`),
  `Results: ${path.relative(process.cwd(), common.resultsDir) || '.'}/ (${update ? 'the committed results, --update' : 'git-ignored; `npm run bench -- --update` writes the committed bench/results/'}).`,
]
console.log(intro.join('\n'))
if (flags.has('--list') || flags.has('--help')) process.exit(0)

// Progress goes to stderr: live on a terminal, one line per suite otherwise.
const live = process.stderr.isTTY === true
const started = performance.now()
function progressFor(index, suite) {
  let last = 0
  return (text) => {
    const now = performance.now()
    if (!live || now - last < 100) return
    last = now
    process.stderr.write(`\r[${index + 1}/${chosen.length} ${suite.name} ${clock((now - started) / 1000)} of ~${clock(total)}] ${text}\x1b[K`)
  }
}

const done = []
for (const [index, suite] of chosen.entries()) {
  const t0 = performance.now()
  process.stderr.write(`[${index + 1}/${chosen.length}] ${suite.name}: ${suite.measures ?? suite.title} (~${Math.round(expectedSeconds(suite))} s)\n`)
  console.log(`\n# ${suite.title}\n`)
  const { summary, results } = await suite.run({ progress: progressFor(index, suite) })
  if (live) process.stderr.write('\r\x1b[K')
  const seconds = (performance.now() - t0) / 1000
  const file = common.writeResults(suite.name, { ...results, seconds: Number(seconds.toFixed(1)) })
  console.log(`\n${summary}\n\n(${suite.name}: ${seconds.toFixed(1)} s; numbers in ${file})`)
  done.push({ suite, summary, results, seconds, file })
}

// The full reports, together, for pasting.
const reportFile = path.join(common.resultsDir, 'summary.md')
fs.writeFileSync(reportFile, `${done.map((d) => `${d.summary}\n\n(${d.suite.name}: ${d.seconds.toFixed(1)} s; numbers in ${d.file})`).join('\n\n')}\n`)

// The closing screen.
const verdict = (t) => (t.untestable ? 'not testable' : t.met == null ? 'n/a' : t.met ? 'MET' : 'MISSED')
const elapsed = (performance.now() - started) / 1000
const out = ['', '='.repeat(78), `netsock benchmark summary: ${done.length} suite${done.length === 1 ? '' : 's'} in ${clock(elapsed)} (min:s)`, '']
for (const d of done) {
  const lines = typeof d.suite.headline === 'function' ? d.suite.headline(d.results) : []
  out.push(`${d.suite.name} (${d.seconds.toFixed(0)} s)${lines.length ? `: ${lines[0]}` : ''}`)
  for (const l of lines.slice(1, 3)) out.push(`  ${l}`)
}
const targets = done.flatMap((d) =>
  (d.results.targets ?? []).map((t) => [d.suite.name, t.what, t.ratio == null ? '-' : `${t.ratio.toFixed(2)}x`, t.target, verdict(t)]),
)
if (targets.length) {
  out.push('')
  out.push(common.table(['suite', 'measure', '>ratio', 'target', 'result'], targets))
}
out.push('')
out.push(`Full reports: ${path.relative(process.cwd(), reportFile)}; numbers: ${done.map((d) => d.file).join(', ')}`)
console.log(out.join('\n'))
