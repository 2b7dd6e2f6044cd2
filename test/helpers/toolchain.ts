// Build and emulation tools the packaging tests need (the arm64 cross
// compiler, qemu-user and its sysroot, readelf), found by path rather than
// run (qemu-user and a sysroot directory have no common version flag). Like
// testWithCaps: a test whose tools are missing skips with a reason, or
// fails when they are required: in CI (CI=true) and with NETSOCK_REQUIRE_PRIV=1,
// where .ci/run installs them.
import fs from 'node:fs'
import path from 'node:path'
import { it, test } from 'vitest'

export const requireToolchain = process.env.CI === 'true' || process.env.CI === '1' || process.env.NETSOCK_REQUIRE_PRIV === '1'

/** The path of `cmd` on PATH, or null. An absolute path is checked as is (a file or a directory). */
export function findTool(cmd: string): string | null {
  if (path.isAbsolute(cmd)) return fs.existsSync(cmd) ? cmd : null
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, cmd)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      return file
    } catch {}
  }
  return null
}

/** The tools in `tools` that are not there. */
export function missingToolchain(tools: string[]): string[] {
  return tools.filter((t) => findTool(t) === null)
}

/**
 * `test` when every tool is on PATH (or exists, for an absolute path);
 * otherwise a skipped test whose name says which are missing, or (CI,
 * NETSOCK_REQUIRE_PRIV=1) a failing one.
 */
export function testWithToolchain(tools: string[], name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  const missing = missingToolchain(tools)
  if (missing.length === 0) {
    test(name, fn, timeout)
  } else if (requireToolchain) {
    test(name, () => {
      throw new Error(`missing ${missing.join(', ')} (required in CI; .ci/run installs them from Debian)`)
    })
  } else {
    it.skip(`${name} (skipped: needs ${missing.join(', ')})`, fn)
  }
}
