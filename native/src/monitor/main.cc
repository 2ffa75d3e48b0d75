// tsrun-monitor's event loop (see monitor.h for what it is).
//   tsrun-monitor --dir DIR --pid PID [--log FILE] [--oom-file FILE]
//                 [--log-max-size BYTES] [--log-max-file N] [--log-compress]
//                 [--health-interval MS] [--health-timeout MS]
//                 [--health-start-period MS] [--health-start-interval MS]
//                 [--health-cmd N ARG1 … ARGN]
//                 [--events JOURNAL DIE-LINE OOM-LINE]
//                 [--terminal] [--stdin] [--owner-attach] [-- EXIT-COMMAND...]
// fds on entry (monitor_protocol.h): 3 control socket, 4/5 the container's
// stdout/stderr pipes, 6 its stdin pipe; with --terminal the pty master
// arrives on fd 3 instead. In DIR it writes `pids` ("MONITOR CONTAINER")
// at start and `exit.json` at the end, and listens on `attach`.
// Syscalls: signalfd, poll, read, waitpid, recvmsg, open, rename, execv
// (log rotation: log.cc; health checks: health.cc; the die event: events.cc).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../monitor_protocol.h"
#include "monitor.h"

struct options {
  const char *dir = nullptr;
  pid_t pid = 0;
  const char *log = nullptr;
  const char *oom_file = nullptr;
  long log_max_size = 0;
  int log_max_file = 1;
  bool log_compress = false;
  health_opts health = {nullptr, 30000, 30000, 0, 5000};
  exit_events events;
  bool terminal = false;
  bool stdin_open = false;
  // The first attach client is the foreground CLI: if it goes away while the
  // container runs (killed, not detached), the container is killed too.
  bool owner_attach = false;
  char **exit_cmd = nullptr;
};

static const long kMaxHealthArgs = 64;
static char *health_argv[kMaxHealthArgs];

static options parse(int argc, char **argv) {
  options o;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!strcmp(a, "--dir") && next) o.dir = argv[++i];
    else if (!strcmp(a, "--pid") && next) o.pid = (pid_t)parse_num(argv[++i]);
    else if (!strcmp(a, "--log") && next) o.log = argv[++i];
    else if (!strcmp(a, "--oom-file") && next) o.oom_file = argv[++i];
    else if (!strcmp(a, "--log-max-size") && next) o.log_max_size = parse_num(argv[++i]);
    else if (!strcmp(a, "--log-max-file") && next) o.log_max_file = (int)parse_num(argv[++i]);
    else if (!strcmp(a, "--log-compress")) o.log_compress = true;
    else if (!strcmp(a, "--health-interval") && next) o.health.interval_ms = parse_num(argv[++i]);
    else if (!strcmp(a, "--health-timeout") && next) o.health.timeout_ms = parse_num(argv[++i]);
    else if (!strcmp(a, "--health-start-period") && next) o.health.start_period_ms = parse_num(argv[++i]);
    else if (!strcmp(a, "--health-start-interval") && next) o.health.start_interval_ms = parse_num(argv[++i]);
    else if (!strcmp(a, "--health-cmd") && next) {
      // N words follow, copied out with the null execv wants after them.
      long n = parse_num(argv[++i]);
      if (n <= 0 || n > argc - i - 1 || n >= kMaxHealthArgs) return options();
      for (long k = 0; k < n; k++) health_argv[k] = argv[++i];
      health_argv[n] = nullptr;
      o.health.argv = health_argv;
    }
    else if (!strcmp(a, "--events") && i + 3 < argc) {
      o.events.journal = argv[++i];
      o.events.die = argv[++i];
      o.events.oom = argv[++i];
    }
    else if (!strcmp(a, "--terminal")) o.terminal = true;
    else if (!strcmp(a, "--stdin")) o.stdin_open = true;
    else if (!strcmp(a, "--owner-attach")) o.owner_attach = true;
    else if (!strcmp(a, "--")) {
      if (i + 1 < argc) o.exit_cmd = &argv[i + 1];
      break;
    }
  }
  return o;
}

// tsrun-log-gzip, beside this executable (engine.ts starts us by our absolute path).
static const char *gzip_helper(const char *self) {
  static char path[4096];
  const char *slash = strrchr(self, '/');
  if (!slash) return nullptr;
  size_t n = (size_t)(slash - self) + 1;
  if (n + sizeof "tsrun-log-gzip" > sizeof path) return nullptr;
  memcpy(path, self, n);
  memcpy(path + n, "tsrun-log-gzip", sizeof "tsrun-log-gzip");
  return path;
}

// Reads the "oom_kill N" counter (cgroup v2 memory.events, v1 memory.oom_control).
static long oom_kills(const char *file) {
  if (!file) return -1;
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  for (char *p = buf; (p = strstr(p, "oom_kill ")) != nullptr; p++)
    if (p == buf || p[-1] == '\n') return parse_num(p + 9);
  return -1;
}

// Written whole or not at all (temp file + rename), never fsync'd: these
// files describe processes, which a reboot or power loss ends anyway, and
// they live under the runroot (a tmpfs where there is one).
static void write_atomic(const char *name, const char *data, size_t n) {
  char tmp[64];
  size_t tl = 0;
  tmp[0] = 0;
  put_str(tmp, sizeof tmp, &tl, ".");
  put_str(tmp, sizeof tmp, &tl, name);
  put_str(tmp, sizeof tmp, &tl, ".tmp");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  bool ok = write_all(fd, data, n);
  close(fd);
  if (ok) syscall(SYS_renameat, AT_FDCWD, tmp, AT_FDCWD, name);
  else unlink(tmp);
}

static void send_ready() {
  sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = MON_READY;
  send(MON_FD_CTL, &m, sizeof m, MSG_NOSIGNAL);
}

// Receives a control frame; returns false at EOF. A MON_PTY frame sets *pty.
static bool read_control(int *pty) {
  sync_msg m;
  char ctrl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&m, sizeof m};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  ssize_t n = recvmsg(MON_FD_CTL, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (m.type == MON_PTY && cm && cm->cmsg_type == SCM_RIGHTS) memcpy(pty, CMSG_DATA(cm), sizeof(int));
  return true;
}

int main(int argc, char **argv) {
  options o = parse(argc, argv);
  if (!o.dir || o.pid <= 0 || chdir(o.dir) != 0) return 2;
  // Signals: SIGCHLD arrives through signalfd; the rest must not kill us
  // (a terminal's SIGHUP, a stray SIGINT): only SIGKILL stops a monitor.
  sigset_t mask;
  sigfillset(&mask);
  sigprocmask(SIG_SETMASK, &mask, nullptr);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

  char pids[48];
  size_t plen = 0;
  put_num(pids, sizeof pids, &plen, getpid());
  put_str(pids, sizeof pids, &plen, " ");
  put_num(pids, sizeof pids, &plen, o.pid);
  put_str(pids, sizeof pids, &plen, "\n");
  write_atomic("pids", pids, plen);
  if (o.log) log_open(o.log, o.log_max_size, o.log_max_file, o.log_compress ? gzip_helper(argv[0]) : nullptr);
  health_init(o.health);
  long oom_before = oom_kills(o.oom_file);
  int lfd = attach_listen("attach");
  send_ready();

  int ctl = MON_FD_CTL;
  int out = o.terminal ? -1 : MON_FD_STDOUT;
  int err = o.terminal ? -1 : MON_FD_STDERR;
  int in = o.stdin_open && !o.terminal ? MON_FD_STDIN : -1;
  int pty = -1;
  bool stdin_closed = false;
  bool exited = false;
  int status = 0;
  int drain_rounds = 0;
  int owner = -1;
  static char buf[8192];

  for (;;) {
    if (exited && out < 0 && err < 0 && pty < 0) break;
    struct pollfd p[32];
    int n = 0;
    int i_sig = -1, i_ctl = -1, i_out = -1, i_err = -1, i_pty = -1, i_lis = -1;
    if (sfd >= 0 && !exited) { i_sig = n; p[n++] = {sfd, POLLIN, 0}; }
    if (ctl >= 0) { i_ctl = n; p[n++] = {ctl, POLLIN, 0}; }
    if (out >= 0) { i_out = n; p[n++] = {out, POLLIN, 0}; }
    if (err >= 0) { i_err = n; p[n++] = {err, POLLIN, 0}; }
    if (pty >= 0) { i_pty = n; p[n++] = {pty, POLLIN, 0}; }
    if (lfd >= 0 && !exited) { i_lis = n; p[n++] = {lfd, POLLIN, 0}; }
    int first_client = n;
    n += attach_poll_fds(p + n, 32 - n);
    // Once the container is gone, wait briefly for the last output: a
    // process outside its pid namespace could hold the pipe open forever.
    int r = poll(p, (nfds_t)n, exited ? 200 : health_poll_timeout());
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 && exited && ++drain_rounds >= 5) break;
    auto pump = [&](int idx, int *fd, int stream) {
      if (idx < 0 || !p[idx].revents) return;
      ssize_t k = read(*fd, buf, sizeof buf);
      if (k < 0 && errno == EINTR) return;
      if (k <= 0) {  // EOF, or EIO once a pty's last slave closes
        close(*fd);
        *fd = -1;
        return;
      }
      log_data(stream, buf, (size_t)k);
      attach_broadcast(stream, buf, (size_t)k);
    };
    // Accept first: a client that connected before the output was produced
    // (a foreground run attaches before it starts) must not miss it.
    if (i_lis >= 0 && p[i_lis].revents) {
      attach_accept(lfd);
      if (o.owner_attach && owner < 0) owner = attach_last_fd();
    }
    pump(i_out, &out, 1);
    pump(i_err, &err, 2);
    pump(i_pty, &pty, 1);
    if (i_ctl >= 0 && p[i_ctl].revents && !read_control(&pty)) {
      close(ctl);
      ctl = -1;
    }
    for (int k = first_client; k < n; k++)
      if (p[k].revents) attach_client_ready(p[k].fd, p[k].revents, in, pty, &stdin_closed);
    if (owner >= 0 && !exited && !attach_has(owner)) {
      kill(o.pid, SIGKILL);
      owner = -1;
    }
    if (i_sig >= 0 && p[i_sig].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      // Our children: the container, a health check command, a log compressor.
      int st;
      for (pid_t w; (w = waitpid(-1, &st, WNOHANG)) > 0;) {
        if (w == o.pid) {
          status = st;
          exited = true;
        } else if (!health_reaped(w, st)) {
          log_reaped(w);
        }
      }
    }
    if (exited) health_stop();
    else health_tick();
  }

  health_stop();
  log_flush();
  log_close();
  long oom_after = oom_kills(o.oom_file);
  bool oom = oom_after > 0 && oom_after > (oom_before < 0 ? 0 : oom_before);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  char now[64];
  format_now(now);
  char json[256];
  size_t jlen = 0;
  json[0] = 0;
  put_str(json, sizeof json, &jlen, "{\"exitCode\":");
  put_num(json, sizeof json, &jlen, code);
  put_str(json, sizeof json, &jlen, ",\"signal\":");
  put_num(json, sizeof json, &jlen, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  put_str(json, sizeof json, &jlen, ",\"finishedAt\":\"");
  put_str(json, sizeof json, &jlen, now);
  put_str(json, sizeof json, &jlen, oom ? "\",\"oomKilled\":true}\n" : "\",\"oomKilled\":false}\n");
  write_atomic("exit.json", json, jlen);
  journal_exit(o.events, code, oom);
  attach_exit(code);
  if (lfd >= 0) unlink("attach");
  if (o.exit_cmd) {
    sigemptyset(&mask);
    sigprocmask(SIG_SETMASK, &mask, nullptr);
    execv(o.exit_cmd[0], o.exit_cmd);
  }
  return 0;
}
