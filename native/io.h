// Scratch memory of the datagram data path: one set per environment, so a
// batched call allocates nothing per datagram.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "layout.h"

namespace netsock {

// Control-message space per datagram: timestamp, TTL/hop limit, TOS/tclass,
// pktinfo (v6 is the largest), GRO segment size and drop count, with headers.
constexpr int kControlBytes = 256;

struct IoScratch {
  // Sends (and recvInto): prepared on every call.
  mmsghdr msgs[kMaxBatch];
  iovec iovs[kMaxBatch];
  // recvMany: headers stay prepared for the receive memory they point into
  // (a pure function of that memory's address, its slot size and its address
  // array's address), so a wake-up for one datagram rewrites one header, not
  // the whole batch. Headers [0, rprepared) are ready for (rdata, rslot, raddrs).
  mmsghdr rmsgs[kMaxBatch];
  iovec riovs[kMaxBatch];
  const uint8_t* rdata = nullptr;
  const uint8_t* raddrs = nullptr;
  size_t rslot = 0;
  int rprepared = 0;
  alignas(8) unsigned char control[kMaxBatch][kControlBytes];
};

// Where JS puts the destination and the control record of one sendTo /
// sendMsg just before the call, so that neither travels as an argument: each
// typed-array argument costs a call several engine lookups, the largest part
// of the addon's time on the single-datagram path. One per environment, in
// native memory that JS sees as an external ArrayBuffer (addon.sendSlot):
// detaching that buffer cannot free it.
struct SendSlot {
  alignas(8) uint8_t addr[kAddrStride];
  int32_t control[sendmeta::kStride];
};

}  // namespace netsock
