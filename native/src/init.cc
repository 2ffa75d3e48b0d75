// `--init`: a minimal reaper that stays PID 1 of the container. It forks the
// command, forwards every signal it receives to it, reaps orphans, and exits
// with the command's status (128+N when the command died of signal N, as
// tini does). It never execs, so it stays non-dumpable: nothing in the
// container can open the host binary through /proc/1/exe.
// Syscalls: open, read, prctl(PR_SET_NAME), clone, sigwaitinfo, kill, wait4,
// close.
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

// The reaper is a copy of the Node process: without this, `ps` in the
// container would show the host's node command line (world-readable, unlike
// /proc/1/environ, which non-dumpable already protects). PR_SET_MM would
// need CAP_SYS_RESOURCE, which hosts (and sandboxes) may withhold, so do
// what setproctitle does: overwrite the argv and environment memory the
// kernel reads /proc/PID/cmdline and environ from. Addresses come from
// /proc/self/stat fields 48-51 (arg_start, arg_end, env_start, env_end).
void child_init_disguise() {
  char buf[2048];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) child_fail("init", "open", "/proc/self/stat");
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) child_fail("init", "read", "/proc/self/stat");
  buf[n] = 0;
  // Fields after the command name (field 2, in parentheses) start at 3.
  char *p = buf;
  for (char *q = buf; *q; q++) if (*q == ')') p = q + 1;
  unsigned long v[4] = {};
  int field = 2;
  while (*p && field < 51) {
    while (*p == ' ') p++;
    field++;
    unsigned long x = 0;
    while (*p >= '0' && *p <= '9') x = x * 10 + (unsigned long)(*p++ - '0');
    while (*p && *p != ' ') p++;
    if (field >= 48) v[field - 48] = x;
  }
  if (field < 51 || v[0] == 0 || v[1] <= v[0]) return;  // older kernel: leave it
  char *arg = (char *)v[0];
  for (unsigned long a = v[0]; a < v[1]; a++) *(char *)a = 0;
  for (unsigned long a = v[2]; a < v[3]; a++) *(char *)a = 0;
  static const char name[] = "tsrun-init";
  for (size_t i = 0; i < sizeof name && v[0] + i < v[1]; i++) arg[i] = name[i];
  prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

void child_run_init(const container_config *c) {
  // Signals are still all blocked (spawn.cc blocked them before clone).
  pid_t cmd = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (cmd < 0) child_fail("init", "clone", nullptr);
  if (cmd == 0) child_exec(c);
  // The command reports its own exec errors; the parent sees EOF once both
  // our copy and the command's (closed by execve) are gone.
  close(g_child_sync_fd);
  g_child_sync_fd = -1;
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(cmd, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p != cmd) continue;
      if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
      _exit(128 + WTERMSIG(status));
    }
  }
}
