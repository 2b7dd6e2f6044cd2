// The shipped declarations teach: a consumer compiling with `types: []`
// (TypeScript 6's default) gets Node's types through netsock's own
// reference, and misspelt option names, wrong value types and unknown events
// are compile errors (test/types/*.{cts,mts}, each @ts-expect-error must fire).
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { expect, test } from 'vitest'

const root = path.resolve(__dirname, '..')

test('a consumer with types: [] compiles against dist/ and every @ts-expect-error in test/types fires', () => {
  const tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc')
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'test/types/tsconfig.json')], { cwd: root, encoding: 'utf8', timeout: 120_000 })
  const output = `${r.stdout}${r.stderr}`
  expect(output).toBe('')
  expect(r.status).toBe(0)
}, 120_000)
