// Starting a container's first process: the parent half (runs on Node's main
// thread) and the child's step sequence (runs between clone and execve and
// is async-signal-safe: see child.h). The protocol is drawn in sync.h.
// Syscalls: socketpair, clone, pthread_sigmask, sigaction, prctl, sethostname,
// send/recvmsg, poll, waitpid, kill.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "config_holder.h"
#include "errors.h"
#include "spawn.h"
#include "sync.h"

// How long the parent waits for the child to reach execve.
static const int kSetupTimeoutMs = 60000;

[[noreturn]] static void child_main(const container_config *c, int sync_fd) {
  g_child_sync_fd = sync_fd;
  // First: until execve nothing in the container may open /proc/PID/exe
  // (the host's node binary) or read this copy of Node's memory.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Node's handlers (and its SIG_IGN for SIGPIPE) must not reach the
  // container; signals stay blocked until just before execve.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  if (c->kill_on_parent_death) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  sync_msg go;
  ssize_t n;
  do { n = recv(sync_fd, &go, sizeof go, 0); } while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof go || go.type != SYNC_GO) _exit(1);  // parent went away

  if (c->init) child_init_disguise();
  child_join_namespaces(c);
  if (c->clone_flags & CLONE_NEWNET) child_loopback_up();
  if ((c->clone_flags & CLONE_NEWUTS) && c->hostname && sethostname(c->hostname, s_len(c->hostname)) != 0)
    child_fail("hostname", "sethostname", c->hostname);
  child_prepare_rootfs(c);
  child_enter_rootfs(c);
  child_mask_paths(c);
  child_setup_console(c);
  child_setup_stdio(c);
  child_set_process_limits(c);
  child_bounding_set(c);
  child_switch_user(c);
  child_capabilities(c);
  child_close_fds();
  if (c->init) child_run_init(c);
  child_exec(c);
}

// Reads frames until EOF (exec succeeded) or an error frame.
// Returns 0, or fills *err and returns -1.
static int read_frames(int fd, pid_t pid, int *pty_fd, sync_msg *err) {
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int pr = poll(&pfd, 1, kSetupTimeoutMs);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) {
      kill(pid, SIGKILL);
      memset(err, 0, sizeof *err);
      err->err = ETIMEDOUT;
      strcpy(err->step, "setup");
      strcpy(err->syscall, "poll");
      return -1;
    }
    sync_msg m;
    char ctrl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&m, sizeof m};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return 0;
    if (n != (ssize_t)sizeof m) {
      memset(err, 0, sizeof *err);
      err->err = n < 0 ? errno : EPROTO;
      strcpy(err->step, "setup");
      strcpy(err->syscall, "recvmsg");
      return -1;
    }
    if (m.type == SYNC_ERROR) {
      *err = m;
      return -1;
    }
    if (m.type == SYNC_PTY) {
      struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
      if (cm && cm->cmsg_type == SCM_RIGHTS) memcpy(pty_fd, CMSG_DATA(cm), sizeof(int));
    }
  }
}

// spawn(config: NativeContainerConfig): SpawnResult
Napi::Value Spawn(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ConfigHolder holder(info[0].As<Napi::Object>());
  const container_config *c = &holder.cfg;

  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
    throw MakeSystemError(env, errno, "spawn", "socketpair", nullptr);

  // Block every signal across clone so no Node handler ever runs in the
  // child (node-pty does the same); the parent restores its mask at once.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)c->clone_flags | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    close(sp[0]);
    child_main(c, sp[1]);
  }
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(sp[1]);
  if (pid < 0) {
    close(sp[0]);
    throw MakeSystemError(env, clone_err, "namespaces", "clone", nullptr);
  }

  sync_msg go = {};
  go.type = SYNC_GO;
  int pty_fd = -1;
  sync_msg err = {};
  int rc;
  if (send(sp[0], &go, sizeof go, MSG_NOSIGNAL) != (ssize_t)sizeof go) {
    err.err = errno;
    strcpy(err.step, "setup");
    strcpy(err.syscall, "send");
    rc = -1;
  } else {
    rc = read_frames(sp[0], pid, &pty_fd, &err);
  }
  close(sp[0]);
  if (rc != 0) {
    if (pty_fd >= 0) close(pty_fd);
    // The child exits right after reporting; reap it so nothing lingers.
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw MakeSystemError(env, err.err, err.step, err.syscall, err.path[0] ? err.path : nullptr);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", pid);
  result.Set("ptyMaster", pty_fd);
  return result;
}
