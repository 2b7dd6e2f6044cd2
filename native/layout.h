// The memory layouts native code writes and src/ reads, defined once. Each
// list names Int32 fields (and how many Int32s each spans); the enums below
// and the layout objects exported to JS (see ExportLayouts) are generated
// from these lists, and src/native.ts checks at load time that every field it
// reads is exported.
#pragma once

#include <sys/un.h>

#include <cstddef>

#include "args.h"

namespace netsock {

// Per received datagram (recvMany, recvInto): X(name, width).
#define NETSOCK_RECV_META(X)                                                                      \
  X(length, 1)    /* bytes of the datagram: its real size even when truncated (MSG_TRUNC) */      \
  X(addrLen, 1)   /* bytes of the sender's sockaddr in the address array; 0 when there is none */ \
  X(segment, 1)   /* GRO segment size, 0 if not coalesced */                                      \
  X(ttl, 1)       /* IP_TTL / IPV6_HOPLIMIT, -1 if absent */                                      \
  X(tos, 1)       /* IP_TOS / IPV6_TCLASS, -1 if absent */                                        \
  X(ifindex, 1)   /* pktinfo interface index, -1 if absent */                                     \
  X(tsSecLow, 1)  /* SO_TIMESTAMPNS seconds, low 32 bits */                                       \
  X(tsSecHigh, 1) /* and high 32 bits */                                                          \
  X(tsNsec, 1)    /* nanoseconds, -1 if no timestamp */                                           \
  X(dropped, 1)   /* SO_RXQ_OVFL drop counter, -1 if absent */                                    \
  X(dstFamily, 1) /* pktinfo destination: 4, 6 or 0 */                                            \
  X(dst, 4)       /* destination address bytes (4 or 16) */

// Per error-queue entry (readErrorQueue): X(name, width).
#define NETSOCK_ERRQUEUE_META(X)                                                             \
  X(bytes, 1)       /* payload bytes written */                                              \
  X(size, 1)        /* bytes recvmsg returned */                                             \
  X(flags, 1)       /* msg_flags (MSG_TRUNC) */                                              \
  X(nameLen, 1)     /* bytes of msg_name (the failed packet's destination), 0 if none */     \
  X(hasError, 1)    /* 1 when a sock_extended_err came with the entry */                     \
  X(eeErrno, 1)     /* ee_errno (positive) */                                                \
  X(origin, 1)      /* ee_origin */                                                          \
  X(type, 1)        /* ee_type */                                                            \
  X(code, 1)        /* ee_code */                                                            \
  X(info, 1)        /* ee_info */                                                            \
  X(data, 1)        /* ee_data */                                                            \
  X(offenderLen, 1) /* bytes of the offender's sockaddr (SO_EE_OFFENDER), 0 if unknown */    \
  X(ttl, 1)         /* TTL / hop limit of the ICMP error, -1 if absent */                    \
  X(tsSecLow, 1)    /* SO_TIMESTAMPNS seconds, low and high 32 bits */                       \
  X(tsSecHigh, 1)                                                                            \
  X(tsNsec, 1)   /* nanoseconds, -1 if absent */                                             \
  X(txSecLow, 1) /* SCM_TIMESTAMPING software time (ts[0]): seconds, low and high 32 bits */ \
  X(txSecHigh, 1)                                                                            \
  X(txNsec, 1) /* nanoseconds, -1 if absent */

// Per datagram sent with control messages (sendMsg, sendMany's controls):
// X(name, width). JS fills it; native turns it into cmsgs.
#define NETSOCK_SEND_META(X)                                                     \
  X(flags, 1)     /* which of the fields below apply: kSend* bits */             \
  X(tos, 1)       /* IP_TOS / IPV6_TCLASS byte (DSCP and ECN) */                 \
  X(ttl, 1)       /* IP_TTL / IPV6_HOPLIMIT */                                   \
  X(ifindex, 1)   /* pktinfo: outgoing interface, 0 for any */                   \
  X(srcFamily, 1) /* pktinfo: 4 or 6 for the source address below, 0 for none */ \
  X(src, 4)       /* pktinfo: source address bytes (4 or 16) */                  \
  X(segment, 1)   /* UDP_SEGMENT size */                                         \
  X(ipv4, 1)      /* 1: IPv4 cmsg levels (an IPv4 socket, or a v4-mapped destination) */

// sendmeta::flags bits.
constexpr int kSendTos = 1;
constexpr int kSendTtl = 2;
constexpr int kSendPktinfo = 4;
constexpr int kSendSegment = 8;

#define NETSOCK_FIELD_INDEX(name, width) name, name##_last_ = name + (width)-1,
namespace recvmeta {
enum : int { NETSOCK_RECV_META(NETSOCK_FIELD_INDEX) kStride };
}
namespace errmeta {
enum : int { NETSOCK_ERRQUEUE_META(NETSOCK_FIELD_INDEX) kStride };
}
namespace sendmeta {
enum : int { NETSOCK_SEND_META(NETSOCK_FIELD_INDEX) kStride };
}
#undef NETSOCK_FIELD_INDEX

// Largest batch one call handles (sendmmsg/recvmmsg cap vlen at UIO_MAXIOV).
constexpr int kMaxBatch = 1024;
// Bytes reserved per sockaddr: room for any family a datagram socket
// reports, struct sockaddr_un (110) included, rounded up to 8.
constexpr int kAddrStride = (sizeof(sockaddr_un) + 7) / 8 * 8;
// Largest UDP payload over IPv4 (65535 - 8 - 20): the most one datagram or
// one GSO send may carry, and so the largest GSO segment.
constexpr int kMaxUdpPayload = 65507;
// Segments per GSO send the kernel accepts everywhere (UDP_MAX_SEGMENTS).
constexpr int kMaxGsoSegments = 64;

// Sets exports.recvLayout, exports.errqueueLayout and exports.sendLayout
// ({ field: index, ..., stride } each, sendLayout with the flag bits),
// exports.limits (the constants above and sizeof(long)) and
// the ERR_DETACHED / ERR_OUT_OF_BOUNDS results (args.h).
void ExportLayouts(napi_env env, napi_value exports);

}  // namespace netsock
