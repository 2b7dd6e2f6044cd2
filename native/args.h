// The one way every exported function reads its arguments and returns its
// result: the Node-API C interface, no wrapper objects. JS (src/) has already
// validated every argument, so a wrong shape here is a bug in src/ or direct
// misuse of the internal addon: it throws a TypeError/RangeError naming the
// function and never touches memory. System-call failures are not thrown:
// they come back as a negative errno, and src/errors.ts builds the Error.
#pragma once

#ifndef NAPI_VERSION
#define NAPI_VERSION 9
#endif
#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace netsock {

// Results outside the errno range (the kernel's errnos stay below 4096):
// bytes the caller passed were detached, or a view no longer covers the
// range JS validated (a resizable ArrayBuffer shrank). src/errors.ts turns
// them into ERR_BUFFER_DETACHED / ERR_BUFFER_OUT_OF_BOUNDS.
constexpr int kErrDetached = -5001;
constexpr int kErrOutOfBounds = -5002;

class Args {
 public:
  static constexpr size_t kMax = 8;

  Args(napi_env env, napi_callback_info info, const char* name);

  napi_env env() const { return env_; }
  size_t count() const { return argc_; }
  napi_value operator[](size_t i) const { return i < argc_ ? argv_[i] : nullptr; }
  // The function's data: the environment's Instance for every function
  // ExportAll made (read with the arguments, so it costs the call nothing).
  void* data() const { return data_; }
  // True when argument i is absent, undefined or null.
  bool Missing(size_t i) const;

  bool Int(size_t i, int32_t* out);
  bool String(size_t i, std::string* out);
  // Any TypedArray, DataView or ArrayBuffer: its bytes. Never fails for a
  // detached buffer (its length is 0); see ByteRange.
  bool Bytes(size_t i, uint8_t** data, size_t* len);
  // Bytes, or nullptr/0 when the argument is missing.
  bool OptionalBytes(size_t i, uint8_t** data, size_t* len);
  // Arguments i, i+1, i+2 = bytes, offset, length. *status is 0, or
  // kErrDetached / kErrOutOfBounds when the range no longer lies inside
  // the bytes (JS checked it before the call; user code may have run since).
  bool ByteRange(size_t i, uint8_t** data, size_t* len, int* status);

  // Throws "netsock native <name>: <what>" and returns false.
  bool TypeError(const char* what);
  bool RangeError(const char* what);

 private:
  napi_env env_;
  const char* name_;
  size_t argc_ = kMax;
  napi_value argv_[kMax];
  void* data_ = nullptr;
};

// Bytes of one value (an element of an array argument); false after a TypeError.
bool BytesOf(napi_env env, napi_value v, uint8_t** data, size_t* len);
// 0, or kErrDetached when `v` (bytes of length 0) sits on a detached buffer.
int DetachedStatus(napi_env env, napi_value v);

napi_value Number(napi_env env, double value);
// A small integer result (a datagram's bytes, -errno): the cheapest JS number.
napi_value Int32(napi_env env, int32_t value);
// -err as a JS number (err is a positive errno).
inline napi_value Errno(napi_env env, int err) {
  return Number(env, -err);
}
// rc when >= 0, else -errno of the call that just failed.
napi_value SyscallResult(napi_env env, long rc);

// One exported function; its data (Args::data) is the environment's instance data.
struct Export {
  const char* name;
  napi_callback fn;
};
template <size_t N>
void ExportAll(napi_env env, napi_value exports, const Export (&list)[N]) {
  void* instance = nullptr;
  napi_get_instance_data(env, &instance);
  for (const Export& e : list) {
    napi_value fn;
    napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.fn, instance, &fn);
    napi_set_named_property(env, exports, e.name, fn);
  }
}
void SetNumber(napi_env env, napi_value object, const char* name, double value);

}  // namespace netsock
