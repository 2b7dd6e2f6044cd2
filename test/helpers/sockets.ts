// Socket bookkeeping for tests: every socket made through `track` is closed
// after the test, so a failing assertion never leaks a descriptor.
import { afterEach } from 'vitest'
import type { Socket } from '../../src/index.js'

const open: Socket[] = []

export function track<T extends Socket>(s: T): T {
  open.push(s)
  return s
}

afterEach(() => {
  for (const s of open.splice(0)) s.close()
})

/** The port a socket is bound to. */
export function portOf(s: Socket): number {
  return s.address().port
}
