#!/usr/bin/env node
// Builds the ASan/UBSan-instrumented addon with cmake-js into build-asan/ and
// prints the path of the .node file (scripts/test-asan.cjs loads it through
// NETSOCK_ADDON). Extra arguments go to cmake-js.
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { nodedir } = require('./nodedir.cjs')

const root = path.resolve(__dirname, '..')
const out = path.join(root, 'build-asan')
const config = 'RelWithDebInfo' // optimised like the real build, with line numbers in reports

const dir = nodedir()
if (!dir) {
  console.error('build-asan: no Node headers next to', process.execPath, '(cmake-js would try to download them)')
  process.exit(1)
}

const args = [
  require.resolve('cmake-js/bin/cmake-js'),
  'build',
  '--directory',
  root,
  '--out',
  out,
  '--config',
  config,
  // gcc on purpose: test-asan.cjs preloads gcc's libasan/libubsan, and the
  // runtime must be the one the code was instrumented for.
  '--cc',
  'gcc',
  '--cxx',
  'g++',
  '--CDNETSOCK_SANITIZE=ON',
  `--CDNODE_EXECUTABLE=${process.execPath}`,
  ...process.argv.slice(2),
]
// cmake-js takes the headers directory only from npm's `nodedir` config (it
// reads npm_config_nodedir); with it set and <dir>/include/node/node.h present
// it uses the local headers and downloads nothing.
const env = { ...process.env, npm_config_nodedir: dir }
// cmake-js logs to stdout; send that to stderr so our stdout is only the path.
const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 2, 2], env })
if (r.status !== 0) process.exit(r.status ?? 1)

const addon = path.join(out, config, 'netsock.node')
if (!fs.existsSync(addon)) {
  console.error('build-asan: cmake-js succeeded but', addon, 'is missing')
  process.exit(1)
}
process.stdout.write(addon + '\n')
