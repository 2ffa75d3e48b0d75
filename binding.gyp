{
  "targets": [
    {
      "target_name": "tsrun",
      "sources": [
        "native/src/addon.cc",
        "native/src/errors.cc",
        "native/src/config.cc",
        "native/src/spawn.cc",
        "native/src/wait.cc",
        "native/src/probe.cc",
        "native/src/child_util.cc",
        "native/src/mount.cc",
        "native/src/console.cc",
        "native/src/process.cc",
        "native/src/caps.cc",
        "native/src/netns.cc",
        "native/src/init.cc",
        "native/src/lock.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
