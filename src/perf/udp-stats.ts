// What a UDP receiver learns from the packet counters and send times in the
// datagrams: loss, reordering and duplicates from the counter, jitter from
// the transit times (RFC 3550 section 6.4.1 / A.8, as iperf3 computes it).
//
// iperf3 counts loss as gaps in the counter, giving one back for each
// datagram that arrives late; a duplicate looks to it like a late datagram.
// Here a bitmap of the last WINDOW counters tells the two apart, so a
// duplicate is counted as such and does not cancel a loss. Loss is the
// highest counter seen minus the distinct datagrams received: datagrams lost
// after the last one that arrived are not counted, as in iperf3.

const WINDOW = 1 << 16

export class UdpReceiveStats {
  /** Highest packet counter seen (iperf3's packet_count on the receiver). */
  packets = 0
  /** Distinct datagrams received. */
  received = 0
  /** Bytes of every datagram received, duplicates included (as iperf3 counts). */
  bytes = 0
  /** Datagrams that arrived after a higher counter had. */
  outOfOrder = 0
  /** Datagrams whose counter had already been seen. */
  duplicates = 0
  /** Interarrival jitter in microseconds. */
  jitterUs = 0
  #prevTransit = NaN
  #seen = new Uint8Array(WINDOW >> 3)

  /** Datagrams missing below the highest counter seen. */
  get lost(): number {
    return Math.max(0, this.packets - this.received)
  }

  #test(seq: number): boolean {
    const p = seq % WINDOW
    return (this.#seen[p >> 3] & (1 << (p & 7))) !== 0
  }

  #set(seq: number): void {
    const p = seq % WINDOW
    this.#seen[p >> 3] |= 1 << (p & 7)
  }

  #clear(seq: number): void {
    const p = seq % WINDOW
    this.#seen[p >> 3] &= ~(1 << (p & 7))
  }

  /**
   * One datagram: its counter, size and transit time (arrival minus the
   * send time it carries, in microseconds; the two clocks need not agree,
   * only their differences are used).
   */
  add(seq: number, size: number, transitUs: number): void {
    this.bytes += size
    if (seq > this.packets) {
      if (seq - this.packets >= WINDOW) this.#seen.fill(0)
      else for (let s = this.packets + 1; s <= seq; s++) this.#clear(s)
      this.#set(seq)
      this.packets = seq
      this.received++
    } else if (this.packets - seq >= WINDOW) {
      // Too old to tell apart: counted as late, like iperf3 does.
      this.outOfOrder++
      this.received++
    } else if (this.#test(seq)) {
      this.duplicates++
    } else {
      this.#set(seq)
      this.outOfOrder++
      this.received++
    }
    if (Number.isNaN(this.#prevTransit)) this.#prevTransit = transitUs
    const d = Math.abs(transitUs - this.#prevTransit)
    this.#prevTransit = transitUs
    this.jitterUs += (d - this.jitterUs) / 16
  }
}
