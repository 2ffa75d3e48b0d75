// The parent/child protocol on a SOCK_SEQPACKET socketpair (one message per
// send, never merged). The child's end is O_CLOEXEC, so a successful execve
// shows up in the parent as end-of-file.
//
//   parent (Node, addon)                      child (container init)
//   ---------------------------------------------------------------------
//   clone(CLONE_NEW*) ────────────────────►   blocks reading the socket
//   [host-side set-up: cgroups, veth]
//   SYNC_GO ──────────────────────────────►   setns, mounts, pivot_root,
//                                             devices, hostname, lo, user,
//                                             capabilities, no_new_privs
//                  ◄──────────────────────    SYNC_PTY + SCM_RIGHTS(master)
//                                             (only with a terminal)
//                  ◄──────────────────────    SYNC_ERROR {step,errno,...},
//                                             then _exit
//                  ◄──────────────────────    EOF: execve succeeded
#pragma once
#include <stdint.h>

enum sync_type : uint32_t {
  SYNC_GO = 1,
  SYNC_PTY = 2,
  SYNC_ERROR = 3,
};

struct sync_msg {
  uint32_t type;
  int32_t err;        // errno for SYNC_ERROR
  char step[32];      // set-up step that failed: "mount", "pivot_root", "exec", ...
  char syscall[32];   // the syscall that returned the error
  char path[1024];    // the path it was given, if any
};
