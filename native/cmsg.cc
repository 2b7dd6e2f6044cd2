// Control-message parsing for received datagrams (man 3 cmsg, man 7 ip,
// man 7 ipv6, man 7 udp for UDP_GRO, man 7 socket for SO_TIMESTAMPNS and
// SO_RXQ_OVFL). Every read checks the cmsg length first.
#include "cmsg.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <time.h>

#include <cstring>

#include "layout.h"

namespace netsock {

int CmsgSmallInt(const msghdr* msg, const cmsghdr* c) {
  if (CmsgFits(msg, c, sizeof(int))) {
    int v;
    memcpy(&v, CMSG_DATA(c), sizeof(v));
    return v;
  }
  if (CmsgFits(msg, c, 1)) return *CMSG_DATA(c);
  return -1;
}

void PutTimespec(int32_t* meta, int secLow, int secHigh, int nsec, const timespec& ts) {
  uint64_t sec = static_cast<uint64_t>(ts.tv_sec);
  meta[secLow] = static_cast<int32_t>(sec & 0xffffffff);
  meta[secHigh] = static_cast<int32_t>(sec >> 32);
  meta[nsec] = static_cast<int32_t>(ts.tv_nsec);
}

// cmsg_data is const in spirit; CMSG_NXTHDR wants a mutable header.
static cmsghdr* Next(const msghdr* msg, const cmsghdr* c) {
  return CMSG_NXTHDR(const_cast<msghdr*>(msg), const_cast<cmsghdr*>(c));
}

void ParseReceiveControl(const msghdr* msg, int32_t* meta) {
  using namespace recvmeta;
  meta[segment] = 0;
  meta[ttl] = -1;
  meta[tos] = -1;
  meta[ifindex] = -1;
  meta[tsNsec] = -1;
  meta[dropped] = -1;
  meta[dstFamily] = 0;
  if (msg->msg_controllen == 0) return;
  for (const cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = Next(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET) {
      if (c->cmsg_type == SO_TIMESTAMPNS && CmsgFits(msg, c, sizeof(timespec))) {
        timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof(ts));
        PutTimespec(meta, tsSecLow, tsSecHigh, tsNsec, ts);
      } else if (c->cmsg_type == SO_RXQ_OVFL && CmsgFits(msg, c, sizeof(uint32_t))) {
        uint32_t drops;
        memcpy(&drops, CMSG_DATA(c), sizeof(drops));
        meta[dropped] = static_cast<int32_t>(drops);
      }
    } else if (c->cmsg_level == IPPROTO_IP) {
      if (c->cmsg_type == IP_TTL) {
        meta[ttl] = CmsgSmallInt(msg, c);
      } else if (c->cmsg_type == IP_TOS) {
        meta[tos] = CmsgFits(msg, c, 1) ? *CMSG_DATA(c) : -1;  // one byte (man 7 ip)
      } else if (c->cmsg_type == IP_PKTINFO && CmsgFits(msg, c, sizeof(in_pktinfo))) {
        in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        meta[ifindex] = pi.ipi_ifindex;
        meta[dstFamily] = 4;
        memcpy(&meta[dst], &pi.ipi_addr, 4);
      }
    } else if (c->cmsg_level == IPPROTO_IPV6) {
      if (c->cmsg_type == IPV6_HOPLIMIT) {
        meta[ttl] = CmsgSmallInt(msg, c);
      } else if (c->cmsg_type == IPV6_TCLASS) {
        meta[tos] = CmsgSmallInt(msg, c);
      } else if (c->cmsg_type == IPV6_PKTINFO && CmsgFits(msg, c, sizeof(in6_pktinfo))) {
        in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        meta[ifindex] = static_cast<int32_t>(pi.ipi6_ifindex);
        meta[dstFamily] = 6;
        memcpy(&meta[dst], &pi.ipi6_addr, 16);
      }
    } else if (c->cmsg_level == IPPROTO_UDP) {
#ifdef UDP_GRO
      if (c->cmsg_type == UDP_GRO) meta[segment] = CmsgSmallInt(msg, c);  // u16 or int by kernel version
#endif
    }
  }
}

}  // namespace netsock
