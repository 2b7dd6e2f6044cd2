// Tests that run system tools beside netsock (iputils ping, traceroute, nft).
// A missing tool skips the test with a reason; in CI (CI=true) or with
// NETSOCK_REQUIRE_PRIV=1 it fails instead, since .ci/run installs them.
import { spawnSync } from 'node:child_process'
import { it, test } from 'vitest'
import { hasCapability, requirePriv, type Capability } from './privilege.js'

const required = requirePriv || process.env.CI === 'true'

/** The Debian package that provides each tool, for the skip reason. */
const PACKAGES: Record<string, string> = { ping: 'iputils-ping', traceroute: 'traceroute', nft: 'nftables', setpriv: 'util-linux' }

/** Whether `tool` runs here (found on PATH). For ping, only iputils' counts. */
export function haveTool(tool: string): boolean {
  const r = spawnSync(tool, [tool === 'nft' ? '--version' : '-V'], { encoding: 'utf8' })
  if (r.error) return false
  return tool !== 'ping' || /iputils/.test(`${r.stdout}${r.stderr}`)
}

/**
 * `test` when the tools and capabilities are there; otherwise skipped with
 * the reason, or (CI, NETSOCK_REQUIRE_PRIV=1) failing with it.
 */
export function testWithTools(tools: string[], caps: Capability[], name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  const missingTools = tools.filter((t) => !haveTool(t))
  const missingCaps = caps.filter((c) => !hasCapability(c))
  const why = [...missingTools.map((t) => `${t} (apt-get install ${PACKAGES[t] ?? t})`), ...missingCaps]
  if (why.length === 0) test(name, fn, timeout)
  else if (required) {
    test(name, () => {
      throw new Error(`CI / NETSOCK_REQUIRE_PRIV=1 but this needs ${why.join(', ')}`)
    })
  } else it.skip(`${name} (skipped: needs ${why.join(', ')})`, fn)
}
