// The socket error queue (man 7 ip IP_RECVERR, man 7 ipv6 IPV6_RECVERR,
// man 2 recvmsg MSG_ERRQUEUE): one queued error per call, its payload (the
// start of the packet that caused it) written into JS memory and its
// sock_extended_err decoded into the result object. The control buffer lives
// on the stack; every cmsg is length-checked before it is read.
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
// After <time.h>: it uses struct timespec.
#include <linux/errqueue.h>

#include <cerrno>
#include <cstring>

#include "addon.h"
#include "sockaddr.h"

namespace netsock {

// Room for the extended error with its offender address (the largest cmsg),
// a timestamp, TTL/hop limit and pktinfo, each with its header.
constexpr size_t kErrControlBytes = 512;

static bool Fits(const cmsghdr* c, size_t bytes) { return c->cmsg_len >= CMSG_LEN(bytes); }

// readErrorQueue(fd, data, offset, length) -> -errno (-EAGAIN when the queue
// is empty) or { bytes, size, flags, address?, error?, ttl?, tsSec?, tsNsec? }.
// error: { errno, origin, type, code, info, data, offender? }.
static Napi::Value ReadErrorQueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, offset, length;
  uint8_t* base;
  size_t size;
  if (!ArgInt(info, 0, &fd) || !ArgBytes(info, 1, &base, &size) || !ArgInt(info, 2, &offset) || !ArgInt(info, 3, &length))
    return {};
  if (offset < 0 || length < 0 || static_cast<size_t>(offset) + static_cast<size_t>(length) > size) {
    Napi::RangeError::New(env, "netsock native: range outside the buffer").ThrowAsJavaScriptException();
    return {};
  }
  sockaddr_storage name;
  iovec iov = {base + offset, static_cast<size_t>(length)};
  alignas(cmsghdr) unsigned char control[kErrControlBytes];
  msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = &name;
  msg.msg_namelen = sizeof(name);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT | MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(env, errno);

  Napi::Object out = Napi::Object::New(env);
  out.Set("size", Napi::Number::New(env, static_cast<double>(n)));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(static_cast<size_t>(n) < iov.iov_len ? n : iov.iov_len)));
  out.Set("flags", Napi::Number::New(env, msg.msg_flags));
  if (msg.msg_namelen > sizeof(sa_family_t) && msg.msg_namelen <= sizeof(name))
    out.Set("address", AddressToJs(env, reinterpret_cast<sockaddr*>(&name), msg.msg_namelen));
  if (msg.msg_controllen == 0) return out;
  const unsigned char* end = control + msg.msg_controllen;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    // A cmsg must lie wholly inside what the kernel wrote (MSG_CTRUNC cuts the last one).
    if (c->cmsg_len < CMSG_LEN(0) || reinterpret_cast<unsigned char*>(c) + c->cmsg_len > end) break;
    bool ipErr = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                 (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
    if (ipErr && Fits(c, sizeof(sock_extended_err))) {
      sock_extended_err ee;
      memcpy(&ee, CMSG_DATA(c), sizeof(ee));
      Napi::Object e = Napi::Object::New(env);
      e.Set("errno", Napi::Number::New(env, -static_cast<double>(ee.ee_errno)));
      e.Set("origin", Napi::Number::New(env, ee.ee_origin));
      e.Set("type", Napi::Number::New(env, ee.ee_type));
      e.Set("code", Napi::Number::New(env, ee.ee_code));
      e.Set("info", Napi::Number::New(env, ee.ee_info));
      e.Set("data", Napi::Number::New(env, ee.ee_data));
      // SO_EE_OFFENDER: a sockaddr right after the struct, family AF_UNSPEC when unknown.
      size_t payload = c->cmsg_len - CMSG_LEN(0);
      size_t addrLen = payload - sizeof(sock_extended_err);
      if (addrLen > sizeof(sa_family_t) && addrLen <= sizeof(sockaddr_storage)) {
        sockaddr_storage offender;
        memcpy(&offender, CMSG_DATA(c) + sizeof(sock_extended_err), addrLen);
        if (offender.ss_family == AF_INET || offender.ss_family == AF_INET6)
          e.Set("offender", AddressToJs(env, reinterpret_cast<sockaddr*>(&offender), static_cast<socklen_t>(addrLen)));
      }
      out.Set("error", e);
    } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
               (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
      if (Fits(c, sizeof(int))) {
        int ttl;
        memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
        out.Set("ttl", Napi::Number::New(env, ttl));
      }
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS && Fits(c, sizeof(timespec))) {
      timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      out.Set("tsSec", Napi::Number::New(env, static_cast<double>(ts.tv_sec)));
      out.Set("tsNsec", Napi::Number::New(env, static_cast<double>(ts.tv_nsec)));
    }
  }
  return out;
}

void RegisterErrqueue(Napi::Env env, Napi::Object exports) {
  exports.Set("readErrorQueue", Napi::Function::New(env, ReadErrorQueue, "readErrorQueue"));
}

}  // namespace netsock
