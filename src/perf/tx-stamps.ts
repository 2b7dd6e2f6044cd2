// Where kernel transmit timestamps plug in. netsock's SO_TIMESTAMPING support
// (`socket.setTimestamping({ tx: true })` and 'txtimestamp' events carrying
// `{ id, timeNs }`, id counting the datagrams sent since it was turned on, as
// SOF_TIMESTAMPING_OPT_ID does) is not part of this build yet. When a socket
// has it, latency mode takes send times from the kernel; until then they are
// taken in software just before the send call.
import type { Socket } from '../socket.js'

interface TimestampingSocket {
  setTimestamping(options: { tx: boolean }): unknown
  on(event: 'txtimestamp', listener: (ev: { id: number; timeNs: bigint | number }) => void): unknown
}

/**
 * Turns on kernel transmit timestamps when the socket offers them and calls
 * `onStamp(index, timeNs)` for each (index: 0 for the first datagram sent
 * after this call). Returns false when they are not available.
 */
export function kernelTxStamps(sock: Socket, onStamp: (index: number, timeNs: bigint) => void): boolean {
  const s = sock as unknown as Partial<TimestampingSocket>
  if (typeof s.setTimestamping !== 'function' || typeof s.on !== 'function') return false
  try {
    s.setTimestamping({ tx: true })
  } catch {
    return false
  }
  s.on('txtimestamp', (ev) => onStamp(ev.id, typeof ev.timeNs === 'bigint' ? ev.timeNs : BigInt(Math.round(ev.timeNs))))
  return true
}
