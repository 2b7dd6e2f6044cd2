// Shared declarations for the netsock addon. Every exported function is flat:
// it takes already-validated arguments from src/native.ts, does one system call
// and returns a result or a negative errno. Argument shapes are asserted, not
// trusted: a wrong shape throws a TypeError instead of touching memory.
#pragma once

#ifndef NAPI_VERSION
#define NAPI_VERSION 9
#endif
#include <napi.h>
#include <uv.h>

#include <unordered_set>

namespace netsock {

struct PollHandle;
struct IoScratch;

// Per-environment state (main thread or one worker). Holds every fd the addon
// opened or adopted and every live poll handle, so that a terminating worker
// closes them instead of leaking fds or leaving libuv handles open.
struct Instance {
  std::unordered_set<int> fds;
  std::unordered_set<PollHandle*> polls;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  uv_loop_t* loop = nullptr;
  size_t closing = 0;
  bool tearing_down = false;
  IoScratch* io = nullptr;  // batched-call scratch, made on first use
};

Instance* GetInstance(Napi::Env env);

// Argument assertions. They return false after scheduling a TypeError; the
// caller returns immediately. JS has already validated, so these only fire on
// a bug in src/ or on direct misuse of the internal addon.
bool AssertArgs(const Napi::CallbackInfo& info, size_t count);
bool ArgInt(const Napi::CallbackInfo& info, size_t i, int32_t* out);
bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out);
// Any ArrayBufferView or ArrayBuffer: data pointer and byte length.
bool ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len);
// The same for a value already in hand (array elements); false after a TypeError.
bool ArgBytesValue(napi_env env, napi_value v, uint8_t** data, size_t* len);

// A negative errno (or 0) as a JS number.
inline Napi::Value Errno(Napi::Env env, int err) { return Napi::Number::New(env, -err); }
inline Napi::Value Result(Napi::Env env, int rc) {
  return Napi::Number::New(env, rc < 0 ? -errno : rc);
}

void RegisterSocket(Napi::Env env, Napi::Object exports);
void RegisterOptions(Napi::Env env, Napi::Object exports);
void RegisterConstants(Napi::Env env, Napi::Object exports);
void RegisterChecksum(Napi::Env env, Napi::Object exports);
void RegisterPoll(Napi::Env env, Napi::Object exports);
void RegisterIo(Napi::Env env, Napi::Object exports);
void RegisterFilter(Napi::Env env, Napi::Object exports);
void RegisterErrqueue(Napi::Env env, Napi::Object exports);
void RegisterClock(Napi::Env env, Napi::Object exports);

// Teardown of the poll handles of an environment; defined in poll.cc.
void ClosePollsForTeardown(Instance* inst);

}  // namespace netsock
