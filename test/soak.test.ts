import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'

// A CI-sized run of scripts/soak.mjs (`npm run soak` runs 1M datagrams and 10k sockets).
test('datagrams and socket churn leave no descriptors, poll handles or memory behind', () => {
  const out = execFileSync(process.execPath, ['--expose-gc', path.resolve(__dirname, '../scripts/soak.mjs')], {
    env: { ...process.env, DATAGRAMS: '200000', SOCKETS: '3000' },
    encoding: 'utf8',
    timeout: 120_000,
  })
  const r = JSON.parse(out)
  expect(r.leak).toBe(false)
  expect(r.datagrams.sent).toBe(200000)
  expect(r.datagrams.received + r.datagrams.dropped).toBe(200000)
  expect(r.openClose).toMatchObject({ cycles: 3000, ownedFdsAfter: r.openClose.ownedFdsBefore, pollsAfter: r.openClose.pollsBefore })
  expect(r.openClose.fdsAfter).toBeLessThanOrEqual(r.openClose.fdsBefore)
  // Receive memory is allocated once per socket: steady traffic must not grow the heap.
  expect(r.datagrams.growthMiB).toBeLessThan(32)
}, 150_000)
