// Scratch memory of the datagram data path: one set per environment, so a
// batched call allocates nothing per datagram.
#pragma once

#include <sys/socket.h>

#include "layout.h"

namespace netsock {

// Control-message space per datagram: timestamp, TTL/hop limit, TOS/tclass,
// pktinfo (v6 is the largest), GRO segment size and drop count, with headers.
constexpr int kControlBytes = 256;

struct IoScratch {
  mmsghdr msgs[kMaxBatch];
  iovec iovs[kMaxBatch];
  alignas(8) unsigned char control[kMaxBatch][kControlBytes];
};

}  // namespace netsock
