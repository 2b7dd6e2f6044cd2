// The heartbeat datagram: "HB1 <seq> <client id>". Text, so tcpdump -A shows it.
export const DEFAULT_PORT = 41901
const PREFIX = 'HB1 '

export interface Beat {
  id: string
  seq: number
}

export function encodeBeat(beat: Beat): Buffer {
  return Buffer.from(`${PREFIX}${beat.seq} ${beat.id}`)
}

/** The beat in a datagram, or null for anything else. */
export function decodeBeat(msg: Buffer): Beat | null {
  const text = msg.toString()
  if (!text.startsWith(PREFIX)) return null
  const space = text.indexOf(' ', PREFIX.length)
  const seq = Number(text.slice(PREFIX.length, space))
  const id = text.slice(space + 1)
  if (space === -1 || !Number.isInteger(seq) || id === '') return null
  return { id, seq }
}
