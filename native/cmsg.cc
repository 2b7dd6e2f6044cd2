// Control-message parsing for received datagrams (man 3 cmsg, man 7 ip,
// man 7 ipv6, man 7 udp for UDP_GRO, man 7 socket for SO_TIMESTAMPNS and
// SO_RXQ_OVFL). Every read checks the cmsg length first.
#include <netinet/in.h>
#include <netinet/udp.h>
#include <time.h>

#include <cstring>

#include "io.h"

namespace netsock {

// Reads a value whose size the kernel varies (int or byte) from a cmsg.
static int ReadSmallInt(cmsghdr* c) {
  size_t n = c->cmsg_len - CMSG_LEN(0);
  if (n >= sizeof(int)) {
    int v;
    memcpy(&v, CMSG_DATA(c), sizeof(v));
    return v;
  }
  if (n >= 1) return *CMSG_DATA(c);
  return -1;
}

static bool Has(cmsghdr* c, size_t bytes) { return c->cmsg_len >= CMSG_LEN(bytes); }

void ParseControl(msghdr* msg, int32_t* meta) {
  meta[kMetaSegment] = 0;
  meta[kMetaTtl] = -1;
  meta[kMetaTos] = -1;
  meta[kMetaIfindex] = -1;
  meta[kMetaTsNsec] = -1;
  meta[kMetaDropped] = -1;
  meta[kMetaDstFamily] = 0;
  if (msg->msg_controllen == 0) return;
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET) {
      if (c->cmsg_type == SO_TIMESTAMPNS && Has(c, sizeof(timespec))) {
        timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof(ts));
        uint64_t sec = static_cast<uint64_t>(ts.tv_sec);
        meta[kMetaTsSecLow] = static_cast<int32_t>(sec & 0xffffffff);
        meta[kMetaTsSecHigh] = static_cast<int32_t>(sec >> 32);
        meta[kMetaTsNsec] = static_cast<int32_t>(ts.tv_nsec);
      } else if (c->cmsg_type == SO_RXQ_OVFL && Has(c, sizeof(uint32_t))) {
        uint32_t drops;
        memcpy(&drops, CMSG_DATA(c), sizeof(drops));
        meta[kMetaDropped] = static_cast<int32_t>(drops);
      }
    } else if (c->cmsg_level == IPPROTO_IP) {
      if (c->cmsg_type == IP_TTL) {
        meta[kMetaTtl] = ReadSmallInt(c);
      } else if (c->cmsg_type == IP_TOS) {
        meta[kMetaTos] = Has(c, 1) ? *CMSG_DATA(c) : -1;  // one byte (man 7 ip)
      } else if (c->cmsg_type == IP_PKTINFO && Has(c, sizeof(in_pktinfo))) {
        in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        meta[kMetaIfindex] = pi.ipi_ifindex;
        meta[kMetaDstFamily] = 4;
        memcpy(&meta[kMetaDst0], &pi.ipi_addr, 4);
      }
    } else if (c->cmsg_level == IPPROTO_IPV6) {
      if (c->cmsg_type == IPV6_HOPLIMIT) {
        meta[kMetaTtl] = ReadSmallInt(c);
      } else if (c->cmsg_type == IPV6_TCLASS) {
        meta[kMetaTos] = ReadSmallInt(c);
      } else if (c->cmsg_type == IPV6_PKTINFO && Has(c, sizeof(in6_pktinfo))) {
        in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        meta[kMetaIfindex] = static_cast<int32_t>(pi.ipi6_ifindex);
        meta[kMetaDstFamily] = 6;
        memcpy(&meta[kMetaDst0], &pi.ipi6_addr, 16);
      }
    } else if (c->cmsg_level == IPPROTO_UDP) {
#ifdef UDP_GRO
      if (c->cmsg_type == UDP_GRO) meta[kMetaSegment] = ReadSmallInt(c);  // u16 or int by kernel version
#endif
    }
  }
}

}  // namespace netsock
