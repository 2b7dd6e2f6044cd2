// Socket lifecycle: open, adopt, bind, connect, listen, accept, shutdown,
// close, and the local/peer address. One system call per function; results
// are a value >= 0 or a negative errno.
#include <fcntl.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addon.h"
#include "sockaddr.h"

namespace netsock {

// socket(domain, type, protocol) -> fd; always non-blocking and close-on-exec.
static Napi::Value Open(const Napi::CallbackInfo& info) {
  int32_t domain, type, protocol;
  if (!ArgInt(info, 0, &domain) || !ArgInt(info, 1, &type) || !ArgInt(info, 2, &protocol)) return {};
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return Errno(info.Env(), errno);
  GetInstance(info.Env())->fds.insert(fd);
  return Napi::Number::New(info.Env(), fd);
}

// Takes ownership of an existing descriptor: makes it non-blocking and
// close-on-exec, and closes it if the environment is torn down.
static Napi::Value Adopt(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt(info, 0, &fd)) return {};
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return Errno(info.Env(), errno);
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return Errno(info.Env(), errno);
  GetInstance(info.Env())->fds.insert(fd);
  return Napi::Number::New(info.Env(), 0);
}

// Gives up ownership without closing (the fd was handed to someone else).
static Napi::Value Release(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt(info, 0, &fd)) return {};
  GetInstance(info.Env())->fds.erase(fd);
  return Napi::Number::New(info.Env(), 0);
}

static Napi::Value Close(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt(info, 0, &fd)) return {};
  GetInstance(info.Env())->fds.erase(fd);
  // Linux always releases the descriptor, even when close reports EINTR, so
  // it is never retried (man 2 close).
  return Result(info.Env(), close(fd));
}

// bind(fd, family, address, port) for AF_INET/AF_INET6.
static Napi::Value Bind(const Napi::CallbackInfo& info) {
  int32_t fd, family, port;
  std::string host;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 1, &family) || !ArgString(info, 2, &host) ||
      !ArgInt(info, 3, &port))
    return {};
  sockaddr_storage ss;
  socklen_t len;
  int rc = ParseAddress(family, host, port, &ss, &len);
  if (rc < 0) return Napi::Number::New(info.Env(), rc);
  return Result(info.Env(), bind(fd, reinterpret_cast<sockaddr*>(&ss), len));
}

// bind(fd, ifindex, protocol) for AF_PACKET; protocol in host byte order
// (0 keeps the protocol given to socket(), see man 7 packet).
static Napi::Value BindPacket(const Napi::CallbackInfo& info) {
  int32_t fd, ifindex, protocol;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 1, &ifindex) || !ArgInt(info, 2, &protocol)) return {};
  sockaddr_ll sll;
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_protocol = htons(static_cast<uint16_t>(protocol));
  return Result(info.Env(), bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)));
}

// connect(fd, family, address, port); -EINPROGRESS for a pending TCP connect.
// family AF_UNSPEC dissolves a datagram socket's association (man 2 connect).
static Napi::Value Connect(const Napi::CallbackInfo& info) {
  int32_t fd, family, port;
  std::string host;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 1, &family)) return {};
  sockaddr_storage ss;
  socklen_t len;
  if (family == AF_UNSPEC) {
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    len = sizeof(sa_family_t);
  } else {
    if (!ArgString(info, 2, &host) || !ArgInt(info, 3, &port)) return {};
    int rc = ParseAddress(family, host, port, &ss, &len);
    if (rc < 0) return Napi::Number::New(info.Env(), rc);
  }
  int rc;
  do rc = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  while (rc < 0 && errno == EINTR);
  return Result(info.Env(), rc);
}

static Napi::Value Listen(const Napi::CallbackInfo& info) {
  int32_t fd, backlog;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 1, &backlog)) return {};
  return Result(info.Env(), listen(fd, backlog));
}

// accept4 -> new fd (non-blocking, close-on-exec, owned by this environment).
static Napi::Value Accept(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt(info, 0, &fd)) return {};
  int client;
  do client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (client < 0 && errno == EINTR);
  if (client < 0) return Errno(info.Env(), errno);
  GetInstance(info.Env())->fds.insert(client);
  return Napi::Number::New(info.Env(), client);
}

static Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  int32_t fd, how;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 1, &how)) return {};
  return Result(info.Env(), shutdown(fd, how));
}

template <int (*Get)(int, sockaddr*, socklen_t*)>
static Napi::Value Name(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt(info, 0, &fd)) return {};
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (Get(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return Errno(info.Env(), errno);
  return AddressToJs(info.Env(), reinterpret_cast<sockaddr*>(&ss), len);
}

static Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  std::string name;
  if (!ArgString(info, 0, &name)) return {};
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) return Errno(info.Env(), errno ? errno : ENODEV);
  return Napi::Number::New(info.Env(), idx);
}

void RegisterSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("adopt", Napi::Function::New(env, Adopt, "adopt"));
  exports.Set("release", Napi::Function::New(env, Release, "release"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("bindPacket", Napi::Function::New(env, BindPacket, "bindPacket"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
  exports.Set("getsockname", Napi::Function::New(env, Name<getsockname>, "getsockname"));
  exports.Set("getpeername", Napi::Function::New(env, Name<getpeername>, "getpeername"));
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex, "ifNameToIndex"));
}

}  // namespace netsock
