// Starting a detached container under its monitor. The addon forks a
// launcher (a copy of Node: async-signal-safe calls only), which forks
// again so the monitor is not Node's child (no zombie in a long-lived Node
// process), starts its own session, clones the container so the monitor
// is its parent and can wait for it, and execs the monitor binary with the
// container's stdio pipes on fixed fds. Protocol: monitor_protocol.h.
// Syscalls: pipe2, socketpair, clone, setns, setsid, fcntl(F_DUPFD), dup2,
// close_range, execve, sendmsg, kill, waitpid.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

[[noreturn]] static void launcher_main(const container_config *c, int sync_fd, launch_fds f,
                                       char *const *argv, char *pid_slot) {
  setsid();
  pid_t mid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (mid < 0) {
    send_frame(f.ctl, MON_ERROR, errno, "clone");
    _exit(1);
  }
  if (mid > 0) _exit(0);  // the addon reaps us; the monitor is adopted by init

  // A pid namespace to join (--pid container:X) is entered here, so the
  // container is born in it as the monitor's own child: joining it in the
  // child would need another fork, whose process the monitor could not wait
  // for. setns(CLONE_NEWPID) moves only our future children; the monitor
  // itself stays where it is.
  if (!c->userns_late) {
    for (size_t i = 0; i < c->n_joins; i++) {
      if (c->joins[i].flag != CLONE_NEWPID) continue;
      int fd = open(c->joins[i].path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWPID) != 0) {
        send_frame(f.ctl, MON_ERROR, errno, "setns");
        _exit(1);
      }
      close(fd);
      const_cast<container_config *>(c)->pid_ns_entered = true;
    }
  }
  pid_t cpid = (pid_t)syscall(SYS_clone, clone_flags_at_clone(c) | SIGCHLD, 0, 0, 0, 0);
  if (cpid == 0) {
    close(f.ctl);
    child_main(c, sync_fd);
  }
  if (cpid < 0) {
    send_frame(f.ctl, MON_ERROR, errno, "clone");
    _exit(1);
  }
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
  execve(argv[0], argv, envp);
  send_frame(MON_FD_CTL, MON_ERROR, errno, "execve");
  kill(cpid, SIGKILL);
  _exit(127);
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
  launch_fds f = {ctl[1], o[0], e[0], in[1]};

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t launcher = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (launcher == 0) {
    close(ctl[0]);
    // The addon's end: held here (and by the container cloned next) it
    // would hide the addon's death from a child waiting for SYNC_GO.
    close(parent_sync_fd);
    launcher_main(c, child_sync_fd, f, argv.data(), pid_slot ? pid_slot : pid_buf);
  }
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
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
  for (;;) {
    sync_msg m;
    int got = recv_frame(ctl[0], &m, nullptr, kMonitorTimeoutMs, err);
    if (got < 0) break;
    if (got == 0) {
      memset(err, 0, sizeof *err);
      err->err = EPIPE;
      strcpy(err->step, "monitor");
      strcpy(err->syscall, "recvmsg");
      break;
    }
    if (m.type == MON_PIDS) {
      out->monitor_pid = m.value[0];
      out->container_pid = m.value[1];
    } else if (m.type == MON_READY) {
      return 0;
    } else if (m.type == MON_ERROR) {
      *err = m;
      if (opts.monitor_argv.size() && strcmp(m.syscall, "execve") == 0)
        strncpy(err->path, opts.monitor_argv[0].c_str(), sizeof err->path - 1);
      break;
    }
  }
  if (out->container_pid > 0) kill(out->container_pid, SIGKILL);
  if (out->monitor_pid > 0) kill(out->monitor_pid, SIGKILL);
  close(ctl[0]);
  out->ctl = -1;
  return -1;
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
