// The addon ↔ monitor control socket (SOCK_SEQPACKET, the monitor's fd 3),
// used only while a detached container is being created:
//
//   addon (Node)                         launcher → monitor (after execve)
//   ------------------------------------------------------------------------
//   clone (vfork-like; the launcher
//   starts the monitor and exits) ─────►
//                  ◄──────────────────   MON_PIDS {value = monitor, container}
//                                        (the monitor has cloned the
//                                        container, which waits for SYNC_GO,
//                                        and is exec'ing its binary)
//   cgroup, SYNC_GO to the container, its frames … (meanwhile the monitor
//   starts up)
//   MON_PTY + SCM_RIGHTS(master) ──────► (only with a terminal)
//                  ◄──────────────────   MON_READY: the monitor runs, wrote
//                                        its pid file, listens for attach
//                  ◄──────────────────   MON_ERROR {errno, syscall}: the
//                                        launcher or the monitor's execve
//                                        failed; the container is killed
//   close ─────────────────────────────► EOF: the monitor carries on alone
//
// Frames reuse sync_msg so one reader handles both sockets.
#pragma once
#include "sync.h"

enum monitor_msg_type : uint32_t {
  MON_PIDS = 10,
  MON_READY = 11,
  MON_ERROR = 12,
  MON_PTY = 13,
};

// Fixed fd numbers the launcher hands the monitor across execve.
enum monitor_fds { MON_FD_CTL = 3, MON_FD_STDOUT = 4, MON_FD_STDERR = 5, MON_FD_STDIN = 6 };

// Frames on the attach socket (SOCK_STREAM): [type u8][length u32 BE][data].
enum attach_frame : uint8_t {
  ATTACH_STDIN = 0,     // client → monitor: bytes for the container's stdin
  ATTACH_STDOUT = 1,    // monitor → client
  ATTACH_STDERR = 2,    // monitor → client
  ATTACH_EXIT = 3,      // monitor → client: u32 BE exit code, then close
  ATTACH_RESIZE = 4,    // client → monitor: u16 BE rows, u16 BE cols
  ATTACH_STDIN_EOF = 5, // client → monitor: close the container's stdin
};
