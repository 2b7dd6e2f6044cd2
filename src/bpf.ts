// Classic BPF socket filters (man 7 socket SO_ATTACH_FILTER, SO_DETACH_FILTER,
// SO_LOCK_FILTER; Documentation/networking/filter.rst). Programs come as
// { code, jt, jf, k } instructions or as the C array text `tcpdump -dd` prints;
// they are encoded to struct sock_filter[] here and attached by the addon
// (native/filter.cc), because struct sock_fprog holds a pointer.
import { constants } from './constants.js'
import { check, invalidArgType, invalidArgValue } from './errors.js'
import { addon } from './native.js'
import { setRawOption, type OptionTarget } from './options.js'
import { LITTLE_ENDIAN } from './platform.js'
import { validateInteger } from './validate.js'

/** One classic BPF instruction, as struct sock_filter names its fields. */
export interface SockFilter {
  /** Opcode (u16), e.g. 0x28 = BPF_LD|BPF_H|BPF_ABS. */
  code: number
  /** Jump offset if true (u8). */
  jt: number
  /** Jump offset if false (u8). */
  jf: number
  /** Generic field (u32): constant, offset or return value. */
  k: number
}

/** Instructions, the text of `tcpdump -dd <expression>`, or struct sock_filter[] bytes from `encodeBpf`. */
export type BpfProgram = readonly SockFilter[] | string | Uint8Array

/** BPF_MAXINSNS (linux/bpf_common.h). */
export const BPF_MAXINSNS = 4096
const LINE = /^\{\s*(0x[0-9a-f]+|\d+)\s*,\s*(0x[0-9a-f]+|\d+)\s*,\s*(0x[0-9a-f]+|\d+)\s*,\s*(0x[0-9a-f]+|\d+)\s*\},?$/i

/**
 * Parses the text `tcpdump -dd` prints: one `{ 0x28, 0, 0, 0x0000000c },`
 * per line. Blank lines and lines starting with `#` or `//` are skipped;
 * anything else throws.
 *
 * @example
 * parseBpf(execSync("tcpdump -i eth0 -dd 'udp port 53'", { encoding: 'utf8' }))
 */
export function parseBpf(text: string): SockFilter[] {
  if (typeof text !== 'string') throw invalidArgType('text', 'of type string', text)
  const out: SockFilter[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '' || line.startsWith('#') || line.startsWith('//')) continue
    const m = LINE.exec(line)
    if (!m) throw invalidArgValue('text', `line ${i + 1} is not a { code, jt, jf, k } instruction`, line)
    const [code, jt, jf, k] = m.slice(1).map((v) => Number(v))
    out.push(validateInstruction({ code, jt, jf, k }, out.length))
  }
  return out
}

function validateInstruction(ins: unknown, i: number): SockFilter {
  if (ins === null || typeof ins !== 'object') throw invalidArgType(`program[${i}]`, 'a { code, jt, jf, k } object or [code, jt, jf, k]', ins)
  const { code, jt, jf, k } = Array.isArray(ins) ? { code: ins[0], jt: ins[1], jf: ins[2], k: ins[3] } : (ins as SockFilter)
  return {
    code: validateInteger(code, `program[${i}].code`, 0, 0xffff),
    jt: validateInteger(jt, `program[${i}].jt`, 0, 0xff),
    jf: validateInteger(jf, `program[${i}].jf`, 0, 0xff),
    // A u32; negative values (SKF_AD_OFF + n) wrap as the kernel reads them.
    k: validateInteger(k, `program[${i}].k`, -(2 ** 31), 0xffffffff) >>> 0,
  }
}

/**
 * struct sock_filter[] bytes (8 per instruction, host byte order), from
 * instructions or `tcpdump -dd` text; checks each instruction's field ranges.
 *
 * @example
 * encodeBpf([{ code: 0x06, jt: 0, jf: 0, k: 0xffffffff }])   // BPF_RET|BPF_K "accept all": 8 bytes
 */
export function encodeBpf(program: BpfProgram): Uint8Array {
  if (program instanceof Uint8Array) {
    if (program.byteLength === 0 || program.byteLength % 8 !== 0 || program.byteLength > BPF_MAXINSNS * 8) {
      throw invalidArgValue('program', `must be 1 to ${BPF_MAXINSNS} struct sock_filter of 8 bytes`, `${program.byteLength} bytes`)
    }
    return program
  }
  const list = typeof program === 'string' ? parseBpf(program) : program
  if (!Array.isArray(list)) throw invalidArgType('program', 'an array of { code, jt, jf, k } or tcpdump -dd text', program)
  if (list.length === 0 || list.length > BPF_MAXINSNS) {
    throw invalidArgValue('program', `must hold 1 to ${BPF_MAXINSNS} instructions`, `${list.length} instructions`)
  }
  const bytes = new Uint8Array(list.length * 8)
  const view = new DataView(bytes.buffer)
  list.forEach((raw, i) => {
    const ins = validateInstruction(raw, i)
    view.setUint16(i * 8, ins.code, LITTLE_ENDIAN)
    view.setUint8(i * 8 + 2, ins.jt)
    view.setUint8(i * 8 + 3, ins.jf)
    view.setUint32(i * 8 + 4, ins.k, LITTLE_ENDIAN)
  })
  return bytes
}

const targetFd = (target: OptionTarget, operation: string): number => (typeof target === 'number' ? target : target.open(operation))

/**
 * setsockopt(level, optname, &struct sock_fprog) for a program: encoded
 * (and so every user value read) before the descriptor is, then attached.
 */
export function attachProgram(target: OptionTarget, level: number, optname: number, label: string, program: BpfProgram, operation = 'attachFilter'): void {
  const bytes = encodeBpf(program)
  check(addon.attachFilter(targetFd(target, operation), level, optname, bytes), 'setsockopt', { detail: label })
}

/** SO_ATTACH_FILTER: the kernel checks the program and replaces any filter attached before. */
export function attachFilter(target: OptionTarget, program: BpfProgram): void {
  attachProgram(target, constants.SOL_SOCKET, constants.SO_ATTACH_FILTER, 'SO_ATTACH_FILTER', program)
}

/** SO_DETACH_FILTER (ENOENT when none is attached, EPERM once locked). */
export function detachFilter(target: OptionTarget): void {
  setRawOption(targetFd(target, 'detachFilter'), constants.SOL_SOCKET, constants.SO_DETACH_FILTER, 0, 'SO_DETACH_FILTER')
}

/** SO_LOCK_FILTER: the attached filter can no longer be replaced or detached (EPERM). */
export function lockFilter(target: OptionTarget): void {
  setRawOption(targetFd(target, 'lockFilter'), constants.SOL_SOCKET, constants.SO_LOCK_FILTER, 1, 'SO_LOCK_FILTER')
}
