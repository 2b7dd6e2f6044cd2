// The wall clock at the moment of a call, for send times that pair with the
// kernel's receive timestamps: SO_TIMESTAMPNS and the error queue's
// timestamps are CLOCK_REALTIME (man 7 socket), so the send time must be too,
// read right next to the system call rather than converted from JS's
// performance.timeOrigin (which drifts from CLOCK_REALTIME). No allocation:
// the caller passes the array the time is written into.
#include <time.h>

#include <cerrno>

#include "addon.h"

namespace netsock {

// clockRealtime(out: BigInt64Array, index) -> writes CLOCK_REALTIME in
// nanoseconds since the epoch into out[index]; returns 0 or -errno.
static napi_value ClockRealtime(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "clockRealtime");
  int32_t index;
  if (!args.Int(1, &index)) return nullptr;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, args[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_bigint64_array || index < 0 || static_cast<size_t>(index) >= length)
    return args.TypeError("needs a BigInt64Array and an index inside it"), nullptr;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return Errno(env, errno);
  static_cast<int64_t*>(data)[index] = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  return Int32(env, 0);
}

void RegisterClock(napi_env env, napi_value exports) {
  static const Export kExports[] = {{"clockRealtime", ClockRealtime}};
  ExportAll(env, exports, kExports);
}

}  // namespace netsock
