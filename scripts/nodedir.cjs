#!/usr/bin/env node
// Prints the directory holding this Node's own headers (<dir>/include/node),
// derived from process.execPath, or nothing when they are not installed.
// Used instead of npm's `nodedir` config, which npm is retiring.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

function nodedir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..')
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null
}

module.exports = { nodedir }
if (require.main === module) process.stdout.write(nodedir() ?? '')
