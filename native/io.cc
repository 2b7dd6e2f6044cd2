// Datagram send and receive. The caller's bytes go to the kernel straight
// from JS memory (no copy); received datagrams land in JS-owned memory with
// their metadata. No allocation per datagram: batched calls use the
// per-environment scratch arrays.
#include "io.h"

#include <netinet/in.h>
#include <netinet/udp.h>

#include <cerrno>
#include <cstring>

#include "addon.h"
#include "sockaddr.h"

namespace netsock {

static IoScratch* Scratch(Napi::Env env) {
  Instance* inst = GetInstance(env);
  if (inst->io == nullptr) inst->io = new IoScratch();
  return inst->io;
}

// A destination: undefined/null for a connected socket, else the bytes of a
// struct sockaddr made by encodeSockaddr().
static bool ArgAddr(const Napi::CallbackInfo& info, size_t i, sockaddr** addr, socklen_t* len) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) {
    *addr = nullptr;
    *len = 0;
    return true;
  }
  uint8_t* data;
  size_t n;
  if (!ArgBytes(info, i, &data, &n)) return false;
  *addr = reinterpret_cast<sockaddr*>(data);
  *len = static_cast<socklen_t>(n);
  return true;
}

// Bytes [offset, offset + length) of argument i, asserted to lie inside it.
static bool ArgRange(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* length) {
  uint8_t* base;
  size_t size;
  int32_t offset, len;
  if (!ArgBytes(info, i, &base, &size) || !ArgInt(info, i + 1, &offset) || !ArgInt(info, i + 2, &len)) return false;
  if (offset < 0 || len < 0 || static_cast<size_t>(offset) + static_cast<size_t>(len) > size) {
    Napi::RangeError::New(info.Env(), "netsock native: range outside the buffer").ThrowAsJavaScriptException();
    return false;
  }
  *data = base + offset;
  *length = static_cast<size_t>(len);
  return true;
}

// Points message i of the scratch batch at one datagram and its destination.
static void PrepareSend(IoScratch* io, int i, uint8_t* data, size_t len, sockaddr* addr, socklen_t addrLen) {
  io->iovs[i] = {data, len};
  msghdr& h = io->msgs[i].msg_hdr;
  memset(&h, 0, sizeof(h));
  h.msg_iov = &io->iovs[i];
  h.msg_iovlen = 1;
  h.msg_name = addr;
  h.msg_namelen = addrLen;
}

// sendmmsg over the first `count` prepared messages: datagrams sent or -errno.
static int SendPrepared(int fd, IoScratch* io, int count) {
  int n;
  do n = sendmmsg(fd, io->msgs, count, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

// encodeSockaddr(family, address, port, out) -> sockaddr length written into out, or -errno.
static Napi::Value EncodeSockaddr(const Napi::CallbackInfo& info) {
  int32_t family, port;
  std::string host;
  uint8_t* out;
  size_t outLen;
  if (!ArgInt(info, 0, &family) || !ArgString(info, 1, &host) || !ArgInt(info, 2, &port) ||
      !ArgBytes(info, 3, &out, &outLen))
    return {};
  sockaddr_storage ss;
  socklen_t len;
  int rc = ParseAddress(family, host, port, &ss, &len);
  if (rc < 0) return Napi::Number::New(info.Env(), rc);
  if (outLen < len) return Errno(info.Env(), ENOSPC);
  memcpy(out, &ss, len);
  return Napi::Number::New(info.Env(), len);
}

// Bytes of a typed array or DataView argument, from the C API directly: this
// is the hot path of every send, so no wrapper objects and no separate type
// probe (a failed info call is the type check).
static bool RawBytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  napi_typedarray_type type;
  size_t length;
  void* ptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, nullptr, nullptr) == napi_ok) {
    static const size_t kElementSize[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    *data = static_cast<uint8_t*>(ptr);
    *len = length * (type < 11 ? kElementSize[type] : 1);
    return true;
  }
  return ArgBytesValue(env, v, data, len);  // DataView, ArrayBuffer, or the TypeError
}

// send(fd, data, offset, length, addr) -> bytes sent or -errno (sendto, man 2 send).
static napi_value Send(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr);
  int32_t fd, offset, len;
  uint8_t *base, *addrBytes = nullptr;
  size_t size, addrLen = 0;
  napi_valuetype addrType = napi_undefined;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || !RawBytes(env, argv[1], &base, &size) ||
      napi_get_value_int32(env, argv[2], &offset) != napi_ok || napi_get_value_int32(env, argv[3], &len) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_type_error(env, nullptr, "netsock native: send(fd, data, offset, length, addr?)");
    return nullptr;
  }
  if (offset < 0 || len < 0 || static_cast<size_t>(offset) + static_cast<size_t>(len) > size) {
    napi_throw_range_error(env, nullptr, "netsock native: range outside the buffer");
    return nullptr;
  }
  if (argc > 4) napi_typeof(env, argv[4], &addrType);
  if (addrType != napi_undefined && addrType != napi_null && !RawBytes(env, argv[4], &addrBytes, &addrLen)) return nullptr;
  ssize_t n;
  do n = sendto(fd, base + offset, static_cast<size_t>(len), MSG_DONTWAIT | MSG_NOSIGNAL,
                reinterpret_cast<sockaddr*>(addrBytes), static_cast<socklen_t>(addrLen));
  while (n < 0 && errno == EINTR);
  napi_value result;
  napi_create_int32(env, n < 0 ? -errno : static_cast<int32_t>(n), &result);
  return result;
}

// sendMany(fd, datas, addrs, start, count) -> datagrams sent or -errno.
// datas: Array of byte views; addrs: one sockaddr for all, an Array of
// sockaddrs (entries may be undefined for the default), or undefined.
static Napi::Value SendMany(const Napi::CallbackInfo& info) {
  int32_t fd, start, count;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 3, &start) || !ArgInt(info, 4, &count)) return {};
  if (!info[1].IsArray()) {
    Napi::TypeError::New(info.Env(), "netsock native: datas must be an array").ThrowAsJavaScriptException();
    return {};
  }
  napi_env env = info.Env();
  napi_value datas = info[1];
  uint32_t total;
  napi_get_array_length(env, datas, &total);
  if (start < 0 || count < 0 || static_cast<uint32_t>(start) + static_cast<uint32_t>(count) > total) {
    Napi::RangeError::New(info.Env(), "netsock native: batch outside the list").ThrowAsJavaScriptException();
    return {};
  }
  if (count > kMaxBatch) count = kMaxBatch;
  bool perEntry = info[2].IsArray();
  sockaddr* shared = nullptr;
  socklen_t sharedLen = 0;
  if (!perEntry && !ArgAddr(info, 2, &shared, &sharedLen)) return {};

  IoScratch* io = Scratch(info.Env());
  for (int i = 0; i < count; i++) {
    napi_value item;
    napi_get_element(env, datas, start + i, &item);
    uint8_t* bytes;
    size_t len;
    if (!ArgBytesValue(env, item, &bytes, &len)) return {};
    PrepareSend(io, i, bytes, len, shared, sharedLen);
    msghdr& h = io->msgs[i].msg_hdr;
    if (perEntry) {
      napi_value a;
      napi_get_element(env, info[2], start + i, &a);
      napi_valuetype t;
      napi_typeof(env, a, &t);
      if (t != napi_undefined && t != napi_null) {
        uint8_t* sa;
        size_t saLen;
        if (!ArgBytesValue(env, a, &sa, &saLen)) return {};
        h.msg_name = sa;
        h.msg_namelen = static_cast<socklen_t>(saLen);
      }
    }
  }
  return Napi::Number::New(info.Env(), SendPrepared(fd, io, count));
}

// sendSegments(fd, data, offset, length, segment, addr, gso) -> bytes sent or -errno.
// gso: one sendmsg with a UDP_SEGMENT control message (the kernel splits);
// otherwise one sendmmsg whose iovecs point into the same buffer. Either way
// the caller keeps at most 64 segments and 65507 bytes per call.
static Napi::Value SendSegments(const Napi::CallbackInfo& info) {
  int32_t fd, segment;
  uint8_t* data;
  size_t len;
  sockaddr* addr;
  socklen_t addrLen;
  if (!ArgInt(info, 0, &fd) || !ArgRange(info, 1, &data, &len) || !ArgInt(info, 4, &segment) ||
      !ArgAddr(info, 5, &addr, &addrLen))
    return {};
  bool gso = info.Length() > 6 && info[6].ToBoolean().Value();
  if (segment <= 0 || segment > 65535) return Errno(info.Env(), EINVAL);
  if (gso) {
#ifdef UDP_SEGMENT
    iovec iov = {data, len};
    alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(uint16_t))];
    msghdr h;
    memset(&h, 0, sizeof(h));
    h.msg_name = addr;
    h.msg_namelen = addrLen;
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = control;
    h.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = IPPROTO_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = static_cast<uint16_t>(segment);
    memcpy(CMSG_DATA(c), &seg, sizeof(seg));
    ssize_t n;
    do n = sendmsg(fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return Napi::Number::New(info.Env(), n < 0 ? -errno : static_cast<double>(n));
#else
    return Errno(info.Env(), ENOPROTOOPT);
#endif
  }
  IoScratch* io = Scratch(info.Env());
  int count = 0;
  for (size_t off = 0; off < len && count < kMaxBatch; off += segment, count++) {
    size_t piece = len - off < static_cast<size_t>(segment) ? len - off : static_cast<size_t>(segment);
    PrepareSend(io, count, data + off, piece, addr, addrLen);
  }
  int n = SendPrepared(fd, io, count);
  if (n < 0) return Napi::Number::New(info.Env(), n);
  size_t bytes = 0;
  for (int i = 0; i < n; i++) bytes += io->msgs[i].msg_len;
  return Napi::Number::New(info.Env(), static_cast<double>(bytes));
}

static void FillMeta(mmsghdr* m, int32_t* meta) {
  meta[kMetaLength] = static_cast<int32_t>(m->msg_len);
  meta[kMetaFlags] = m->msg_hdr.msg_flags;
  meta[kMetaAddrLen] = static_cast<int32_t>(m->msg_hdr.msg_namelen);
  ParseControl(&m->msg_hdr, meta);
}

// recv(fd, data, slot, max, meta, addrs) -> datagrams received or -errno.
// Datagram i lands at data[i * slot]; its metadata at meta[i * kMetaStride]
// and its sender at addrs[i * kAddrStride]. MSG_TRUNC makes the length the
// datagram's real size, so truncation is visible (man 7 udp).
static Napi::Value Recv(const Napi::CallbackInfo& info) {
  int32_t fd, slot, max;
  uint8_t *data, *metaBytes, *addrs;
  size_t dataLen, metaLen, addrsLen;
  if (!ArgInt(info, 0, &fd) || !ArgBytes(info, 1, &data, &dataLen) || !ArgInt(info, 2, &slot) ||
      !ArgInt(info, 3, &max) || !ArgBytes(info, 4, &metaBytes, &metaLen) || !ArgBytes(info, 5, &addrs, &addrsLen))
    return {};
  if (slot <= 0 || max <= 0 || max > kMaxBatch || static_cast<size_t>(slot) * max > dataLen ||
      static_cast<size_t>(max) * kMetaStride * sizeof(int32_t) > metaLen ||
      static_cast<size_t>(max) * kAddrStride > addrsLen ||
      reinterpret_cast<uintptr_t>(metaBytes) % alignof(int32_t) != 0) {
    Napi::RangeError::New(info.Env(), "netsock native: receive memory too small for the batch").ThrowAsJavaScriptException();
    return {};
  }
  IoScratch* io = Scratch(info.Env());
  for (int i = 0; i < max; i++) {
    io->iovs[i] = {data + static_cast<size_t>(i) * slot, static_cast<size_t>(slot)};
    msghdr& h = io->msgs[i].msg_hdr;
    h.msg_name = addrs + static_cast<size_t>(i) * kAddrStride;
    h.msg_namelen = kAddrStride;
    h.msg_iov = &io->iovs[i];
    h.msg_iovlen = 1;
    h.msg_control = io->control[i];
    h.msg_controllen = kControlBytes;
    h.msg_flags = 0;
  }
  int n;
  do n = recvmmsg(fd, io->msgs, max, MSG_DONTWAIT | MSG_TRUNC, nullptr);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(info.Env(), errno);
  auto* meta = reinterpret_cast<int32_t*>(metaBytes);
  for (int i = 0; i < n; i++) FillMeta(&io->msgs[i], meta + i * kMetaStride);
  return Napi::Number::New(info.Env(), n);
}

// recvInto(fd, data, offset, length, meta, addr) -> 1, or -errno (-EAGAIN when nothing waits).
static Napi::Value RecvInto(const Napi::CallbackInfo& info) {
  int32_t fd;
  uint8_t *data, *metaBytes, *addr;
  size_t len, metaLen, addrLen;
  if (!ArgInt(info, 0, &fd) || !ArgRange(info, 1, &data, &len) || !ArgBytes(info, 4, &metaBytes, &metaLen) ||
      !ArgBytes(info, 5, &addr, &addrLen))
    return {};
  if (metaLen < kMetaStride * sizeof(int32_t) || addrLen < kAddrStride ||
      reinterpret_cast<uintptr_t>(metaBytes) % alignof(int32_t) != 0) {
    Napi::RangeError::New(info.Env(), "netsock native: metadata memory too small").ThrowAsJavaScriptException();
    return {};
  }
  IoScratch* io = Scratch(info.Env());
  mmsghdr& m = io->msgs[0];
  io->iovs[0] = {data, len};
  m.msg_hdr.msg_name = addr;
  m.msg_hdr.msg_namelen = kAddrStride;
  m.msg_hdr.msg_iov = &io->iovs[0];
  m.msg_hdr.msg_iovlen = 1;
  m.msg_hdr.msg_control = io->control[0];
  m.msg_hdr.msg_controllen = kControlBytes;
  m.msg_hdr.msg_flags = 0;
  ssize_t n;
  do n = recvmsg(fd, &m.msg_hdr, MSG_DONTWAIT | MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(info.Env(), errno);
  m.msg_len = static_cast<unsigned>(n);
  FillMeta(&m, reinterpret_cast<int32_t*>(metaBytes));
  return Napi::Number::New(info.Env(), 1);
}

void RegisterIo(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeSockaddr", Napi::Function::New(env, EncodeSockaddr, "encodeSockaddr"));
  napi_value send;
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, Send, nullptr, &send);
  exports.Set("send", send);
  exports.Set("sendMany", Napi::Function::New(env, SendMany, "sendMany"));
  exports.Set("sendSegments", Napi::Function::New(env, SendSegments, "sendSegments"));
  exports.Set("recv", Napi::Function::New(env, Recv, "recv"));
  exports.Set("recvInto", Napi::Function::New(env, RecvInto, "recvInto"));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("maxBatch", kMaxBatch);
  layout.Set("metaStride", static_cast<int>(kMetaStride));
  layout.Set("addrStride", kAddrStride);
  const char* names[] = {"length", "flags", "addrLen", "segment", "ttl", "tos", "ifindex", "tsSecLow",
                         "tsSecHigh", "tsNsec", "dropped", "dstFamily", "dst"};
  for (int i = 0; i <= kMetaDst0; i++) layout.Set(names[i], i);
  exports.Set("ioLayout", layout);
}

}  // namespace netsock
