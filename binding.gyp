{
  "targets": [
    {
      "target_name": "tsrun",
      "sources": [
        "native/src/addon.cc",
        "native/src/errors.cc",
        "native/src/config.cc",
        "native/src/spawn.cc",
        "native/src/monitor_launch.cc",
        "native/src/wait.cc",
        "native/src/probe.cc",
        "native/src/child_util.cc",
        "native/src/mount.cc",
        "native/src/console.cc",
        "native/src/process.cc",
        "native/src/caps.cc",
        "native/src/netns.cc",
        "native/src/init.cc",
        "native/src/handoff.cc",
        "native/src/cgroup.cc",
        "native/src/fsops.cc",
        "native/src/seccomp.cc",
        "native/src/hooks.cc",
        "native/src/sysctl.cc",
        "native/src/apparmor.cc",
        "native/src/userns.cc"
      ],
      "libraries": ["-lseccomp"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "tsrun-files",
      "sources": ["native/src/files/module.c", "native/src/files/mapped.c", "native/src/files/read_texts.c", "native/src/files/syscalls.c"],
      "cflags": ["-O2", "-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-pthread"]
    },
    {
      "target_name": "tsrun-monitor",
      "type": "executable",
      "sources": [
        "native/src/monitor/main.cc",
        "native/src/monitor/log.cc",
        "native/src/monitor/attach.cc",
        "native/src/monitor/fmt.cc",
        "native/src/monitor/health.cc",
        "native/src/monitor/events.cc"
      ],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-Os", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables"],
      "ldflags": ["-static", "-Wl,--gc-sections", "-s"]
    },
    {
      "target_name": "tsrun-log-gzip",
      "type": "executable",
      "sources": ["native/src/monitor/gzip.cc", "native/src/monitor/fmt.cc"],
      "libraries": ["-lz"],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-Os", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables"],
      "ldflags": ["-static", "-Wl,--gc-sections", "-s"]
    }
  ]
}
