// The API reference builds without warnings: typedoc.json turns every warning
// (an undocumented export, a type referenced but not exported, a broken
// {@link}) into a failure, so this keeps `npm run docs` clean in CI.
// `--emit none` runs the conversion and validation but writes nothing.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { expect, test } from 'vitest'

const root = path.resolve(__dirname, '..')
const TIMEOUT = 120_000

test(
  'typedoc builds the API reference without warnings',
  () => {
    // The project's own typedoc (what `npx typedoc` runs), started by this node.
    const pkg = createRequire(path.join(root, 'package.json')).resolve('typedoc/package.json')
    const bin = path.join(path.dirname(pkg), 'bin', 'typedoc')
    const r = spawnSync(process.execPath, [bin, '--emit', 'none'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: TIMEOUT,
      maxBuffer: 16 << 20,
    })
    if (r.error) throw r.error
    const output = `${r.stdout}${r.stderr}`
    expect(output, output).not.toMatch(/warning|error/i)
    expect(r.status, output).toBe(0)
  },
  TIMEOUT,
)
