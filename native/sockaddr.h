// Encoding of JS address strings into struct sockaddr. Decoding goes the
// other way in one place only: src/sockaddr.ts reads the raw bytes.
#pragma once

#include <sys/socket.h>

#include <string>

namespace netsock {

// Fills *ss for family AF_INET or AF_INET6 from an IP literal and a port.
// An IPv4 literal given for AF_INET6 becomes the v4-mapped address; an IPv6
// literal may carry a zone ("fe80::1%eth0" or "%2"). Returns 0 or -errno.
int ParseAddress(int family, const std::string& host, int port, sockaddr_storage* ss, socklen_t* len);

}  // namespace netsock
