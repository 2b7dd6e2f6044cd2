// What every part of a socket needs and no more: its descriptor, what kind
// of socket it is, and whether it is still open. Multicast, BPF, options,
// the error queue, readiness and the data path take this, never the whole
// Socket, so none of them depends on the public class.
import { socketClosed, wrongSocketType } from './errors.js'
import { addon } from './native.js'
import { ipFamily, isStream, type KindInfo } from './socket-kind.js'

export class SocketCore {
  #fd: number
  readonly info: KindInfo
  /** False for a descriptor adopted with `owned: false`: it is let go of, never closed. */
  readonly owned: boolean
  /** 4 or 6 for IP sockets, 0 for others. */
  readonly family: 4 | 6 | 0
  /** setTimestamping({ tx: true }) is on: the error queue carries transmit timestamps. */
  txTimestamps = false
  /** Reading ended (shutdown('read'), or a SOCK_SEQPACKET peer closed): nothing more will arrive. */
  readShutdown = false
  #peer: { connected: boolean; v4Mapped: boolean } | undefined = undefined

  /** The peer as getpeername reports it, read once and again after connect() or disconnect(). */
  #peerInfo(): { connected: boolean; v4Mapped: boolean } {
    if (this.#peer === undefined) {
      const out = new Uint8Array(32)
      const len = this.#fd >= 0 ? addon.getpeername(this.#fd, out) : -1
      const v4Mapped = this.family === 6 && len >= 24 && out.subarray(8, 18).every((b) => b === 0) && out[18] === 0xff && out[19] === 0xff
      this.#peer = { connected: len >= 0, v4Mapped }
    }
    return this.#peer
  }

  /** Connected to a peer (connect(), or adopted connected). */
  get connected(): boolean {
    return this.#peerInfo().connected
  }

  /** An IPv6 socket connected to an IPv4-mapped peer: its control messages take IPv4 levels. */
  get peerV4Mapped(): boolean {
    return this.#peerInfo().v4Mapped
  }

  /** The peer changed (connect, disconnect): read it again when asked. */
  peerChanged(): void {
    this.#peer = undefined
  }
  /** SOCK_STREAM: no datagram path, no error-queue polling. */
  readonly stream: boolean

  constructor(fd: number, info: KindInfo, owned: boolean) {
    this.#fd = fd
    this.info = info
    this.owned = owned
    this.family = ipFamily(info)
    this.stream = isStream(info)
  }

  /** The descriptor; -1 once closed or detached. */
  get fd(): number {
    return this.#fd
  }

  get closed(): boolean {
    return this.#fd < 0
  }

  /** The descriptor, or ERR_SOCKET_CLOSED naming `operation`. */
  open(operation: string): number {
    if (this.#fd < 0) throw socketClosed(operation)
    return this.#fd
  }

  /** The IP family, or ERR_SOCKET_BAD_TYPE for a socket that is not IP. */
  ipFamily(operation: string): 4 | 6 {
    if (this.family === 0) throw wrongSocketType(operation, this.info.kind)
    return this.family
  }

  /** An open datagram or raw IP socket: its descriptor and family. */
  datagram(operation: string): { fd: number; family: 4 | 6 } {
    const fd = this.open(operation)
    if (this.family === 0 || this.stream) throw wrongSocketType(operation, this.info.kind)
    return { fd, family: this.family }
  }

  /** Marks the socket closed and returns the descriptor it had. */
  markClosed(): number {
    const fd = this.#fd
    this.#fd = -1
    unclosed.unregister(this)
    return fd
  }

  /**
   * Closes the descriptor of an owned socket if `owner` (the public Socket)
   * is garbage-collected without close(). A socket that waits for something
   * stays reachable through its poll handle and is never collected.
   */
  closeWhenCollected(owner: object): void {
    if (this.owned) unclosed.register(owner, this.#fd, this)
  }
}

const unclosed = new FinalizationRegistry<number>((fd) => {
  addon.close(fd)
})
