// setsockopt/getsockopt. Values travel as raw bytes (or a plain int on the
// fast path); src/options.ts encodes and decodes them per option kind.
#include <sys/socket.h>

#include <cerrno>

#include "addon.h"

namespace netsock {

// setsockopt(fd, level, name, value): value is a number (sent as a C int) or
// bytes (sent as they are, their length as optlen).
static Napi::Value SetSockOpt(const Napi::CallbackInfo& info) {
  int32_t fd, level, name;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 1, &level) || !ArgInt(info, 2, &name)) return {};
  if (info.Length() > 3 && info[3].IsNumber()) {
    int value = info[3].As<Napi::Number>().Int32Value();
    return Result(info.Env(), setsockopt(fd, level, name, &value, sizeof(value)));
  }
  uint8_t* data;
  size_t len;
  if (!ArgBytes(info, 3, &data, &len)) return {};
  return Result(info.Env(), setsockopt(fd, level, name, data, static_cast<socklen_t>(len)));
}

// getsockopt(fd, level, name, out) -> bytes written into out, or -errno.
static Napi::Value GetSockOpt(const Napi::CallbackInfo& info) {
  int32_t fd, level, name;
  uint8_t* data;
  size_t len;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 1, &level) || !ArgInt(info, 2, &name) ||
      !ArgBytes(info, 3, &data, &len))
    return {};
  socklen_t optlen = static_cast<socklen_t>(len);
  if (getsockopt(fd, level, name, data, &optlen) < 0) return Errno(info.Env(), errno);
  return Napi::Number::New(info.Env(), optlen);
}

void RegisterOptions(Napi::Env env, Napi::Object exports) {
  exports.Set("setsockopt", Napi::Function::New(env, SetSockOpt, "setsockopt"));
  exports.Set("getsockopt", Napi::Function::New(env, GetSockOpt, "getsockopt"));
}

}  // namespace netsock
