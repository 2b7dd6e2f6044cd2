// The async iterator behind `for await (const m of socket)`: copies of
// received datagrams, bounded by a high-water mark so a slow consumer pauses
// reading instead of growing memory.
import type { Ancillary } from './recv-batch.js'
import type { RemoteInfo } from './sockaddr.js'

/** A datagram as 'message' and async iteration deliver it: a copy, with its sender. */
export interface Message {
  /** The datagram's bytes (a copy the receiver owns). */
  data: Buffer
  /** The sender, and the ancillary data chosen with `setAncillary()`. */
  rinfo: RemoteInfo & Ancillary
}

export class MessageIterator implements AsyncIterableIterator<Message> {
  queue: Message[] = []
  head = 0
  waiting: { resolve: (r: IteratorResult<Message>) => void; reject: (e: Error) => void } | null = null
  done = false
  failure: Error | null = null

  /** Runs once when the iteration ends, however it ends (removes the abort listener). */
  onEnd: (() => void) | null = null

  constructor(
    readonly highWaterMark: number,
    private readonly detach: (it: MessageIterator) => void,
  ) {}

  get size(): number {
    return this.queue.length - this.head
  }

  get full(): boolean {
    return this.size >= this.highWaterMark
  }

  push(m: Message): void {
    if (this.waiting) {
      const w = this.waiting
      this.waiting = null
      w.resolve({ value: m, done: false })
    } else this.queue.push(m)
  }

  end(err?: Error): void {
    if (this.done) return
    this.done = true
    this.onEnd?.()
    this.onEnd = null
    const w = this.waiting
    this.waiting = null
    if (err && !w) this.failure = err // a waiting next() takes the error; otherwise the next call does
    if (w) {
      if (err) w.reject(err)
      else w.resolve({ value: undefined, done: true })
    }
    this.detach(this) // an ended iteration no longer reads
  }

  next(): Promise<IteratorResult<Message>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      this.detach(this) // lets the socket resume reading if it had paused for us
      return Promise.resolve({ value, done: false })
    }
    if (this.failure) {
      const err = this.failure
      this.failure = null
      this.detach(this)
      return Promise.reject(err)
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }))
  }

  return(): Promise<IteratorResult<Message>> {
    this.end()
    this.queue = []
    this.head = 0
    this.detach(this)
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
