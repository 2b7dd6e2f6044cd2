// Builds the C reference (udpref.c) into bench/bin/udpref for the UDP
// data-path benchmark. The C column is optional: without a compiler the
// benchmark still runs, just without the C numbers.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const here = path.dirname(fileURLToPath(import.meta.url))
export const sourcePath = path.join(here, 'udpref.c')
export const binaryPath = path.join(here, '..', 'bin', 'udpref')

// Plain -O2: the reference is "ordinary C", not a tuned build.
const FLAGS = ['-std=c11', '-O2', '-Wall', '-Wextra']

/** The first executable of $CC, cc, gcc, clang found on PATH (or $CC if it is a path), else null. */
function findCompiler() {
  const names = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)
  for (const name of names) {
    const candidates = name.includes('/') ? [name] : dirs.map((d) => path.join(d, name))
    for (const file of candidates) {
      try {
        fs.accessSync(file, fs.constants.X_OK)
        if (fs.statSync(file).isFile()) return file
      } catch {}
    }
  }
  return null
}

const mtime = (file) => {
  try {
    return fs.statSync(file).mtimeMs
  } catch {
    return -1
  }
}

let building = null

/**
 * Compiles udpref.c when the binary is missing or older than the source (or
 * than this file, which holds the flags) and returns the binary's path, or
 * null, with a message, when there is no C compiler. A compile error throws:
 * that is a bug to fix, not a reason to skip the column. Calls in one
 * process share one build.
 */
export function buildReference() {
  building ??= build().catch((err) => {
    building = null // let a later call retry
    throw err
  })
  return building
}

async function build() {
  const stale = mtime(binaryPath) < Math.max(mtime(sourcePath), mtime(fileURLToPath(import.meta.url)))
  if (!stale) return binaryPath
  const cc = findCompiler()
  if (!cc) {
    console.log('no C compiler found: the C reference column is skipped')
    return null
  }
  fs.mkdirSync(path.dirname(binaryPath), { recursive: true })
  // Compile beside the target and rename: a concurrent run never sees half a binary.
  const tmp = `${binaryPath}.${process.pid}.tmp`
  try {
    await promisify(execFile)(cc, [...FLAGS, '-o', tmp, sourcePath], { timeout: 120_000 })
    fs.renameSync(tmp, binaryPath)
  } catch (err) {
    fs.rmSync(tmp, { force: true })
    throw new Error(`compiling ${path.relative(process.cwd(), sourcePath)} with ${cc} failed:\n${err.stderr || err.message}`, { cause: err })
  }
  return binaryPath
}
