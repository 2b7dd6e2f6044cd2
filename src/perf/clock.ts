// Clocks of a perf run. Intervals use the monotonic performance.now(); UDP
// headers and latency probes carry wall-clock microseconds, the clock the
// kernel's receive timestamps (SO_TIMESTAMPNS) are in, so a send time and a
// kernel receive time can be subtracted.

/** Monotonic milliseconds. */
export const nowMs = (): number => performance.now()

/** Wall-clock microseconds (sub-microsecond resolution, monotonic within the process). */
export const wallUs = (): number => (performance.timeOrigin + performance.now()) * 1000

/** CPU time of this process: user and system microseconds. */
export interface CpuMark {
  at: number
  usage: NodeJS.CpuUsage
}

export const cpuMark = (): CpuMark => ({ at: nowMs(), usage: process.cpuUsage() })

/** CPU use since `mark` as iperf3 reports it: percent of wall time, total, user and system. */
export function cpuSince(mark: CpuMark): { total: number; user: number; system: number } {
  const wallMicros = Math.max(1, (nowMs() - mark.at) * 1000)
  const d = process.cpuUsage(mark.usage)
  const user = (d.user / wallMicros) * 100
  const system = (d.system / wallMicros) * 100
  return { total: user + system, user, system }
}
