// The option objects and the event map of a Socket.
import type { Ancillary, RecvBatch } from './recv-batch.js'
import type { RemoteInfo } from './sockaddr.js'

/** Options of a call that waits: `connect()` of a TCP socket, `accept()`. */
export interface WaitOptions {
  /** Abort the wait: the promise rejects with an AbortError and the socket stays usable. */
  signal?: AbortSignal
}

/** Which ancillary data to receive with each datagram (see `setAncillary`). */
export interface AncillaryOptions {
  /** TTL / hop limit (IP_RECVTTL, IPV6_RECVHOPLIMIT). */
  ttl?: boolean
  /** TOS / traffic class, with the ECN bits (IP_RECVTOS, IPV6_RECVTCLASS). */
  tos?: boolean
  /** Destination address and interface index (IP_PKTINFO, IPV6_RECVPKTINFO). */
  pktinfo?: boolean
  /** Kernel receive timestamp in nanoseconds (SO_TIMESTAMPNS). */
  timestamp?: boolean
}

/** Options of `messages()`, the async iterator over received datagrams. */
export interface IterateOptions extends WaitOptions {
  /** Datagrams held for a slow consumer before reading pauses (default 1024). */
  highWaterMark?: number
}

/** The events of a Socket and their arguments. */
export interface SocketEventMap {
  /** A datagram, copied (`'message'`, like dgram). */
  message: [msg: Buffer, rinfo: RemoteInfo & Ancillary]
  /** The datagrams of one receive call, as views valid until the handler returns. */
  batch: [batch: RecvBatch]
  /** The send queue emptied after a send returned false. */
  drain: []
  /** A queued send failed, a receive failed, or a pending socket error surfaced. */
  error: [err: Error]
  /** close() or detach() finished. */
  close: []
  /** The error queue has entries (datagram and raw sockets; read them with readErrorQueue()). */
  errorqueue: []
  /** A kernel transmit timestamp (after setTimestamping({ tx: true })). */
  txtimestamp: [timestamp: TxTimestamp]
  /** EventEmitter's own. */
  newListener: [event: string | symbol, listener: (...args: never[]) => void]
  /** EventEmitter's own. */
  removeListener: [event: string | symbol, listener: (...args: never[]) => void]
}

/** Options of `setTimestamping()`. */
export interface TimestampingOptions {
  /** Kernel software transmit timestamps, as 'txtimestamp' events (false turns them off). */
  tx?: boolean
}

/** One transmit timestamp: which send it belongs to and when the packet left. */
export interface TxTimestamp {
  /** The send call it belongs to, counted from 0 since timestamping was enabled (a GSO train is one). */
  id: number
  /** Nanoseconds since the epoch (CLOCK_REALTIME, as receive timestamps) when the packet went to the device. */
  timeNs: bigint
}
