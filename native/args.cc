#include "args.h"

#include <cerrno>

namespace netsock {

Args::Args(napi_env env, napi_callback_info info, const char* name) : env_(env), name_(name) {
  if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, &data_) != napi_ok) argc_ = 0;
  if (argc_ > kMax) argc_ = kMax;
}

bool Args::Missing(size_t i) const {
  if (i >= argc_) return true;
  napi_valuetype t;
  return napi_typeof(env_, argv_[i], &t) != napi_ok || t == napi_undefined || t == napi_null;
}

static bool Throw(napi_env env, bool range, const char* fn, const char* what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return false;  // the first failure is the one to report
  std::string message = std::string("netsock native ") + fn + ": " + what;
  if (range)
    napi_throw_range_error(env, nullptr, message.c_str());
  else
    napi_throw_type_error(env, nullptr, message.c_str());
  return false;
}

bool Args::TypeError(const char* what) {
  return Throw(env_, false, name_, what);
}
bool Args::RangeError(const char* what) {
  return Throw(env_, true, name_, what);
}

bool Args::Int(size_t i, int32_t* out) {
  if (i < argc_ && napi_get_value_int32(env_, argv_[i], out) == napi_ok) return true;
  return TypeError("an argument must be a number");
}

bool Args::String(size_t i, std::string* out) {
  size_t len;
  if (i >= argc_ || napi_get_value_string_utf8(env_, argv_[i], nullptr, 0, &len) != napi_ok)
    return TypeError("an argument must be a string");
  out->resize(len);
  napi_get_value_string_utf8(env_, argv_[i], &(*out)[0], len + 1, &len);
  // A NUL inside would silently cut the string where C reads it; JS rejects
  // such strings, so one here is a bug in src/.
  if (out->find('\0') != std::string::npos) return TypeError("a string argument contains a NUL character");
  return true;
}

bool BytesOf(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  // Any ArrayBufferView (a typed array of any kind, a DataView) through the
  // Buffer queries, which are one check where the typed-array query walks
  // the element types: the hot path of every send. The length is in bytes,
  // 0 when detached or out of bounds. napi_is_buffer first: on older Node
  // 20 releases napi_get_buffer_info aborts the process on a value that is
  // not a view (nodejs/node#51570).
  void* ptr;
  bool is = false;
  if (napi_is_buffer(env, v, &is) == napi_ok && is && napi_get_buffer_info(env, v, &ptr, len) == napi_ok) {
    *data = static_cast<uint8_t*>(ptr);
    return true;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is && napi_get_arraybuffer_info(env, v, &ptr, len) == napi_ok) {
    *data = static_cast<uint8_t*>(ptr);
    return true;
  }
  return Throw(env, false, "bytes", "expected a TypedArray, DataView or ArrayBuffer");
}

int DetachedStatus(napi_env env, napi_value v) {
  napi_value buffer = v;
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_get_typedarray_info(env, v, nullptr, nullptr, nullptr, &buffer, nullptr);
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_get_dataview_info(env, v, nullptr, nullptr, &buffer, nullptr);
  }
  bool detached = false;
  napi_is_detached_arraybuffer(env, buffer, &detached);
  return detached ? kErrDetached : 0;
}

bool Args::Bytes(size_t i, uint8_t** data, size_t* len) {
  if (i >= argc_) return TypeError("a bytes argument is missing");
  return BytesOf(env_, argv_[i], data, len);
}

bool Args::OptionalBytes(size_t i, uint8_t** data, size_t* len) {
  if (Missing(i)) {
    *data = nullptr;
    *len = 0;
    return true;
  }
  return Bytes(i, data, len);
}

bool Args::ByteRange(size_t i, uint8_t** data, size_t* len, int* status) {
  uint8_t* base;
  size_t size;
  int32_t offset, length;
  if (!Bytes(i, &base, &size) || !Int(i + 1, &offset) || !Int(i + 2, &length)) return false;
  if (offset < 0 || length < 0) return RangeError("offset and length must be >= 0");
  *status = size == 0 ? DetachedStatus(env_, argv_[i]) : 0;
  if (*status == 0 && static_cast<size_t>(offset) + static_cast<size_t>(length) > size) *status = kErrOutOfBounds;
  *data = base + (*status == 0 ? offset : 0);
  *len = *status == 0 ? static_cast<size_t>(length) : 0;
  return true;
}

napi_value Number(napi_env env, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  return v;
}

napi_value Int32(napi_env env, int32_t value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  return v;
}

napi_value SyscallResult(napi_env env, long rc) {
  return Number(env, rc < 0 ? -errno : static_cast<double>(rc));
}

void SetNumber(napi_env env, napi_value object, const char* name, double value) {
  napi_set_named_property(env, object, name, Number(env, value));
}

}  // namespace netsock
