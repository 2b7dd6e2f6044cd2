// Conversions between JS address strings and struct sockaddr.
#pragma once

#include <napi.h>
#include <sys/socket.h>

#include <string>

namespace netsock {

// Fills *ss for family AF_INET or AF_INET6 from an IP literal and a port.
// An IPv4 literal given for AF_INET6 becomes the v4-mapped address; an IPv6
// literal may carry a zone ("fe80::1%eth0" or "%2"). Returns 0 or -errno.
int ParseAddress(int family, const std::string& host, int port, sockaddr_storage* ss, socklen_t* len);

// { family: 'IPv4'|'IPv6', address, port, scopeId? } for IP families,
// { family: 'packet', ifindex, protocol, hatype, pkttype, address } for AF_PACKET,
// { family: 'unix', path } for AF_UNIX, { family: <number> } otherwise.
Napi::Value AddressToJs(Napi::Env env, const sockaddr* sa, socklen_t len);

}  // namespace netsock
