// The calls of a stream socket that wait: a connect in progress and the
// queue of pending accepts, as one readiness source. A connect waits for
// writable and reads SO_ERROR for its outcome (man 2 connect, EINPROGRESS);
// accepts wait for readable and are served in order.
import os from 'node:os'
import { constants } from './constants.js'
import { abortError, systemError } from './errors.js'
import { addon } from './native.js'
import { getRawOption } from './options.js'
import { READABLE, WRITABLE, type ReadinessSource } from './readiness.js'
import type { SocketCore } from './socket-core.js'

const EAGAIN = -os.constants.errno.EAGAIN

interface Waiter<T> {
  resolve: (value: T) => void
  reject: (err: Error) => void
}

export class StreamWaiters<S> implements ReadinessSource {
  #core: SocketCore
  #update: () => void
  #adopt: (fd: number) => S
  #accepts: Waiter<S>[] = []
  #connect: (Waiter<void> & { address: string; port: number }) | null = null

  /**
   * `update` re-evaluates readiness after a waiter comes or goes; `adopt`
   * wraps an accepted descriptor in a socket.
   */
  constructor(core: SocketCore, update: () => void, adopt: (fd: number) => S) {
    this.#core = core
    this.#update = update
    this.#adopt = adopt
  }

  get connecting(): boolean {
    return this.#connect !== null
  }

  interest(): number {
    return (this.#accepts.length > 0 ? READABLE : 0) | (this.#connect ? WRITABLE : 0)
  }

  readsSocketError(): boolean {
    return this.#connect !== null
  }

  onReady(events: number): void {
    const connect = this.#connect
    if (events & WRITABLE && connect) {
      const soError = getRawOption(this.#core.fd, constants.SOL_SOCKET, constants.SO_ERROR)
      if (soError === 0) connect.resolve()
      else connect.reject(systemError(-soError, 'connect', { address: connect.address, port: connect.port }))
    }
    if (events & READABLE) {
      while (this.#accepts.length > 0 && !this.#core.closed) {
        const client = this.tryAccept()
        if (client === null) break
        if (!(client instanceof Error)) {
          this.#accepts[0].resolve(client)
          continue
        }
        // A connection reset before it was accepted is gone: take the next one (as libuv does).
        if ((client as Error & { code?: string }).code === 'ECONNABORTED') continue
        // Anything else (EMFILE, ENFILE, ENOBUFS) fails one accept, not every waiting one.
        this.#accepts[0].reject(client)
        break
      }
    }
  }

  /** A socket, an Error, or null when no connection is waiting (EAGAIN). */
  tryAccept(): S | Error | null {
    const client = addon.accept(this.#core.fd)
    if (client >= 0) return this.#adopt(client)
    if (client === EAGAIN) return null
    return systemError(client, 'accept')
  }

  /** Waits for the next connection; accepts are served in order. */
  accept(signal: AbortSignal | undefined): Promise<S> {
    return new Promise<S>((resolve, reject) => {
      const waiter = this.#wait(resolve, reject, signal, () => {
        const i = this.#accepts.indexOf(waiter)
        if (i !== -1) this.#accepts.splice(i, 1)
      })
      this.#accepts.push(waiter)
      this.#update()
    })
  }

  get accepting(): boolean {
    return this.#accepts.length > 0
  }

  /**
   * Waits for a connect that returned EINPROGRESS. `onAbort` undoes a
   * half-open connect when the signal fires.
   */
  connect(address: string, port: number, signal: AbortSignal | undefined, onAbort: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = this.#wait(resolve, reject, signal, () => (this.#connect = null), onAbort)
      this.#connect = { ...waiter, address, port }
      this.#update()
    })
  }

  /** Rejects every waiter (the socket is closing). */
  rejectAll(err: Error): void {
    this.#connect?.reject(err)
    for (const waiter of [...this.#accepts]) waiter.reject(err)
  }

  /** A pending wait: `remove` takes it out of its queue on any outcome. */
  #wait<T>(resolve: (value: T) => void, reject: (err: Error) => void, signal: AbortSignal | undefined, remove: () => void, onAbort?: () => void): Waiter<T> {
    const settle = (): void => {
      signal?.removeEventListener('abort', abort)
      remove()
      this.#update()
    }
    const abort = (): void => {
      settle()
      onAbort?.()
      reject(abortError(signal))
    }
    signal?.addEventListener('abort', abort, { once: true })
    return {
      resolve: (value: T) => {
        settle()
        resolve(value)
      },
      reject: (err: Error) => {
        settle()
        reject(err)
      },
    }
  }
}
