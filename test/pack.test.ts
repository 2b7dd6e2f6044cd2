// The published package: `npm pack` (whose prepack builds dist/ and the
// prebuild) ships what a user needs, and the tarball installs and works on a
// machine with no compiler, loading the prebuild from both CommonJS and ESM.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const root = path.resolve(__dirname, '..')
const TIMEOUT = 240_000

// Children get a clean environment: not the ASan addon or preload that
// `npm run test:asan` sets (the point is to load the prebuild), and no npm_*
// variables from an enclosing `npm test`, which would steer the nested npm.
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|NETSOCK_|LD_PRELOAD$|ASAN_OPTIONS$|UBSAN_OPTIONS$|INIT_CWD$|NODE$)/i.test(k)) env[k] = v
  }
  return { ...env, ...extra }
}

function spawn(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: TIMEOUT, maxBuffer: 64 << 20 })
  if (r.error) throw r.error
  return r
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
  const r = spawn(cmd, args, cwd, env)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** The file behind a command on the current PATH, symlinks resolved. */
function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK)
      return fs.realpathSync(path.join(dir, name))
    } catch {}
  }
  throw new Error(`${name} is not on PATH`)
}

let tmp: string
let stage: string
let tarball: string
let noToolchain: NodeJS.ProcessEnv

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netsock-pack-'))
  // Pack a copy of the working tree: prepack rebuilds build/ and prebuilds/,
  // which would pull the addon from under test files running in parallel.
  // build/ is copied because prepack's esm-wrapper loads the addon to list
  // the exports before prebuildify has built anything.
  stage = path.join(tmp, 'stage')
  const skip = new Set(['node_modules', 'build-asan', 'dist', 'prebuilds', '.git', 'coverage'])
  fs.cpSync(root, stage, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(root, src)
      return !skip.has(rel.split(path.sep)[0]) && !rel.endsWith('.tgz')
    },
  })
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), 'dir')
  run('npm', ['pack', '--pack-destination', tmp], stage, cleanEnv())
  const packed = fs.readdirSync(tmp).filter((f) => f.endsWith('.tgz'))
  expect(packed).toHaveLength(1)
  tarball = path.join(tmp, packed[0])

  // A PATH with node, npm and sh only: npm's bin runs `env node` and npm runs
  // install scripts with `sh` by name; compilers, make and python3 stay out.
  const bin = path.join(tmp, 'bin')
  fs.mkdirSync(bin)
  fs.symlinkSync(process.execPath, path.join(bin, 'node'))
  fs.symlinkSync(which('npm'), path.join(bin, 'npm'))
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'))
  noToolchain = cleanEnv({ PATH: bin })
  // npm 11 ignores npm_config_node_gyp for install scripts and puts its own
  // node-gyp shim on their PATH, but after every node_modules/.bin above the
  // package; this one, above the test projects, shadows it.
  const shadow = path.join(tmp, 'node_modules', '.bin')
  fs.mkdirSync(shadow, { recursive: true })
  fs.writeFileSync(path.join(shadow, 'node-gyp'), '#!/bin/sh\necho "netsock test: node-gyp must not run" >&2\nexit 1\n', {
    mode: 0o755,
  })
}, TIMEOUT)

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

/** npm install of a tarball into a fresh project under tmp, without a toolchain. */
function installWithoutToolchain(name: string, tgz: string): { project: string; result: SpawnSyncReturns<string> } {
  const project = path.join(tmp, name)
  fs.mkdirSync(project)
  run('npm', ['init', '-y'], project, noToolchain)
  const result = spawn('npm', ['install', tgz, '--prefer-offline', '--no-audit', '--no-fund'], project, noToolchain)
  return { project, result }
}

describe('npm pack', () => {
  test('ships the prebuild, dist (CommonJS and ESM), the native sources and binding.gyp, but no build output', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''))

    expect(files.filter((f) => /^prebuilds\/linux-x64\/[^/]+\.node$/.test(f)).length).toBeGreaterThan(0)
    for (const f of ['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.mjs', 'dist/esm/index.d.mts']) {
      expect(files).toContain(f)
    }
    // Everything node-gyp needs to build from source where no prebuild fits.
    expect(files).toContain('binding.gyp')
    for (const f of fs.readdirSync(path.join(stage, 'native'))) expect(files).toContain(`native/${f}`)
    expect(files.filter((f) => /^(build|build-asan)\//.test(f))).toEqual([])
  })

  test('the test machine for installs has node, npm and sh but no compiler, make, python3 or node-gyp', () => {
    for (const tool of ['cc', 'gcc', 'c++', 'g++', 'make', 'python3', 'node-gyp']) {
      const found = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env: noToolchain, encoding: 'utf8' })
      expect(found.stdout.trim(), `${tool} is reachable`).toBe('')
    }
    for (const tool of ['node', 'npm', 'sh']) {
      const found = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env: noToolchain, encoding: 'utf8' })
      expect(found.stdout.trim()).toBe(path.join(tmp, 'bin', tool))
    }
  })

  test('a tarball without prebuilds cannot install there, so a successful install means the prebuild was used', () => {
    const unpacked = path.join(tmp, 'unpacked')
    fs.mkdirSync(unpacked)
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked])
    fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true })
    const stripped = path.join(tmp, 'no-prebuilds.tgz')
    execFileSync('tar', ['-czf', stripped, '-C', unpacked, 'package'])

    const { result } = installWithoutToolchain('control', stripped)
    expect(result.status).not.toBe(0)
    expect(result.stdout + result.stderr).toContain('node-gyp must not run')
  }, TIMEOUT)

  test('the tarball installs without a toolchain and loads its prebuild from require and import', () => {
    const { project, result } = installWithoutToolchain('project', tarball)
    expect(result.status, result.stdout + result.stderr).toBe(0)
    const installed = path.join(project, 'node_modules', 'netsock')
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false)

    // Each script reports the addon node-gyp-build picks, the .node files
    // actually loaded (require.cache holds native modules too) and a datagram
    // sent to itself over a netsock socket handed to node:dgram: netsock has
    // no send/receive of its own yet, so dgram does the I/O.
    const check = (label: string, entry: string) => `
const pkgDir = path.dirname(require.resolve('netsock/package.json'))
const picked = require('node-gyp-build').resolve(pkgDir)
const s = createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
const { port } = s.address()
const d = dgram.createSocket('udp4')
const timer = setTimeout(() => { console.error('no datagram'); process.exit(1) }, 10000)
d.on('message', (msg) => {
  clearTimeout(timer)
  d.close()
  const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
  console.log(JSON.stringify({ msg: String(msg), entry: ${entry}, pkgDir, picked, loaded }))
})
d.bind({ fd: s.detach() }, () => d.send('hello from ${label}', port, '127.0.0.1'))
`
    fs.writeFileSync(
      path.join(project, 'check.cjs'),
      `const dgram = require('node:dgram')\nconst path = require('node:path')\n` +
        `const { createSocket } = require('netsock')\n` +
        check('cjs', `require.resolve('netsock')`),
    )
    fs.writeFileSync(
      path.join(project, 'check.mjs'),
      `import dgram from 'node:dgram'\nimport path from 'node:path'\nimport { createRequire } from 'node:module'\n` +
        `import { fileURLToPath } from 'node:url'\nimport { createSocket } from 'netsock'\n` +
        `const require = createRequire(import.meta.url)\n` +
        check('esm', `fileURLToPath(import.meta.resolve('netsock'))`),
    )

    for (const [script, label, entry] of [
      ['check.cjs', 'cjs', 'dist/cjs/index.js'],
      ['check.mjs', 'esm', 'dist/esm/index.mjs'],
    ]) {
      const out = run(process.execPath, [script], project, noToolchain)
      const r = JSON.parse(out.trim().split('\n').pop()!)
      expect(r.msg).toBe(`hello from ${label}`)
      expect(fs.realpathSync(r.entry)).toBe(fs.realpathSync(path.join(installed, entry)))
      expect(fs.realpathSync(r.pkgDir)).toBe(fs.realpathSync(installed))
      expect(r.picked).toContain(`${path.sep}prebuilds${path.sep}linux-x64${path.sep}`)
      expect(r.loaded).toEqual([r.picked])
    }
  }, TIMEOUT)
})
