#include "sockaddr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace netsock {

static int ParseZone(const std::string& zone, uint32_t* scope) {
  if (zone.empty()) return -EINVAL;
  if (zone.find_first_not_of("0123456789") == std::string::npos) {
    // A numeric zone is an interface index: a 32-bit value, never wrapped.
    if (zone.size() > 10) return -EINVAL;
    unsigned long long n = strtoull(zone.c_str(), nullptr, 10);
    if (n > 0xffffffffULL) return -EINVAL;
    *scope = static_cast<uint32_t>(n);
    return 0;
  }
  unsigned idx = if_nametoindex(zone.c_str());
  if (idx == 0) return -ENODEV;
  *scope = idx;
  return 0;
}

int ParseAddress(int family, const std::string& host, int port, sockaddr_storage* ss, socklen_t* len) {
  memset(ss, 0, sizeof(*ss));
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) return -EINVAL;
    *len = sizeof(*sin);
    return 0;
  }
  if (family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(*sin6);
    in_addr v4;
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
      sin6->sin6_addr.s6_addr[10] = 0xff;
      sin6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
      return 0;
    }
    std::string addr = host;
    size_t pct = host.find('%');
    if (pct != std::string::npos) {
      addr = host.substr(0, pct);
      int rc = ParseZone(host.substr(pct + 1), &sin6->sin6_scope_id);
      if (rc < 0) return rc;
    }
    if (inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr) != 1) return -EINVAL;
    return 0;
  }
  return -EAFNOSUPPORT;
}

}  // namespace netsock
