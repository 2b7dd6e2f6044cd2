// Per-socket counters, kept in a Float64Array that JS updates as the data
// path runs: reading them costs no native call.
import util from 'node:util'

const FIELDS: readonly StatName[] = ['sent', 'received', 'bytesSent', 'bytesReceived', 'dropped', 'queued', 'eagain', 'truncated', 'discarded', 'overflow']
/** The name of one counter in `SocketStats`. */
export type StatName = 'sent' | 'received' | 'bytesSent' | 'bytesReceived' | 'dropped' | 'queued' | 'eagain' | 'truncated' | 'discarded' | 'overflow'
export const STAT = Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<StatName, number>

/**
 * Counters of one socket's datagram traffic.
 *
 * @example
 * s.stats.received   // datagrams delivered so far
 * s.stats.dropped    // the kernel's count of datagrams dropped for a full receive buffer
 *
 * @hideconstructor
 */
export class SocketStats {
  /** The counters as one typed array, in the order of `SocketStats.fields`. */
  readonly raw = new Float64Array(FIELDS.length)
  /** The counter names, in the order of `raw`. */
  static readonly fields = FIELDS

  /** Datagrams the kernel accepted from send/sendMany/sendSegments (segments count one each). */
  get sent(): number {
    return this.raw[STAT.sent]
  }
  /** Datagrams delivered to 'message', 'batch', async iteration or recvInto (GRO segments count one each). */
  get received(): number {
    return this.raw[STAT.received]
  }
  /** Payload bytes of the datagrams counted in `sent`. */
  get bytesSent(): number {
    return this.raw[STAT.bytesSent]
  }
  /** Payload bytes of the datagrams counted in `received`. */
  get bytesReceived(): number {
    return this.raw[STAT.bytesReceived]
  }
  /** Datagrams the kernel dropped because the receive buffer was full (SO_RXQ_OVFL, man 7 socket; stays 0 where that is missing, as under qemu-user). */
  get dropped(): number {
    return this.raw[STAT.dropped]
  }
  /** Datagrams waiting in the send queue now. */
  get queued(): number {
    return this.raw[STAT.queued]
  }
  /** Sends the kernel refused with EAGAIN (each one queued a datagram or more). */
  get eagain(): number {
    return this.raw[STAT.eagain]
  }
  /** Datagrams received truncated (larger than the receive slot), and GRO segments lost wholly past it. */
  get truncated(): number {
    return this.raw[STAT.truncated]
  }
  /** Queued datagrams dropped by close() because the kernel would not take them. */
  get discarded(): number {
    return this.raw[STAT.discarded]
  }

  /** Datagrams an async iterator missed because it was full while other listeners kept the socket reading. */
  get overflow(): number {
    return this.raw[STAT.overflow]
  }

  /**
   * Every counter as a plain object, so `JSON.stringify(s.stats)` shows them.
   * @example console.log(JSON.stringify(s.stats))   // {"sent":3,"received":0,...}
   */
  toJSON(): Record<StatName, number> {
    return Object.fromEntries(FIELDS.map((f, i) => [f, this.raw[i]])) as Record<StatName, number>
  }

  /** @internal `SocketStats { sent: 3, received: 0, ... }` in util.inspect and console.log. */
  [util.inspect.custom](depth: number, options: util.InspectOptionsStylized, inspect: typeof util.inspect): string {
    return `SocketStats ${inspect(this.toJSON(), options)}`
  }
}
