#!/usr/bin/env node
// Builds the prebuilds that `npm pack` ships: prebuilds/linux-x64/ and
// prebuilds/linux-arm64/ (netsock.glibc.node each), with prebuildify (Node-API,
// stripped, libc-tagged) against this Node's installed headers, so nothing is
// downloaded. The arch that is not the host's is cross-compiled with Debian's
// cross toolchain (g++-aarch64-linux-gnu on x64, g++-x86-64-linux-gnu on arm64).
// Each build passes --netsock_prebuild=1 to binding.gyp (libstdc++ linked in,
// glibc 2.28 baseline, only the Node-API entry points exported) and is then
// checked by scripts/check-prebuild.cjs. See prebuilds/README.md.
//
// Each arch builds in a scratch copy of binding.gyp + native/, so the
// development build in build/ stays as it is.
//
// Usage: node scripts/prebuildify.cjs [x64] [arm64]   (default: both)
//        NETSOCK_PREBUILD_ARCHS=x64 npm pack            (the same, for prepack)
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { inspect, summary } = require('./check-prebuild.cjs')

const root = path.resolve(__dirname, '..')
const prebuilds = path.join(root, 'prebuilds')
const ARCHS = ['x64', 'arm64']
// GNU triplets of Debian's cross toolchains, by Node arch.
const TRIPLETS = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }
const CROSS_PACKAGES = { x64: 'g++-x86-64-linux-gnu', arm64: 'g++-aarch64-linux-gnu' }

function fail(message) {
  console.error(`prebuildify: ${message}`)
  process.exit(1)
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function requested() {
  const fromArgs = process.argv.slice(2)
  const fromEnv = (process.env.NETSOCK_PREBUILD_ARCHS ?? '').split(/[\s,]+/).filter(Boolean)
  const archs = fromArgs.length ? fromArgs : fromEnv.length ? fromEnv : ARCHS
  for (const a of archs) if (!ARCHS.includes(a)) fail(`unknown arch ${a} (known: ${ARCHS.join(', ')})`)
  return [...new Set(archs)]
}

/** Compiler environment for `arch`: the host's own compilers, or the cross toolchain. */
function toolchain(arch) {
  if (arch === os.arch()) return { env: {}, strip: 'strip' }
  const t = TRIPLETS[arch]
  if (!onPath(`${t}-g++`)) {
    fail(
      `cross-compiling ${arch} needs ${t}-g++ (Debian/Ubuntu: apt-get install ${CROSS_PACKAGES[arch]}); ` +
        `or build the host's arch only: NETSOCK_PREBUILD_ARCHS=${os.arch()}`,
    )
  }
  // gyp's Makefile compiles with $(CC)/$(CXX) and links with $(CXX) unless LINK is set.
  return { env: { CC: `${t}-gcc`, CXX: `${t}-g++` }, strip: `${t}-strip` }
}

/** A scratch project with what node-gyp reads: binding.gyp, native/, package.json and node_modules (node-addon-api). */
function stage(arch) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `netsock-prebuild-${arch}-`))
  for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(dir, f))
  fs.cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true })
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  return dir
}

function build(arch) {
  const { env, strip } = toolchain(arch)
  const dir = stage(arch)
  try {
    const args = [
      require.resolve('prebuildify/bin.js'),
      '--napi',
      '--strip',
      '--tag-libc',
      '--target',
      process.versions.node,
      '--arch',
      arch,
      '--strip-bin',
      strip,
      '--node-gyp',
      path.join(__dirname, 'node-gyp.cjs'),
      '--out',
      root,
      dir,
    ]
    console.error(`prebuildify: linux-${arch}${env.CXX ? ` with ${env.CXX}` : ''}`)
    const r = spawnSync(process.execPath, args, {
      cwd: dir,
      stdio: 'inherit',
      // NETSOCK_PREBUILD makes scripts/node-gyp.cjs pass --netsock_prebuild=1
      // to binding.gyp; JOBS lets node-gyp's make use both cores.
      env: { ...process.env, ...env, NETSOCK_PREBUILD: '1', JOBS: process.env.JOBS ?? String(os.availableParallelism()) },
    })
    if (r.status !== 0) fail(`building linux-${arch} failed (exit ${r.status ?? r.signal})`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const out = path.join(prebuilds, `linux-${arch}`)
  const files = fs.readdirSync(out).filter((f) => f.endsWith('.node'))
  if (files.length === 0) fail(`no .node file in ${out}`)
  for (const f of files) {
    const report = inspect(path.join(out, f), arch)
    console.error(`prebuildify: ${summary(report)}`)
    if (report.problems.length) fail(`${path.join(out, f)} would not load everywhere (see above)`)
  }
}

const archs = requested()
// The tarball ships exactly what this run built: drop earlier binaries, keep prebuilds/README.md.
for (const entry of fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds, { withFileTypes: true }) : []) {
  if (entry.isDirectory()) fs.rmSync(path.join(prebuilds, entry.name), { recursive: true, force: true })
}
for (const arch of archs) build(arch)
