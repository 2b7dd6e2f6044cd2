// Shared declarations for the netsock addon. Every exported function is flat:
// it takes already-validated arguments from src/native.ts (read with Args,
// args.h), does one system call and returns a result or a negative errno.
#pragma once

#include "args.h"

#include <uv.h>

#include <unordered_set>

namespace netsock {

struct PollHandle;
struct IoScratch;
struct SendSlot;

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
  IoScratch* io = nullptr;   // batched-call scratch, made on first use
  SendSlot* slot = nullptr;  // sendTo / sendMsg's destination and control (io.h), made at load
};

Instance* GetInstance(napi_env env);
// Frees the instance once teardown has closed its last handle.
void FreeInstance(Instance* inst);

void RegisterSocket(napi_env env, napi_value exports);
void RegisterOptions(napi_env env, napi_value exports);
void RegisterConstants(napi_env env, napi_value exports);
void RegisterChecksum(napi_env env, napi_value exports);
void RegisterPoll(napi_env env, napi_value exports);
void RegisterIo(napi_env env, napi_value exports);
void RegisterFilter(napi_env env, napi_value exports);
void RegisterErrqueue(napi_env env, napi_value exports);
void RegisterClock(napi_env env, napi_value exports);

// Teardown of the poll handles of an environment; defined in poll.cc.
void ClosePollsForTeardown(Instance* inst);

}  // namespace netsock
