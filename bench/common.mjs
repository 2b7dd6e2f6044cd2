// Helpers shared by the bench suites: reading mitata's results as data,
// ratios, a Markdown table a person can paste into an issue, and the JSON
// results file. No timing is ever asserted; every number is reported.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const benchDir = path.dirname(fileURLToPath(import.meta.url))
/** The results kept in git (written by `npm run bench -- --update`). */
export const committedResultsDir = path.join(benchDir, 'results')
/** Where an ordinary run writes: git-ignored, so a run never dirties the tree. */
export const localResultsDir = path.join(committedResultsDir, 'local')
/** Where this run writes (a live binding: suites read it when they write). */
export let resultsDir = localResultsDir

/** Chooses where this run's results go (bench/index.mjs does, from --update). */
export function setResultsDir(dir) {
  resultsDir = dir
}

/** Options for mitata's run(): no colour codes when the output is piped (so it pastes cleanly). */
export function mitataOptions() {
  return process.stdout.isTTY ? {} : { colors: false }
}

/** The numbers kept from one mitata run (times in ns per call). */
export function summarize(stats) {
  return {
    median_ns: stats.p50,
    avg_ns: stats.avg,
    min_ns: stats.min,
    p25_ns: stats.p25,
    p75_ns: stats.p75,
    p99_ns: stats.p99,
    max_ns: stats.max,
    ops_per_sec: 1e9 / stats.p50,
    // Interquartile range relative to the median: how much the machine's noise moved this row.
    spread: (stats.p75 - stats.p25) / stats.p50,
    samples: stats.samples.length,
    calls: stats.ticks,
  }
}

/**
 * Every run in mitata's `benchmarks` keyed by its name ($-arguments already
 * substituted), summarized. A benchmark that threw is an error: a suite
 * that measured the wrong thing must not print a ratio for it.
 */
export function resultsByName(benchmarks) {
  const out = new Map()
  for (const trial of benchmarks) {
    for (const r of trial.runs) {
      if (r.error) throw new Error(`benchmark '${r.name}' failed: ${r.error.message ?? r.error}`)
      out.set(r.name, summarize(r.stats))
    }
  }
  return out
}

/** 12345678 -> '12.35 M' (operations per second). */
export function formatOps(ops) {
  if (ops >= 1e9) return `${(ops / 1e9).toFixed(2)} G`
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M`
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(2)} k`
  return ops.toFixed(1)
}

/** Nanoseconds, three significant digits, with a unit. */
export function formatNs(ns) {
  if (ns >= 1e6) return `${(ns / 1e6).toPrecision(3)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toPrecision(3)} µs`
  return `${ns.toPrecision(3)} ns`
}

/** The interquartile spread as '±N%' (half the IQR over the median). */
export const formatSpread = (spread) => `±${Math.round((spread / 2) * 100)}%`

export const formatRatio = (r) => `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`

/** A Markdown table; columns whose header starts with '>' are right-aligned. */
export function table(headers, rows) {
  const right = headers.map((h) => h.startsWith('>'))
  const names = headers.map((h) => h.replace(/^>/, ''))
  const cells = [names, ...rows.map((r) => r.map(String))]
  const width = names.map((_, c) => Math.max(3, ...cells.map((r) => r[c].length)))
  const line = (r) => `| ${r.map((v, c) => (right[c] ? v.padStart(width[c]) : v.padEnd(width[c]))).join(' | ')} |`
  const rule = `|${width.map((w, c) => (right[c] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n')
}

/** Where and on what the numbers were taken; noisy-machine hints included. */
export function environment(addonPath) {
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.availableParallelism(),
    loadavg: os.loadavg().map((l) => Number(l.toFixed(2))),
    addon: addonPath,
  }
}

/**
 * The opening of a suite's report: its title and the machine line
 * (Node, platform, CPU and clock, load, addon). Returns the environment too.
 */
export function reportHead(title, context, require) {
  const env = { ...environment(loadedAddon(require)), clock_ghz: context.cpu.freq }
  const lines = [
    `## ${title}`,
    '',
    `${env.node}, ${env.platform}, ${env.cpu} (${env.cpus} CPUs, ~${context.cpu.freq.toFixed(2)} GHz), load ${env.loadavg.join(' ')}, addon ${env.addon}`,
  ]
  return { env, lines }
}

/** The .node file the process loaded (a prebuild or build/Release), relative to the package. */
export function loadedAddon(require) {
  const file = Object.keys(require.cache).find((k) => k.endsWith('.node'))
  return file ? path.relative(path.dirname(benchDir), file) : 'unknown'
}

/** Writes results/<name>.json through a .tmp file, so a crash never leaves half a file. */
export function writeResults(name, data) {
  fs.mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, `${name}.json`)
  // Four significant digits: the noise is far larger, and diffs between runs stay readable.
  const round = (_key, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v)
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(data, round, 2)}\n`)
  fs.renameSync(`${file}.tmp`, file)
  return path.relative(path.dirname(benchDir), file)
}
