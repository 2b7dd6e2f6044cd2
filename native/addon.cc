// Module entry, per-environment instance data and environment teardown.
#include "addon.h"
#include "io.h"

#include <unistd.h>

namespace netsock {

Instance* GetInstance(Napi::Env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Instance*>(data);
}

bool AssertArgs(const Napi::CallbackInfo& info, size_t count) {
  if (info.Length() >= count) return true;
  Napi::TypeError::New(info.Env(), "netsock native: too few arguments").ThrowAsJavaScriptException();
  return false;
}

bool ArgInt(const Napi::CallbackInfo& info, size_t i, int32_t* out) {
  if (i < info.Length() && info[i].IsNumber()) {
    *out = info[i].As<Napi::Number>().Int32Value();
    return true;
  }
  Napi::TypeError::New(info.Env(), "netsock native: argument " + std::to_string(i) + " must be a number")
      .ThrowAsJavaScriptException();
  return false;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (i < info.Length() && info[i].IsString()) {
    *out = info[i].As<Napi::String>().Utf8Value();
    return true;
  }
  Napi::TypeError::New(info.Env(), "netsock native: argument " + std::to_string(i) + " must be a string")
      .ThrowAsJavaScriptException();
  return false;
}

bool ArgBytesValue(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length;
    void* ptr;
    napi_get_typedarray_info(env, v, &type, &length, &ptr, nullptr, nullptr);
    static const size_t kElementSize[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    *data = static_cast<uint8_t*>(ptr);
    *len = length * (type < 11 ? kElementSize[type] : 1);
    return true;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    void* ptr;
    napi_get_dataview_info(env, v, len, &ptr, nullptr, nullptr);
    *data = static_cast<uint8_t*>(ptr);
    return true;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    void* ptr;
    napi_get_arraybuffer_info(env, v, &ptr, len);
    *data = static_cast<uint8_t*>(ptr);
    return true;
  }
  napi_throw_type_error(env, nullptr, "netsock native: expected bytes");
  return false;
}

bool ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
  if (i < info.Length()) return ArgBytesValue(info.Env(), info[i], data, len);
  Napi::TypeError::New(info.Env(), "netsock native: argument " + std::to_string(i) + " is missing")
      .ThrowAsJavaScriptException();
  return false;
}

// Runs when the environment (a worker, or the main thread at exit) is torn
// down: closes every fd the addon still owns and every poll handle. The hook is
// removed once the last handle's close callback has run (see poll.cc).
static void OnTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* inst = static_cast<Instance*>(arg);
  inst->tearing_down = true;
  inst->cleanup = handle;
  ClosePollsForTeardown(inst);
  for (int fd : inst->fds) close(fd);
  inst->fds.clear();
  if (inst->closing == 0) {
    napi_remove_async_cleanup_hook(handle);
    delete inst->io;
    delete inst;
  }
}

static Napi::Value Noop(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// { fds, polls }: descriptors this environment owns and live poll handles,
// for leak checks in tests and the soak run.
static Napi::Value ResourceCounts(const Napi::CallbackInfo& info) {
  Instance* inst = GetInstance(info.Env());
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("fds", static_cast<double>(inst->fds.size()));
  o.Set("polls", static_cast<double>(inst->polls.size()));
  return o;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* inst = new Instance();
  napi_get_uv_event_loop(env, &inst->loop);
  // No finalizer: the instance is freed by OnTeardown once its handles closed.
  napi_set_instance_data(env, inst, nullptr, nullptr);
  napi_add_async_cleanup_hook(env, OnTeardown, inst, nullptr);

  exports.Set("noop", Napi::Function::New(env, Noop, "noop"));
  exports.Set("resourceCounts", Napi::Function::New(env, ResourceCounts, "resourceCounts"));
  RegisterSocket(env, exports);
  RegisterOptions(env, exports);
  RegisterConstants(env, exports);
  RegisterChecksum(env, exports);
  RegisterPoll(env, exports);
  RegisterIo(env, exports);
  RegisterFilter(env, exports);
  RegisterErrqueue(env, exports);
  RegisterClock(env, exports);
  return exports;
}

}  // namespace netsock

static Napi::Object InitNetsock(Napi::Env env, Napi::Object exports) { return netsock::Init(env, exports); }

NODE_API_MODULE(netsock, InitNetsock)
