// "Did you mean ...?": the names closest to a mistyped one, for option
// names (the library) and flags and commands (the netsock command).

/** Edits (insert, delete, replace, swap two neighbours) from a to b: optimal string alignment distance. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** Up to three of `known` close to `name` (case-insensitive, or containing it). */
export function closestNames(name: string, known: Iterable<string>): string[] {
  const upper = name.toUpperCase()
  return [...known]
    .map((k) => ({ k, d: upper.length >= 3 && k.toUpperCase().includes(upper) ? 0 : editDistance(upper, k.toUpperCase()) }))
    .filter(({ d }) => d <= 3)
    .sort((x, y) => x.d - y.d)
    .slice(0, 3)
    .map(({ k }) => k)
}
