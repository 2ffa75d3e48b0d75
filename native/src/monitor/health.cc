// Health checks on the monitor's clock (Docker's daemon/health.go monitor
// loop): the monitor keeps the timer and, when a check is due, forks and
// execs the health command (`tsrun ... healthcheck run ID`, which runs the
// check inside the container, records the result in the container's state
// and exits 0 when the check passed). The child is reaped from the main
// loop's SIGCHLD (signalfd), so output keeps flowing while a check runs.
//
// Schedule, as Docker's: the first check one interval after the start, the
// next one an interval after the previous one ended (never two at once).
// The interval is the start interval while the start period lasts and no
// check has passed yet (the status is still `starting`), else the interval.
// A check command that outlives its timeout by kGraceMs (the command
// enforces the timeout itself; this is for a stuck one) is killed.
// Syscalls: clock_gettime, fork, sigprocmask, close_range, execv, kill, waitpid.
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static const long kGraceMs = 10000;

static health_opts g_opts;
static long g_started;        // when the monitor started (≈ the container's start)
static long g_due;            // when the next check starts
static pid_t g_probe = -1;    // the running check command
static long g_probe_start;
static bool g_killed;         // the running check overran and was killed
static bool g_passed;         // a check has passed since the start

long monotonic_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long next_interval(long now) {
  return now - g_started < g_opts.start_period_ms && !g_passed ? g_opts.start_interval_ms : g_opts.interval_ms;
}

void health_init(const health_opts &o) {
  g_opts = o;
  if (!g_opts.argv || !g_opts.argv[0]) {
    g_opts.argv = nullptr;
    return;
  }
  g_started = monotonic_ms();
  g_due = g_started + next_interval(g_started);
}

int health_poll_timeout() {
  if (!g_opts.argv || g_killed) return -1;
  long left = (g_probe > 0 ? g_probe_start + g_opts.timeout_ms + kGraceMs : g_due) - monotonic_ms();
  if (left < 0) return 0;
  return left > INT_MAX ? INT_MAX : (int)left;
}

void health_tick() {
  if (!g_opts.argv) return;
  long now = monotonic_ms();
  if (g_probe > 0) {
    if (!g_killed && now >= g_probe_start + g_opts.timeout_ms + kGraceMs) {
      kill(g_probe, SIGKILL);
      g_killed = true;
    }
    return;
  }
  if (now < g_due) return;
  pid_t pid = fork();
  if (pid == 0) {
    // The monitor blocks every signal and exec keeps the mask: the check
    // command starts with none blocked, and with none of our fds.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execv(g_opts.argv[0], g_opts.argv);
    _exit(127);
  }
  if (pid < 0) {
    g_due = now + next_interval(now);
    return;
  }
  g_probe = pid;
  g_probe_start = now;
  g_killed = false;
}

bool health_reaped(int pid, int status) {
  if (pid <= 0 || pid != g_probe) return false;
  g_probe = -1;
  g_killed = false;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) g_passed = true;
  long now = monotonic_ms();
  g_due = now + next_interval(now);
  return true;
}

void health_stop() {
  if (g_probe > 0) {
    kill(g_probe, SIGKILL);
    int st;
    while (waitpid(g_probe, &st, 0) < 0 && errno == EINTR) {
    }
  }
  g_probe = -1;
  g_opts.argv = nullptr;
}
