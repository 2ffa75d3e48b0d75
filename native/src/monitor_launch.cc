// Starting a detached container under its monitor. The addon starts a
// launcher, which starts the future monitor so that it is not Node's child
// (no zombie in a long-lived Node process) and leaves; the monitor starts
// its own session, clones the container so it is its parent and can wait
// for it, and execs the monitor binary with the container's stdio pipes on
// fixed fds. Protocol: monitor_protocol.h.
//
// The launcher and the future monitor share Node's memory (CLONE_VM |
// CLONE_VFORK, as posix_spawn does), each on a stack of its own mapped
// here: the calling thread sleeps until the launcher is gone, and the
// launcher until the monitor has exec'd, so only one copy of Node's page
// tables is made (the container's clone) instead of three. Until execve
// both make only async-signal-safe calls that touch no memory Node's other
// threads use (every signal is blocked across it), as a vfork child must.
// The addon does not wait for the monitor's exec to finish setting up: it
// takes MON_PIDS, lets the container set itself up, and only then waits
// for MON_READY, so the two overlap.
// Syscalls: mmap, munmap, pipe2, socketpair, clone, setns, setsid,
// fcntl(F_DUPFD), dup2, close_range, execve, sendmsg, kill, waitpid, poll.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "monitor_launch.h"
#include "monitor_protocol.h"

static const int kMonitorTimeoutMs = 30000;

static void send_frame(int fd, uint32_t type, int e, const char *syscall, int v0 = 0, int v1 = 0) {
  sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.err = e;
  m.value[0] = v0;
  m.value[1] = v1;
  if (syscall) s_append(m.syscall, sizeof m.syscall, syscall);
  s_append(m.step, sizeof m.step, "monitor");
  send(fd, &m, sizeof m, MSG_NOSIGNAL);
}

// Moves `fd` to number `target` (fd may already sit on a low number that
// another move needs, so callers first lift everything above 10).
static void move_fd(int fd, int target) {
  if (fd >= 0 && fd != target) dup2(fd, target);
}

struct launch_fds {
  int ctl;            // launcher's end of the control socket
  int out_r, err_r;   // container stdout/stderr read ends (-1 with a terminal)
  int in_w;           // container stdin write end (-1 without --stdin)
};

struct launch_args {
  const container_config *c;
  int child_sync_fd;    // the container's end of the sync socket
  int parent_sync_fd;   // the addon's end (closed here)
  int ctl_parent;       // the addon's end of the control socket (closed here)
  launch_fds f;
  char *const *argv;
  char *pid_slot;
  char *monitor_stack;  // top of the future monitor's stack
};

// The future monitor (shares Node's memory until its execve).
static int monitor_main(void *arg) {
  const launch_args *a = (const launch_args *)arg;
  const container_config *c = a->c;
  launch_fds f = a->f;
  // A pid namespace to join (--pid container:X) is entered here, so the
  // container is born in it as the monitor's own child: joining it in the
  // child would need another fork, whose process the monitor could not wait
  // for. setns(CLONE_NEWPID) moves only our future children; the monitor
  // itself stays where it is.
  bool pid_ns_entered = false;
  if (!c->userns_late) {
    for (size_t i = 0; i < c->n_joins; i++) {
      if (c->joins[i].flag != CLONE_NEWPID) continue;
      int fd = open(c->joins[i].path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWPID) != 0) {
        send_frame(f.ctl, MON_ERROR, errno, "setns");
        _exit(1);
      }
      close(fd);
      pid_ns_entered = true;
    }
  }
  // The container's copy of the config says so; Node's (shared here) is
  // put back before the addon runs again.
  bool was = c->pid_ns_entered;
  const_cast<container_config *>(c)->pid_ns_entered = was || pid_ns_entered;
  // A fork: the container gets its own copy of the memory and runs on its
  // copy of this stack until execve.
  pid_t cpid = (pid_t)syscall(SYS_clone, clone_flags_at_clone(c) | SIGCHLD, 0, 0, 0, 0);
  if (cpid == 0) {
    close(f.ctl);
    child_main(c, a->child_sync_fd);
  }
  const_cast<container_config *>(c)->pid_ns_entered = was;
  if (cpid < 0) {
    send_frame(f.ctl, MON_ERROR, errno, "clone");
    _exit(1);
  }
  char *pid_slot = a->pid_slot;
  pid_slot[0] = 0;
  s_append_uint(pid_slot, 16, (unsigned long)cpid);
  send_frame(f.ctl, MON_PIDS, 0, nullptr, (int)getpid(), (int)cpid);

  int lifted[4] = {f.ctl, f.out_r, f.err_r, f.in_w};
  for (int &fd : lifted)
    if (fd >= 0) fd = fcntl(fd, F_DUPFD, 10);
  move_fd(lifted[0], MON_FD_CTL);
  move_fd(lifted[1], MON_FD_STDOUT);
  move_fd(lifted[2], MON_FD_STDERR);
  move_fd(lifted[3], MON_FD_STDIN);
  syscall(SYS_close_range, 7U, ~0U, 0U);
  for (int fd = MON_FD_STDOUT; fd <= MON_FD_STDIN; fd++)
    if (lifted[fd - MON_FD_CTL] < 0) close(fd);
  // Our stdio is Node's (maybe a terminal); the monitor needs none of it.
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    if (devnull > 2) close(devnull);
  }
  char *const envp[] = {nullptr};
  execve(a->argv[0], a->argv, envp);
  send_frame(MON_FD_CTL, MON_ERROR, errno, "execve");
  kill(cpid, SIGKILL);
  _exit(127);
}

// The launcher (shares Node's memory until it exits).
static int launcher_main(void *arg) {
  const launch_args *a = (const launch_args *)arg;
  close(a->ctl_parent);
  // The addon's end: held here (and by the container cloned next) it
  // would hide the addon's death from a child waiting for SYNC_GO.
  close(a->parent_sync_fd);
  setsid();
  // Returns once the monitor has exec'd (or failed); we leave at once, so
  // the monitor is adopted by init.
  pid_t mid = clone(monitor_main, a->monitor_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
  if (mid < 0) send_frame(a->f.ctl, MON_ERROR, errno, "clone");
  _exit(mid < 0 ? 1 : 0);
}

// Stacks for the future monitor and the launcher, each above a guard page:
//   [guard][monitor's 8 MiB][guard][launcher's 64 KiB]
// The container's set-up (child_main, and its init if any) runs on its copy
// of the monitor's, so it gets what a main thread would. Reserved, not
// committed: only the pages touched cost anything.
static const size_t kGuard = 4096;
static const size_t kMonitorStack = 8 * 1024 * 1024;
static const size_t kLauncherStack = 64 * 1024;
static const size_t kStacks = kGuard + kMonitorStack + kGuard + kLauncherStack;

static void set_eof(sync_msg *err) {
  memset(err, 0, sizeof *err);
  err->err = EPIPE;
  strcpy(err->step, "monitor");
  strcpy(err->syscall, "recvmsg");
}

// A MON_ERROR frame as the error to report (an execve names the binary).
static void monitor_error(const MonitorLaunch *m, const sync_msg *msg, sync_msg *err) {
  *err = *msg;
  if (m->opts && m->opts->monitor_argv.size() && strcmp(msg->syscall, "execve") == 0)
    strncpy(err->path, m->opts->monitor_argv[0].c_str(), sizeof err->path - 1);
}

int launch_monitor(container_config *c, const SpawnOptions &opts, int parent_sync_fd, int child_sync_fd, MonitorLaunch *out,
                   sync_msg *err) {
  int ctl[2], o[2] = {-1, -1}, e[2] = {-1, -1}, in[2] = {-1, -1};
  auto fail = [&](const char *syscall) {
    memset(err, 0, sizeof *err);
    err->err = errno;
    strcpy(err->step, "monitor");
    strncpy(err->syscall, syscall, sizeof err->syscall - 1);
    return -1;
  };
  auto close_all = [&]() {
    for (int fd : {o[0], o[1], e[0], e[1], in[0], in[1]})
      if (fd >= 0) close(fd);
  };
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0) return fail("socketpair");
  if (!c->terminal) {
    if (pipe2(o, O_CLOEXEC) != 0 || pipe2(e, O_CLOEXEC) != 0 || (opts.monitor_stdin && pipe2(in, O_CLOEXEC) != 0)) {
      int r = fail("pipe2");
      close_all();
      close(ctl[0]);
      close(ctl[1]);
      return r;
    }
    c->stdio[1] = o[1];
    c->stdio[2] = e[1];
    if (opts.monitor_stdin) c->stdio[0] = in[0];
  }
  std::vector<std::string> args = opts.monitor_argv;
  std::vector<char *> argv;
  char *pid_slot = nullptr;
  static char pid_buf[16];
  for (size_t i = 0; i < args.size(); i++) {
    if (i > 0 && args[i - 1] == "--pid") {
      argv.push_back(pid_buf);
      pid_slot = pid_buf;
    } else {
      argv.push_back(&args[i][0]);
    }
  }
  argv.push_back(nullptr);
  char *stacks = (char *)mmap(nullptr, kStacks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (stacks == MAP_FAILED || mprotect(stacks, kGuard, PROT_NONE) != 0 ||
      mprotect(stacks + kGuard + kMonitorStack, kGuard, PROT_NONE) != 0) {
    if (stacks != MAP_FAILED) munmap(stacks, kStacks);
    int r = fail("mmap");
    close_all();
    close(ctl[0]);
    close(ctl[1]);
    return r;
  }
  out->opts = &opts;
  launch_args la = {c, child_sync_fd, parent_sync_fd, ctl[0], {ctl[1], o[0], e[0], in[1]}, argv.data(),
                    pid_slot ? pid_slot : pid_buf, stacks + kGuard + kMonitorStack};

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t launcher = clone(launcher_main, stacks + kStacks, CLONE_VM | CLONE_VFORK | SIGCHLD, &la);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  // Both have left our memory: the launcher exited, the monitor exec'd.
  munmap(stacks, kStacks);
  close(ctl[1]);
  close_all();
  if (launcher < 0) {
    errno = clone_err;
    close(ctl[0]);
    return fail("clone");
  }
  int status;
  while (waitpid(launcher, &status, 0) < 0 && errno == EINTR) {
  }
  out->ctl = ctl[0];
  sync_msg m;
  int got = recv_frame(ctl[0], &m, nullptr, kMonitorTimeoutMs, err);
  if (got > 0 && m.type == MON_PIDS) {
    out->monitor_pid = m.value[0];
    out->container_pid = m.value[1];
    return 0;
  }
  if (got > 0) monitor_error(out, &m, err);
  else if (got == 0) set_eof(err);
  monitor_abort(out);
  return -1;
}

int monitor_wait_ready(MonitorLaunch *m, sync_msg *err) {
  for (;;) {
    sync_msg msg;
    int got = recv_frame(m->ctl, &msg, nullptr, kMonitorTimeoutMs, err);
    if (got > 0 && msg.type == MON_READY) return 0;
    if (got > 0 && msg.type != MON_ERROR) continue;
    if (got > 0) monitor_error(m, &msg, err);
    else if (got == 0) set_eof(err);
    return -1;
  }
}

bool monitor_failed(MonitorLaunch *m, sync_msg *err) {
  struct pollfd p = {m->ctl, POLLIN, 0};
  if (m->ctl < 0 || poll(&p, 1, 0) != 1) return false;
  sync_msg msg;
  sync_msg ignored;
  if (recv_frame(m->ctl, &msg, nullptr, 0, &ignored) <= 0 || msg.type != MON_ERROR) return false;
  monitor_error(m, &msg, err);
  return true;
}

void monitor_abort(MonitorLaunch *m) {
  if (m->container_pid > 0) kill(m->container_pid, SIGKILL);
  if (m->monitor_pid > 0) kill(m->monitor_pid, SIGKILL);
  if (m->ctl >= 0) close(m->ctl);
  m->ctl = -1;
}

int monitor_take_pty(MonitorLaunch *m, int pty_fd, sync_msg *err) {
  sync_msg msg;
  memset(&msg, 0, sizeof msg);
  msg.type = MON_PTY;
  if (send_with_fd(m->ctl, &msg, sizeof msg, pty_fd) < 0) {
    memset(err, 0, sizeof *err);
    err->err = errno;
    strcpy(err->step, "monitor");
    strcpy(err->syscall, "sendmsg");
    return -1;
  }
  return 0;
}
