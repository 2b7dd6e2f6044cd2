#include "layout.h"

namespace netsock {

#define NETSOCK_FIELD_EXPORT(name, width) SetNumber(env, o, #name, name);

static napi_value RecvLayout(napi_env env) {
  using namespace recvmeta;
  napi_value o;
  napi_create_object(env, &o);
  NETSOCK_RECV_META(NETSOCK_FIELD_EXPORT)
  SetNumber(env, o, "stride", kStride);
  return o;
}

static napi_value ErrqueueLayout(napi_env env) {
  using namespace errmeta;
  napi_value o;
  napi_create_object(env, &o);
  NETSOCK_ERRQUEUE_META(NETSOCK_FIELD_EXPORT)
  SetNumber(env, o, "stride", kStride);
  return o;
}

static napi_value SendLayout(napi_env env) {
  using namespace sendmeta;
  napi_value o;
  napi_create_object(env, &o);
  NETSOCK_SEND_META(NETSOCK_FIELD_EXPORT)
  SetNumber(env, o, "stride", kStride);
  SetNumber(env, o, "TOS", kSendTos);
  SetNumber(env, o, "TTL", kSendTtl);
  SetNumber(env, o, "PKTINFO", kSendPktinfo);
  SetNumber(env, o, "SEGMENT", kSendSegment);
  return o;
}

#undef NETSOCK_FIELD_EXPORT

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
