// Privilege checks for tests. A test that needs CAP_NET_RAW / CAP_NET_ADMIN
// skips with a reason when the process lacks it; with NETSOCK_REQUIRE_PRIV=1
// (set in CI, which runs as root) the missing privilege fails the test instead.
import fs from 'node:fs'
import { it, test } from 'vitest'

const CAP_BITS = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13 } as const
export type Capability = keyof typeof CAP_BITS

function effectiveCaps(): bigint {
  const status = fs.readFileSync('/proc/self/status', 'utf8')
  const line = status.split('\n').find((l) => l.startsWith('CapEff:'))
  return line ? BigInt(`0x${line.split(/\s+/)[1]}`) : 0n
}

export function hasCapability(cap: Capability): boolean {
  return (effectiveCaps() & (1n << BigInt(CAP_BITS[cap]))) !== 0n
}

export const requirePriv = process.env.NETSOCK_REQUIRE_PRIV === '1'

/**
 * `test` when the capabilities are present; otherwise a skipped test whose
 * name says why, or (NETSOCK_REQUIRE_PRIV=1) a failing one.
 */
export function testWithCaps(caps: Capability[], name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  const missing = caps.filter((c) => !hasCapability(c))
  if (missing.length === 0) {
    test(name, fn, timeout)
  } else if (requirePriv) {
    test(name, () => {
      throw new Error(`NETSOCK_REQUIRE_PRIV=1 but the process lacks ${missing.join(', ')}`)
    })
  } else {
    it.skip(`${name} (skipped: needs ${missing.join(', ')})`, fn)
  }
}
