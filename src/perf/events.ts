// A push-to-pull queue: the run pushes events as they happen, the caller
// pulls them with for await. Leaving the loop early (break, return, throw)
// calls `onReturn`, which stops the run.

export class EventQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = []
  #waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = []
  #done = false
  #error: Error | null = null
  onReturn: () => void = () => {}

  push(value: T): void {
    if (this.#done) return
    const w = this.#waiters.shift()
    if (w) w.resolve({ value, done: false })
    else this.#items.push(value)
  }

  end(): void {
    if (this.#done) return
    this.#done = true
    for (const w of this.#waiters.splice(0)) w.resolve({ value: undefined, done: true })
  }

  fail(reason: unknown): void {
    if (this.#done) return
    this.#done = true
    const err = reason instanceof Error ? reason : new Error(String(reason))
    this.#error = err
    for (const w of this.#waiters.splice(0)) w.reject(err)
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length) return Promise.resolve({ value: this.#items.shift()!, done: false })
    if (this.#done) {
      if (this.#error !== null) {
        const e = this.#error
        this.#error = null // thrown once; then the iterator is simply done
        return Promise.reject(e)
      }
      return Promise.resolve({ value: undefined, done: true })
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.#done) {
      this.#done = true
      this.#items = []
      this.onReturn()
    }
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}

/** An AbortError like Node's, with the signal's reason as its cause. */
/**
 * Runs `run` and hands back what it pushes as an async iterable: the
 * iteration ends when it settles (throwing its error), and ending the
 * iteration early, or aborting `signal`, aborts it.
 */
export function eventsOf<T>(signal: AbortSignal | undefined, run: (q: EventQueue<T>, signal: AbortSignal) => Promise<void>): AsyncIterableIterator<T> {
  const q = new EventQueue<T>()
  const ac = new AbortController()
  const onAbort = (): void => ac.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) ac.abort(signal.reason)
  q.onReturn = () => ac.abort()
  run(q, ac.signal)
    .then(
      () => q.end(),
      (err) => q.fail(err),
    )
    .finally(() => signal?.removeEventListener('abort', onAbort))
  return q
}

export function abortError(signal?: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal?.reason }) as Error & { code: string }
  err.name = 'AbortError'
  err.code = 'ABORT_ERR'
  return err
}

/**
 * Resolves after `ms`, or rejects with an AbortError when `signal` fires
 * first. When `cancel` fires the timer is dropped and the promise never
 * settles (the caller stopped waiting), so no timer keeps the process alive.
 */
export function sleep(ms: number, signal: AbortSignal, cancel?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal))
    const cleanup = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      cancel?.removeEventListener('abort', cleanup)
    }
    const onAbort = (): void => {
      cleanup()
      reject(abortError(signal))
    }
    const timer = setTimeout(() => {
      cleanup()
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
    cancel?.addEventListener('abort', cleanup, { once: true })
  })
}

/** A promise that rejects when `signal` fires (never settles otherwise). */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(abortError(signal))
    else signal.addEventListener('abort', () => reject(abortError(signal)), { once: true })
  })
}

/** Keeps a promise's rejection from being reported as unhandled when nobody awaits it any more. */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}
