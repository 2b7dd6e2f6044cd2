// Classic BPF programs attached with setsockopt. struct sock_fprog holds a
// POINTER to the instructions, so JS cannot build it as plain bytes; this file
// builds it around the caller's bytes and makes the one setsockopt call.
// Generic on purpose: SO_ATTACH_REUSEPORT_CBPF (reuseport steering) and
// SO_ATTACH_FILTER (socket/packet filters) both take a struct sock_fprog
// (man 7 socket, Documentation/networking/filter.rst).
#include <linux/filter.h>
#include <sys/socket.h>

#include <cerrno>

#include "addon.h"

namespace netsock {

// attachFilter(fd, level, optname, program) -> 0 or -errno. program: bytes
// holding struct sock_filter[] (8 bytes each: u16 code, u8 jt, u8 jf, u32 k,
// host byte order); src/bpf.ts checks the count (1..BPF_MAXINSNS). The
// kernel copies the program during the call, so the bytes need not outlive it.
static napi_value AttachFilter(napi_env env, napi_callback_info cbinfo) {
  Args args(env, cbinfo, "attachFilter");
  int32_t fd, level, optname;
  uint8_t* data;
  size_t len;
  if (!args.Int(0, &fd) || !args.Int(1, &level) || !args.Int(2, &optname) || !args.Bytes(3, &data, &len))
    return nullptr;
  if (len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return args.RangeError("program must be 1..BPF_MAXINSNS sock_filter entries of 8 bytes"), nullptr;
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(len / sizeof(struct sock_filter));
  // The bytes may sit at any offset of their buffer; the kernel reads them with
  // copy_from_user, which has no alignment requirement.
  prog.filter = reinterpret_cast<struct sock_filter*>(data);
  return SyscallResult(env, setsockopt(fd, level, optname, &prog, sizeof(prog)));
}

void RegisterFilter(napi_env env, napi_value exports) {
  static const Export kExports[] = {{"attachFilter", AttachFilter}};
  ExportAll(env, exports, kExports);
}

}  // namespace netsock
