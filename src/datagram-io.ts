// The datagram data path of one socket as one readiness source: the send
// half (DatagramSender) wants the socket writable while sends are queued,
// the receive half (DatagramReceiver) wants it readable while someone
// consumes datagrams.
import { DatagramReceiver, type DatagramListeners, type RecvMemoryOptions } from './datagram-receive.js'
import { DatagramSender } from './datagram-send.js'
import { READABLE, WRITABLE, type ReadinessSource } from './readiness.js'
import type { SocketCore } from './socket-core.js'
import type { SocketStats } from './stats.js'

/** What the data path needs from its socket. */
export interface DatagramHost {
  /** Emits on the public socket. */
  emit(event: string | symbol, ...args: unknown[]): boolean
  /** Re-evaluates what the socket polls for. */
  updateReadiness(): void
  /** Makes the poll handle now; throws when the socket cannot be watched. */
  prepareToWait(): void
}

export class DatagramIo implements ReadinessSource {
  readonly sender: DatagramSender
  readonly receiver: DatagramReceiver
  #core: SocketCore
  #host: DatagramHost

  constructor(core: SocketCore, host: DatagramHost, listeners: DatagramListeners, stats: SocketStats, memory: RecvMemoryOptions) {
    this.#core = core
    this.#host = host
    this.sender = new DatagramSender(core, stats, {
      updateReadiness: () => host.updateReadiness(),
      prepareToWait: () => host.prepareToWait(),
      // While closing, an error nobody listens for is not thrown at close().
      failed: (err) => void (!(core.closed && listeners.error === 0) && host.emit('error', err)),
    })
    this.receiver = new DatagramReceiver(core, host, listeners, stats, memory)
  }

  interest(): number {
    return (this.receiver.wantsReadable ? READABLE : 0) | (this.sender.queued > 0 ? WRITABLE : 0)
  }

  onReady(events: number): void {
    if (events & WRITABLE && this.sender.flush() && !this.#core.closed) this.#host.emit('drain')
    if (events & READABLE) this.receiver.receive()
  }

  /** Last flush of the queue and the end of iterators; `fd` is still open, the socket marked closed. */
  close(fd: number): void {
    this.sender.close(fd)
    this.receiver.close()
  }
}
