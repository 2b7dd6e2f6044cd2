// The error queue as a readiness source: it waits (POLLERR, through POLLPRI)
// while 'errorqueue' listeners exist, or while transmit timestamps are on
// and 'txtimestamp' listeners exist. 'errorqueue' listeners read the queue
// themselves; with only 'txtimestamp' listeners netsock drains it (reading
// emits the timestamps). Stream sockets are left out: a closed TCP socket
// reports POLLHUP, which would wake this source forever.
import { ERRORS, type ReadinessSource } from './readiness.js'
import type { SocketCore } from './socket-core.js'

/** Listener counts this source acts on. */
export interface ErrorQueueListeners {
  errorqueue: number
  txtimestamp: number
}

export function errorQueueSource(core: SocketCore, listeners: ErrorQueueListeners, announce: () => void, drain: () => void): ReadinessSource {
  const listening = (): boolean => !core.stream && (listeners.errorqueue > 0 || (core.txTimestamps && listeners.txtimestamp > 0))
  return {
    interest: () => (listening() ? ERRORS : 0),
    onReady(events, status) {
      if (!(status < 0 || events & ERRORS) || !listening()) return
      if (listeners.errorqueue > 0) announce()
      else drain()
    },
  }
}
