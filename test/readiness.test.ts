// The readiness unit on its own, with a fake poller and a fake error reader:
// which events it polls for, when it re-arms, what it does with POLLERR.
import { describe, expect, test } from 'vitest'
import type { NativePoller } from '../src/native.js'
import { ERRORS, READABLE, Readiness, type ReadinessSource, WRITABLE } from '../src/readiness.js'

class FakePoller implements NativePoller {
  calls: string[] = []
  constructor(readonly fire: (status: number, events: number) => void) {}
  open(fd: number): number {
    this.calls.push(`open ${fd}`)
    return 0
  }
  start(events: number): number {
    this.calls.push(`start ${events}`)
    return 0
  }
  close(): void {
    this.calls.push('close')
  }
  ref(): void {
    this.calls.push('ref')
  }
  unref(): void {
    this.calls.push('unref')
  }
}

function setup(fd = 7) {
  const pollers: FakePoller[] = []
  const errors = { drained: 0, pending: 0, drainErrorQueue: () => void errors.drained++, takeSocketError: () => errors.pending }
  const reported: Error[] = []
  const target = { fd }
  const readiness = new Readiness(target, (err) => reported.push(err), {
    makePoller: (cb) => {
      const p = new FakePoller(cb)
      pollers.push(p)
      return p
    },
    errors,
  })
  return { readiness, pollers, errors, reported, target }
}

function source(mask: number, log: string[] = [], name = 'source'): ReadinessSource & { mask: number } {
  return {
    mask,
    interest() {
      return this.mask
    },
    onReady(events, status) {
      log.push(`${name} ${events} ${status}`)
    },
  }
}

describe('Readiness', () => {
  test('polls for the union of what its sources want, and starts the handle only when the mask changes', () => {
    const { readiness, pollers } = setup()
    const a = source(READABLE)
    const b = source(0)
    readiness.add(a)
    readiness.add(b)
    readiness.update()
    readiness.update()
    b.mask = WRITABLE
    readiness.update()
    expect(pollers).toHaveLength(1)
    expect(pollers[0].calls).toEqual(['open 7', `start ${READABLE}`, `start ${READABLE | WRITABLE}`])
  })

  test('closes the handle when nothing waits (so the socket can be collected) and opens a new one later', () => {
    const { readiness, pollers } = setup()
    const a = source(READABLE)
    readiness.add(a)
    readiness.update()
    a.mask = 0
    readiness.update()
    a.mask = ERRORS
    readiness.update()
    expect(pollers.map((p) => p.calls)).toEqual([
      ['open 7', `start ${READABLE}`, 'close'],
      ['open 7', `start ${ERRORS}`],
    ])
  })

  test('dispatches to sources in the order they were added, then re-arms for what they want now', () => {
    const { readiness, pollers } = setup()
    const log: string[] = []
    const first = source(READABLE, log, 'first')
    const second = source(READABLE, log, 'second')
    readiness.add(first)
    readiness.add(second)
    readiness.update()
    second.onReady = (events, status) => {
      log.push(`second ${events} ${status}`)
      second.mask = 0
      first.mask = WRITABLE
    }
    pollers[0].fire(0, READABLE)
    expect(log).toEqual([`first ${READABLE} 0`, `second ${READABLE} 0`])
    expect(pollers[0].calls.at(-1)).toBe(`start ${WRITABLE}`)
  })

  test('a source that throws does not leave the socket deaf: the handle is re-armed and the error goes on', () => {
    const { readiness, pollers } = setup()
    const a = source(READABLE)
    a.onReady = () => {
      a.mask = READABLE | WRITABLE
      throw new Error('handler failed')
    }
    readiness.add(a)
    readiness.update()
    expect(() => pollers[0].fire(0, READABLE)).toThrow('handler failed')
    expect(pollers[0].calls.at(-1)).toBe(`start ${READABLE | WRITABLE}`)
  })

  test('POLLERR: every source hears all events, the unread error queue is drained and a pending error reported once', () => {
    const { readiness, pollers, errors, reported } = setup()
    const log: string[] = []
    readiness.add(source(READABLE, log))
    readiness.update()
    errors.pending = 111
    pollers[0].fire(-9, 0)
    expect(log).toEqual([`source ${READABLE | WRITABLE} -9`])
    expect(errors.drained).toBe(1)
    expect(reported.map((e) => (e as Error & { code: string }).code)).toEqual(['ECONNREFUSED'])
    // libuv stopped the handle: it is started again even with the same mask.
    expect(pollers[0].calls.at(-1)).toBe(`start ${READABLE}`)
  })

  test('POLLERR with an error-queue reader and a pending connect: neither the queue nor SO_ERROR is taken from them', () => {
    const { readiness, pollers, errors, reported } = setup()
    const connect = { ...source(WRITABLE | ERRORS), readsSocketError: () => true }
    readiness.add(connect)
    readiness.update()
    errors.pending = 111
    pollers[0].fire(-9, 0)
    expect(errors.drained).toBe(0)
    expect(reported).toEqual([])
  })

  test('unref before the handle exists: the handle is made unreferenced; a closed target polls nothing', () => {
    const { readiness, pollers, target } = setup()
    readiness.add(source(READABLE))
    readiness.unref()
    readiness.update()
    expect(pollers[0].calls).toEqual(['open 7', 'unref', `start ${READABLE}`])
    readiness.close()
    target.fd = -1
    readiness.update()
    expect(pollers).toHaveLength(1)
    expect(pollers[0].calls.at(-1)).toBe('close')
  })
})
