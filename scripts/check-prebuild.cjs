#!/usr/bin/env node
// Checks that a prebuilt addon loads on every glibc distribution Node 20 runs
// on, by reading what its dynamic section asks of the system (readelf, which
// reads any architecture's ELF):
// - the ELF machine matches the prebuild's folder (linux-x64, linux-arm64);
// - no libstdc++: no GLIBCXX_* or CXXABI_* version, no libstdc++.so.6 needed;
// - glibc symbol versions up to GLIBC_2.28 (Node 20's own floor);
// - libgcc_s versions up to GCC_7.0.0 (the unwinder of GCC 8, as on RHEL 8);
// - only the Node-API entry points exported (hidden visibility).
// Used by scripts/prebuildify.cjs after each build and by test/pack.test.ts.
// CLI: node scripts/check-prebuild.cjs prebuilds/linux-x64/netsock.glibc.node ...
'use strict'
const { execFileSync } = require('node:child_process')
const path = require('node:path')

const MAX = { GLIBC: '2.28', GCC: '7.0.0' }
const MACHINES = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' }
const EXPORTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1']

function compareVersions(a, b) {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

function readelf(args, file) {
  return execFileSync('readelf', ['-W', ...args, file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } })
}

/** The arch of a prebuild from its folder name (prebuilds/linux-<arch>/...). */
function archOf(file) {
  const m = /^linux-([a-z0-9]+)$/.exec(path.basename(path.dirname(file)))
  return m ? m[1] : null
}

/**
 * Reads `file` and returns { machine, needed, versions, symbols, exports, problems }:
 * versions maps each required version (GLIBC_2.28, GCC_3.0, ...) to the
 * undefined symbols that ask for it; problems is empty when the file passes.
 */
function inspect(file, arch = archOf(file)) {
  const problems = []
  const machine = /Machine:\s+(.+)/.exec(readelf(['-h'], file))?.[1].trim()
  if (arch && MACHINES[arch] && machine !== MACHINES[arch]) {
    problems.push(`ELF machine is ${machine}, expected ${MACHINES[arch]} for ${arch}`)
  }

  const needed = [...readelf(['-d'], file).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1])
  for (const lib of needed) if (/^libstdc\+\+/.test(lib)) problems.push(`needs ${lib}`)

  // Every version the loader will demand (.gnu.version_r), weak ones included.
  const versions = {}
  for (const m of readelf(['-V'], file).matchAll(/Name: (\S+)\s+Flags:/g)) versions[m[1]] = []
  const symbols = []
  const exports = []
  for (const line of readelf(['--dyn-syms'], file).split('\n')) {
    // Num: Value Size Type Bind Vis Ndx Name
    const f = line.trim().split(/\s+/)
    if (f.length < 8 || !/^\d+:$/.test(f[0])) continue
    const [, , , type, bind, vis, ndx, name] = f
    if (!name) continue
    if (ndx === 'UND') {
      const at = name.indexOf('@')
      if (at > 0) {
        const version = name.slice(at + 1).replace(/^@/, '')
        const sym = name.slice(0, at)
        ;(versions[version] ??= []).push(sym)
        symbols.push({ name: sym, version })
      }
    } else if (bind !== 'LOCAL' && vis === 'DEFAULT' && type !== 'SECTION') {
      exports.push(name.replace(/@.*/, ''))
    }
  }

  for (const [version, syms] of Object.entries(versions)) {
    const m = /^([A-Z]+)_([\d.]+)$/.exec(version)
    const who = syms.length ? ` (${syms.join(', ')})` : ''
    if (!m) continue
    const [, family, number] = m
    if (family === 'GLIBCXX' || family === 'CXXABI') problems.push(`needs ${version}${who}: libstdc++ must be linked in`)
    else if (MAX[family] && compareVersions(number, MAX[family]) > 0) problems.push(`needs ${version}${who}, newer than ${family}_${MAX[family]}`)
  }
  const extra = exports.filter((e) => !EXPORTS.includes(e))
  if (extra.length) problems.push(`exports more than the Node-API entry points: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}`)
  for (const e of EXPORTS.slice(0, 1)) if (!exports.includes(e)) problems.push(`does not export ${e}`)

  return { file, arch, machine, needed, versions, symbols, exports, problems }
}

/** The newest version of a family (GLIBC, GCC) that `report.versions` requires. */
function newest(report, family) {
  return Object.keys(report.versions)
    .map((v) => new RegExp(`^${family}_([\\d.]+)$`).exec(v)?.[1])
    .filter(Boolean)
    .sort(compareVersions)
    .pop()
}

/** One line for logs: file, machine, newest GLIBC and GCC versions, problems. */
function summary(report) {
  const status = report.problems.length ? `FAIL: ${report.problems.join('; ')}` : 'ok'
  return (
    `${report.file}: ${report.machine}, needs GLIBC_${newest(report, 'GLIBC') ?? '-'}, GCC_${newest(report, 'GCC') ?? '-'}, ` +
    `libs ${report.needed.join(' ')}; ${status}`
  )
}

module.exports = { inspect, summary, newest, compareVersions, MAX }

if (require.main === module) {
  const files = process.argv.slice(2)
  if (files.length === 0) {
    console.error('usage: node scripts/check-prebuild.cjs <prebuild.node>...')
    process.exit(2)
  }
  let failed = false
  for (const file of files) {
    const report = inspect(file)
    console.log(summary(report))
    if (report.problems.length) failed = true
  }
  process.exit(failed ? 1 : 0)
}
