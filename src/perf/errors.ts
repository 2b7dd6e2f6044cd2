// Errors of a perf run: one class, a code per way a measurement can fail,
// and the i_errno iperf3 would report for it where there is one.

/**
 * How a perf run failed; see `PerfError`.
 *
 * @example
 * if (err.code === 'ERR_PERF_BUSY') setTimeout(retry, 1000)
 */
export type PerfErrorCode =
  | 'ERR_PERF_CONNECT'
  | 'ERR_PERF_CONTROL_CLOSED'
  | 'ERR_PERF_PROTOCOL'
  | 'ERR_PERF_TIMEOUT'
  | 'ERR_PERF_BUSY'
  | 'ERR_PERF_SERVER_ERROR'
  | 'ERR_PERF_TERMINATED'
  | 'ERR_PERF_UNSUPPORTED'
  | 'ERR_PERF_STREAM'

/**
 * A perf client or server that could not complete its test: the peer was
 * unreachable, closed the control connection, spoke something other than
 * iperf3's protocol, went silent for longer than the timeout, or refused.
 *
 * @example
 * try { for await (const r of perf.client({ host: '127.0.0.1' })) {} }
 * catch (err) { if (err instanceof perf.PerfError) console.error(err.code, err.message) }
 */
export class PerfError extends Error {
  /** What went wrong, as a stable code. */
  readonly code: PerfErrorCode
  /** The iperf3 error number (i_errno) that matches, when there is one. */
  readonly iperfErrno?: number

  /** @internal */
  constructor(code: PerfErrorCode, message: string, options: { cause?: unknown; iperfErrno?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PerfError'
    this.code = code
    if (options.iperfErrno !== undefined) this.iperfErrno = options.iperfErrno
  }
}
