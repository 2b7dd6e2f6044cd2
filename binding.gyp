{
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
      "cflags_cc": ["-std=c++17", "-O2", "-fvisibility=hidden", "-fno-plt", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
