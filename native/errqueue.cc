// The socket error queue (man 7 ip IP_RECVERR, man 7 ipv6 IPV6_RECVERR,
// man 2 recvmsg MSG_ERRQUEUE): one queued error per call. Its payload (the
// start of the packet that caused it) lands in JS memory, its fields in an
// Int32 metadata array (errmeta in layout.h) and the two addresses it names
// (msg_name, and the offender after the sock_extended_err) as raw sockaddr
// bytes; src/errqueue.ts decodes them. Every cmsg is length-checked.
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
// After <time.h>: it uses struct timespec.
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <cerrno>
#include <cstring>

#include "addon.h"
#include "cmsg.h"
#include "layout.h"

namespace netsock {

// Room for the extended error with its offender address (the largest cmsg),
// a timestamp, TTL/hop limit and pktinfo, each with its header.
constexpr size_t kErrControlBytes = 512;

static void ReadExtendedError(const msghdr* msg, const cmsghdr* c, int32_t* meta, uint8_t* offender) {
  using namespace errmeta;
  sock_extended_err ee;
  memcpy(&ee, CMSG_DATA(c), sizeof(ee));
  meta[hasError] = 1;
  meta[eeErrno] = static_cast<int32_t>(ee.ee_errno);
  meta[origin] = ee.ee_origin;
  meta[type] = ee.ee_type;
  meta[code] = ee.ee_code;
  meta[info] = static_cast<int32_t>(ee.ee_info);
  meta[data] = static_cast<int32_t>(ee.ee_data);
  // SO_EE_OFFENDER: a sockaddr right after the struct, family AF_UNSPEC when unknown.
  size_t addrLen = c->cmsg_len - CMSG_LEN(0) - sizeof(sock_extended_err);
  if (addrLen > static_cast<size_t>(kAddrStride)) addrLen = kAddrStride;
  sa_family_t family = AF_UNSPEC;
  if (addrLen >= sizeof(family)) memcpy(&family, CMSG_DATA(c) + sizeof(ee), sizeof(family));
  if (family == AF_UNSPEC) return;
  memcpy(offender, CMSG_DATA(c) + sizeof(ee), addrLen);
  meta[offenderLen] = static_cast<int32_t>(addrLen);
}

static void ParseErrorControl(const msghdr* msg, int32_t* meta, uint8_t* offender) {
  using namespace errmeta;
  for (const cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(msg), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_len < CMSG_LEN(0) || !CmsgFits(msg, c, 0)) break;
    bool ipErr = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                 (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
    if (ipErr && CmsgFits(msg, c, sizeof(sock_extended_err))) {
      ReadExtendedError(msg, c, meta, offender);
    } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
               (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
      meta[ttl] = CmsgSmallInt(msg, c);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING &&
               CmsgFits(msg, c, sizeof(scm_timestamping))) {
      // Transmit timestamps (SO_TIMESTAMPING): ts[0] is the software one (man 7 socket,
      // Documentation/networking/timestamping.rst); its error has origin TIMESTAMPING.
      scm_timestamping tss;
      memcpy(&tss, CMSG_DATA(c), sizeof(tss));
      PutTimespec(meta, txSecLow, txSecHigh, txNsec, tss.ts[0]);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS && CmsgFits(msg, c, sizeof(timespec))) {
      timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      PutTimespec(meta, tsSecLow, tsSecHigh, tsNsec, ts);
    }
  }
}

// readErrorQueue(fd, data, offset, length, meta, addrs) -> 1, or -errno
// (-EAGAIN when the queue is empty). meta: errmeta fields; addrs:
// 2 * kAddrStride bytes, msg_name first, then the offender.
static napi_value ReadErrorQueue(napi_env env, napi_callback_info cbinfo) {
  using namespace errmeta;
  Args args(env, cbinfo, "readErrorQueue");
  int32_t fd;
  uint8_t *base, *metaBytes, *addrs;
  size_t length, metaLen, addrsLen;
  int status;
  if (!args.Int(0, &fd) || !args.ByteRange(1, &base, &length, &status) || !args.Bytes(4, &metaBytes, &metaLen) ||
      !args.Bytes(5, &addrs, &addrsLen))
    return nullptr;
  if (metaLen < kStride * sizeof(int32_t) || reinterpret_cast<uintptr_t>(metaBytes) % alignof(int32_t) != 0 ||
      addrsLen < 2 * static_cast<size_t>(kAddrStride))
    return args.RangeError("metadata or address memory too small"), nullptr;
  if (status != 0) return Number(env, status);
  iovec iov = {base, length};
  alignas(cmsghdr) unsigned char control[kErrControlBytes];
  msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = addrs;
  msg.msg_namelen = kAddrStride;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT | MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(env, errno);

  auto* meta = reinterpret_cast<int32_t*>(metaBytes);
  memset(meta, 0, kStride * sizeof(int32_t));
  meta[ttl] = -1;
  meta[tsNsec] = -1;
  meta[txNsec] = -1;
  meta[size] = static_cast<int32_t>(n);
  meta[bytes] = static_cast<int32_t>(static_cast<size_t>(n) < length ? static_cast<size_t>(n) : length);
  meta[flags] = msg.msg_flags;
  meta[nameLen] = static_cast<int32_t>(msg.msg_namelen <= static_cast<socklen_t>(kAddrStride) ? msg.msg_namelen : 0);
  if (msg.msg_controllen > 0) ParseErrorControl(&msg, meta, addrs + kAddrStride);
  return Number(env, 1);
}

void RegisterErrqueue(napi_env env, napi_value exports) {
  static const Export kExports[] = {{"readErrorQueue", ReadErrorQueue}};
  ExportAll(env, exports, kExports);
}

}  // namespace netsock
