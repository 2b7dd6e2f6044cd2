// The datagram data path: layout of the per-datagram metadata that recv()
// writes into JS-owned memory (shared with src/recv-batch.ts), and the
// per-environment scratch arrays for batched calls.
#pragma once

#include <sys/socket.h>

#include <cstdint>

namespace netsock {

// Largest batch one call handles (sendmmsg/recvmmsg cap vlen at UIO_MAXIOV).
constexpr int kMaxBatch = 1024;
// Control-message space per datagram: timestamp, TTL/hop limit, TOS/tclass,
// pktinfo (v6 is the largest), GRO segment size and drop count, with headers.
constexpr int kControlBytes = 256;
// Bytes reserved per sender address (sockaddr_in6 is 28).
constexpr int kAddrStride = 32;

// Int32 fields per datagram in the meta array.
enum Meta : int {
  kMetaLength = 0,     // bytes of the datagram (the real size even when truncated)
  kMetaFlags,          // msg_flags (MSG_TRUNC, MSG_CTRUNC)
  kMetaAddrLen,        // sender sockaddr length in the address array
  kMetaSegment,        // GRO segment size, 0 if not coalesced
  kMetaTtl,            // IP_TTL / IPV6_HOPLIMIT, -1 if absent
  kMetaTos,            // IP_TOS / IPV6_TCLASS, -1 if absent
  kMetaIfindex,        // pktinfo interface index, -1 if absent
  kMetaTsSecLow,       // SO_TIMESTAMPNS seconds, low and high 32 bits
  kMetaTsSecHigh,
  kMetaTsNsec,         // nanoseconds, -1 if no timestamp
  kMetaDropped,        // SO_RXQ_OVFL drop counter, -1 if absent
  kMetaDstFamily,      // pktinfo destination: 4, 6 or 0
  kMetaDst0,           // destination address bytes (4 or 16), 4 ints
  kMetaDst1,
  kMetaDst2,
  kMetaDst3,
  kMetaStride          // 16 ints per datagram
};

struct IoScratch {
  mmsghdr msgs[kMaxBatch];
  iovec iovs[kMaxBatch];
  alignas(8) unsigned char control[kMaxBatch][kControlBytes];
};

// Fills meta fields from a received message's control data (bounded walk
// with CMSG_NXTHDR; unknown messages are skipped).
void ParseControl(msghdr* msg, int32_t* meta);

}  // namespace netsock
