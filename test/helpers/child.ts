// Runs a snippet in a fresh node process with netsock's CommonJS build
// (dist/, which `npm test` builds first) loaded as `n` and the addon as
// `addon`, so that GC, worker teardown and process exit happen for real.
import { spawnSync } from 'node:child_process'
import path from 'node:path'

const dist = JSON.stringify(path.resolve(__dirname, '../../dist/cjs/index.js'))
const native = JSON.stringify(path.resolve(__dirname, '../../dist/cjs/native.js'))

/** The path of the CommonJS build, as a JS string literal for generated code. */
export const distLiteral = dist

export function runChild(script: string, nodeArgs: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const prelude = `const n = require(${dist}); const { addon } = require(${native});\n`
  const r = spawnSync(process.execPath, [...nodeArgs, '-e', prelude + script], { encoding: 'utf8', timeout: 170_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}
