// Module entry, per-environment instance data and environment teardown.
#include "addon.h"

#include <unistd.h>

#include "io.h"
#include "layout.h"

namespace netsock {

Instance* GetInstance(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Instance*>(data);
}

void FreeInstance(Instance* inst) {
  napi_remove_async_cleanup_hook(inst->cleanup);
  delete inst->io;
  delete inst->slot;
  delete inst;
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
  if (inst->closing == 0) FreeInstance(inst);
}

static napi_value Noop(napi_env env, napi_callback_info cbinfo) {
  return nullptr;
}

// { fds, polls }: descriptors this environment owns and live poll handles,
// for leak checks in tests and the soak run.
static napi_value ResourceCounts(napi_env env, napi_callback_info cbinfo) {
  Instance* inst = GetInstance(env);
  napi_value o;
  napi_create_object(env, &o);
  SetNumber(env, o, "fds", static_cast<double>(inst->fds.size()));
  SetNumber(env, o, "polls", static_cast<double>(inst->polls.size()));
  return o;
}

static napi_value Init(napi_env env, napi_value exports) {
  auto* inst = new Instance();
  napi_get_uv_event_loop(env, &inst->loop);
  // No finalizer: the instance is freed by OnTeardown once its handles closed.
  napi_set_instance_data(env, inst, nullptr, nullptr);
  napi_add_async_cleanup_hook(env, OnTeardown, inst, nullptr);

  static const Export kExports[] = {{"noop", Noop}, {"resourceCounts", ResourceCounts}};
  ExportAll(env, exports, kExports);
  RegisterSocket(env, exports);
  RegisterOptions(env, exports);
  RegisterConstants(env, exports);
  RegisterChecksum(env, exports);
  RegisterPoll(env, exports);
  RegisterIo(env, exports);
  RegisterFilter(env, exports);
  RegisterErrqueue(env, exports);
  ExportLayouts(env, exports);
  RegisterClock(env, exports);
  return exports;
}

}  // namespace netsock

NAPI_MODULE_INIT() {
  return netsock::Init(env, exports);
}
