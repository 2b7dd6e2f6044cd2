// The ordered queue behind a datagram socket's sends. A send the kernel
// refuses with EAGAIN waits here (its bytes kept alive, not copied) until the
// socket is writable; later sends queue behind it so order is kept. The
// queue is three parallel arrays from `head` on, handed to sendmmsg as is.
import os from 'node:os'
import { bufferDetached } from './errors.js'
import { addon } from './native.js'
import { isReceiveMemory } from './recv-batch.js'

const MAX_BATCH = addon.limits.maxBatch
const EAGAIN = -os.constants.errno.EAGAIN

/** What the queue reports back to its socket. */
export interface SendQueueHost {
  /** The kernel took `datagrams` datagrams of `bytes` bytes. */
  sent(datagrams: number, bytes: number): void
  /** The kernel refused with EAGAIN. */
  blocked(): void
  /** A queued datagram failed for good: its error. */
  failed(err: Error): void
  /** The error for a negative result of sendmmsg to `addr`. */
  error(rc: number, addr: Uint8Array | undefined): Error
}

export class SendQueue {
  #views: Uint8Array[] = []
  #lengths: number[] = []
  #addrs: (Uint8Array | undefined)[] = []
  #head = 0
  #host: SendQueueHost

  constructor(host: SendQueueHost) {
    this.#host = host
  }

  /** Datagrams waiting. */
  get size(): number {
    return this.#views.length - this.#head
  }

  /**
   * Queues one datagram. A view of netsock receive memory (forwarding
   * `batch.data(i)`, from this socket or another) is copied: the next
   * receive would overwrite it while it waits.
   */
  push(view: Uint8Array, addr: Uint8Array | undefined): void {
    if (isReceiveMemory(view.buffer)) view = view.slice()
    this.#views.push(view)
    this.#lengths.push(view.byteLength)
    this.#addrs.push(addr)
  }

  /** True when the datagram at `i` still has the bytes it was queued with (its buffer was not detached). */
  #intact(i: number): boolean {
    return this.#views[i].byteLength === this.#lengths[i]
  }

  /**
   * Sends what the kernel takes, in batches, until the queue is empty
   * (true) or the kernel refuses (false). A datagram whose buffer was
   * detached while queued, or that the kernel rejects, is dropped and
   * reported through `host.failed`. `final` (close): stop at the first
   * refusal of any kind.
   */
  flush(fd: number, isOpen: () => boolean, final = false): boolean {
    while (this.size > 0 && isOpen()) {
      const i = this.#head
      if (!this.#intact(i)) {
        // Detached (transferred) while queued: nothing left to send.
        this.#advance(1)
        this.#host.failed(bufferDetached('data'))
        continue
      }
      let count = 1
      while (count < MAX_BATCH && i + count < this.#views.length && this.#intact(i + count)) count++
      const rc = addon.sendMany(fd, this.#views, this.#addrs, i, count)
      if (rc > 0) {
        let bytes = 0
        for (let k = i; k < i + rc; k++) bytes += this.#lengths[k]
        this.#host.sent(rc, bytes)
        this.#advance(rc)
        continue
      }
      if (final) return false
      if (rc === EAGAIN) {
        this.#host.blocked()
        return false
      }
      this.#advance(1)
      this.#host.failed(this.#host.error(rc, this.#addrs[i]))
    }
    return this.size === 0
  }

  /** Drops everything still queued; returns how many. */
  discard(): number {
    const n = this.size
    this.#advance(n)
    return n
  }

  #advance(n: number): void {
    for (let k = this.#head; k < this.#head + n; k++) {
      this.#views[k] = undefined as never // let the buffer go
      this.#addrs[k] = undefined
    }
    this.#head += n
    if (this.#head === this.#views.length) {
      this.#views = []
      this.#lengths = []
      this.#addrs = []
      this.#head = 0
    } else if (this.#head > 4096 && this.#head * 2 > this.#views.length) {
      this.#views = this.#views.slice(this.#head)
      this.#lengths = this.#lengths.slice(this.#head)
      this.#addrs = this.#addrs.slice(this.#head)
      this.#head = 0
    }
  }
}
