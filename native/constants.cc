// Constants from the system headers, exported as one flat object. Each name
// is guarded by #ifdef so a header that lacks it simply leaves it out; the
// values are never typed in by hand.
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/net_tstamp.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <netpacket/packet.h>
#include <sys/socket.h>

#include "addon.h"

namespace netsock {

#define NETSOCK_CONSTANT(name) SetNumber(env, o, #name, static_cast<double>(name));

void RegisterConstants(napi_env env, napi_value exports) {
  napi_value o;
  napi_create_object(env, &o);
#include "constants_list.h"
  napi_set_named_property(env, exports, "constants", o);
}

}  // namespace netsock
