// The parent/child protocol on a SOCK_SEQPACKET socketpair (one message per
// send, never merged). The child's end is O_CLOEXEC, so a successful execve
// shows up in the parent as end-of-file.
//
//   parent (Node, addon)                      child (container init)
//   ---------------------------------------------------------------------
//   clone(CLONE_NEW*) ────────────────────►   blocks reading the socket
//   [host-side set-up: cgroups, veth;
//    a new user namespace's uid_map and
//    gid_map; an idmapped rootfs]
//   SYNC_GO {value[0]=host pid} ──────────►   setns (a user namespace
//     (+ SCM_RIGHTS: the idmapped rootfs)     first), mounts
//                  ◄──────────────────────    SYNC_USERNS (userns_late:
//                                             joins done, user namespace
//                                             unshared)
//   [its uid_map, gid_map, idmapped rootfs]
//   SYNC_USERNS_DONE ─────────────────────►   unshare the other new
//     (+ SCM_RIGHTS: the idmapped rootfs)     namespaces
//                  ◄──────────────────────    SYNC_HOOKS (only with
//                                             createRuntime/prestart hooks)
//   [createRuntime hooks]
//   SYNC_HOOKS_DONE ──────────────────────►   createContainer hooks,
//                                             pivot_root,
//                                             devices, hostname, lo, user,
//                                             capabilities, no_new_privs
//                  ◄──────────────────────    SYNC_PTY + SCM_RIGHTS(master)
//                                             (only with a terminal)
//                  ◄──────────────────────    SYNC_PID {value[0]=pid}
//                                             (joining a pid namespace: the
//                                             forked grandchild's host pid;
//                                             the intermediate then exits)
//                  ◄──────────────────────    SYNC_CREATED (with an exec
//                                             fifo: set-up done, the command
//                                             found; now blocked until
//                                             `start` opens the fifo)
//                  ◄──────────────────────    SYNC_ERROR {step,errno,...},
//                                             then _exit
//                  ◄──────────────────────    EOF: execve succeeded
//
// With a monitor (detached containers), the addon forks the monitor first
// and talks to it on a second socketpair (monitor_protocol.h).
#pragma once
#include <stdint.h>

enum sync_type : uint32_t {
  SYNC_GO = 1,
  SYNC_PTY = 2,
  SYNC_ERROR = 3,
  SYNC_PID = 4,
  SYNC_CREATED = 5,
  SYNC_HOOKS = 6,       // child → parent: mounts done, run createRuntime hooks
  SYNC_HOOKS_DONE = 7,  // parent → child: they succeeded; go on
  SYNC_USERNS = 8,      // child → parent: a new user namespace awaits its maps
  SYNC_USERNS_DONE = 9, // parent → child: maps written (+ the idmapped rootfs)
};

struct sync_msg {
  uint32_t type;
  int32_t err;        // errno for SYNC_ERROR
  int32_t value[2];   // SYNC_PID: the pid
  char step[32];      // set-up step that failed: "mount", "pivot_root", "exec", ...
  char syscall[32];   // the syscall that returned the error
  char path[1024];    // the path it was given, if any
};
