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
static napi_value Open(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "open");
  int32_t domain, type, protocol;
  if (!args.Int(0, &domain) || !args.Int(1, &type) || !args.Int(2, &protocol)) return nullptr;
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return Errno(env, errno);
  GetInstance(env)->fds.insert(fd);
  return Number(env, fd);
}

// Takes ownership of an existing descriptor: makes it non-blocking and
// close-on-exec, and closes it if the environment is torn down.
static napi_value Adopt(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "adopt");
  int32_t fd;
  if (!args.Int(0, &fd)) return nullptr;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return Errno(env, errno);
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return Errno(env, errno);
  GetInstance(env)->fds.insert(fd);
  return Number(env, 0);
}

// Gives up ownership without closing (the fd was handed to someone else).
static napi_value Release(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "release");
  int32_t fd;
  if (!args.Int(0, &fd)) return nullptr;
  GetInstance(env)->fds.erase(fd);
  return Number(env, 0);
}

static napi_value Close(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "close");
  int32_t fd;
  if (!args.Int(0, &fd)) return nullptr;
  GetInstance(env)->fds.erase(fd);
  // Linux always releases the descriptor, even when close reports EINTR, so
  // it is never retried (man 2 close).
  return SyscallResult(env, close(fd));
}

// bind(fd, family, address, port) for AF_INET/AF_INET6.
static napi_value Bind(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "bind");
  int32_t fd, family, port;
  std::string host;
  if (!args.Int(0, &fd) || !args.Int(1, &family) || !args.String(2, &host) || !args.Int(3, &port)) return nullptr;
  sockaddr_storage ss;
  socklen_t len;
  int rc = ParseAddress(family, host, port, &ss, &len);
  if (rc < 0) return Number(env, rc);
  return SyscallResult(env, bind(fd, reinterpret_cast<sockaddr*>(&ss), len));
}

// bind(fd, ifindex, protocol) for AF_PACKET; protocol in host byte order
// (0 keeps the protocol given to socket(), see man 7 packet).
static napi_value BindPacket(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "bindPacket");
  int32_t fd, ifindex, protocol;
  if (!args.Int(0, &fd) || !args.Int(1, &ifindex) || !args.Int(2, &protocol)) return nullptr;
  sockaddr_ll sll;
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_protocol = htons(static_cast<uint16_t>(protocol));
  return SyscallResult(env, bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)));
}

// connect(fd, family, address, port); -EINPROGRESS for a pending TCP connect.
// family AF_UNSPEC dissolves a datagram socket's association (man 2 connect).
static napi_value Connect(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "connect");
  int32_t fd, family, port;
  std::string host;
  if (!args.Int(0, &fd) || !args.Int(1, &family)) return nullptr;
  sockaddr_storage ss;
  socklen_t len;
  if (family == AF_UNSPEC) {
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    len = sizeof(sa_family_t);
  } else {
    if (!args.String(2, &host) || !args.Int(3, &port)) return nullptr;
    int rc = ParseAddress(family, host, port, &ss, &len);
    if (rc < 0) return Number(env, rc);
  }
  int rc;
  do rc = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  while (rc < 0 && errno == EINTR);
  return SyscallResult(env, rc);
}

static napi_value Listen(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "listen");
  int32_t fd, backlog;
  if (!args.Int(0, &fd) || !args.Int(1, &backlog)) return nullptr;
  return SyscallResult(env, listen(fd, backlog));
}

// accept4 -> new fd (non-blocking, close-on-exec, owned by this environment).
static napi_value Accept(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "accept");
  int32_t fd;
  if (!args.Int(0, &fd)) return nullptr;
  int client;
  do client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (client < 0 && errno == EINTR);
  if (client < 0) return Errno(env, errno);
  GetInstance(env)->fds.insert(client);
  return Number(env, client);
}

static napi_value Shutdown(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "shutdown");
  int32_t fd, how;
  if (!args.Int(0, &fd) || !args.Int(1, &how)) return nullptr;
  return SyscallResult(env, shutdown(fd, how));
}

// getsockname / getpeername(fd, out) -> bytes of the sockaddr written into
// out (src/sockaddr.ts decodes it), or -errno.
template <int (*Get)(int, sockaddr*, socklen_t*)>
static napi_value Name(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "getsockname/getpeername");
  int32_t fd;
  uint8_t* out;
  size_t outLen;
  if (!args.Int(0, &fd) || !args.Bytes(1, &out, &outLen)) return nullptr;
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (Get(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return Errno(env, errno);
  if (len > outLen) len = static_cast<socklen_t>(outLen);
  memcpy(out, &ss, len);
  return Number(env, len);
}

static napi_value IfNameToIndex(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "ifNameToIndex");
  std::string name;
  if (!args.String(0, &name)) return nullptr;
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) return Errno(env, errno ? errno : ENODEV);
  return Number(env, idx);
}

void RegisterSocket(napi_env env, napi_value exports) {
  static const Export kExports[] = {
      {"open", Open},
      {"adopt", Adopt},
      {"release", Release},
      {"close", Close},
      {"bind", Bind},
      {"bindPacket", BindPacket},
      {"connect", Connect},
      {"listen", Listen},
      {"accept", Accept},
      {"shutdown", Shutdown},
      {"getsockname", Name<getsockname>},
      {"getpeername", Name<getpeername>},
      {"ifNameToIndex", IfNameToIndex},
  };
  ExportAll(env, exports, kExports);
}

}  // namespace netsock
