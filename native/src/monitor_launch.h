#pragma once
#include <sys/types.h>

#include <napi.h>
#include <string>
#include <vector>

#include "config.h"
#include "sync.h"

struct SpawnOptions {
  explicit SpawnOptions(const Napi::Value &v);
  // cgroup.procs files the pid is written to before SYNC_GO.
  std::vector<std::string> cgroup_procs;
  // Path of the exec fifo; empty: exec at once (foreground runs, exec).
  std::string exec_fifo;
  bool monitor = false;
  // The monitor's argv; the element after "--pid" is overwritten with the
  // container's pid by the launcher.
  std::vector<std::string> monitor_argv;
  bool monitor_stdin = false;
  // Hand the sync socket back after SYNC_CREATED, so the caller that also
  // starts the container can learn whether the exec succeeded.
  bool keep_sync = false;
};

struct MonitorLaunch {
  int ctl = -1;  // the addon's end of the control socket
  pid_t monitor_pid = 0;
  pid_t container_pid = -1;
  const SpawnOptions *opts = nullptr;
};

[[noreturn]] void child_main(const container_config *c, int sync_fd);
// The namespace flags for clone: all but the cgroup namespace, which the
// child unshares once it has been placed in its cgroup.
unsigned long clone_flags_at_clone(const container_config *c);
int recv_frame(int fd, sync_msg *m, int *passed_fd, int timeout_ms, sync_msg *err);
// Starts the launcher, which starts the monitor, which clones the container
// (waiting for SYNC_GO on child_sync_fd) and execs the monitor binary.
// Returns 0 once both pids are known (MON_PIDS); the monitor may still be
// starting: monitor_wait_ready waits for it. On failure neither is left.
int launch_monitor(container_config *c, const SpawnOptions &opts, int parent_sync_fd, int child_sync_fd, MonitorLaunch *out,
                   sync_msg *err);
// Waits for MON_READY (the monitor listens, its pid file is written);
// fills *err with MON_ERROR's or the socket's error otherwise.
int monitor_wait_ready(MonitorLaunch *m, sync_msg *err);
// True (and *err filled) when a MON_ERROR is already queued: the reason a
// container died during its set-up (the launcher kills it if the monitor's
// execve fails).
bool monitor_failed(MonitorLaunch *m, sync_msg *err);
// Kills the monitor and the container (a failed create) and closes ctl.
void monitor_abort(MonitorLaunch *m);
// Hands the container's pty master to the monitor.
int monitor_take_pty(MonitorLaunch *m, int pty_fd, sync_msg *err);
