// Control messages (man 3 cmsg): the one length check every reader uses,
// and the parser that fills a received datagram's metadata.
#pragma once

#include <sys/socket.h>
#include <time.h>

#include <cstddef>
#include <cstdint>

namespace netsock {

// True when cmsg `c` carries at least `bytes` of data and lies wholly inside
// the control data the kernel wrote (MSG_CTRUNC may cut the last one short).
inline bool CmsgFits(const msghdr* msg, const cmsghdr* c, size_t bytes) {
  const auto* end = static_cast<const unsigned char*>(msg->msg_control) + msg->msg_controllen;
  return c->cmsg_len >= CMSG_LEN(bytes) && reinterpret_cast<const unsigned char*>(c) + c->cmsg_len <= end;
}

// A value the kernel sends as an int or as one byte, by option and version
// (IP_TTL, IPV6_TCLASS, UDP_GRO); -1 when the cmsg holds neither.
int CmsgSmallInt(const msghdr* msg, const cmsghdr* c);

// Writes a timespec as three Int32 fields: seconds low and high 32 bits, nanoseconds.
void PutTimespec(int32_t* meta, int secLow, int secHigh, int nsec, const timespec& ts);

// Fills the recvmeta fields of one datagram from its control data; fields
// whose cmsg is absent get their "absent" value (see layout.h).
void ParseReceiveControl(const msghdr* msg, int32_t* meta);

}  // namespace netsock
