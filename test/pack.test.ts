// The published package: `npm pack` (whose prepack builds dist/ and the
// prebuilds) ships what a user needs, and the tarball installs and works:
// - on linux-x64 with no compiler, from CommonJS and ESM (the x64 prebuild);
// - on linux-arm64, shown with the arm64 Node 20 under qemu-user (the arm64
//   prebuild, cross-compiled with aarch64-linux-gnu-g++);
// - under Node 26 (the same Node-API 9 addon), with part of the suite;
// - on glibc 2.28, shown by the prebuilds' dynamic symbol tables;
// - where no prebuild fits, with netsock's own message, or by compiling on
//   install (node-addon-api is a runtime dependency).
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { NODE_26, NODE_ARM64, nodeFromNpm } from './helpers/node-binary.js'
import { hasCapability, requirePriv } from './helpers/privilege.js'
import { findTool, missingToolchain, testWithToolchain } from './helpers/toolchain.js'

const root = path.resolve(__dirname, '..')
const TIMEOUT = 600_000
const requireFromRoot = createRequire(path.join(root, 'package.json'))
interface PrebuildReport {
  machine: string
  needed: string[]
  versions: Record<string, string[]>
  exports: string[]
  problems: string[]
}
const { inspect, newest, compareVersions } = requireFromRoot('./scripts/check-prebuild.cjs') as {
  inspect: (file: string, arch: string) => PrebuildReport
  newest: (report: PrebuildReport, family: string) => string | undefined
  compareVersions: (a: string, b: string) => number
}
const { nodedir } = requireFromRoot('./scripts/nodedir.cjs') as { nodedir: () => string | null }

// The arm64 prebuild needs the cross compiler at pack time; qemu-user and the
// cross toolchain's arm64 sysroot (ld.so, libc, libstdc++ for Node) run it.
const CROSS = ['aarch64-linux-gnu-g++']
const QEMU = ['qemu-aarch64-static', '/usr/aarch64-linux-gnu/lib']
const ARCHS = missingToolchain(CROSS).length === 0 ? ['x64', 'arm64'] : ['x64']
// `npm run test:asan` sets NETSOCK_ADDON, which nothing here loads (children
// get a clean environment): that run would only repeat the main run's packing,
// installs and builds, so these tests skip there.
const otherAddon = Boolean(process.env.NETSOCK_ADDON)
const describeTarball = describe.skipIf(otherAddon)
const PREBUILDS = { x64: 'prebuilds/linux-x64/netsock.glibc.node', arm64: 'prebuilds/linux-arm64/netsock.glibc.node' }

// Children get a clean environment: not the ASan addon or preload that
// `npm run test:asan` sets (the point is to load the prebuild), and no npm_*
// variables from an enclosing `npm test`, which would steer the nested npm.
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|NETSOCK_|LD_PRELOAD$|ASAN_OPTIONS$|UBSAN_OPTIONS$|INIT_CWD$|NODE$|LIBC$|PREBUILDS_ONLY$|JOBS$)/i.test(k)) env[k] = v
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

/** The last stdout line of a script that prints one JSON line. */
function lastJson<T = Record<string, unknown>>(out: string): T {
  return JSON.parse(out.trim().split('\n').pop()!) as T
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
let files: string[]
let unpacked: string
let noToolchain: NodeJS.ProcessEnv
let installed: { project: string; dir: string } | undefined

beforeAll(() => {
  if (otherAddon) return
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netsock-pack-'))
  // Pack a copy of the working tree: prepack rebuilds dist/ and prebuilds/,
  // which would pull files from under test files running in parallel. build/
  // is copied because prepack's esm-wrapper loads the addon to list the
  // exports; prebuilds/ only for its README (the binaries are prepack's).
  stage = path.join(tmp, 'stage')
  const skip = new Set(['node_modules', 'build-asan', 'dist', '.git', 'coverage'])
  fs.cpSync(root, stage, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(root, src)
      const [top, second] = rel.split(path.sep)
      if (top === 'prebuilds' && second !== undefined && second !== 'README.md') return false
      return !skip.has(top) && !rel.endsWith('.tgz')
    },
  })
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), 'dir')
  run('npm', ['pack', '--pack-destination', tmp], stage, cleanEnv({ NETSOCK_PREBUILD_ARCHS: ARCHS.join(',') }))
  const packed = fs.readdirSync(tmp).filter((f) => f.endsWith('.tgz'))
  expect(packed).toHaveLength(1)
  tarball = path.join(tmp, packed[0])
  files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''))
  unpacked = path.join(tmp, 'unpacked')
  fs.mkdirSync(unpacked)
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked])
  unpacked = path.join(unpacked, 'package')

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
function installWithoutToolchain(name: string, tgz: string, args: string[] = []): { project: string; result: SpawnSyncReturns<string> } {
  const project = path.join(tmp, name)
  fs.mkdirSync(project)
  run('npm', ['init', '-y'], project, noToolchain)
  const result = spawn('npm', ['install', tgz, '--prefer-offline', '--no-audit', '--no-fund', ...args], project, noToolchain)
  return { project, result }
}

/** The tarball installed without a toolchain (once), for the tests that run it. */
function installedProject(): { project: string; dir: string } {
  if (!installed) {
    const { project, result } = installWithoutToolchain('project', tarball)
    expect(result.status, result.stdout + result.stderr).toBe(0)
    installed = { project, dir: path.join(project, 'node_modules', 'netsock') }
  }
  return installed
}

interface Smoke {
  arch: string
  node: string
  napi: string
  pkgDir: string
  picked: string
  loaded: string[]
  options: Record<string, unknown>
  sent: boolean
  received: { msg: string; from: string }
  ping: {
    replies?: { seq: number; from: string; timeout?: boolean }[]
    error?: { code: string; message: string }
    manual?: { kind: string; from: string; seq: number; checksumOk: boolean }
  }
}

/** Whether this process may ping: CAP_NET_RAW (raw socket) or a gid inside net.ipv4.ping_group_range. */
function mayPing(): boolean {
  if (hasCapability('CAP_NET_RAW')) return true
  const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number)
  return [process.getgid!(), ...process.getgroups!()].some((g) => g >= lo && g <= hi)
}

/** Runs test/fixtures/smoke.cjs in the installed project with `argv0 ...prefix`, and checks what every platform must show. */
function smoke(cmd: string, prefix: string[], arch: string, expectedNode: string): Smoke {
  const { project, dir } = installedProject()
  const script = path.join(project, 'smoke.cjs')
  fs.copyFileSync(path.join(root, 'test', 'fixtures', 'smoke.cjs'), script)
  const r = smokeRun(cmd, [...prefix, script], project)
  expect(r.arch).toBe(arch)
  expect(r.node).toBe(`v${expectedNode}`)
  expect(fs.realpathSync(r.pkgDir)).toBe(fs.realpathSync(dir))
  expect(r.picked).toBe(path.join(r.pkgDir, ...PREBUILDS[arch as 'x64' | 'arm64'].split('/')))
  expect(r.loaded).toEqual([r.picked])
  expect(r.options).toEqual({ SO_REUSEADDR: true, SO_RCVBUF: expect.any(Number), IP_TTL: 17, SO_BROADCAST: 1 })
  expect(r.options.SO_RCVBUF as number).toBeGreaterThanOrEqual(65536)
  expect(r.sent).toBe(true)
  expect(r.received).toEqual({ msg: `hello from ${arch}`, from: '127.0.0.1' })
  return r
}

function smokeRun(cmd: string, args: string[], cwd: string): Smoke {
  const r = spawn(cmd, args, cwd, noToolchain)
  expect(r.status, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0)
  return lastJson<Smoke>(r.stdout)
}

describeTarball('npm pack', () => {
  test('ships the prebuilds, dist (CommonJS and ESM), the native sources and binding.gyp, but no build output', () => {
    expect(files).toContain(PREBUILDS.x64)
    expect(files).toContain('prebuilds/README.md')
    for (const f of ['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.mjs', 'dist/esm/index.d.mts']) {
      expect(files).toContain(f)
    }
    // Everything node-gyp needs to build from source where no prebuild fits.
    expect(files).toContain('binding.gyp')
    for (const f of fs.readdirSync(path.join(stage, 'native'))) expect(files).toContain(`native/${f}`)
    expect(files.filter((f) => /^(build|build-asan)\//.test(f))).toEqual([])
  })

  testWithToolchain(CROSS, 'lists exactly the linux-x64 and linux-arm64 glibc prebuilds', () => {
    expect(files.filter((f) => f.startsWith('prebuilds/')).sort()).toEqual(['prebuilds/README.md', PREBUILDS.arm64, PREBUILDS.x64].sort())
  })

  test('package hygiene: MIT LICENSE, runtime dependencies, README links resolve inside the tarball, source maps carry their sources', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8'))
    expect(pkg.license).toBe('MIT')
    expect(files).toContain('LICENSE')
    expect(fs.readFileSync(path.join(unpacked, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/)
    // Compile on install needs node-addon-api (binding.gyp includes it); nothing else is a runtime dependency.
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['node-addon-api', 'node-gyp-build'])
    expect(pkg.scripts.install).toBe('node-gyp-build')

    // Relative links and images of every shipped markdown page.
    const pages = files.filter((f) => f.endsWith('.md'))
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'prebuilds/README.md']))
    const broken: string[] = []
    for (const page of pages) {
      const text = fs.readFileSync(path.join(unpacked, page), 'utf8')
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target)) continue
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(page), target.split('#')[0]))
        if (!files.includes(file) && !files.some((f) => f.startsWith(`${file}/`))) broken.push(`${page}: ${target}`)
      }
    }
    expect(broken).toEqual([])

    // Each source map's sources are in the tarball (or embedded).
    const maps = files.filter((f) => /\.(m?js|d\.m?ts)\.map$/.test(f))
    const missing: string[] = []
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(fs.readFileSync(path.join(unpacked, map), 'utf8'))
      sources.forEach((s: string, i: number) => {
        if (sourcesContent?.[i] != null) return
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(map), s))
        if (!files.includes(file)) missing.push(`${map} -> ${s}`)
      })
    }
    expect(missing).toEqual([])
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

  test(
    'a tarball without prebuilds cannot install there, so a successful install means the prebuild was used',
    () => {
      const dir = path.join(tmp, 'stripped')
      fs.mkdirSync(dir)
      execFileSync('tar', ['-xzf', tarball, '-C', dir])
      fs.rmSync(path.join(dir, 'package', 'prebuilds'), { recursive: true })
      const stripped = path.join(tmp, 'no-prebuilds.tgz')
      execFileSync('tar', ['-czf', stripped, '-C', dir, 'package'])

      const { result } = installWithoutToolchain('control', stripped)
      expect(result.status).not.toBe(0)
      expect(result.stdout + result.stderr).toContain('node-gyp must not run')
    },
    TIMEOUT,
  )

  test(
    'the tarball installs without a toolchain and loads its prebuild from require and import',
    () => {
      const { project, dir: installedDir } = installedProject()
      expect(fs.existsSync(path.join(installedDir, 'build'))).toBe(false)

      // Each script reports the addon node-gyp-build picks, the .node files
      // actually loaded (require.cache holds native modules too) and a datagram
      // sent to itself over a netsock socket handed to node:dgram.
      const check = (label: string, entry: string) => `
const pkgDir = path.dirname(require.resolve('netsock/package.json'))
const picked = require('node-gyp-build').resolve(pkgDir)
const s = createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
const { port } = s.address()
const d = dgram.createSocket('udp4')
const timer = setTimeout(() => { console.error('no datagram'); process.exit(1) }, 60000)
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
        const r = lastJson<{ msg: string; entry: string; pkgDir: string; picked: string; loaded: string[] }>(
          run(process.execPath, [script], project, noToolchain),
        )
        expect(r.msg).toBe(`hello from ${label}`)
        expect(fs.realpathSync(r.entry)).toBe(fs.realpathSync(path.join(installedDir, entry)))
        expect(fs.realpathSync(r.pkgDir)).toBe(fs.realpathSync(installedDir))
        expect(r.picked).toBe(path.join(r.pkgDir, ...PREBUILDS.x64.split('/')))
        expect(r.loaded).toEqual([r.picked])
      }
    },
    TIMEOUT,
  )

  testWithToolchain(['readelf'], 'each prebuild needs no libstdc++ symbol version, glibc <= 2.28 and exports only the Node-API entry points', () => {
    for (const arch of ARCHS) {
      const report = inspect(path.join(unpacked, PREBUILDS[arch as 'x64' | 'arm64']), arch)
      const versions = Object.keys(report.versions)
      expect(report.machine).toBe({ x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' }[arch])
      expect(
        versions.filter((v) => /^(GLIBCXX|CXXABI)_/.test(v)),
        arch,
      ).toEqual([])
      expect(
        report.needed.filter((l) => l.startsWith('libstdc++')),
        arch,
      ).toEqual([])
      const glibc = newest(report, 'GLIBC')
      expect(glibc, `${arch}: ${JSON.stringify(report.versions)}`).toBeDefined()
      expect(compareVersions(glibc!, '2.28'), `${arch} needs GLIBC_${glibc}: ${JSON.stringify(report.versions)}`).toBeLessThanOrEqual(0)
      expect(report.exports.sort()).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1'])
      expect(report.problems, arch).toEqual([])
    }
  })

  testWithToolchain(
    [...CROSS, ...QEMU],
    `the arm64 prebuild runs the smoke script under qemu-user with the arm64 Node ${NODE_ARM64.version}`,
    () => {
      const node = nodeFromNpm(NODE_ARM64, path.join(tmp, 'node-arm64'), cleanEnv())
      const r = smoke(findTool('qemu-aarch64-static')!, ['-L', '/usr/aarch64-linux-gnu', node], 'arm64', NODE_ARM64.version)
      checkPing(r, true)
    },
    TIMEOUT,
  )

  test(
    `the x64 prebuild runs the smoke script and part of the suite under Node ${NODE_26.version}`,
    (ctx) => {
      let node: string
      try {
        node = nodeFromNpm(NODE_26, path.join(tmp, 'node-26'), cleanEnv())
      } catch (err) {
        // No registry: required in CI, a skip elsewhere.
        if (requirePriv || process.env.CI) throw err
        ctx.skip(`cannot fetch ${NODE_26.name}@${NODE_26.version} from npm`)
      }
      const r = smoke(node, [], 'x64', NODE_26.version)
      checkPing(r, false)

      // The same addon file under part of the suite: sockets, options, the data
      // path, workers, GC and teardown. (lifecycle.test.ts's 100 terminated
      // workers first caught SendMany reading an unset napi_value under Node 26.)
      const { dir } = installedProject()
      const report = path.join(tmp, 'node26-vitest.json')
      const subset = ['socket', 'options', 'datagram-send', 'datagram-recv', 'worker', 'lifecycle']
        .map((n) => `test/${n}.test.ts`)
        .filter((f) => fs.existsSync(path.join(root, f)))
      expect(subset.length).toBeGreaterThan(0)
      const vitest = path.join(path.dirname(requireFromRoot.resolve('vitest/package.json')), 'vitest.mjs')
      const env = cleanEnv({
        NETSOCK_ADDON: path.join(dir, ...PREBUILDS.x64.split('/')),
        ...(process.env.NETSOCK_REQUIRE_PRIV ? { NETSOCK_REQUIRE_PRIV: process.env.NETSOCK_REQUIRE_PRIV } : {}),
      })
      const v = spawn(node, [vitest, 'run', ...subset, '--reporter=dot', '--reporter=json', `--outputFile.json=${report}`], root, env)
      const json = JSON.parse(fs.readFileSync(report, 'utf8'))
      expect(json.numFailedTests, v.stdout + v.stderr).toBe(0)
      expect(json.numPassedTests).toBeGreaterThan(50)
      expect(json.testResults.filter((f: { status: string }) => f.status !== 'passed').map((f: { name: string }) => f.name)).toEqual([])
      expect(v.status, v.stdout + v.stderr).toBe(0)
    },
    TIMEOUT,
  )

  test(
    "where no prebuild matches and nothing was built, the error is netsock's: what it ships, what it detected, how to build",
    () => {
      // --ignore-scripts: as when npm blocks an unapproved install script.
      const { project, result } = installWithoutToolchain('mismatch', tarball, ['--ignore-scripts'])
      expect(result.status, result.stdout + result.stderr).toBe(0)
      for (const [force, detected] of [
        [{ npm_config_arch: 'riscv64' }, /platform=linux arch=riscv64 libc=glibc .*\[set by npm_config_arch=riscv64\]/],
        [{ LIBC: 'musl' }, /platform=linux arch=x64 libc=musl .*\[set by LIBC=musl\]/],
      ] as const) {
        for (const code of [`require('netsock')`, `import('netsock').catch((e) => { console.error(e.message); process.exit(1) })`]) {
          const r = spawn(process.execPath, ['-e', code], project, { ...noToolchain, ...force })
          expect(r.status).not.toBe(0)
          const err = r.stderr
          expect(err).toContain('netsock: no native addon was built here and no prebuild matches this system.')
          expect(err).toContain(
            `ships prebuilds for: ${ARCHS.map((a) => `linux-${a} (glibc)`)
              .sort()
              .join(', ')}`,
          )
          expect(err).toMatch(detected)
          expect(err).toContain(`node=${process.versions.node} abi=${process.versions.modules} napi=${process.versions.napi}`)
          expect(err).toContain('npm install-scripts approve netsock')
          expect(err).toContain('npm rebuild netsock')
          expect(err).not.toContain('No native build was found')
        }
      }
    },
    TIMEOUT,
  )
})

describeTarball('compile on install, with a toolchain', () => {
  const headers = nodedir()
  const TOOLS = ['g++', 'make', 'python3', path.join(headers ?? '/nonexistent', 'include', 'node', 'node_api.h')]
  let buildTmp: string

  beforeAll(() => {
    // Outside tmp, whose node_modules/.bin shadows node-gyp.
    buildTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netsock-compile-'))
  })
  afterAll(() => {
    if (buildTmp) fs.rmSync(buildTmp, { recursive: true, force: true })
  })

  /** npm install with the normal PATH; node-gyp finds this Node's headers through npm_config_nodedir, as a user's would download them. */
  function installAndBuild(name: string, extra: NodeJS.ProcessEnv): { dir: string; env: NodeJS.ProcessEnv } {
    const project = path.join(buildTmp, name)
    fs.mkdirSync(project)
    const env = cleanEnv({ npm_config_nodedir: headers!, JOBS: '2', ...extra })
    run('npm', ['init', '-y'], project, env)
    const r = spawn('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project, env)
    expect(r.status, r.stdout + r.stderr).toBe(0)
    const dir = path.join(project, 'node_modules', 'netsock')
    expect(fs.existsSync(path.join(dir, 'build', 'Release', 'netsock.node')), 'build/Release/netsock.node').toBe(true)
    return { dir, env: { ...env, npm_config_nodedir: undefined } }
  }

  function loadsBuild(dir: string, env: NodeJS.ProcessEnv): void {
    const project = path.dirname(path.dirname(dir))
    const out = run(
      process.execPath,
      [
        '-e',
        `
      const netsock = require('netsock')
      const s = netsock.createSocket({ type: 'udp4' }).bind(0, '127.0.0.1')
      const picked = require('node-gyp-build').resolve(require('path').dirname(require.resolve('netsock/package.json')))
      console.log(JSON.stringify({ picked, port: s.address().port }))
      s.close()
    `,
      ],
      project,
      env,
    )
    const r = lastJson<{ picked: string; port: number }>(out)
    expect(r.picked).toBe(path.join(fs.realpathSync(dir), 'build', 'Release', 'netsock.node'))
    expect(r.port).toBeGreaterThan(0)
  }

  testWithToolchain(
    TOOLS,
    'npm_config_build_from_source=true compiles the addon although a prebuild matches',
    () => {
      const { dir, env } = installAndBuild('from-source', { npm_config_build_from_source: 'true' })
      loadsBuild(dir, env)
    },
    TIMEOUT,
  )

  testWithToolchain(
    TOOLS,
    'with no matching prebuild (LIBC=musl, as on Alpine) the install script compiles the addon',
    () => {
      const { dir, env } = installAndBuild('no-match', { LIBC: 'musl' })
      loadsBuild(dir, env)
    },
    TIMEOUT,
  )
})

/**
 * The ping part of the smoke script: a reply from 127.0.0.1 where this process
 * may ping; else the permission error ping() reports. Under qemu-user, which
 * does not emulate SO_TIMESTAMPNS (ENOPROTOOPT), the script's hand-made echo
 * on the same kind of socket stands in.
 */
function checkPing(r: Smoke, emulated: boolean): void {
  if (!mayPing()) {
    expect(['EPERM', 'EACCES'], JSON.stringify(r.ping)).toContain(r.ping.error?.code)
    return
  }
  if (emulated && r.ping.error?.code === 'ENOPROTOOPT') {
    expect(r.ping.error.message).toContain('SO_TIMESTAMPNS')
    expect(r.ping.manual).toMatchObject({ from: '127.0.0.1', seq: 1, checksumOk: true })
    return
  }
  expect(r.ping.error, JSON.stringify(r.ping)).toBeUndefined()
  expect(r.ping.replies).toHaveLength(1)
  expect(r.ping.replies![0]).toMatchObject({ seq: 1, from: '127.0.0.1' })
  expect(r.ping.replies![0].timeout).toBeFalsy()
}
