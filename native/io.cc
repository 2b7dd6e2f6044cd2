// Datagram send and receive. The caller's bytes go to the kernel straight
// from JS memory (no copy); received datagrams land in JS-owned memory with
// their metadata (layout.h). No allocation per datagram: batched calls use
// the per-environment scratch arrays.
#include "io.h"

#include <netinet/in.h>
#include <netinet/udp.h>

#include <cerrno>
#include <cstring>

#include "addon.h"
#include "cmsg.h"
#include "sockaddr.h"

namespace netsock {

static IoScratch* Scratch(const Args& args) {
  auto* inst = static_cast<Instance*>(args.data());
  if (inst->io == nullptr) inst->io = new IoScratch();
  return inst->io;
}

// Points message i of the scratch batch at one datagram and its destination.
static void PrepareSend(IoScratch* io, int i, uint8_t* data, size_t len, void* addr, size_t addrLen) {
  io->iovs[i] = {data, len};
  msghdr& h = io->msgs[i].msg_hdr;
  memset(&h, 0, sizeof(h));
  h.msg_iov = &io->iovs[i];
  h.msg_iovlen = 1;
  h.msg_name = addr;
  h.msg_namelen = static_cast<socklen_t>(addrLen);
}

// sendmmsg over the first `count` prepared messages: datagrams sent or -errno.
static int SendPrepared(int fd, IoScratch* io, int count) {
  int n;
  do n = sendmmsg(fd, io->msgs, count, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

// Appends one cmsg carrying `len` bytes of `value`; false when it does not fit.
static bool PutCmsg(msghdr* h, size_t cap, int level, int type, const void* value, size_t len) {
  if (h->msg_controllen + CMSG_SPACE(len) > cap) return false;
  auto* c = reinterpret_cast<cmsghdr*>(static_cast<unsigned char*>(h->msg_control) + h->msg_controllen);
  memset(c, 0, CMSG_SPACE(len));
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(len);
  memcpy(CMSG_DATA(c), value, len);
  h->msg_controllen += CMSG_SPACE(len);
  return true;
}

// Turns one sendmeta record into control messages for h (man 7 ip, man 7 ipv6,
// man 7 udp): TOS/TCLASS, TTL/HOPLIMIT, PKTINFO (source address and/or
// interface) and UDP_SEGMENT. The levels follow the destination: IPv4 ones
// for an IPv4 socket or a v4-mapped destination. No flags: no control.
static void PrepareControl(msghdr* h, const int32_t* m, unsigned char* buf, size_t cap) {
  using namespace sendmeta;
  h->msg_control = nullptr;
  h->msg_controllen = 0;
  int f = m[flags];
  if (f == 0) return;
  h->msg_control = buf;
  bool v4 = m[ipv4] != 0;
  if (f & kSendTos) {
    int tos = m[sendmeta::tos];
    PutCmsg(h, cap, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, &tos, sizeof(tos));
  }
  if (f & kSendTtl) {
    int hops = m[ttl];
    PutCmsg(h, cap, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_HOPLIMIT, &hops, sizeof(hops));
  }
  if (f & kSendPktinfo) {
    if (v4) {
      in_pktinfo pi;
      memset(&pi, 0, sizeof(pi));
      pi.ipi_ifindex = m[ifindex];
      if (m[srcFamily] == 4) memcpy(&pi.ipi_spec_dst, &m[src], 4);
      PutCmsg(h, cap, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
    } else {
      in6_pktinfo pi;
      memset(&pi, 0, sizeof(pi));
      pi.ipi6_ifindex = static_cast<unsigned>(m[ifindex]);
      if (m[srcFamily] == 6) memcpy(&pi.ipi6_addr, &m[src], 16);
      PutCmsg(h, cap, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
    }
  }
#ifdef UDP_SEGMENT
  if (f & kSendSegment) {
    uint16_t seg = static_cast<uint16_t>(m[segment]);
    PutCmsg(h, cap, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg));
  }
#endif
  if (h->msg_controllen == 0) h->msg_control = nullptr;
}

// Argument `arg` as a table of at least `ints` Int32s (any view of its
// memory, Int32-aligned): the send-control records or the span table of a
// sendMany. False after the RangeError `tooSmall`.
static bool Int32Table(Args& args, size_t arg, size_t ints, const char* tooSmall, const int32_t** out) {
  uint8_t* bytes;
  size_t len;
  if (!args.Bytes(arg, &bytes, &len)) return false;
  if (ints * sizeof(int32_t) > len || reinterpret_cast<uintptr_t>(bytes) % alignof(int32_t) != 0)
    return args.RangeError(tooSmall);
  *out = reinterpret_cast<const int32_t*>(bytes);
  return true;
}

// encodeSockaddr(family, address, port, out) -> sockaddr length written into out, or -errno.
static napi_value EncodeSockaddr(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "encodeSockaddr");
  int32_t family, port;
  std::string host;
  uint8_t* out;
  size_t outLen;
  if (!args.Int(0, &family) || !args.String(1, &host) || !args.Int(2, &port) || !args.Bytes(3, &out, &outLen))
    return nullptr;
  sockaddr_storage ss;
  socklen_t len;
  int rc = ParseAddress(family, host, port, &ss, &len);
  if (rc < 0) return Number(env, rc);
  if (outLen < len) return Errno(env, ENOSPC);
  memcpy(out, &ss, len);
  return Number(env, len);
}

// One non-blocking sendto, retried on EINTR: bytes sent or -errno, as a number.
static napi_value SendToResult(napi_env env, int fd, const uint8_t* data, size_t len, const uint8_t* addr,
                               size_t addrLen) {
  ssize_t n;
  do
    n = sendto(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(addr),
               static_cast<socklen_t>(addrLen));
  while (n < 0 && errno == EINTR);
  return Int32(env, n < 0 ? -errno : static_cast<int32_t>(n));
}

// send(fd, data, offset, length, addr?) -> bytes sent or -errno (sendto, man 2 send).
static napi_value Send(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "send");
  int32_t fd;
  uint8_t *data, *addr;
  size_t len, addrLen;
  int status;
  if (!args.Int(0, &fd) || !args.ByteRange(1, &data, &len, &status) || !args.OptionalBytes(4, &addr, &addrLen))
    return nullptr;
  if (status != 0) return Number(env, status);
  return SendToResult(env, fd, data, len, addr, addrLen);
}

// The destination a sendTo / sendMsg names: addrLen bytes of the send slot,
// or none (addrLen 0: the connected peer); false after a RangeError.
static bool SlotAddress(Args& args, size_t arg, const uint8_t** addr, size_t* addrLen) {
  int32_t n;
  if (!args.Int(arg, &n)) return false;
  if (n < 0 || n > kAddrStride) return args.RangeError("address length out of range");
  *addr = n > 0 ? static_cast<Instance*>(args.data())->slot->addr : nullptr;
  *addrLen = static_cast<size_t>(n);
  return true;
}

// sendTo(fd, data, addrLen) -> bytes sent or -errno: all of `data` as one
// datagram (sendto, man 2 send) to the first addrLen bytes of the send slot
// (the sockaddr JS put there), or with addrLen 0 to the connected peer. The
// common send(): three plain arguments, one of them bytes.
static napi_value SendTo(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "sendTo");
  int32_t fd;
  uint8_t* data;
  const uint8_t* addr = nullptr;
  size_t len, addrLen = 0;
  if (!args.Int(0, &fd) || !args.Bytes(1, &data, &len) || !SlotAddress(args, 2, &addr, &addrLen)) return nullptr;
  if (len == 0 && DetachedStatus(env, args[1]) != 0) return Int32(env, kErrDetached);
  return SendToResult(env, fd, data, len, addr, addrLen);
}

// sendMsg(fd, data, addrLen) -> bytes sent or -errno: all of `data` as one
// datagram (or one GSO train) with the control messages of the send slot's
// sendmeta record (sendmsg, man 2 sendmsg), to the slot's sockaddr as for
// sendTo (addrLen 0: the connected peer).
static napi_value SendMsg(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "sendMsg");
  int32_t fd;
  uint8_t* data;
  const uint8_t* addr = nullptr;
  size_t len, addrLen = 0;
  if (!args.Int(0, &fd) || !args.Bytes(1, &data, &len) || !SlotAddress(args, 2, &addr, &addrLen)) return nullptr;
  if (len == 0 && DetachedStatus(env, args[1]) != 0) return Int32(env, kErrDetached);
  iovec iov = {data, len};
  alignas(cmsghdr) unsigned char buf[kControlBytes];
  msghdr h;
  memset(&h, 0, sizeof(h));
  h.msg_name = const_cast<uint8_t*>(addr);
  h.msg_namelen = static_cast<socklen_t>(addrLen);
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  PrepareControl(&h, static_cast<Instance*>(args.data())->slot->control, buf, sizeof(buf));
  ssize_t n;
  do n = sendmsg(fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return Int32(env, n < 0 ? -errno : static_cast<int32_t>(n));
}

// Bytes of element i of a JS array; 0, kErrDetached, or -1 after a TypeError
// (or when the element cannot be read at all: a worker being terminated).
static int Element(napi_env env, napi_value list, uint32_t i, uint8_t** data, size_t* len) {
  napi_value item;
  if (napi_get_element(env, list, i, &item) != napi_ok) return -1;
  if (!BytesOf(env, item, data, len)) return -1;
  return *len == 0 ? DetachedStatus(env, item) : 0;
}

// Where the datagrams of a sendMany come from. Without spans, source i is
// datagram i, whole. With spans (Int32Array, kSpanInts per datagram: source
// index, byte offset, length), datagrams are ranges of the sources; entries
// over one ArrayBuffer share it as one source, so a batch over one buffer
// reads one JS value instead of one per datagram. A source is resolved when
// the index changes from the datagram before (JS numbers sources in order).
class SendSources {
 public:
  static constexpr size_t kSpanInts = 3;

  SendSources(napi_env env, napi_value sources, const int32_t* spans) : env_(env), sources_(sources), spans_(spans) {}

  // Bytes of datagram i: 0, kErrDetached / kErrOutOfBounds (nothing to send
  // there: the range left its source), or -1 after a TypeError.
  int At(uint32_t i, uint8_t** data, size_t* len) {
    if (spans_ == nullptr) return Element(env_, sources_, i, data, len);
    const int32_t* span = spans_ + i * kSpanInts;
    if (span[0] < 0) return -1;
    if (span[0] != current_) {
      current_ = span[0];
      status_ = Element(env_, sources_, static_cast<uint32_t>(current_), &base_, &size_);
    }
    if (status_ != 0) return status_;
    if (span[1] < 0 || span[2] < 0 || static_cast<size_t>(span[1]) + static_cast<size_t>(span[2]) > size_)
      return kErrOutOfBounds;
    *data = base_ + span[1];
    *len = static_cast<size_t>(span[2]);
    return 0;
  }

 private:
  napi_env env_;
  napi_value sources_;
  const int32_t* spans_;
  int32_t current_ = -1;
  int status_ = 0;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
};

// sendMany(fd, sources, addrs, start, count, controls?, spans?) -> datagrams
// sent or -errno. sources: Array of bytes, one per datagram, or, with spans,
// the buffers the spans index (see SendSources); addrs: one sockaddr for
// all, an Array of sockaddrs (entries may be undefined for the default), or
// undefined; controls: sendmeta records parallel to the datagrams (record i
// for datagram i), or undefined. A detached entry sends nothing and returns
// kErrDetached (kErrOutOfBounds for a span outside its source).
static napi_value SendMany(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "sendMany");
  int32_t fd, start, count;
  if (!args.Int(0, &fd) || !args.Int(3, &start) || !args.Int(4, &count)) return nullptr;
  bool isArray = false;
  uint32_t total = 0;
  if (napi_is_array(env, args[1], &isArray) != napi_ok || !isArray ||
      napi_get_array_length(env, args[1], &total) != napi_ok)
    return args.TypeError("sources must be an array"), nullptr;
  const int32_t* spans = nullptr;
  if (!args.Missing(6)) {
    if (start < 0 || count < 0 ||
        !Int32Table(args, 6, (static_cast<size_t>(start) + count) * SendSources::kSpanInts,
                    "send spans too small or misaligned", &spans))
      return nullptr;
  } else if (start < 0 || count < 0 || static_cast<uint32_t>(start) + static_cast<uint32_t>(count) > total) {
    return args.RangeError("batch outside the list"), nullptr;
  }
  if (count > kMaxBatch) count = kMaxBatch;
  bool perEntry = false;
  if (args.count() > 2 && napi_is_array(env, args[2], &perEntry) != napi_ok) return nullptr;
  uint8_t* shared = nullptr;
  size_t sharedLen = 0;
  if (!perEntry && !args.OptionalBytes(2, &shared, &sharedLen)) return nullptr;

  const int32_t* controls = nullptr;
  if (count > 0 && !args.Missing(5) &&
      !Int32Table(args, 5, (static_cast<size_t>(start) + count) * sendmeta::kStride,
                  "send controls too small or misaligned", &controls))
    return nullptr;

  IoScratch* io = Scratch(args);
  SendSources sources(env, args[1], spans);
  for (int i = 0; i < count; i++) {
    uint8_t* bytes;
    size_t len;
    int status = sources.At(static_cast<uint32_t>(start + i), &bytes, &len);
    if (status < 0) {
      if (status != -1) return Number(env, status);
      return args.TypeError("a source is not bytes"), nullptr;
    }
    PrepareSend(io, i, bytes, len, shared, sharedLen);
    if (controls != nullptr)
      PrepareControl(&io->msgs[i].msg_hdr, controls + static_cast<size_t>(start + i) * sendmeta::kStride,
                     io->control[i], kControlBytes);
    if (!perEntry) continue;
    napi_value a;
    napi_valuetype t;
    if (napi_get_element(env, args[2], start + i, &a) != napi_ok || napi_typeof(env, a, &t) != napi_ok) return nullptr;
    if (t == napi_undefined || t == napi_null) continue;
    uint8_t* sa;
    size_t saLen;
    if (!BytesOf(env, a, &sa, &saLen)) return nullptr;
    io->msgs[i].msg_hdr.msg_name = sa;
    io->msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(saLen);
  }
  return Number(env, SendPrepared(fd, io, count));
}

#ifdef UDP_SEGMENT
// One sendmsg whose UDP_SEGMENT control message makes the kernel split it.
static ssize_t SendGso(int fd, uint8_t* data, size_t len, int segment, void* addr, size_t addrLen) {
  iovec iov = {data, len};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(uint16_t))];
  msghdr h;
  memset(&h, 0, sizeof(h));
  h.msg_name = addr;
  h.msg_namelen = static_cast<socklen_t>(addrLen);
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
  return n;
}
#endif

// sendSegments(fd, data, offset, length, segment, addr, gso) -> bytes sent or -errno.
// gso: one sendmsg with a UDP_SEGMENT control message (the kernel splits);
// otherwise one sendmmsg whose iovecs point into the same buffer. Either way
// the caller keeps at most kMaxGsoSegments segments and kMaxUdpPayload bytes
// per call.
static napi_value SendSegments(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "sendSegments");
  int32_t fd, segment, gso;
  uint8_t *data, *addr;
  size_t len, addrLen;
  int status;
  if (!args.Int(0, &fd) || !args.ByteRange(1, &data, &len, &status) || !args.Int(4, &segment) ||
      !args.OptionalBytes(5, &addr, &addrLen) || !args.Int(6, &gso))
    return nullptr;
  if (segment <= 0 || segment > kMaxUdpPayload) return args.RangeError("segment out of range"), nullptr;
  if (status != 0) return Number(env, status);
  if (gso) {
#ifdef UDP_SEGMENT
    return SyscallResult(env, SendGso(fd, data, len, segment, addr, addrLen));
#else
    return Errno(env, ENOPROTOOPT);
#endif
  }
  IoScratch* io = Scratch(args);
  int count = 0;
  for (size_t off = 0; off < len && count < kMaxBatch; off += segment, count++) {
    size_t piece = len - off < static_cast<size_t>(segment) ? len - off : static_cast<size_t>(segment);
    PrepareSend(io, count, data + off, piece, addr, addrLen);
  }
  int n = SendPrepared(fd, io, count);
  if (n < 0) return Number(env, n);
  size_t bytes = 0;
  for (int i = 0; i < n; i++) bytes += io->msgs[i].msg_len;
  return Number(env, static_cast<double>(bytes));
}

// Points header h at a receive slot, its sender address and its control space.
static void PrepareReceive(mmsghdr* m, iovec* iov, uint8_t* data, size_t len, uint8_t* addr, unsigned char* control) {
  *iov = {data, len};
  msghdr& h = m->msg_hdr;
  h.msg_name = addr;
  h.msg_namelen = kAddrStride;
  h.msg_iov = iov;
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = kControlBytes;
  h.msg_flags = 0;
}

static void FillMeta(const mmsghdr* m, int32_t* meta) {
  meta[recvmeta::length] = static_cast<int32_t>(m->msg_len);
  // Some families (AF_UNIX socketpairs, netlink from the kernel) give no
  // sender address at all: namelen 0.
  meta[recvmeta::addrLen] = static_cast<int32_t>(m->msg_hdr.msg_namelen);
  ParseReceiveControl(&m->msg_hdr, meta);
}

// Metadata memory of `count` datagrams: Int32-aligned and large enough.
static bool MetaFits(Args& args, uint8_t* bytes, size_t len, size_t count) {
  if (len >= count * recvmeta::kStride * sizeof(int32_t) && reinterpret_cast<uintptr_t>(bytes) % alignof(int32_t) == 0)
    return true;
  return args.RangeError("metadata memory too small or misaligned");
}

// recvMany(fd, memory, slot, max, metaOffset, addrsOffset) -> datagrams
// received or -errno (recvmmsg, man 2 recvmmsg). One memory holds it all:
// datagram i lands at memory[i * slot], its metadata (recvLayout) at
// memory[metaOffset + i * stride * 4] and its sender at
// memory[addrsOffset + i * kAddrStride]. MSG_TRUNC makes the length the
// datagram's real size, so truncation is visible (man 7 udp).
static napi_value RecvMany(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "recvMany");
  int32_t fd, slot, max, metaOffset, addrsOffset;
  uint8_t* memory;
  size_t size;
  if (!args.Int(0, &fd) || !args.Bytes(1, &memory, &size) || !args.Int(2, &slot) || !args.Int(3, &max) ||
      !args.Int(4, &metaOffset) || !args.Int(5, &addrsOffset))
    return nullptr;
  if (slot <= 0 || max <= 0 || max > kMaxBatch) return args.RangeError("slot or batch size out of range"), nullptr;
  if (size == 0 && DetachedStatus(env, args[1]) != 0) return Int32(env, kErrDetached);
  size_t n = static_cast<size_t>(max), metaAt = static_cast<size_t>(metaOffset),
         addrsAt = static_cast<size_t>(addrsOffset);
  if (metaOffset < 0 || addrsOffset < 0 || static_cast<size_t>(slot) * n > metaAt ||
      metaAt + n * recvmeta::kStride * sizeof(int32_t) > addrsAt || addrsAt + n * kAddrStride > size)
    return args.RangeError("receive memory too small for the batch"), nullptr;
  if (!MetaFits(args, memory + metaAt, addrsAt - metaAt, n)) return nullptr;
  IoScratch* io = Scratch(args);
  uint8_t* addrs = memory + addrsAt;
  if (io->rdata != memory || io->raddrs != addrs || io->rslot != static_cast<size_t>(slot)) {
    io->rdata = memory;
    io->raddrs = addrs;
    io->rslot = static_cast<size_t>(slot);
    io->rprepared = 0;
  }
  for (int i = io->rprepared; i < max; i++)
    PrepareReceive(&io->rmsgs[i], &io->riovs[i], memory + static_cast<size_t>(i) * slot, static_cast<size_t>(slot),
                   addrs + static_cast<size_t>(i) * kAddrStride, io->control[i]);
  if (max > io->rprepared) io->rprepared = max;
  int got;
  do got = recvmmsg(fd, io->rmsgs, max, MSG_DONTWAIT | MSG_TRUNC, nullptr);
  while (got < 0 && errno == EINTR);
  if (got < 0) return Int32(env, -errno);
  auto* fields = reinterpret_cast<int32_t*>(memory + metaAt);
  for (int i = 0; i < got; i++) {
    FillMeta(&io->rmsgs[i], fields + i * recvmeta::kStride);
    // The kernel wrote these back: ready the header for the next call.
    msghdr& h = io->rmsgs[i].msg_hdr;
    h.msg_namelen = kAddrStride;
    h.msg_controllen = kControlBytes;
    h.msg_flags = 0;
  }
  return Int32(env, got);
}

// recvInto(fd, data, offset, length, meta, addr) -> 1, or -errno (-EAGAIN
// when nothing waits). Nothing is read when the range is no longer inside
// the bytes (kErrDetached / kErrOutOfBounds): the datagram stays queued.
static napi_value RecvInto(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "recvInto");
  int32_t fd;
  uint8_t *data, *meta, *addr;
  size_t len, metaLen, addrLen;
  int status;
  if (!args.Int(0, &fd) || !args.ByteRange(1, &data, &len, &status) || !args.Bytes(4, &meta, &metaLen) ||
      !args.Bytes(5, &addr, &addrLen))
    return nullptr;
  if (addrLen < static_cast<size_t>(kAddrStride)) return args.RangeError("address memory too small"), nullptr;
  if (!MetaFits(args, meta, metaLen, 1)) return nullptr;
  if (status != 0) return Number(env, status);
  IoScratch* io = Scratch(args);
  mmsghdr& m = io->msgs[0];
  PrepareReceive(&m, &io->iovs[0], data, len, addr, io->control[0]);
  ssize_t n;
  do n = recvmsg(fd, &m.msg_hdr, MSG_DONTWAIT | MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(env, errno);
  m.msg_len = static_cast<unsigned>(n);
  FillMeta(&m, reinterpret_cast<int32_t*>(meta));
  return Number(env, 1);
}

// addon.sendSlot: the environment's send slot as an ArrayBuffer (sockaddr at
// 0, the sendmeta record at sendSlotControl). Native memory, so that nothing
// JS does to the buffer (detaching it) can free what the addon reads.
static void ExportSendSlot(napi_env env, napi_value exports) {
  Instance* inst = GetInstance(env);
  inst->slot = new SendSlot();
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, inst->slot, sizeof(SendSlot), nullptr, nullptr, &buffer) != napi_ok) {
    // A runtime without external buffers: the addon cannot load here.
    napi_throw_error(env, nullptr, "netsock native: this runtime does not allow external ArrayBuffers");
    return;
  }
  napi_set_named_property(env, exports, "sendSlot", buffer);
  SetNumber(env, exports, "sendSlotControl", offsetof(SendSlot, control));
}

void RegisterIo(napi_env env, napi_value exports) {
  ExportSendSlot(env, exports);
  static const Export kExports[] = {
      {"encodeSockaddr", EncodeSockaddr},
      {"send", Send},
      {"sendTo", SendTo},
      {"sendMsg", SendMsg},
      {"sendMany", SendMany},
      {"sendSegments", SendSegments},
      {"recvMany", RecvMany},
      {"recvInto", RecvInto},
  };
  ExportAll(env, exports, kExports);
}

}  // namespace netsock
