#include "layout.h"

namespace netsock {

// One layout object: { field: index, ..., stride } from an X-macro list.
#define NETSOCK_FIELD_EXPORT(name, width) SetNumber(env, o, #name, name);
#define NETSOCK_LAYOUT(function, space, list)                        \
  static napi_value function(napi_env env) {                         \
    using namespace space;                                           \
    napi_value o;                                                    \
    napi_create_object(env, &o);                                     \
    list(NETSOCK_FIELD_EXPORT) SetNumber(env, o, "stride", kStride); \
    return o;                                                        \
  }

NETSOCK_LAYOUT(RecvLayout, recvmeta, NETSOCK_RECV_META)
NETSOCK_LAYOUT(ErrqueueLayout, errmeta, NETSOCK_ERRQUEUE_META)
NETSOCK_LAYOUT(SendFields, sendmeta, NETSOCK_SEND_META)

#undef NETSOCK_LAYOUT
#undef NETSOCK_FIELD_EXPORT

// The send layout also carries its flag bits.
static napi_value SendLayout(napi_env env) {
  napi_value o = SendFields(env);
  SetNumber(env, o, "TOS", kSendTos);
  SetNumber(env, o, "TTL", kSendTtl);
  SetNumber(env, o, "PKTINFO", kSendPktinfo);
  SetNumber(env, o, "SEGMENT", kSendSegment);
  return o;
}

void ExportLayouts(napi_env env, napi_value exports) {
  napi_set_named_property(env, exports, "recvLayout", RecvLayout(env));
  napi_set_named_property(env, exports, "errqueueLayout", ErrqueueLayout(env));
  napi_set_named_property(env, exports, "sendLayout", SendLayout(env));
  napi_value limits;
  napi_create_object(env, &limits);
  SetNumber(env, limits, "maxBatch", kMaxBatch);
  SetNumber(env, limits, "addrStride", kAddrStride);
  SetNumber(env, limits, "maxUdpPayload", kMaxUdpPayload);
  SetNumber(env, limits, "maxGsoSegments", kMaxGsoSegments);
  // struct timeval and struct group_source_req depend on it (two longs; padding).
  SetNumber(env, limits, "longBytes", sizeof(long));
  napi_set_named_property(env, exports, "limits", limits);
  SetNumber(env, exports, "ERR_DETACHED", kErrDetached);
  SetNumber(env, exports, "ERR_OUT_OF_BOUNDS", kErrOutOfBounds);
}

}  // namespace netsock
