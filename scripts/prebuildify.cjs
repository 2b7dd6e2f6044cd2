#!/usr/bin/env node
// Builds prebuilds/<platform>-<arch>/ with prebuildify (Node-API, stripped,
// libc-tagged), compiling against this Node's installed headers so nothing is
// downloaded.
'use strict'
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const args = [
  require.resolve('prebuildify/bin.js'),
  '--napi', '--strip', '--tag-libc',
  '--target', process.versions.node,
  '--node-gyp', path.join(__dirname, 'node-gyp.cjs'),
]
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
process.exit(r.status ?? 1)
