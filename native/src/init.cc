// `--init`: a minimal reaper that stays PID 1 of the container. It forks the
// command, forwards every signal it receives to it, reaps orphans, and exits
// with the command's status (128+N when the command died of signal N, as
// tini does). It never execs, so it stays non-dumpable: nothing in the
// container can open the host binary through /proc/1/exe.
// Syscalls: clone, sigwaitinfo, kill, wait4, close.
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

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
