// setsockopt/getsockopt. Values travel as raw bytes (or a plain int on the
// fast path); src/options.ts encodes and decodes them per option kind.
#include <sys/socket.h>

#include <cerrno>

#include "addon.h"

namespace netsock {

// setsockopt(fd, level, name, value): value is a number (sent as a C int) or
// bytes (sent as they are, their length as optlen).
static napi_value SetSockOpt(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "setsockopt");
  int32_t fd, level, name, value;
  if (!args.Int(0, &fd) || !args.Int(1, &level) || !args.Int(2, &name)) return nullptr;
  napi_valuetype t = napi_undefined;
  if (args.count() > 3 && napi_typeof(env, args[3], &t) != napi_ok) return nullptr;
  if (t == napi_number) {
    napi_get_value_int32(env, args[3], &value);
    return SyscallResult(env, setsockopt(fd, level, name, &value, sizeof(value)));
  }
  uint8_t* data;
  size_t len;
  if (!args.Bytes(3, &data, &len)) return nullptr;
  return SyscallResult(env, setsockopt(fd, level, name, data, static_cast<socklen_t>(len)));
}

// getsockopt(fd, level, name, out) -> bytes written into out, or -errno.
static napi_value GetSockOpt(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "getsockopt");
  int32_t fd, level, name;
  uint8_t* data;
  size_t len;
  if (!args.Int(0, &fd) || !args.Int(1, &level) || !args.Int(2, &name) || !args.Bytes(3, &data, &len)) return nullptr;
  socklen_t optlen = static_cast<socklen_t>(len);
  if (getsockopt(fd, level, name, data, &optlen) < 0) return Errno(env, errno);
  return Number(env, optlen);
}

void RegisterOptions(napi_env env, napi_value exports) {
  static const Export kExports[] = {{"setsockopt", SetSockOpt}, {"getsockopt", GetSockOpt}};
  ExportAll(env, exports, kExports);
}

}  // namespace netsock
