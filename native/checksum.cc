// RFC 1071 Internet checksum over a byte range. Summing in native byte order
// and swapping once at the end is valid because one's-complement addition is
// byte-order independent (RFC 1071 section 2(B)).
#include <cstring>

#include "addon.h"

namespace netsock {

static uint16_t FoldedSum(const uint8_t* p, size_t n) {
  uint64_t acc = 0;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    acc += w;
    acc += (acc < w);  // end-around carry
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  if (n != 0) memcpy(&tail, p, n);  // the odd byte lands where a zero pad byte would go (p may be NULL when empty)
  acc += tail;
  acc += (acc < tail);
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

// checksum(bytes, initial) -> the checksum as a big-endian 16-bit value (write
// it with writeUInt16BE). `initial` is a partial sum of big-endian words, such
// as a UDP pseudo-header's.
static napi_value Checksum(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "checksum");
  uint8_t* data;
  size_t len;
  int32_t initial;
  if (!args.Bytes(0, &data, &len) || !args.Int(1, &initial)) return nullptr;
  uint32_t sum = FoldedSum(data, len);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  sum = ((sum & 0xff) << 8) | (sum >> 8);
#endif
  sum += static_cast<uint32_t>(initial);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return Number(env, ~sum & 0xffff);
}

void RegisterChecksum(napi_env env, napi_value exports) {
  static const Export kExports[] = {{"checksum", Checksum}};
  ExportAll(env, exports, kExports);
}

}  // namespace netsock
