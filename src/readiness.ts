// Readiness: one native poll handle per socket, started with exactly the
// events its sources want. Sources (the datagram path, connect/accept
// waiters, the error-queue listener) say what they wait for; this unit
// computes the mask, dispatches what fired, drains a POLLERR nobody
// consumed, re-arms in `finally` so a throwing handler never leaves the
// socket deaf, and releases the handle when nothing waits, so an idle socket
// can be garbage-collected. No exception escapes the native callback other
// than one a user handler threw (Node reports those as uncaught).
import { constants } from './constants.js'
import { check, systemError } from './errors.js'
import { readErrorQueueFd } from './errqueue.js'
import { addon, type NativePoller } from './native.js'
import { getRawOption } from './options.js'

/** Events a source can wait for; `addon.UV_*` values. */
export const READABLE = addon.UV_READABLE
export const WRITABLE = addon.UV_WRITABLE
/** POLLPRI: a poll started with it still wakes on POLLERR (the error queue). */
export const ERRORS = addon.UV_PRIORITIZED

/** Something that waits on the socket. */
export interface ReadinessSource {
  /** The events wanted now: READABLE | WRITABLE | ERRORS, or 0. */
  interest(): number
  /**
   * Called with the events that fired. `status` < 0 means the kernel
   * reported POLLERR (libuv stopped the handle and reports every event).
   */
  onReady(events: number, status: number): void
  /** True while the source reads SO_ERROR itself (a pending TCP connect). */
  readsSocketError?(): boolean
}

/** How a pending error is cleared: the error queue and SO_ERROR. */
export interface PollErrorReader {
  /** Reads the error queue empty. */
  drainErrorQueue(fd: number): void
  /** SO_ERROR (reading clears it): 0 or a positive errno. */
  takeSocketError(fd: number): number
}

const kernel: PollErrorReader = {
  drainErrorQueue(fd) {
    while (readErrorQueueFd(fd) !== null);
  },
  takeSocketError(fd) {
    return getRawOption(fd, constants.SOL_SOCKET, constants.SO_ERROR)
  },
}

const NOT_WATCHABLE_HINT =
  "this event loop already watches the descriptor (a net or dgram socket owns it); a socket adopted with owned: false takes options, send, recvInto and readErrorQueue, but no 'message', 'batch' or 'errorqueue' listener"

export interface ReadinessOptions {
  /** Makes the native poller; tests pass a fake. */
  makePoller?: (callback: (status: number, events: number) => void) => NativePoller
  /** Tests pass a fake. */
  errors?: PollErrorReader
  /**
   * False for families without an error queue (AF_UNIX, netlink): there
   * recvmsg ignores MSG_ERRQUEUE and would read ordinary datagrams, so an
   * unread POLLERR only has its SO_ERROR cleared.
   */
  hasErrorQueue?: boolean
}

export class Readiness {
  #target: { readonly fd: number }
  #sources: ReadinessSource[] = []
  #onError: (err: Error) => void
  #makePoller: NonNullable<ReadinessOptions['makePoller']>
  #errors: PollErrorReader
  #hasErrorQueue: boolean
  #poller: NativePoller | null = null
  /** The mask the handle is started with; 0 when stopped. */
  #started = 0
  #referenced = true

  /**
   * `target.fd` is read on every update (-1 once closed). `onError`
   * receives a pending socket error nobody else consumed.
   */
  constructor(target: { readonly fd: number }, onError: (err: Error) => void, options: ReadinessOptions = {}) {
    this.#target = target
    this.#onError = onError
    this.#makePoller = options.makePoller ?? ((callback) => new addon.Poller(callback))
    this.#errors = options.errors ?? kernel
    this.#hasErrorQueue = options.hasErrorQueue ?? true
  }

  /** Adds a source; sources are dispatched in the order they were added. */
  add(source: ReadinessSource): void {
    this.#sources.push(source)
  }

  /** The mask the sources want now. */
  interest(): number {
    let events = 0
    for (const s of this.#sources) events |= s.interest()
    return events
  }

  /** Starts, changes or stops the poll handle to match what the sources want. */
  update(): void {
    const fd = this.#target.fd
    if (fd < 0) return
    const events = this.interest()
    if (events === 0) {
      // Close rather than stop: a stopped poller still holds its callback, and
      // through it the socket, which could then never be garbage-collected.
      this.#release()
      return
    }
    if (!this.#poller) {
      const poller = this.#makePoller((status, ready) => this.#onPoll(status, ready))
      check(poller.open(fd), 'uv_poll_init')
      if (!this.#referenced) poller.unref()
      this.#poller = poller
    }
    // uv_poll_start re-registers the fd with epoll even for the same mask, so
    // call it only when the mask changes: one epoll_ctl per change, not per event.
    if (events !== this.#started) {
      check(this.#poller.start(events), 'uv_poll_start')
      this.#started = events
    }
  }

  /**
   * Makes the poll handle now, so that a descriptor libuv cannot watch
   * (EEXIST: this loop already watches it through a net or dgram handle,
   * for a socket adopted with owned: false) fails here, synchronously, and
   * not later from a callback.
   */
  prepare(hint = NOT_WATCHABLE_HINT): void {
    if (this.#poller || this.#target.fd < 0) return
    const poller = this.#makePoller((status, ready) => this.#onPoll(status, ready))
    const rc = poller.open(this.#target.fd)
    if (rc < 0) throw systemError(rc, 'uv_poll_init', { hint })
    if (!this.#referenced) poller.unref()
    this.#poller = poller
  }

  ref(): void {
    this.#referenced = true
    this.#poller?.ref()
  }

  unref(): void {
    this.#referenced = false
    this.#poller?.unref()
  }

  /** Releases the poll handle for good (the socket is closing). */
  close(): void {
    this.#release()
  }

  #release(): void {
    this.#poller?.close()
    this.#poller = null
    this.#started = 0
  }

  #onPoll(status: number, events: number): void {
    // libuv reports POLLERR as status UV_EBADF and stops the handle; the
    // socket's own calls (SO_ERROR, accept, recv) then say what really
    // happened. While POLLPRI is watched, libuv reports POLLERR as
    // UV_PRIORITIZED with status 0.
    if (status < 0) {
      events = READABLE | WRITABLE
      this.#started = 0 // libuv stopped the handle
    }
    try {
      for (const source of this.#sources) {
        if (this.#target.fd < 0) return
        source.onReady(events, status)
      }
    } finally {
      if (status < 0 && this.#target.fd >= 0) this.#clearPollError(this.#target.fd)
      this.update()
    }
  }

  /**
   * POLLERR that nobody consumed (an error queue with no reader, or a
   * pending error no receive picked up) stays set and would wake the loop
   * forever: drain the queue and clear the error, reporting it.
   */
  #clearPollError(fd: number): void {
    if (this.#hasErrorQueue && !(this.interest() & ERRORS)) this.#errors.drainErrorQueue(fd)
    if (this.#sources.some((s) => s.readsSocketError?.())) return
    const soError = this.#errors.takeSocketError(fd)
    if (soError !== 0) this.#onError(systemError(-soError, 'poll'))
  }
}
