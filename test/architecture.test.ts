// The shape of src/ that keeps it easy to live in: no import cycles (type
// imports included), one file that touches the addon, a Socket facade that
// stays small.
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'

const src = path.resolve(__dirname, '../src')

function sources(dir = src): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))
}

/** Relative imports of each file (static, dynamic and type-only), as absolute .ts paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sources()) {
    const text = fs.readFileSync(file, 'utf8')
    const deps = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)\.js'/g)].map((m) => path.resolve(path.dirname(file), `${m[1]}.ts`))
    graph.set(file, deps)
  }
  return graph
}

test('src/ has no import cycle', () => {
  const graph = importGraph()
  const state = new Map<string, 'active' | 'done'>()
  const cycles: string[] = []
  const visit = (file: string, trail: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'active') {
      cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(src, f)).join(' -> '))
      return
    }
    state.set(file, 'active')
    for (const dep of graph.get(file) ?? []) visit(dep, [...trail, file])
    state.set(file, 'done')
  }
  for (const file of graph.keys()) visit(file, [])
  expect(cycles).toEqual([])
})

test('only src/native.ts loads the addon', () => {
  const loaders = sources().filter((f) => /node-gyp-build|\.node['"]|NETSOCK_ADDON/.test(fs.readFileSync(f, 'utf8')))
  expect(loaders.map((f) => path.relative(src, f))).toEqual(['native.ts'])
})

test('socket.ts is the facade: at most 450 lines', () => {
  const lines = fs.readFileSync(path.join(src, 'socket.ts'), 'utf8').split('\n').length
  expect(lines).toBeLessThanOrEqual(450)
})
