#!/usr/bin/env node
// `npm run lint`: ESLint (typescript-eslint, type-aware for src/) with no
// warnings allowed, Prettier's check of the TypeScript and JavaScript
// formatting, and clang-format's check of native/ against .clang-format.
// Exits 1 when any of them finds something. clang-format comes from the
// system (Debian's clang-format; .ci/run installs it): without it the native
// check is skipped with a note, except under CI=true, where it fails.
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const bin = (pkg, file) => path.join(path.dirname(require.resolve(`${pkg}/package.json`, { paths: [root] })), file)
const run = (label, command, args) => {
  console.log(`== ${label}`)
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (r.error) console.error(`${label}: ${r.error.message}`)
  return r.status === 0
}

let ok = run('eslint', process.execPath, [bin('eslint', 'bin/eslint.js'), '.', '--max-warnings', '0'])
ok = run('prettier', process.execPath, [bin('prettier', 'bin/prettier.cjs'), '--check', '.']) && ok
const native = fs
  .readdirSync(path.join(root, 'native'))
  .filter((f) => /\.(cc|h)$/.test(f))
  .map((f) => path.join('native', f))
if (spawnSync('clang-format', ['--version']).status === 0) {
  ok = run('clang-format', 'clang-format', ['--dry-run', '--Werror', ...native]) && ok
} else if (process.env.CI === 'true') {
  console.error('clang-format is not installed (Debian: apt-get install clang-format)')
  ok = false
} else {
  console.log('== clang-format: not installed here, native/ not checked (Debian: apt-get install clang-format)')
}
process.exit(ok ? 0 : 1)
