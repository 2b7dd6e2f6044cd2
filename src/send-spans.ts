// Where each datagram of a batch lies: the ArrayBuffer under it and its byte
// range there. Datagrams over one buffer (views of one Buffer, a sender's
// packet arena, Node's Buffer pool) share it as one source, so the addon
// reads one JS value per buffer in a sendmmsg instead of one per datagram.
import { types } from 'node:util'
import type { Bytes } from './native.js'
import { intrinsicGetter, TypedArrayPrototype, typedArrayTag } from './validate.js'

/** Int32s per datagram in the span table: source index, byte offset, length (native/io.cc SendSources). */
export const SPAN_INTS = 3
// Offsets travel as Int32: a view deeper than this in its buffer is its own source.
const MAX_OFFSET = 0x7fffffff

const typedArrayBuffer = intrinsicGetter<ArrayBufferLike>(TypedArrayPrototype, 'buffer')
const typedArrayOffset = intrinsicGetter<number>(TypedArrayPrototype, 'byteOffset')
const dataViewBuffer = intrinsicGetter<ArrayBufferLike>(DataView.prototype, 'buffer')
const dataViewOffset = intrinsicGetter<number>(DataView.prototype, 'byteOffset')
const { isSharedArrayBuffer } = types
// A static function that reads no `this`, taken once so that patching ArrayBuffer.isView cannot reach this module.
// eslint-disable-next-line @typescript-eslint/unbound-method
const { isView } = ArrayBuffer

let table = new Int32Array(SPAN_INTS * 64)
/** True while spansOf fills `table`: a call made meanwhile (user code reached through a patched built-in) gets a table of its own. */
let filling = false

/** The sources and the span table of a batch, as the addon's sendMany takes them. */
export interface SendSpans {
  sources: Bytes[]
  /** SPAN_INTS per datagram; valid until the next call of spansOf (no user code runs in between). */
  spans: Int32Array
}

/**
 * The spans of `datas` (validated bytes, datagram i of `lengths[i]` bytes
 * from its start). A view over an ordinary ArrayBuffer is a range of that
 * buffer; anything else (an ArrayBuffer, a view over shared memory, a view
 * deeper than 2 GiB in its buffer) is its own source. The table is reused;
 * the caller sends from it before any other code runs.
 */
export function spansOf(datas: readonly Bytes[], lengths: readonly number[]): SendSpans {
  const count = datas.length
  if (filling) return fill(datas, lengths, new Int32Array(count * SPAN_INTS))
  if (table.length < count * SPAN_INTS) table = new Int32Array(Math.max(count, (table.length / SPAN_INTS) * 2) * SPAN_INTS)
  filling = true
  try {
    return fill(datas, lengths, table)
  } finally {
    filling = false
  }
}

function fill(datas: readonly Bytes[], lengths: readonly number[], spans: Int32Array): SendSpans {
  const sources: Bytes[] = []
  let last: unknown = undefined
  for (let i = 0, at = 0; i < datas.length; i++, at += SPAN_INTS) {
    const data = datas[i]
    // Shared memory passes the check below only as the view itself.
    let source = data as Bytes | SharedArrayBuffer
    let offset = 0
    if (typedArrayTag.call(data) !== undefined) {
      source = typedArrayBuffer.call(data)
      offset = typedArrayOffset.call(data)
    } else if (isView(data)) {
      // A DataView (typed arrays were handled above); isView runs no user code, where instanceof could.
      source = dataViewBuffer.call(data)
      offset = dataViewOffset.call(data)
    }
    // No instanceof here: it walks a prototype chain, where a Proxy could run user code.
    if (source !== data && (offset > MAX_OFFSET - lengths[i] || (source !== last && isSharedArrayBuffer(source)))) {
      source = data
      offset = 0
    }
    if (source !== last) {
      sources[sources.length] = source as Bytes
      last = source
    }
    spans[at] = sources.length - 1
    spans[at + 1] = offset
    // No datagram is that long: a longer one still reaches the kernel, which refuses it (EMSGSIZE).
    spans[at + 2] = lengths[i] < MAX_OFFSET ? lengths[i] : MAX_OFFSET
  }
  return { sources, spans }
}
