#!/usr/bin/env node
// node-gyp with --nodedir set to this Node's installed headers when they exist,
// so that no header download is needed. Used by `npm run build:native` and by
// prebuildify (--node-gyp).
'use strict'
const { spawnSync } = require('node:child_process')
const { nodedir } = require('./nodedir.cjs')

const bin = require.resolve('node-gyp/bin/node-gyp.js')
const args = process.argv.slice(2)
const dir = nodedir()
if (dir && !args.some((a) => a.startsWith('--nodedir'))) args.push(`--nodedir=${dir}`)
const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit' })
process.exit(r.status ?? 1)
