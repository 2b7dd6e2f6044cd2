{
  "variables": {
    # 1 for the prebuilds shipped in the npm package (scripts/prebuildify.cjs
    # passes --netsock_prebuild=1): libstdc++ linked in, a glibc 2.28 symbol
    # baseline and only the Node-API entry points exported (prebuilds/README.md).
    # 0 for builds on the user's machine (compile on install, npm run build).
    "netsock_prebuild%": 0
  },
  "targets": [
    {
      "target_name": "netsock",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/checksum.cc",
        "native/clock.cc",
        "native/cmsg.cc",
        "native/constants.cc",
        "native/errqueue.cc",
        "native/filter.cc",
        "native/io.cc",
        "native/layout.cc",
        "native/options.cc",
        "native/poll.cc",
        "native/sockaddr.cc",
        "native/socket.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=9",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-O3"],
      "cflags": ["-O2", "-fvisibility=hidden", "-fno-plt", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-O2", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-fno-plt", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["netsock_prebuild==1", {
          "sources": ["native/glibc-compat.cc"],
          "ldflags": [
            # No GLIBCXX/CXXABI versions: libstdc++ goes inside the addon. The
            # unwinder stays in the system's libgcc_s (GCC_3.0..4.2 symbols,
            # which Node itself links): libgcc_eh.a of GCC 12 needs glibc 2.35.
            "-static-libstdc++",
            # Drops the archive members nothing calls (std::random_device's
            # arc4random@GLIBC_2.36, getentropy@GLIBC_2.25).
            "-Wl,--gc-sections",
            # __libc_single_threaded@GLIBC_2.32: see native/glibc-compat.cc.
            "-Wl,--wrap=__libc_single_threaded",
            "-Wl,--version-script=<(module_root_dir)/native/exports.map"
          ]
        }]
      ]
    }
  ]
}
