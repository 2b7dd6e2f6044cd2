// udpref: the C reference for netsock's UDP data-path benchmark.
//
// Each subcommand measures one thing the JS side also measures, with plain
// system calls and no tricks (no busy polling, no CPU pinning, no io_uring),
// so the numbers are what "C against the same kernel" gets. Each prints
// exactly one JSON line on stdout; receivers and servers also print
// "ready <port>" on stderr once bound, so a driver knows when to start
// sending (UDP sent to an unbound port is simply lost).
//
//   udpref send            --size N --count C --port P [--addr A] [--connect]
//   udpref sendmmsg        --size N --count C --batch B --port P [--addr A] [--connect] [--tos T] [--source S]
//   udpref sendmsg         --size N --count C --port P [--addr A] [--connect] [--tos T] [--source S]
//   udpref gso             --size N --segments S --count C --port P [--addr A] [--connect]
//   udpref recv            --port P --seconds T [--batch B] [--size N] [--rcvbuf BYTES] [--wait S] [--idle S]
//   udpref blast           --port P --rate R --seconds T --size N [--addr A]
//   udpref pingpong-server --port P --count C [--wait S]
//   udpref pingpong        --port P --count C --size N [--addr A]
//
// --tos and --source give every datagram its own control messages, as a QUIC
// stack sends them (man 7 ip): IP_TOS / IPV6_TCLASS with the TOS byte (ECN in
// its low two bits) and IP_PKTINFO / IPV6_PKTINFO with the source address
// (ipi_spec_dst / ipi6_addr), built for each datagram.
//
// Senders and recv also report cpuUser/cpuSys: the CPU seconds (getrusage)
// their loop used, which a busy neighbour on the core barely changes.
//
// Every loop is bounded by a count and by time (--max-seconds, default 60).
// Addresses must be loopback: this tool never sends anywhere else.
//
// Build: cc -std=c11 -O2 -Wall -Wextra -o udpref udpref.c
#define _GNU_SOURCE // sendmmsg/recvmmsg, SO_RCVBUFFORCE, TIMER_ABSTIME
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 // linux/udp.h; older glibc headers lack it
#endif

#define MAX_UDP_PAYLOAD 65507 // 65535 - 8 (UDP) - 20 (IPv4), man 7 udp
#define MAX_GSO_SEGMENTS 64   // UDP_MAX_SEGMENTS on older kernels (128 since 6.x); 64 is safe everywhere
#define MAX_BATCH 1024        // UIO_MAXIOV: the kernel caps sendmmsg/recvmmsg vlen there
#define WARMUP_ROUNDS 1000    // pingpong round trips not measured
#define ROUND_TRIP_TIMEOUT 2.0 // seconds a pingpong side waits for one datagram

static const char *prog_mode = "udpref";

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "udpref %s: ", prog_mode);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void die_errno(const char *what) { die("%s: %s", what, strerror(errno)); }

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double secs(int64_t ns) { return (double)ns / 1e9; }

// ------------------------------------------------------------------ options

struct opts {
  long size, count, port, batch, segments, rcvbuf, tos;
  double seconds, rate, wait, idle, max_seconds;
  const char *addr, *source;
  int connect;
  unsigned seen; // bit per option, to check required/allowed per subcommand
};

enum {
  O_SIZE = 1u << 0, O_COUNT = 1u << 1, O_PORT = 1u << 2, O_BATCH = 1u << 3,
  O_SEGMENTS = 1u << 4, O_RCVBUF = 1u << 5, O_SECONDS = 1u << 6, O_RATE = 1u << 7,
  O_WAIT = 1u << 8, O_IDLE = 1u << 9, O_MAXSEC = 1u << 10, O_ADDR = 1u << 11,
  O_CONNECT = 1u << 12, O_TOS = 1u << 13, O_SOURCE = 1u << 14,
};

static long parse_long(const char *name, const char *s, long lo, long hi) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    die("--%s must be an integer in [%ld, %ld], got '%s'", name, lo, hi, s);
  return v;
}

static double parse_double(const char *name, const char *s, double lo, double hi) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    die("--%s must be a number in [%g, %g], got '%s'", name, lo, hi, s);
  return v;
}

static void parse_opts(int argc, char **argv, struct opts *o, unsigned allowed, unsigned required) {
  // Defaults; the ones a subcommand needs without a sensible default are in `required`.
  *o = (struct opts){.batch = 64, .size = 2048, .rcvbuf = 4 << 20, .wait = 10, .idle = 0.5,
                     .max_seconds = 60, .addr = "127.0.0.1"};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) die("unexpected argument '%s'", a);
    const char *name = a + 2;
    unsigned bit;
    if (!strcmp(name, "connect")) {
      bit = O_CONNECT;
      o->connect = 1;
    } else {
      if (i + 1 >= argc) die("--%s needs a value", name);
      const char *v = argv[++i];
      if (!strcmp(name, "size")) bit = O_SIZE, o->size = parse_long(name, v, 1, MAX_UDP_PAYLOAD);
      else if (!strcmp(name, "count")) bit = O_COUNT, o->count = parse_long(name, v, 1, 1000000000L);
      else if (!strcmp(name, "port")) bit = O_PORT, o->port = parse_long(name, v, 0, 65535);
      else if (!strcmp(name, "batch")) bit = O_BATCH, o->batch = parse_long(name, v, 1, MAX_BATCH);
      else if (!strcmp(name, "segments")) bit = O_SEGMENTS, o->segments = parse_long(name, v, 1, MAX_GSO_SEGMENTS);
      else if (!strcmp(name, "rcvbuf")) bit = O_RCVBUF, o->rcvbuf = parse_long(name, v, 1024, 1L << 30);
      else if (!strcmp(name, "seconds")) bit = O_SECONDS, o->seconds = parse_double(name, v, 0.001, 3600);
      else if (!strcmp(name, "rate")) bit = O_RATE, o->rate = parse_double(name, v, 1, 1e8);
      else if (!strcmp(name, "wait")) bit = O_WAIT, o->wait = parse_double(name, v, 0.01, 600);
      else if (!strcmp(name, "idle")) bit = O_IDLE, o->idle = parse_double(name, v, 0.01, 60);
      else if (!strcmp(name, "max-seconds")) bit = O_MAXSEC, o->max_seconds = parse_double(name, v, 0.01, 3600);
      else if (!strcmp(name, "addr")) bit = O_ADDR, o->addr = v;
      else if (!strcmp(name, "tos")) bit = O_TOS, o->tos = parse_long(name, v, 0, 255);
      else if (!strcmp(name, "source")) bit = O_SOURCE, o->source = v;
      else die("unknown option --%s", name);
    }
    if (!(bit & allowed)) die("option --%s does not apply here", name);
    o->seen |= bit;
  }
  static const char *names[] = {"size", "count", "port", "batch", "segments", "rcvbuf", "seconds",
                                "rate", "wait", "idle", "max-seconds", "addr", "connect", "tos", "source"};
  for (unsigned b = 0; b < sizeof names / sizeof *names; b++)
    if ((required & (1u << b)) && !(o->seen & (1u << b))) die("--%s is required", names[b]);
}

// ---------------------------------------------------------------- addresses

struct addr {
  struct sockaddr_storage ss;
  socklen_t len;
  int family;
};

// Loopback only: the benchmark must never put traffic on a real network.
static void make_addr(const char *text, long port, struct addr *a) {
  memset(a, 0, sizeof *a);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) die("--addr %s is not loopback (127.0.0.0/8)", text);
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    a->len = sizeof *v4;
  } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) die("--addr %s is not loopback (::1)", text);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    a->len = sizeof *v6;
  } else {
    die("--addr '%s' is not an IPv4 or IPv6 address", text);
  }
  a->family = a->ss.ss_family;
}

static int udp_socket(int family) {
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0); // blocking: a full queue waits, never EAGAIN-spins
  if (fd < 0) die_errno("socket");
  return fd;
}

// Binds and returns the port actually bound (so --port 0 works), then tells
// the driver on stderr that datagrams may now be sent.
static long bind_and_announce(int fd, struct addr *a) {
  if (bind(fd, (struct sockaddr *)&a->ss, a->len) < 0) die_errno("bind");
  struct sockaddr_storage got;
  socklen_t len = sizeof got;
  if (getsockname(fd, (struct sockaddr *)&got, &len) < 0) die_errno("getsockname");
  long port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                             : ((struct sockaddr_in6 *)&got)->sin6_port);
  fprintf(stderr, "ready %ld\n", port);
  fflush(stderr);
  return port;
}

static void set_rcvtimeo(int fd, double seconds) {
  struct timeval tv = {.tv_sec = (time_t)seconds, .tv_usec = (suseconds_t)((seconds - (time_t)seconds) * 1e6)};
  if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1000; // 0 would mean "wait forever"
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) die_errno("setsockopt(SO_RCVTIMEO)");
}

// Transient send failures: a full device queue (ENOBUFS) or an interrupted
// call. The datagram was not sent, so the caller retries it. EAGAIN can't
// happen on a blocking socket without SO_SNDTIMEO but is harmless to include.
static int transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EINTR; }

static char *payload(long size) {
  char *buf = malloc((size_t)size);
  if (!buf) die("out of memory");
  for (long i = 0; i < size; i++) buf[i] = (char)(i * 31 + 7); // fixed bytes, not zeroed pages
  return buf;
}

static double tv_secs(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static struct rusage cpu_start; // taken just before a timed loop (senders, recv)

static void cpu_mark(void) { getrusage(RUSAGE_SELF, &cpu_start); }

static double cpu_user_since_mark(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return tv_secs(ru.ru_utime) - tv_secs(cpu_start.ru_utime);
}

static double cpu_sys_since_mark(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return tv_secs(ru.ru_stime) - tv_secs(cpu_start.ru_stime);
}

// CPU the process used, user and kernel: unlike wall time, a busy neighbour
// on the same core barely moves it, so per-datagram costs stay comparable.
static void print_send_result(const char *mode, const struct opts *o, long sent, int64_t ns, long retries,
                              const char *extra) {
  double s = secs(ns);
  printf("{\"mode\":\"%s\",\"size\":%ld,\"count\":%ld,\"seconds\":%.6f,\"pps\":%.0f,\"connected\":%s,"
         "\"retries\":%ld,\"complete\":%s,\"cpuUser\":%.6f,\"cpuSys\":%.6f%s}\n",
         mode, o->size, sent, s, s > 0 ? (double)sent / s : 0.0, o->connect ? "true" : "false", retries,
         sent == o->count ? "true" : "false", cpu_user_since_mark(), cpu_sys_since_mark(), extra ? extra : "");
}

// Sender socket. Unconnected by default, like send(data, port, address) and
// dgram's send with an address; --connect measures the connected fast path
// (the kernel skips the route lookup per datagram).
static int sender(const struct opts *o, struct addr *dst) {
  make_addr(o->addr, o->port, dst);
  if (o->port == 0) die("--port must name the receiver (1-65535)");
  int fd = udp_socket(dst->family);
  if (o->connect && connect(fd, (struct sockaddr *)&dst->ss, dst->len) < 0) die_errno("connect");
  return fd;
}

// ------------------------------------------------------ per-datagram control

// Room for IP_TOS / IPV6_TCLASS (an int) and IP_PKTINFO / IPV6_PKTINFO.
#define CONTROL_BYTES (CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)))

struct control {
  int family; // of the destination: the cmsg levels follow it
  int tos;    // -1: no TOS cmsg
  int have_source;
  struct in_addr src4;
  struct in6_addr src6;
};

// The control a datagram gets from --tos and --source; have = 0 when neither is given.
static int control_opts(const struct opts *o, int family, struct control *c) {
  memset(c, 0, sizeof *c);
  c->family = family;
  c->tos = (o->seen & O_TOS) ? (int)o->tos : -1;
  if (o->seen & O_SOURCE) {
    c->have_source = 1;
    int ok = family == AF_INET ? inet_pton(AF_INET, o->source, &c->src4) : inet_pton(AF_INET6, o->source, &c->src6);
    if (ok != 1) die("--source %s is not an %s address", o->source, family == AF_INET ? "IPv4" : "IPv6");
    if (family == AF_INET ? (ntohl(c->src4.s_addr) >> 24) != 127 : !IN6_IS_ADDR_LOOPBACK(&c->src6))
      die("--source %s is not loopback", o->source);
  }
  return c->tos >= 0 || c->have_source;
}

// Writes the control messages of one datagram into buf (CONTROL_BYTES,
// cmsghdr-aligned) and points msg at them: what a sender does per datagram.
static void put_control(struct msghdr *msg, unsigned char *buf, const struct control *c) {
  msg->msg_control = buf;
  msg->msg_controllen = CONTROL_BYTES;
  size_t used = 0;
  struct cmsghdr *cm = CMSG_FIRSTHDR(msg);
  if (c->tos >= 0) {
    cm->cmsg_level = c->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    cm->cmsg_type = c->family == AF_INET ? IP_TOS : IPV6_TCLASS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &c->tos, sizeof(int));
    used += CMSG_SPACE(sizeof(int));
    cm = CMSG_NXTHDR(msg, cm);
  }
  if (c->have_source) {
    if (c->family == AF_INET) {
      struct in_pktinfo pi;
      memset(&pi, 0, sizeof pi);
      pi.ipi_spec_dst = c->src4;
      cm->cmsg_level = IPPROTO_IP;
      cm->cmsg_type = IP_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof pi);
      memcpy(CMSG_DATA(cm), &pi, sizeof pi);
      used += CMSG_SPACE(sizeof pi);
    } else {
      struct in6_pktinfo pi;
      memset(&pi, 0, sizeof pi);
      pi.ipi6_addr = c->src6;
      cm->cmsg_level = IPPROTO_IPV6;
      cm->cmsg_type = IPV6_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof pi);
      memcpy(CMSG_DATA(cm), &pi, sizeof pi);
      used += CMSG_SPACE(sizeof pi);
    }
  }
  msg->msg_controllen = used;
}

// ---------------------------------------------------------------- send

static int cmd_send(int argc, char **argv) {
  struct opts o;
  parse_opts(argc, argv, &o, O_SIZE | O_COUNT | O_PORT | O_ADDR | O_CONNECT | O_MAXSEC, O_SIZE | O_COUNT | O_PORT);
  struct addr dst;
  int fd = sender(&o, &dst);
  char *buf = payload(o.size);
  long sent = 0, retries = 0;
  cpu_mark();
  int64_t start = now_ns(), deadline = start + (int64_t)(o.max_seconds * 1e9);
  while (sent < o.count) {
    ssize_t r = o.connect ? send(fd, buf, (size_t)o.size, 0)
                          : sendto(fd, buf, (size_t)o.size, 0, (struct sockaddr *)&dst.ss, dst.len);
    if (r >= 0) {
      sent++;
      // Reading the clock costs ~20 ns; every 4096 datagrams keeps the time bound cheap.
      if ((sent & 4095) == 0 && now_ns() > deadline) break;
    } else if (transient(errno)) {
      retries++;
      if (now_ns() > deadline) break;
    } else {
      die_errno("sendto");
    }
  }
  int64_t ns = now_ns() - start;
  print_send_result("send", &o, sent, ns, retries, NULL);
  close(fd);
  free(buf);
  return 0;
}

// ---------------------------------------------------------------- sendmsg

// One sendmsg per datagram, with the control messages of --tos / --source
// built for each one (the C counterpart of netsock's sendMessage).
static int cmd_sendmsg(int argc, char **argv) {
  struct opts o;
  parse_opts(argc, argv, &o, O_SIZE | O_COUNT | O_PORT | O_ADDR | O_CONNECT | O_MAXSEC | O_TOS | O_SOURCE,
             O_SIZE | O_COUNT | O_PORT);
  struct addr dst;
  int fd = sender(&o, &dst);
  struct control ctl;
  int with_control = control_opts(&o, dst.family, &ctl);
  char *buf = payload(o.size);
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)o.size};
  union {
    unsigned char buf[CONTROL_BYTES];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  long sent = 0, retries = 0;
  cpu_mark();
  int64_t start = now_ns(), deadline = start + (int64_t)(o.max_seconds * 1e9);
  while (sent < o.count) {
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (!o.connect) {
      msg.msg_name = &dst.ss;
      msg.msg_namelen = dst.len;
    }
    if (with_control) put_control(&msg, control.buf, &ctl);
    ssize_t r = sendmsg(fd, &msg, 0);
    if (r >= 0) {
      sent++;
      if ((sent & 4095) == 0 && now_ns() > deadline) break;
    } else if (transient(errno)) {
      retries++;
      if (now_ns() > deadline) break;
    } else {
      die_errno("sendmsg");
    }
  }
  int64_t ns = now_ns() - start;
  print_send_result("sendmsg", &o, sent, ns, retries, with_control ? ",\"control\":true" : ",\"control\":false");
  close(fd);
  free(buf);
  return 0;
}

// ---------------------------------------------------------------- sendmmsg

static int cmd_sendmmsg(int argc, char **argv) {
  struct opts o;
  parse_opts(argc, argv, &o, O_SIZE | O_COUNT | O_PORT | O_ADDR | O_CONNECT | O_BATCH | O_MAXSEC | O_TOS | O_SOURCE,
             O_SIZE | O_COUNT | O_PORT | O_BATCH);
  struct addr dst;
  int fd = sender(&o, &dst);
  struct control ctl;
  int with_control = control_opts(&o, dst.family, &ctl);
  // With control, each message has its own control buffer, filled for every call.
  unsigned char *controls = NULL;
  if (with_control && !(controls = aligned_alloc(sizeof(struct cmsghdr), (size_t)o.batch * CONTROL_BYTES))) die("out of memory");
  char *buf = payload(o.size);
  // Every message points at the same bytes: the cost measured is the call
  // and the kernel's per-datagram work, not filling buffers.
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)o.size};
  struct mmsghdr *msgs = calloc((size_t)o.batch, sizeof *msgs);
  if (!msgs) die("out of memory");
  for (long i = 0; i < o.batch; i++) {
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (!o.connect) {
      msgs[i].msg_hdr.msg_name = &dst.ss;
      msgs[i].msg_hdr.msg_namelen = dst.len;
    }
  }
  long sent = 0, retries = 0, calls = 0;
  cpu_mark();
  int64_t start = now_ns(), deadline = start + (int64_t)(o.max_seconds * 1e9);
  while (sent < o.count) {
    long want = o.count - sent < o.batch ? o.count - sent : o.batch;
    if (with_control)
      for (long i = 0; i < want; i++) put_control(&msgs[i].msg_hdr, controls + i * CONTROL_BYTES, &ctl);
    // A short count means an error stopped the batch; the rest is retried
    // next call, which then reports that error (man 2 sendmmsg).
    int r = sendmmsg(fd, msgs, (unsigned)want, 0);
    calls++;
    if (r > 0) {
      sent += r;
    } else if (r < 0 && !transient(errno)) {
      die_errno("sendmmsg");
    } else {
      retries++;
    }
    if ((calls & 255) == 0 && now_ns() > deadline) break;
  }
  int64_t ns = now_ns() - start;
  char extra[96];
  snprintf(extra, sizeof extra, ",\"batch\":%ld,\"calls\":%ld,\"control\":%s", o.batch, calls, with_control ? "true" : "false");
  print_send_result("sendmmsg", &o, sent, ns, retries, extra);
  close(fd);
  free(controls);
  free(msgs);
  free(buf);
  return 0;
}

// ---------------------------------------------------------------- gso

static int cmd_gso(int argc, char **argv) {
  struct opts o;
  parse_opts(argc, argv, &o, O_SIZE | O_COUNT | O_PORT | O_ADDR | O_CONNECT | O_SEGMENTS | O_MAXSEC,
             O_SIZE | O_COUNT | O_PORT | O_SEGMENTS);
  if (o.size * o.segments > MAX_UDP_PAYLOAD)
    die("--size x --segments = %ld exceeds one UDP datagram (%d bytes)", o.size * o.segments, MAX_UDP_PAYLOAD);
  struct addr dst;
  int fd = sender(&o, &dst);
  char *buf = payload(o.size * o.segments);
  struct iovec iov = {.iov_base = buf};
  // UDP_SEGMENT as a cmsg (not the socket option) sets the segment size per
  // call, which is what sendSegments() does; man 7 udp.
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                       .msg_controllen = sizeof control.buf};
  if (!o.connect) {
    msg.msg_name = &dst.ss;
    msg.msg_namelen = dst.len;
  }
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  uint16_t gso_size = (uint16_t)o.size;
  memcpy(CMSG_DATA(cm), &gso_size, sizeof gso_size);

  long sent = 0, retries = 0, calls = 0;
  cpu_mark();
  int64_t start = now_ns(), deadline = start + (int64_t)(o.max_seconds * 1e9);
  while (sent < o.count) {
    long segs = o.count - sent < o.segments ? o.count - sent : o.segments;
    iov.iov_len = (size_t)(segs * o.size);
    ssize_t r = sendmsg(fd, &msg, 0);
    calls++;
    if (r >= 0) {
      sent += segs;
    } else if (transient(errno)) {
      retries++;
    } else if (sent == 0 && (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
      // The kernel (or the route's device) has no UDP GSO: a result, not a failure.
      printf("{\"mode\":\"gso\",\"error\":\"%s (errno %d)\"}\n", strerror(errno), errno);
      return 0;
    } else {
      die_errno("sendmsg(UDP_SEGMENT)");
    }
    if ((calls & 255) == 0 && now_ns() > deadline) break;
  }
  int64_t ns = now_ns() - start;
  char extra[64];
  snprintf(extra, sizeof extra, ",\"segments\":%ld,\"calls\":%ld", o.segments, calls);
  print_send_result("gso", &o, sent, ns, retries, extra);
  close(fd);
  free(buf);
  return 0;
}

// ---------------------------------------------------------------- recv

// The socket's drop counter from /proc/net/udp{,6} (last column), found by
// the socket's inode. Read outside the measured loop, so it costs nothing
// per datagram (SO_RXQ_OVFL would add a cmsg to every one). -1 if not found.
static long socket_drops(int fd, int family) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -1;
  FILE *f = fopen(family == AF_INET ? "/proc/net/udp" : "/proc/net/udp6", "r");
  if (!f) return -1;
  char line[512];
  long drops = -1;
  while (fgets(line, sizeof line, f)) {
    // sl local rem st tx:rx tr:when retr uid timeout inode ref pointer drops
    unsigned long inode;
    long d;
    if (sscanf(line, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %ld", &inode, &d) == 2 &&
        inode == (unsigned long)st.st_ino) {
      drops = d;
      break;
    }
  }
  fclose(f);
  return drops;
}

// Asks for `want` bytes of receive buffer. SO_RCVBUFFORCE passes
// net.core.rmem_max when privileged; otherwise SO_RCVBUF is capped by it.
// Returns what the kernel reports (twice the request, man 7 socket).
static int set_rcvbuf(int fd, long want, const char **how) {
  int v = (int)want;
  *how = "SO_RCVBUFFORCE";
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0) {
    *how = "SO_RCVBUF";
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) < 0) die_errno("setsockopt(SO_RCVBUF)");
  }
  int got = 0;
  socklen_t len = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
  return got;
}

static int cmd_recv(int argc, char **argv) {
  struct opts o;
  parse_opts(argc, argv, &o, O_PORT | O_ADDR | O_SECONDS | O_BATCH | O_SIZE | O_RCVBUF | O_WAIT | O_IDLE,
             O_PORT | O_SECONDS);
  struct addr me;
  make_addr(o.addr, o.port, &me);
  int fd = udp_socket(me.family);
  const char *how;
  int rcvbuf = set_rcvbuf(fd, o.rcvbuf, &how);
  long port = bind_and_announce(fd, &me);
  long drops0 = socket_drops(fd, me.family);

  // One buffer per batch slot; MSG_TRUNC below makes msg_len the real
  // datagram length even if --size is too small, so bytes stay honest.
  char *bufs = malloc((size_t)(o.batch * o.size));
  struct iovec *iovs = calloc((size_t)o.batch, sizeof *iovs);
  struct mmsghdr *msgs = calloc((size_t)o.batch, sizeof *msgs);
  if (!bufs || !iovs || !msgs) die("out of memory");
  for (long i = 0; i < o.batch; i++) {
    iovs[i] = (struct iovec){.iov_base = bufs + i * o.size, .iov_len = (size_t)o.size};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  // SO_RCVTIMEO rather than recvmmsg's own timeout, which is only checked
  // after a datagram arrives (man 2 recvmmsg, BUGS). Short, so the time
  // limits below are checked at least every 50 ms while nothing arrives.
  set_rcvtimeo(fd, 0.05);
  cpu_mark(); // blocked waiting costs no CPU: what accrues is the receive work
  int64_t started = now_ns(), first = 0, last = 0;
  int64_t window = (int64_t)(o.seconds * 1e9), idle = (int64_t)(o.idle * 1e9), wait = (int64_t)(o.wait * 1e9);
  long received = 0, truncated = 0, calls = 0;
  uint64_t bytes = 0;
  const char *stop = "time";
  for (;;) {
    // MSG_WAITFORONE: block for the first datagram, then take whatever else
    // is queued without waiting, like an event-loop receiver draining a socket.
    int r = recvmmsg(fd, msgs, (unsigned)o.batch, MSG_WAITFORONE | MSG_TRUNC, NULL);
    int64_t t = now_ns();
    if (r > 0) {
      if (!first) first = t;
      last = t;
      calls++;
      received += r;
      for (int i = 0; i < r; i++) {
        bytes += msgs[i].msg_len;
        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) truncated++;
      }
    } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      die_errno("recvmmsg");
    }
    if (!first) {
      if (t - started > wait) {
        stop = "nothing-arrived";
        break;
      }
    } else if (t - first >= window) {
      break;
    } else if (t - last >= idle) {
      stop = "idle"; // the sender finished early: the window ends with its last datagram
      break;
    }
  }
  long drops1 = socket_drops(fd, me.family);
  double s = first ? secs(last - first) : 0;
  printf("{\"mode\":\"recv\",\"port\":%ld,\"received\":%ld,\"bytes\":%llu,\"seconds\":%.6f,\"pps\":%.0f,"
         "\"kernelDrops\":%ld,\"truncated\":%ld,\"calls\":%ld,\"batch\":%ld,\"rcvbuf\":%d,\"rcvbufSetBy\":\"%s\","
         "\"stop\":\"%s\",\"cpuUser\":%.6f,\"cpuSys\":%.6f}\n",
         port, received, (unsigned long long)bytes, s, s > 0 ? (double)received / s : 0.0,
         drops0 >= 0 && drops1 >= 0 ? drops1 - drops0 : -1, truncated, calls, o.batch, rcvbuf, how, stop,
         cpu_user_since_mark(), cpu_sys_since_mark());
  close(fd);
  free(msgs);
  free(iovs);
  free(bufs);
  if (!first) {
    // A receive benchmark that saw nothing measured nothing: fail, but after
    // the JSON so the driver still sees the socket's settings.
    fprintf(stderr, "udpref recv: no datagram arrived within %.1f s\n", o.wait);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------- blast

static int cmd_blast(int argc, char **argv) {
  struct opts o;
  parse_opts(argc, argv, &o, O_PORT | O_ADDR | O_RATE | O_SECONDS | O_SIZE, O_PORT | O_RATE | O_SECONDS | O_SIZE);
  // Unconnected on purpose: a connected socket would report the receiver's
  // ICMP port-unreachable as ECONNREFUSED when it closes before we stop.
  o.connect = 0;
  struct addr dst;
  int fd = sender(&o, &dst);
  char *buf = payload(o.size);
  enum { MAX_BLAST_BATCH = 64 };
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)o.size};
  struct mmsghdr msgs[MAX_BLAST_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < MAX_BLAST_BATCH; i++) {
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &dst.ss;
    msgs[i].msg_hdr.msg_namelen = dst.len;
  }
  // Default timer slack (50 us) would make every sleep overshoot; 1 ns
  // slack lets the pacing hit its ~0.5 ms steps.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  // Pace in chunks of ~0.5 ms worth of datagrams: finer steps cost a
  // wake-up each, coarser ones make bursts that overflow small buffers.
  long chunk = (long)(o.rate / 2000);
  if (chunk < 1) chunk = 1;
  if (chunk > MAX_BLAST_BATCH) chunk = MAX_BLAST_BATCH;
  const double ns_per_dgram = 1e9 / o.rate;
  const long total = (long)(o.rate * o.seconds);
  long sent = 0, retries = 0, calls = 0;
  int64_t start = now_ns(), end = start + (int64_t)(o.seconds * 1e9), t = start;
  while (sent < total && (t = now_ns()) < end) {
    // The schedule is absolute (datagram k is due at start + k/R), so a
    // late wake-up is made up for by the next chunk, not lost.
    long due = (long)((double)(t - start) / ns_per_dgram) - sent;
    if (due > total - sent) due = total - sent;
    if (due >= chunk) {
      int r = sendmmsg(fd, msgs, (unsigned)(due < MAX_BLAST_BATCH ? due : MAX_BLAST_BATCH), 0);
      calls++;
      if (r > 0) sent += r;
      else if (r < 0 && !transient(errno)) die_errno("sendmmsg");
      else retries++;
    } else {
      int64_t wake = start + (int64_t)((double)(sent + chunk) * ns_per_dgram);
      if (wake > end) wake = end;
      struct timespec ts = {.tv_sec = wake / 1000000000, .tv_nsec = wake % 1000000000};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
  }
  // The last chunk falls due exactly at the end; send it rather than stop
  // one chunk short. (A sender that fell behind does not catch up here.)
  if (total - sent > 0 && total - sent <= chunk) {
    int r = sendmmsg(fd, msgs, (unsigned)(total - sent), 0);
    calls++;
    if (r > 0) sent += r;
  }
  t = now_ns();
  double s = secs(t - start);
  printf("{\"mode\":\"blast\",\"size\":%ld,\"rate\":%.0f,\"sent\":%ld,\"seconds\":%.6f,\"achievedRate\":%.0f,"
         "\"chunk\":%ld,\"calls\":%ld,\"retries\":%ld}\n",
         o.size, o.rate, sent, s, s > 0 ? (double)sent / s : 0.0, chunk, calls, retries);
  close(fd);
  free(buf);
  return 0;
}

// ---------------------------------------------------------------- pingpong

static int cmd_pingpong_server(int argc, char **argv) {
  struct opts o;
  parse_opts(argc, argv, &o, O_PORT | O_ADDR | O_COUNT | O_WAIT, O_PORT | O_COUNT);
  struct addr me;
  make_addr(o.addr, o.port, &me);
  int fd = udp_socket(me.family);
  long port = bind_and_announce(fd, &me);
  static char buf[65536];
  long total = o.count + WARMUP_ROUNDS, echoed = 0;
  // The client may still be starting (a Node process takes a while), so the
  // first datagram gets --wait; after that a silent 2 s means it is gone.
  set_rcvtimeo(fd, o.wait);
  while (echoed < total) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        die("no datagram for %.1f s after %ld echoes (expected %ld)", echoed ? ROUND_TRIP_TIMEOUT : o.wait,
            echoed, total);
      die_errno("recvfrom");
    }
    // Echo loopback peers only: never reflect traffic elsewhere.
    while (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen) < 0)
      if (!transient(errno)) die_errno("sendto");
    if (echoed++ == 0) set_rcvtimeo(fd, ROUND_TRIP_TIMEOUT);
  }
  printf("{\"mode\":\"pingpong-server\",\"port\":%ld,\"echoed\":%ld}\n", port, echoed);
  close(fd);
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

// Nearest-rank percentile of sorted samples.
static int64_t percentile(const int64_t *v, long n, double p) {
  long k = (long)(p * (double)n + 0.999999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

static int cmd_pingpong(int argc, char **argv) {
  struct opts o;
  parse_opts(argc, argv, &o, O_PORT | O_ADDR | O_COUNT | O_SIZE | O_MAXSEC, O_PORT | O_COUNT | O_SIZE);
  // Connected: recv then only returns the server's replies, and a server
  // that is not there shows up as ECONNREFUSED instead of a 2 s wait.
  o.connect = 1;
  struct addr dst;
  int fd = sender(&o, &dst);
  set_rcvtimeo(fd, ROUND_TRIP_TIMEOUT);
  char *out = payload(o.size);
  static char in[65536];
  int64_t *rtt = malloc((size_t)o.count * sizeof *rtt);
  if (!rtt) die("out of memory");
  long total = o.count + WARMUP_ROUNDS;
  int64_t deadline = now_ns() + (int64_t)(o.max_seconds * 1e9);
  for (long i = 0; i < total; i++) {
    if (i == WARMUP_ROUNDS) cpu_mark(); // CPU per round trip: the measured ones only
    int64_t t0 = now_ns();
    if (t0 > deadline) die("--max-seconds %.1f passed after %ld round trips", o.max_seconds, i);
    while (send(fd, out, (size_t)o.size, 0) < 0)
      if (!transient(errno)) die_errno("send");
    ssize_t n;
    while ((n = recv(fd, in, sizeof in, 0)) < 0 && errno == EINTR) {
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        die("no reply within %.0f s at round trip %ld", ROUND_TRIP_TIMEOUT, i);
      die_errno("recv");
    }
    int64_t t1 = now_ns();
    if (n != o.size) die("reply of %zd bytes, sent %ld", n, o.size);
    if (i >= WARMUP_ROUNDS) rtt[i - WARMUP_ROUNDS] = t1 - t0;
  }
  double cpu_user = cpu_user_since_mark(), cpu_sys = cpu_sys_since_mark();
  double sum = 0;
  for (long i = 0; i < o.count; i++) sum += (double)rtt[i];
  qsort(rtt, (size_t)o.count, sizeof *rtt, cmp_i64);
  printf("{\"mode\":\"pingpong\",\"size\":%ld,\"count\":%ld,\"warmup\":%d,\"p50Us\":%.2f,\"p99Us\":%.2f,"
         "\"meanUs\":%.2f,\"minUs\":%.2f,\"maxUs\":%.2f,\"cpuUser\":%.6f,\"cpuSys\":%.6f}\n",
         o.size, o.count, WARMUP_ROUNDS, (double)percentile(rtt, o.count, 0.50) / 1e3,
         (double)percentile(rtt, o.count, 0.99) / 1e3,
         sum / (double)o.count / 1e3, (double)rtt[0] / 1e3, (double)rtt[o.count - 1] / 1e3,
         cpu_user, cpu_sys);
  close(fd);
  free(rtt);
  free(out);
  return 0;
}

// ---------------------------------------------------------------- main

static const struct {
  const char *name;
  int (*run)(int, char **);
} commands[] = {
    {"send", cmd_send},   {"sendmsg", cmd_sendmsg},   {"sendmmsg", cmd_sendmmsg}, {"gso", cmd_gso},
    {"recv", cmd_recv},   {"blast", cmd_blast},       {"pingpong-server", cmd_pingpong_server},
    {"pingpong", cmd_pingpong},
};

int main(int argc, char **argv) {
  if (argc >= 2) {
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
      if (!strcmp(argv[1], commands[i].name)) {
        prog_mode = commands[i].name;
        int rc = commands[i].run(argc - 2, argv + 2);
        fflush(stdout);
        return rc;
      }
    }
  }
  fprintf(stderr, "usage: udpref <send|sendmsg|sendmmsg|gso|recv|blast|pingpong-server|pingpong> --option value ...\n"
                  "       (see the comment at the top of udpref.c)\n");
  return 2;
}
