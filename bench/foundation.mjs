// Foundation suite: what the building blocks under the data path cost.
//  1. socket option calls against the N-API floor (a no-op addon call);
//  2. htons/ntohl against Buffer.readUInt16BE/readUInt32BE and DataView;
//  3. checksumJs vs addon.checksum vs checksum() across sizes, the size
//     where the native sum starts to win, and the NATIVE_CHECKSUM_THRESHOLD
//     that follows from it.
// Every comparison is a ratio between runs of this same process; no timing
// is asserted. ops/s and ratios use the median ns per call (mitata's p50),
// which a noisy core disturbs less than the mean.
import { createRequire } from 'node:module'
import { bench, do_not_optimize, group, measure, run as runMitata, summary } from 'mitata'
import { checksum, constants, createSocket, htons, ntohl } from '../dist/esm/index.mjs'
import { formatNs, formatOps, formatRatio, formatSpread, mitataOptions, reportHead, resultsByName, table } from './common.mjs'

const require = createRequire(import.meta.url)
const { addon } = require('../dist/cjs/native.js')
const { checksumJs, NATIVE_CHECKSUM_THRESHOLD } = require('../dist/cjs/checksum.js')

export const name = 'foundation'
export const title = 'foundation: socket option calls, byte order, checksum'
export const measures = 'socket option calls vs the N-API floor, byte order, checksum JS vs native'
export const estimateSeconds = 40

/** Lines for the closing summary of `npm run bench`. */
export function headline(res) {
  const rows = Object.fromEntries((res.options?.rows ?? []).map((r) => [r.id, r]))
  const out = []
  const set = rows.setOption_SO_RCVBUF
  if (set) out.push(`setOption('SO_RCVBUF') ${formatNs(set.median_ns)} per call, ${formatRatio(set.vs_noop)} a no-op addon call`)
  const cs = res.checksum
  if (cs) out.push(`checksum() native from ${cs.current_threshold} B; this run suggests ${cs.recommended_threshold ?? 'JS for all sizes measured'}`)
  return out
}

const CHECKSUM_SIZES = [20, 64, 128, 256, 1500, 65536]

/** Deterministic filler bytes (xorshift), so runs sum the same data. */
function bytes(n, seed = 0x2545f491) {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

// ---------------------------------------------------------------- 1. options

function optionBenches(udp, tcp) {
  const { SOL_SOCKET, SO_REUSEADDR, SO_RCVBUF } = constants
  const fd = udp.fd
  const out = new Int32Array(1)
  // Each closure is written out (not made by one factory) so each call site
  // keeps its own type feedback.
  return [
    { id: 'noop', label: 'addon.noop()', floor: true, fn: () => addon.noop() },
    { id: 'setOption_SO_RCVBUF', label: "setOption('SO_RCVBUF', 65536)", fn: () => udp.setOption('SO_RCVBUF', 65536) },
    { id: 'getOption_SO_RCVBUF', label: "getOption('SO_RCVBUF')", fn: () => do_not_optimize(udp.getOption('SO_RCVBUF')) },
    { id: 'setsockopt_SO_REUSEADDR', label: 'setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)', fn: () => udp.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) },
    { id: 'getsockopt_SO_REUSEADDR', label: 'getsockopt(SOL_SOCKET, SO_REUSEADDR)', fn: () => do_not_optimize(udp.getsockopt(SOL_SOCKET, SO_REUSEADDR)) },
    { id: 'setOption_TCP_KEEPIDLE', label: "setOption('TCP_KEEPIDLE', 30) (tcp4)", fn: () => tcp.setOption('TCP_KEEPIDLE', 30) },
    // References: the bare addon calls, i.e. syscall + N-API without netsock's JS layer.
    {
      id: 'addon_setsockopt_SO_RCVBUF',
      label: 'addon.setsockopt(SO_RCVBUF) [no JS layer]',
      ref: true,
      fn: () => do_not_optimize(addon.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 65536)),
    },
    {
      id: 'addon_getsockopt_SO_RCVBUF',
      label: 'addon.getsockopt(SO_RCVBUF) [no JS layer]',
      ref: true,
      fn: () => do_not_optimize(addon.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, out)),
    },
  ]
}

/** Each call once, checked, before any timing: a bench of a failing call measures the error path. */
function checkOptions(udp, tcp) {
  udp.setOption('SO_RCVBUF', 65536)
  udp.setsockopt(constants.SOL_SOCKET, constants.SO_REUSEADDR, 1)
  tcp.setOption('TCP_KEEPIDLE', 30)
  const readBack = {
    SO_RCVBUF: udp.getOption('SO_RCVBUF'), // the kernel doubles it (man 7 socket)
    SO_REUSEADDR: udp.getsockopt(constants.SOL_SOCKET, constants.SO_REUSEADDR),
    TCP_KEEPIDLE: tcp.getOption('TCP_KEEPIDLE'),
  }
  if (readBack.SO_REUSEADDR !== 1 || readBack.TCP_KEEPIDLE !== 30 || !(readBack.SO_RCVBUF >= 65536)) {
    throw new Error(`option read-back is not what was set: ${JSON.stringify(readBack)}`)
  }
  return readBack
}

// ------------------------------------------------------------- 2. byte order

// One conversion per call of a network-order field read from a buffer. The
// index moves each call so the JIT cannot hoist the read out of the loop.
function byteOrderBenches() {
  const ab = new ArrayBuffer(256)
  const buf = Buffer.from(ab)
  buf.set(bytes(256, 0x1234567))
  const u16 = new Uint16Array(ab)
  const u32 = new Uint32Array(ab)
  const dv = new DataView(ab)

  for (let i = 0; i < 128; i++) {
    const want = buf.readUInt16BE(i * 2)
    if (htons(u16[i]) !== want || dv.getUint16(i * 2, false) !== want || ((buf[i * 2] << 8) | buf[i * 2 + 1]) !== want) {
      throw new Error(`16-bit conversions disagree at index ${i}`)
    }
  }
  for (let i = 0; i < 64; i++) {
    const want = buf.readUInt32BE(i * 4)
    if (ntohl(u32[i]) !== want || dv.getUint32(i * 4, false) !== want) throw new Error(`32-bit conversions disagree at index ${i}`)
  }

  let a = 0,
    b = 0,
    c = 0,
    d = 0,
    e = 0,
    f = 0,
    g = 0
  return [
    {
      id: 'readUInt16BE',
      label: 'buf.readUInt16BE(off)',
      width: 16,
      base: true,
      fn: () => {
        a = (a + 1) & 127
        do_not_optimize(buf.readUInt16BE(a << 1))
      },
    },
    {
      id: 'htons',
      label: 'htons(u16[i])',
      width: 16,
      fn: () => {
        b = (b + 1) & 127
        do_not_optimize(htons(u16[b]))
      },
    },
    {
      id: 'getUint16',
      label: 'dv.getUint16(off, false)',
      width: 16,
      fn: () => {
        c = (c + 1) & 127
        do_not_optimize(dv.getUint16(c << 1, false))
      },
    },
    {
      id: 'shift16',
      label: '(buf[o] << 8) | buf[o + 1]',
      width: 16,
      ref: true,
      fn: () => {
        d = (d + 1) & 127
        const o = d << 1
        do_not_optimize((buf[o] << 8) | buf[o + 1])
      },
    },
    {
      id: 'readUInt32BE',
      label: 'buf.readUInt32BE(off)',
      width: 32,
      base: true,
      fn: () => {
        e = (e + 1) & 63
        do_not_optimize(buf.readUInt32BE(e << 2))
      },
    },
    {
      id: 'ntohl',
      label: 'ntohl(u32[i])',
      width: 32,
      fn: () => {
        f = (f + 1) & 63
        do_not_optimize(ntohl(u32[f]))
      },
    },
    {
      id: 'getUint32',
      label: 'dv.getUint32(off, false)',
      width: 32,
      fn: () => {
        g = (g + 1) & 63
        do_not_optimize(dv.getUint32(g << 2, false))
      },
    },
  ]
}

// --------------------------------------------------------------- 3. checksum

const csLabel = {
  js: (n) => `checksumJs (${n} B)`,
  native: (n) => `addon.checksum (${n} B)`,
  public: (n) => `checksum() (${n} B)`,
}

function checksumData(sizes) {
  const data = new Map()
  for (const n of sizes) {
    const b = bytes(n, 0x9e3779b9 ^ n)
    const want = checksumJs(b, 0)
    if (addon.checksum(b, 0) !== want || checksum(b) !== want) throw new Error(`checksum implementations disagree at ${n} bytes`)
    data.set(n, b)
  }
  return data
}

/**
 * The size where `native(p)` becomes no dearer than `js(p)`, by linear
 * interpolation of js - native between the two measured sizes around the
 * first sign change. bytes is null when native never wins in the range.
 */
function crossover(points, js, native) {
  const p = [...points].sort((x, y) => x.size - y.size)
  const d = p.map((x) => js(x) - native(x))
  if (d[0] >= 0) return { bytes: p[0].size, below: null, above: p[0].size, note: 'native already wins at the smallest size measured' }
  for (let i = 1; i < p.length; i++) {
    if (d[i - 1] < 0 && d[i] >= 0) {
      const at = p[i - 1].size + ((p[i].size - p[i - 1].size) * -d[i - 1]) / (d[i] - d[i - 1])
      return { bytes: Math.round(at), below: p[i - 1].size, above: p[i].size, note: `interpolated between ${p[i - 1].size} B and ${p[i].size} B` }
    }
  }
  return { bytes: null, below: p.at(-1).size, above: null, note: `JS wins at every size measured (up to ${p.at(-1).size} B)` }
}

/**
 * checksum() as shipped runs one path per size (JS below the threshold,
 * native from it), so each size measures one of its two paths. The other
 * path is estimated from the bare function times the wrapper's cost factor
 * measured on that path at the size nearest the threshold.
 */
function shippedPaths(points) {
  const jsSide = points.filter((p) => p.public_path === 'js')
  const nativeSide = points.filter((p) => p.public_path === 'native')
  const jsFactor = jsSide.length ? jsSide.at(-1).public_ns / jsSide.at(-1).js_ns : 1
  const nativeFactor = nativeSide.length ? nativeSide[0].public_ns / nativeSide[0].native_ns : 1
  for (const p of points) {
    p.shipped_js_ns = p.public_path === 'js' ? p.public_ns : p.js_ns * jsFactor
    p.shipped_native_ns = p.public_path === 'native' ? p.public_ns : p.native_ns * nativeFactor
  }
  return { js_factor: jsFactor, js_factor_at: jsSide.at(-1)?.size ?? null, native_factor: nativeFactor, native_factor_at: nativeSide[0]?.size ?? null }
}

/** len < threshold is summed in JS: the crossover rounded to a multiple of 16, or null. */
const thresholdFor = (cross) => (cross.bytes == null ? null : Math.max(16, Math.round(cross.bytes / 16) * 16))

/** Sizes between `lo` and `hi` (multiples of 8) to pin the crossover down. */
function refineSizes(lo, hi) {
  const step = Math.max(8, Math.round((hi - lo) / 4 / 8) * 8)
  const out = []
  for (let n = lo + step; n < hi; n += step) out.push(n)
  return out
}

// --------------------------------------------------------------------- run

export async function run() {
  let udp, tcp
  try {
    udp = createSocket({ type: 'udp4' })
    tcp = createSocket({ type: 'tcp4' })
    const readBack = checkOptions(udp, tcp)
    const options = optionBenches(udp, tcp)
    const byteOrder = byteOrderBenches()
    const data = checksumData(CHECKSUM_SIZES)

    group('socket option calls vs the N-API floor', () => {
      summary(() => {
        for (const b of options) {
          const m = bench(b.label, b.fn)
          if (b.floor) m.baseline()
        }
      })
    })
    for (const width of [16, 32]) {
      group(`byte order, ${width}-bit field read from a buffer`, () => {
        summary(() => {
          for (const b of byteOrder.filter((x) => x.width === width)) {
            const m = bench(b.label, b.fn)
            if (b.base) m.baseline()
          }
        })
      })
    }
    for (const n of CHECKSUM_SIZES) {
      const bytesN = data.get(n)
      group(`checksum, ${n} bytes`, () => {
        summary(() => {
          bench(csLabel.js(n), () => do_not_optimize(checksumJs(bytesN, 0)))
          bench(csLabel.native(n), () => do_not_optimize(addon.checksum(bytesN, 0)))
          bench(csLabel.public(n), () => do_not_optimize(checksum(bytesN)))
        })
      })
    }

    const { context, benchmarks } = await runMitata(mitataOptions())
    const r = resultsByName(benchmarks)

    const point = (size, js, native, pub) => ({
      size,
      js_ns: js,
      native_ns: native,
      public_ns: pub,
      public_path: size < NATIVE_CHECKSUM_THRESHOLD ? 'js' : 'native',
    })
    let points = CHECKSUM_SIZES.map((n) => point(n, r.get(csLabel.js(n)).median_ns, r.get(csLabel.native(n)).median_ns, r.get(csLabel.public(n)).median_ns))
    shippedPaths(points)
    // Pin both crossovers down: extra sizes between the listed sizes around them.
    const brackets = [
      crossover(
        points,
        (p) => p.js_ns,
        (p) => p.native_ns,
      ),
      crossover(
        points,
        (p) => p.shipped_js_ns,
        (p) => p.shipped_native_ns,
      ),
    ].filter((c) => c.below != null && c.above != null)
    const refine = brackets.length ? refineSizes(Math.min(...brackets.map((c) => c.below)), Math.max(...brackets.map((c) => c.above))) : []
    const refined = []
    for (const n of refine) {
      const b = checksumData([n]).get(n)
      const js = await measure(() => do_not_optimize(checksumJs(b, 0)))
      const native = await measure(() => do_not_optimize(addon.checksum(b, 0)))
      const pub = await measure(() => do_not_optimize(checksum(b)))
      refined.push(point(n, js.p50, native.p50, pub.p50))
    }
    points = [...points, ...refined].sort((x, y) => x.size - y.size)
    const wrapper = shippedPaths(points)
    const bare = crossover(
      points,
      (p) => p.js_ns,
      (p) => p.native_ns,
    )
    const shipped = crossover(
      points,
      (p) => p.shipped_js_ns,
      (p) => p.shipped_native_ns,
    )
    const cs = { points, refined, wrapper, bare, shipped, recommended: thresholdFor(shipped), recommendedBare: thresholdFor(bare) }

    return report({ context, r, options, byteOrder, cs, readBack })
  } finally {
    udp?.close()
    tcp?.close()
  }
}

// ------------------------------------------------------------------ report

/** '2.10x the cost of X', with '(3.8x faster)' when the ratio is below 1. */
const costOf = (ratio, what) => `${formatRatio(ratio)} the cost of ${what}${ratio < 1 ? ` (${formatRatio(1 / ratio)} faster)` : ''}`

function report({ context, r, options, byteOrder, cs, readBack }) {
  const { env, lines } = reportHead(title, context, require)
  const say = (s = '') => lines.push(s)

  say('ops/s = 1e9 / median ns per call; every ratio compares medians from this same run.')

  // 1. options
  const floor = r.get(options.find((o) => o.floor).label)
  const optionRows = options.map((o) => {
    const s = r.get(o.label)
    return { id: o.id, call: o.label, reference: !!o.ref, ...s, vs_noop: s.median_ns / floor.median_ns }
  })
  say()
  say('### Socket option calls vs the N-API floor, addon.noop()')
  say()
  say(
    table(
      ['call', '>median', '>IQR', '>ops/s', '>vs addon.noop()'],
      optionRows.map((o) => [o.call, formatNs(o.median_ns), formatSpread(o.spread), formatOps(o.ops_per_sec), formatRatio(o.vs_noop)]),
    ),
  )
  say()
  for (const o of optionRows.filter((x) => x.id !== 'noop' && !x.reference)) say(`- ${o.call}: ${costOf(o.vs_noop, 'a no-op addon call')}`)
  const layer = (js, raw) => r.get(options.find((o) => o.id === js).label).median_ns / r.get(options.find((o) => o.id === raw).label).median_ns
  say(
    `- netsock's JS layer (lookup, validation, errno check): setOption ${formatRatio(layer('setOption_SO_RCVBUF', 'addon_setsockopt_SO_RCVBUF'))}, getOption ${formatRatio(layer('getOption_SO_RCVBUF', 'addon_getsockopt_SO_RCVBUF'))} the bare addon call`,
  )

  // 2. byte order
  const byteRows = byteOrder.map((b) => {
    const base = r.get(byteOrder.find((x) => x.base && x.width === b.width).label)
    const s = r.get(b.label)
    return { id: b.id, call: b.label, width: b.width, base: !!b.base, reference: !!b.ref, ...s, vs_buffer: s.median_ns / base.median_ns }
  })
  say()
  say('### Byte order: one network-order field read from a buffer, converted to host order')
  say()
  say(
    table(
      ['call', '>median', '>IQR', '>ops/s', '>vs buf.readUIntNBE'],
      byteRows.map((b) => [b.call, formatNs(b.median_ns), formatSpread(b.spread), formatOps(b.ops_per_sec), formatRatio(b.vs_buffer)]),
    ),
  )
  say()
  for (const b of byteRows.filter((x) => !x.base)) say(`- ${b.call}: ${costOf(b.vs_buffer, `buf.readUInt${b.width}BE`)}`)

  // 3. checksum
  const csRows = CHECKSUM_SIZES.map((n) => {
    const js = r.get(csLabel.js(n))
    const native = r.get(csLabel.native(n))
    const pub = r.get(csLabel.public(n))
    const path = n < NATIVE_CHECKSUM_THRESHOLD ? 'js' : 'native'
    return {
      size: n,
      public_path: path,
      js,
      native,
      public: pub,
      native_speedup: js.median_ns / native.median_ns,
      public_vs_own_path: pub.median_ns / (path === 'js' ? js : native).median_ns,
    }
  })
  const pathCell = (ns, path) => `${formatNs(ns)} ${path === 'js' ? 'JS' : 'nat'}`
  say()
  say(`### RFC 1071 checksum (NATIVE_CHECKSUM_THRESHOLD is now ${NATIVE_CHECKSUM_THRESHOLD}: len < threshold is summed in JS)`)
  say()
  say(
    table(
      ['bytes', '>checksumJs', '>addon.checksum', '>checksum() [path]', '>checksum() ops/s', '>worst IQR', '>JS / native', '>checksum() / its path'],
      csRows.map((c) => [
        c.size,
        formatNs(c.js.median_ns),
        formatNs(c.native.median_ns),
        pathCell(c.public.median_ns, c.public_path),
        formatOps(c.public.ops_per_sec),
        formatSpread(Math.max(c.js.spread, c.native.spread, c.public.spread)),
        formatRatio(c.native_speedup),
        formatRatio(c.public_vs_own_path),
      ]),
    ),
  )
  say(
    '(median ns per call; JS / native > 1: the native sum is faster; checksum() / its path: the public function over the bare function it runs at that size; IQR: half the interquartile range over the median, how much noise moved the row.)',
  )
  if (cs.refined.length) {
    say()
    say('Extra sizes around the crossover (mitata measure(), same statistics):')
    say()
    say(
      table(
        ['bytes', '>checksumJs', '>addon.checksum', '>checksum() [path]', '>JS / native', '>checksum() / its path'],
        cs.refined.map((p) => [
          p.size,
          formatNs(p.js_ns),
          formatNs(p.native_ns),
          pathCell(p.public_ns, p.public_path),
          formatRatio(p.js_ns / p.native_ns),
          formatRatio(p.public_ns / (p.public_path === 'js' ? p.js_ns : p.native_ns)),
        ]),
      ),
    )
  }
  const crossLine = (c) => (c.bytes == null ? `none, ${c.note}` : `~${c.bytes} B (${c.note})`)
  const w = cs.wrapper
  say()
  say(`- crossover, bare functions (checksumJs vs addon.checksum): ${crossLine(cs.bare)}`)
  say(
    `- crossover, checksum() as shipped (its JS path vs its native path): ${crossLine(cs.shipped)}; ` +
      `its JS path costs ${formatRatio(w.js_factor)} checksumJs (at ${w.js_factor_at ?? '-'} B), its native path ${formatRatio(w.native_factor)} addon.checksum (at ${w.native_factor_at ?? '-'} B)`,
  )
  if (cs.recommended == null) {
    say(`- NATIVE_CHECKSUM_THRESHOLD by this run: native never wins up to ${cs.shipped.below} B; keep JS for everything measured`)
  } else {
    const verdict = cs.recommended === NATIVE_CHECKSUM_THRESHOLD ? 'keep it' : `change it from ${NATIVE_CHECKSUM_THRESHOLD}`
    say(
      `- NATIVE_CHECKSUM_THRESHOLD by this run: ${cs.recommended} (${verdict}; the as-shipped crossover rounded to a multiple of 16)` +
        (cs.recommendedBare != null && cs.recommendedBare !== cs.recommended
          ? `; ${cs.recommendedBare} if checksum()'s JS path ran as fast as bare checksumJs`
          : ''),
    )
  }

  return {
    summary: lines.join('\n'),
    results: {
      suite: name,
      environment: env,
      method: 'mitata; ns per call are medians (p50) of batched samples; ops_per_sec = 1e9 / median_ns; ratios are between medians of this run',
      options: { rows: optionRows, read_back: readBack },
      byte_order: { rows: byteRows },
      checksum: {
        rows: csRows,
        points: cs.points,
        wrapper: cs.wrapper,
        crossover_bare: cs.bare,
        crossover_shipped: cs.shipped,
        current_threshold: NATIVE_CHECKSUM_THRESHOLD,
        recommended_threshold: cs.recommended,
        recommended_threshold_bare: cs.recommendedBare,
      },
    },
  }
}
