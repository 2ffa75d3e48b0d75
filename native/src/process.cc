// Per-process attributes of the container's first process: rlimits,
// oom_score_adj, umask, working directory, user and groups, the fd table,
// the wait on the exec fifo (create/start), and finally execve with a $PATH
// search of the container's own PATH.
// Syscalls: prlimit64, setgroups, setresgid, setresuid (raw: glibc's
// wrappers would try to broadcast to threads that exist only in the parent),
// prctl(PR_SET_KEEPCAPS), mkdir, chdir, close_range, fcntl, stat, access,
// send, open, write, execve.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "sync.h"

static void mkdir_p(const char *path) {
  char buf[1024] = "";
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    s_append(buf, sizeof buf, "/");
    while (*p && *p != '/') {
      char ch[2] = {*p++, 0};
      s_append(buf, sizeof buf, ch);
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) child_fail("cwd", "mkdir", path);
  }
}

void child_set_process_limits(const container_config *c) {
  for (size_t i = 0; i < c->n_rlimits; i++) {
    struct rlimit64 rl = {c->rlimits[i].soft, c->rlimits[i].hard};
    if (syscall(SYS_prlimit64, 0, c->rlimits[i].resource, &rl, nullptr) != 0)
      child_fail("rlimits", "prlimit64", nullptr);
  }
  if (c->has_oom_score_adj) {
    char v[16] = "";
    if (c->oom_score_adj < 0) s_append(v, sizeof v, "-");
    s_append_uint(v, sizeof v, (unsigned long)(c->oom_score_adj < 0 ? -c->oom_score_adj : c->oom_score_adj));
    if (write_file("/proc/self/oom_score_adj", v) != 0) child_fail("oom_score_adj", "write", "/proc/self/oom_score_adj");
  }
  if (c->umask >= 0) umask((mode_t)c->umask);
  // Docker creates a missing working directory (as root, before the switch).
  mkdir_p(c->cwd);
}

void child_switch_user(const container_config *c) {
  // Keep the permitted set across the uid change; caps.cc then sets exactly
  // the sets the spec asks for.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) child_fail("user", "prctl", nullptr);
  if (syscall(SYS_setgroups, c->n_groups, c->groups) != 0) child_fail("user", "setgroups", nullptr);
  if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) != 0) child_fail("user", "setresgid", nullptr);
  if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) != 0) child_fail("user", "setresuid", nullptr);
  if (c->kill_on_parent_death && prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0) != 0)
    child_fail("user", "prctl", nullptr);  // a uid change cleared it; set it again
  if (chdir(c->cwd) != 0) child_fail("cwd", "chdir", c->cwd);
}

void child_drop_inherited_fds(const container_config *c) {
  if (c->exec_fifo_fd < 0) return;
  // The process may wait for `start` a long time: drop every fd inherited
  // from Node now (CLOEXEC would only act at execve), or it would hold the
  // engine's lock files and sockets while it waits. Before the seccomp
  // filter, which may not allow close_range.
  int keep_lo = g_child_sync_fd < c->exec_fifo_fd ? g_child_sync_fd : c->exec_fifo_fd;
  int keep_hi = g_child_sync_fd < c->exec_fifo_fd ? c->exec_fifo_fd : g_child_sync_fd;
  unsigned first = 3U + (unsigned)c->preserve_fds;  // the caller's extra fds stay
  if ((int)first < keep_lo) syscall(SYS_close_range, first, (unsigned)keep_lo - 1, 0U);
  if (keep_hi > keep_lo + 1) syscall(SYS_close_range, (unsigned)keep_lo + 1, (unsigned)keep_hi - 1, 0U);
  syscall(SYS_close_range, (unsigned)keep_hi + 1, ~0U, 0U);
}

void child_close_fds(const container_config *c) {
  // Everything above 2 (and above the preserved fds) goes at execve: the
  // sync socket must stay open until then, since its closing is how the
  // parent learns the exec succeeded.
  unsigned first = 3U + (unsigned)c->preserve_fds;
  for (unsigned fd = 3; fd < first; fd++) {
    int fl = fcntl((int)fd, F_GETFD);
    if (fl >= 0) fcntl((int)fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  struct rlimit rl;
  unsigned long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
  if (max > (1UL << 20)) max = 1UL << 20;
  for (unsigned long fd = first; fd < max; fd++) fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

[[noreturn]] static void exec_failed(int err, const char *path) {
  // Docker's codes: 127 when the command is not there, 126 when it cannot run.
  child_fail_errno(err, "exec", "execve", path, err == ENOENT || err == ENOTDIR ? 127 : 126);
}

// Calls try_one(candidate) for argv[0] itself (when it has a slash) or for
// each $PATH entry, as execvp does; try_one returns only on failure.
template <typename F>
static int search_path(const container_config *c, F try_one) {
  const char *file = c->argv[0];
  for (const char *q = file; *q; q++)
    if (*q == '/') return try_one(file);
  const char *path = c->path_env ? c->path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int last_err = ENOENT;
  const char *p = path;
  while (true) {
    const char *end = p;
    while (*end && *end != ':') end++;
    char full[1024] = "";
    for (const char *q = p; q < end; q++) {
      char ch[2] = {*q, 0};
      s_append(full, sizeof full, ch);
    }
    if (!full[0]) s_append(full, sizeof full, ".");
    s_append(full, sizeof full, "/");
    if (s_append(full, sizeof full, file)) {
      int err = try_one(full);
      // Remember "found but not runnable" over "not here", as execvp does.
      if (err != ENOENT && err != ENOTDIR) last_err = err;
    }
    if (!*end) break;
    p = end + 1;
  }
  return last_err;
}

// Where the create step found the command (exec fifo mode), so a missing
// command fails `create` as in runc, not the later `start`.
static char g_resolved[1024];

void child_wait_start(const container_config *c) {
  if (c->exec_fifo_fd < 0) return;
  int err = search_path(c, [](const char *cand) -> int {
    struct stat st;
    if (stat(cand, &st) != 0) return errno;
    if (!S_ISREG(st.st_mode) || access(cand, X_OK) != 0) return EACCES;
    g_resolved[0] = 0;
    s_append(g_resolved, sizeof g_resolved, cand);
    return 0;
  });
  if (!g_resolved[0]) exec_failed(err, c->argv[0]);
  sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = SYNC_CREATED;
  if (send(g_child_sync_fd, &m, sizeof m, MSG_NOSIGNAL) != (ssize_t)sizeof m) child_fail("create", "send", nullptr);
  // The fifo lives outside the rootfs; reach it through our O_PATH fd.
  // Opening for writing blocks until `start` opens it for reading.
  char p[64] = "/proc/self/fd/";
  s_append_uint(p, sizeof p, (unsigned long)c->exec_fifo_fd);
  int fd;
  do { fd = open(p, O_WRONLY | O_CLOEXEC); } while (fd < 0 && errno == EINTR);
  if (fd < 0) child_fail("start", "open", p);
  if (write(fd, "0", 1) != 1) child_fail("start", "write", p);
  close(fd);
  close(c->exec_fifo_fd);
}

void child_exec(const container_config *c) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (g_resolved[0]) {
    execve(g_resolved, c->argv, c->envp);
    exec_failed(errno, g_resolved);
  }
  int err = search_path(c, [c](const char *cand) -> int {
    execve(cand, c->argv, c->envp);
    return errno;
  });
  exec_failed(err, c->argv[0]);
}
