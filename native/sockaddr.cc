#include "sockaddr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace netsock {

static int ParseZone(const std::string& zone, uint32_t* scope) {
  if (zone.empty()) return -EINVAL;
  char* end = nullptr;
  unsigned long n = strtoul(zone.c_str(), &end, 10);
  if (*end == '\0') {
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

static std::string MacToString(const unsigned char* addr, size_t n) {
  std::string out;
  char part[4];
  for (size_t i = 0; i < n; i++) {
    snprintf(part, sizeof(part), i ? ":%02x" : "%02x", addr[i]);
    out += part;
  }
  return out;
}

Napi::Value AddressToJs(Napi::Env env, const sockaddr* sa, socklen_t len) {
  Napi::Object o = Napi::Object::New(env);
  char buf[INET6_ADDRSTRLEN];
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
    o.Set("address", buf);
    o.Set("family", "IPv4");
    o.Set("port", ntohs(sin->sin_port));
  } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
    o.Set("address", buf);
    o.Set("family", "IPv6");
    o.Set("port", ntohs(sin6->sin6_port));
    o.Set("flowinfo", ntohl(sin6->sin6_flowinfo));
    o.Set("scopeId", sin6->sin6_scope_id);
  } else if (sa->sa_family == AF_PACKET && len >= offsetof(sockaddr_ll, sll_addr)) {
    auto* sll = reinterpret_cast<const sockaddr_ll*>(sa);
    o.Set("family", "packet");
    o.Set("ifindex", sll->sll_ifindex);
    o.Set("protocol", ntohs(sll->sll_protocol));
    o.Set("hatype", sll->sll_hatype);
    o.Set("pkttype", sll->sll_pkttype);
    o.Set("address", MacToString(sll->sll_addr, sll->sll_halen > 8 ? 8 : sll->sll_halen));
  } else if (sa->sa_family == AF_UNIX) {
    auto* sun = reinterpret_cast<const sockaddr_un*>(sa);
    size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    o.Set("family", "unix");
    o.Set("path", std::string(sun->sun_path, strnlen(sun->sun_path, n)));
  } else {
    o.Set("family", sa->sa_family);
  }
  return o;
}

}  // namespace netsock
