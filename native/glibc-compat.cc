// Linked into the prebuilds only (binding.gyp, netsock_prebuild==1), which carry
// libstdc++ inside them so that they need no GLIBCXX symbol version and load on
// distributions whose libstdc++ is older than the build machine's.
//
// The libstdc++.a of GCC 12 on glibc >= 2.32 reads glibc's
// `__libc_single_threaded` (GLIBC_2.32) to skip atomic reference counting in
// its string and exception classes; linking it in would make the prebuild
// need glibc 2.32 (Node 20 itself runs on 2.28). The link redirects those
// reads here with `-Wl,--wrap=__libc_single_threaded`. Zero means "more than
// one thread", which is always true in Node (it starts its platform workers
// before any addon loads), so libstdc++ takes the atomic path it would take
// anyway. See `man 3 __libc_single_threaded`.
extern "C" {
__attribute__((visibility("hidden"))) char __wrap___libc_single_threaded = 0;
}
