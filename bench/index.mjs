// Runs the bench suites in order, prints mitata's tables and then each
// suite's summary (Markdown, ready to paste), and writes results/<suite>.json.
//   npm run bench                 all suites
//   npm run bench -- foundation   only the named suites
//
// A suite is a module exporting `name`, `title` and `async run()` that
// returns `{ summary: string, results: object }`; add new ones to SUITES.
// Keep side effects inside run(): every suite is imported up front. A suite
// registers its mitata benches inside run() and calls mitata's run() there
// (mitata clears its registry after each run, so suites do not mix).
import v8 from 'node:v8'
import vm from 'node:vm'

const SUITES = ['./foundation.mjs', './udp.mjs', './tcp.mjs', './perf.mjs']

// mitata collects garbage after each warmup; without --expose-gc it falls
// back to allocating 1 GiB instead. Expose gc before mitata is loaded.
if (typeof globalThis.gc !== 'function') {
  v8.setFlagsFromString('--expose-gc')
  globalThis.gc = vm.runInNewContext('gc')
}

const { writeResults } = await import('./common.mjs')
const wanted = process.argv.slice(2)
const suites = []
for (const file of SUITES) suites.push(await import(file))
const unknown = wanted.filter((w) => !suites.some((s) => s.name === w))
if (unknown.length) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${suites.map((s) => s.name).join(', ')}`)
  process.exit(2)
}

const summaries = []
for (const suite of suites) {
  if (wanted.length && !wanted.includes(suite.name)) continue
  const started = performance.now()
  console.log(`\n# ${suite.title}\n`)
  const { summary, results } = await suite.run()
  const seconds = (performance.now() - started) / 1000
  const file = writeResults(suite.name, { ...results, seconds: Number(seconds.toFixed(1)) })
  summaries.push(`${summary}\n\n(${suite.name}: ${seconds.toFixed(1)} s; numbers in ${file})`)
}

console.log(`\n${'='.repeat(72)}\n`)
console.log(summaries.join('\n\n'))
