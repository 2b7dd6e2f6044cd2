// The ordered queue behind a datagram socket's sends. A send the kernel
// refuses with EAGAIN waits here (its bytes kept alive, not copied) until the
// socket is writable; later sends queue behind it so order is kept. The
// queue is three parallel arrays from `head` on, handed to sendmmsg as is.
import os from 'node:os'
import { bufferDetached, bufferOutOfBounds, stale } from './errors.js'
import { unusableBytes } from './validate.js'
import { addon } from './native.js'
import { isReceiveMemory } from './recv-batch.js'

const MAX_BATCH = addon.limits.maxBatch
const STRIDE = addon.sendLayout.stride
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
  /** Send-control records parallel to the views (flags 0: none); null until one is queued. */
  #controls: Int32Array | null = null
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
  push(view: Uint8Array, addr: Uint8Array | undefined, controls?: Int32Array, index = 0): void {
    if (isReceiveMemory(view.buffer)) view = view.slice()
    const at = this.#views.length
    this.#views.push(view)
    this.#lengths.push(view.byteLength)
    this.#addrs.push(addr)
    if (controls || this.#controls) {
      const need = (at + 1) * STRIDE
      if (!this.#controls || this.#controls.length < need) {
        const grown = new Int32Array(Math.max(need, (this.#controls?.length ?? 0) * 2, 64 * STRIDE))
        if (this.#controls) grown.set(this.#controls)
        this.#controls = grown
      }
      if (controls) this.#controls.set(controls.subarray(index * STRIDE, (index + 1) * STRIDE), at * STRIDE)
      else this.#controls.fill(0, at * STRIDE, need)
    }
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
        // Detached (transferred) or shrunk while queued: nothing left to send.
        const why = unusableBytes(this.#views[i])
        this.#advance(1)
        this.#host.failed(why === 'out-of-bounds' ? bufferOutOfBounds('data') : bufferDetached('data'))
        continue
      }
      let count = 1
      while (count < MAX_BATCH && i + count < this.#views.length && this.#intact(i + count)) count++
      let rc = addon.sendMany(fd, this.#views, this.#addrs, i, count, this.#controls ?? undefined)
      if (stale(rc, this.#addrs[i] !== undefined)) rc = addon.sendMany(fd, this.#views, this.#addrs, i, count, this.#controls ?? undefined)
      if (rc > 0) {
        let bytes = 0
        let datagrams = 0
        for (let k = i; k < i + rc; k++) {
          bytes += this.#lengths[k]
          datagrams += this.#datagrams(k)
        }
        this.#host.sent(datagrams, bytes)
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

  /** Datagrams entry `k` makes: more than one for a GSO train (UDP_SEGMENT in its control). */
  #datagrams(k: number): number {
    const c = this.#controls
    if (!c || !(c[k * STRIDE + addon.sendLayout.flags] & addon.sendLayout.SEGMENT)) return 1
    return Math.ceil(this.#lengths[k] / c[k * STRIDE + addon.sendLayout.segment])
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
      this.#controls = null
      this.#head = 0
    } else if (this.#head > 4096 && this.#head * 2 > this.#views.length) {
      this.#views = this.#views.slice(this.#head)
      this.#lengths = this.#lengths.slice(this.#head)
      this.#addrs = this.#addrs.slice(this.#head)
      this.#controls?.copyWithin(0, this.#head * STRIDE)
      this.#head = 0
    }
  }
}
