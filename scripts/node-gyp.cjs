#!/usr/bin/env node
// node-gyp with --nodedir set to this Node's installed headers when they exist,
// so that no header download is needed. Used by `npm run build:native` and by
// prebuildify (--node-gyp). With NETSOCK_PREBUILD=1 (set by
// scripts/prebuildify.cjs) it builds a prebuild: --netsock_prebuild=1 turns on
// binding.gyp's portable link (see prebuilds/README.md).
'use strict'
const { spawnSync } = require('node:child_process')
const { nodedir } = require('./nodedir.cjs')

const bin = require.resolve('node-gyp/bin/node-gyp.js')
const args = process.argv.slice(2)
const dir = nodedir()
if (dir && !args.some((a) => a.startsWith('--nodedir'))) args.push(`--nodedir=${dir}`)
if (process.env.NETSOCK_PREBUILD === '1' && ['rebuild', 'configure'].includes(args[0])) args.push('--netsock_prebuild=1')
const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit' })
process.exit(r.status ?? 1)
