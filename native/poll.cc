// Readiness notification: one uv_poll_t per socket on the loop of the
// environment that created it. The handle memory lives apart from the JS
// wrapper because uv_close completes asynchronously, after the wrapper may
// already be gone.
#include <napi.h>

#include "addon.h"

namespace netsock {

class Poller;

struct PollHandle {
  uv_poll_t poll;
  Poller* owner;
  Instance* inst;
};

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {InstanceMethod<&Poller::Open>("open"), InstanceMethod<&Poller::Start>("start"),
                        InstanceMethod<&Poller::Close>("close"), InstanceMethod<&Poller::SetRef>("ref"),
                        InstanceMethod<&Poller::SetUnref>("unref")});
  }

  // new Poller(callback): callback(status, events) runs on readiness, where
  // status is 0 or a negative errno and events is a UV_READABLE|UV_WRITABLE mask.
  explicit Poller(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Poller>(info), context_(info.Env(), "netsock:poll") {
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(info.Env(), "netsock native: Poller needs a callback").ThrowAsJavaScriptException();
      return;
    }
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  }

  ~Poller() override { CloseHandle(); }

  // Called by the teardown hook: the handle is being closed for us.
  void Detach() {
    handle_ = nullptr;
    active_ = false;
  }

 private:
  // open(fd) -> 0 or -errno.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Args args(info.Env(), static_cast<napi_callback_info>(info), "Poller.open");
    int32_t fd;
    if (!args.Int(0, &fd)) return {};
    if (handle_ != nullptr) return Napi::Value(info.Env(), Errno(info.Env(), EALREADY));
    Instance* inst = GetInstance(info.Env());
    auto* h = new PollHandle{{}, this, inst};
    int rc = uv_poll_init_socket(inst->loop, &h->poll, fd);
    if (rc < 0) {
      delete h;  // never initialised, so no uv_close is owed
      return Napi::Number::New(info.Env(), rc);
    }
    h->poll.data = h;
    handle_ = h;
    if (!referenced_) uv_unref(reinterpret_cast<uv_handle_t*>(&h->poll));
    inst->polls.insert(h);
    return Napi::Number::New(info.Env(), 0);
  }

  // start(events) -> 0 or -errno. While started, the wrapper is kept alive.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Args args(info.Env(), static_cast<napi_callback_info>(info), "Poller.start");
    int32_t events;
    if (!args.Int(0, &events)) return {};
    if (handle_ == nullptr) return Napi::Value(info.Env(), Errno(info.Env(), EBADF));
    int rc = uv_poll_start(&handle_->poll, events, OnPoll);
    if (rc == 0 && !active_) {
      active_ = true;
      Ref();
    }
    return Napi::Number::New(info.Env(), rc);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseHandle();
    return info.Env().Undefined();
  }

  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    referenced_ = true;
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  Napi::Value SetUnref(const Napi::CallbackInfo& info) {
    referenced_ = false;
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  void CloseHandle() {
    if (handle_ == nullptr) return;
    PollHandle* h = handle_;
    handle_ = nullptr;
    h->owner = nullptr;
    h->inst->polls.erase(h);
    uv_close(reinterpret_cast<uv_handle_t*>(&h->poll),
             [](uv_handle_t* handle) { delete static_cast<PollHandle*>(handle->data); });
    if (active_) {
      active_ = false;
      // Unref may run during finalization, where the reference is already gone.
      if (!IsEmpty()) Unref();
    }
  }

  // Uses the C API on purpose: while a worker is being terminated, calls into
  // JS fail, and node-addon-api (without C++ exceptions) turns a failed call
  // into a fatal error. Here a failure just means the callback does not run.
  static void OnPoll(uv_poll_t* poll, int status, int events) {
    auto* h = static_cast<PollHandle*>(poll->data);
    Poller* self = h->owner;
    if (self == nullptr || h->inst->tearing_down) return;
    napi_env env = self->Env();
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value fn, recv, argv[2];
    if (napi_get_reference_value(env, self->callback_.operator napi_ref(), &fn) == napi_ok &&
        napi_get_reference_value(env, self->operator napi_ref(), &recv) == napi_ok &&
        napi_create_int32(env, status, &argv[0]) == napi_ok && napi_create_int32(env, events, &argv[1]) == napi_ok) {
      // make_callback drains the microtask queue afterwards, so promises the
      // handler settles resolve before the loop moves on.
      napi_status rc = napi_make_callback(env, self->context_, recv, fn, 2, argv, nullptr);
      if (rc == napi_pending_exception) {
        // An exception thrown by the handler goes where Node sends its own:
        // process 'uncaughtException', else a crash with the stack.
        napi_value err;
        if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
      }
    }
    napi_close_handle_scope(env, scope);
  }

  Napi::FunctionReference callback_;
  Napi::AsyncContext context_;
  PollHandle* handle_ = nullptr;
  bool active_ = false;
  bool referenced_ = true;
};

void ClosePollsForTeardown(Instance* inst) {
  for (PollHandle* h : inst->polls) {
    if (h->owner != nullptr) h->owner->Detach();
    h->owner = nullptr;
    inst->closing++;
    uv_close(reinterpret_cast<uv_handle_t*>(&h->poll), [](uv_handle_t* handle) {
      auto* h = static_cast<PollHandle*>(handle->data);
      Instance* inst = h->inst;
      delete h;
      if (--inst->closing == 0) FreeInstance(inst);
    });
  }
  inst->polls.clear();
}

void RegisterPoll(napi_env env, napi_value exports) {
  Napi::Object(env, exports).Set("Poller", Poller::Define(env));
  SetNumber(env, exports, "UV_READABLE", UV_READABLE);
  SetNumber(env, exports, "UV_WRITABLE", UV_WRITABLE);
  // Watching only POLLPRI still wakes on POLLERR: how the error queue is waited for.
  SetNumber(env, exports, "UV_PRIORITIZED", UV_PRIORITIZED);
}

}  // namespace netsock
