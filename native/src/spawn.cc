// Starting a container's first process: the parent half (runs on Node's main
// thread) and the child's step sequence (runs between clone and execve and
// is async-signal-safe: see child.h). The protocol is drawn in sync.h.
// Syscalls: socketpair, pipe2, read, clone, pthread_sigmask, sigaction, prctl, sethostname,
// send/recvmsg, poll, waitpid, kill, open, write (cgroup.procs). A user
// namespace's maps and idmapped rootfs: userns.cc.
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

#include <string>
#include <vector>

#include "child.h"
#include "config_holder.h"
#include "errors.h"
#include "hooks.h"
#include "monitor_launch.h"
#include "spawn.h"
#include "sync.h"
#include "userns.h"

// How long the parent waits for the child to reach execve.
static const int kSetupTimeoutMs = 60000;

unsigned long clone_flags_at_clone(const container_config *c) {
  // userns_late: every namespace is made by unshare after the joins (userns.cc).
  if (c->userns_late) return 0;
  return (unsigned long)c->clone_flags & ~(unsigned long)CLONE_NEWCGROUP;
}

static bool joins_pid_namespace(const container_config *c) {
  if (c->pid_ns_entered) return false;
  for (size_t i = 0; i < c->n_joins; i++)
    if (c->joins[i].flag == CLONE_NEWPID) return true;
  return false;
}

// setns(CLONE_NEWPID) and unshare(CLONE_NEWPID) only move our future
// children, so fork once more (as runc's nsexec does). CLONE_PARENT makes
// the new process our parent's child, so the addon can wait for it; we
// report its pid and leave. The new process waits at a gate (a pipe whose
// write end closes when we exit) until that report is sent: its own frames
// (SYNC_USERNS, SYNC_CREATED) share the socket and must not overtake it, or
// the parent would take our pid for the container's (seen under load when
// joining another pid namespace).
static void fork_into_pid_namespace(const container_config *c) {
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) child_fail("namespaces", "pipe2", nullptr);
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) child_fail("namespaces", "clone", nullptr);
  if (pid == 0) {
    // Parent-death signals are not inherited; the pid-ns fork resets it.
    if (c->kill_on_parent_death) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    close(gate[1]);
    char b;
    ssize_t n;
    do { n = read(gate[0], &b, 1); } while (n < 0 && errno == EINTR);
    close(gate[0]);
    return;
  }
  close(gate[0]);
  sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = SYNC_PID;
  m.value[0] = pid;
  send(g_child_sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  _exit(0);
}

void child_sync_hooks(const container_config *c) {
  sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = SYNC_HOOKS;
  if (send(g_child_sync_fd, &m, sizeof m, MSG_NOSIGNAL) != (ssize_t)sizeof m) child_fail("hooks", "send", nullptr);
  ssize_t n;
  do { n = recv(g_child_sync_fd, &m, sizeof m, 0); } while (n < 0 && errno == EINTR);
  // Anything else: the parent reported the hook's failure itself.
  if (n != (ssize_t)sizeof m || m.type != SYNC_HOOKS_DONE) _exit(1);
}

[[noreturn]] void child_main(const container_config *c, int sync_fd) {
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
  int rootfs_fd = -1;  // an idmapped rootfs comes with GO (userns.cc)
  ssize_t n = recv_with_fd(sync_fd, &go, sizeof go, &rootfs_fd);
  if (n != (ssize_t)sizeof go || go.type != SYNC_GO) _exit(1);  // parent went away
  // Our copy of the config; only the host pid (for hooks' state) is new.
  const_cast<container_config *>(c)->host_pid = go.value[0];
  const_cast<container_config *>(c)->rootfs_mount_fd = rootfs_fd;

  // Only now, inside its cgroup (the parent wrote cgroup.procs before GO),
  // may the process take a cgroup namespace: its root is the cgroup the
  // process is in when it unshares, as in runc.
  if (c->userns_late) {
    // runc's order: join by path with the caller's privileges, then a new
    // user namespace, then the namespaces it is to own (userns.cc).
    if (c->init) child_init_disguise();
    child_join_namespaces(c);
    if (joins_pid_namespace(c)) fork_into_pid_namespace(c);
    child_userns_unshare(c);
    if (c->clone_flags & CLONE_NEWPID) fork_into_pid_namespace(c);
  } else {
    if ((c->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) != 0) child_fail("namespaces", "unshare", "cgroup");
    if (c->init) child_init_disguise();
    child_join_namespaces(c);
    if (joins_pid_namespace(c)) fork_into_pid_namespace(c);
  }
  if (c->exec_mode && c->exec_chroot) chroot_in_place(c->exec_chroot, -1);
  // exec opens no host path: it may become the user namespace's root now.
  if (c->exec_mode) child_userns_become_root(c);
  if (!c->exec_mode) {
    if (c->clone_flags & CLONE_NEWNET) child_loopback_up();
    if ((c->clone_flags & CLONE_NEWUTS) && c->hostname && sethostname(c->hostname, s_len(c->hostname)) != 0)
      child_fail("hostname", "sethostname", c->hostname);
    child_prepare_rootfs(c);
    if (c->create_runtime.n) child_sync_hooks(c);
    child_run_hooks(c, &c->create_container, c->state_creating, "createContainer");
    child_enter_rootfs(c);
    child_sysctls(c);
    child_mask_paths(c);
  }
  child_setup_console(c);
  child_setup_stdio(c);
  child_set_process_limits(c);
  child_drop_inherited_fds(c);
  child_apparmor(c);
  // Without no_new_privs the kernel takes a filter only from a process
  // holding CAP_SYS_ADMIN, so it goes on before the capabilities are
  // dropped (as in runc); with it, after them.
  if (!c->no_new_privs) child_seccomp(c);
  child_bounding_set(c);
  child_switch_user(c);
  child_capabilities(c);
  if (c->no_new_privs) child_seccomp(c);
  // Everything that can fail is done before the wait for `start`, so
  // `create` reports it (as runc does); after it, only the startContainer
  // hooks and execve remain.
  child_wait_start(c);
  if (!c->exec_mode) child_run_hooks(c, &c->start_container, c->state_created, "startContainer");
  child_close_fds(c);
  if (c->init) child_run_init(c);
  child_exec(c);
}

static void set_error(sync_msg *err, int e, const char *step, const char *syscall, const char *path = nullptr) {
  memset(err, 0, sizeof *err);
  err->err = e;
  strncpy(err->step, step, sizeof err->step - 1);
  strncpy(err->syscall, syscall, sizeof err->syscall - 1);
  if (path) strncpy(err->path, path, sizeof err->path - 1);
}

int recv_frame(int fd, sync_msg *m, int *passed_fd, int timeout_ms, sync_msg *err) {
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) {
      set_error(err, ETIMEDOUT, "setup", "poll");
      return -1;
    }
    char ctrl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {m, sizeof *m};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return 0;
    if (n != (ssize_t)sizeof *m) {
      set_error(err, n < 0 ? errno : EPROTO, "setup", "recvmsg");
      return -1;
    }
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm && cm->cmsg_type == SCM_RIGHTS && passed_fd) memcpy(passed_fd, CMSG_DATA(cm), sizeof(int));
    return 1;
  }
}

// Reads the child's frames until EOF (exec succeeded) or, with an exec
// fifo, SYNC_CREATED. Returns 0, or fills *err and returns -1. Follows the
// pid across a pid-namespace fork and reaps the intermediate.
// Runs the createRuntime hooks for the child that asked (SYNC_HOOKS).
static int parent_hooks(int fd, const container_config *c, pid_t pid, sync_msg *err) {
  hook_failure f = {};
  if (run_hooks(&c->create_runtime, pid, c->state_creating, &f) != 0) {
    char what[1024];
    describe_hook_failure(&c->create_runtime.items[f.index], &f, what, sizeof what);
    set_error(err, f.err, "hooks", "createRuntime", what);
    return -1;
  }
  sync_msg done = {};
  done.type = SYNC_HOOKS_DONE;
  if (send(fd, &done, sizeof done, MSG_NOSIGNAL) != (ssize_t)sizeof done) {
    set_error(err, errno, "hooks", "send");
    return -1;
  }
  return 0;
}

static int read_frames(int fd, const container_config *c, pid_t *pid, bool until_created, int *pty_fd, sync_msg *err) {
  for (;;) {
    sync_msg m;
    int got = recv_frame(fd, &m, pty_fd, kSetupTimeoutMs, err);
    if (got < 0) {
      kill(*pid, SIGKILL);
      return -1;
    }
    if (got == 0) {
      if (!until_created) return 0;
      // The child died before it could say why (killed from outside).
      set_error(err, ECHILD, "setup", "waitpid");
      return -1;
    }
    switch (m.type) {
      case SYNC_ERROR: *err = m; return -1;
      case SYNC_CREATED: return 0;
      case SYNC_USERNS:
        if (userns_parent_late(fd, c, *pid, err) != 0) {
          kill(*pid, SIGKILL);
          return -1;
        }
        break;
      case SYNC_HOOKS:
        if (parent_hooks(fd, c, *pid, err) != 0) {
          kill(*pid, SIGKILL);
          return -1;
        }
        break;
      case SYNC_PID: {
        int status;
        while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
        }
        *pid = m.value[0];
        break;
      }
      default: break;
    }
  }
}

static void write_cgroup_procs(const std::vector<std::string> &files, pid_t pid, sync_msg *err) {
  char v[24];
  int len = snprintf(v, sizeof v, "%d", (int)pid);
  for (const std::string &f : files) {
    int fd = open(f.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, v, (size_t)len) != len) {
      set_error(err, errno, "cgroup", fd < 0 ? "open" : "write", f.c_str());
      if (fd >= 0) close(fd);
      return;
    }
    close(fd);
  }
}

SpawnOptions::SpawnOptions(const Napi::Value &v) {
  if (!v.IsObject()) return;
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value cg = o.Get("cgroupProcs");
  if (cg.IsArray())
    for (uint32_t i = 0; i < cg.As<Napi::Array>().Length(); i++)
      cgroup_procs.push_back(cg.As<Napi::Array>().Get(i).As<Napi::String>().Utf8Value());
  Napi::Value ef = o.Get("execFifo");
  if (ef.IsString()) exec_fifo = ef.As<Napi::String>().Utf8Value();
  keep_sync = o.Get("keepSync").ToBoolean().Value();
  Napi::Value mon = o.Get("monitor");
  if (mon.IsObject()) {
    monitor = true;
    Napi::Array a = mon.As<Napi::Object>().Get("argv").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) monitor_argv.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    monitor_stdin = mon.As<Napi::Object>().Get("stdin").ToBoolean().Value();
  }
}

// spawn(config, options?): SpawnResult
Napi::Value Spawn(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ConfigHolder holder(info[0].As<Napi::Object>());
  SpawnOptions opts(info[1]);
  container_config *c = &holder.cfg;

  int fifo = -1;
  if (!opts.exec_fifo.empty()) {
    fifo = open(opts.exec_fifo.c_str(), O_PATH | O_CLOEXEC);
    if (fifo < 0) throw MakeSystemError(env, errno, "create", "open", opts.exec_fifo.c_str());
    c->exec_fifo_fd = fifo;
  }
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
    int e = errno;
    if (fifo >= 0) close(fifo);
    throw MakeSystemError(env, e, "spawn", "socketpair", nullptr);
  }

  pid_t pid = -1;
  sync_msg err = {};
  int rc = 0;
  MonitorLaunch mon;
  if (opts.monitor) {
    rc = launch_monitor(c, opts, sp[0], sp[1], &mon, &err);
    pid = mon.container_pid;
  } else {
    // Block every signal across clone so no Node handler ever runs in the
    // child (node-pty does the same); the parent restores its mask at once.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = (pid_t)syscall(SYS_clone, clone_flags_at_clone(c) | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
      close(sp[0]);
      child_main(c, sp[1]);
    }
    int clone_err = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) {
      set_error(&err, clone_err, "namespaces", "clone");
      rc = -1;
    }
  }
  close(sp[1]);
  if (fifo >= 0) close(fifo);

  int pty_fd = -1;
  int rootfs_fd = -1;
  if (rc == 0) write_cgroup_procs(opts.cgroup_procs, pid, &err);
  if (rc == 0 && !err.err && c->userns && !c->userns_late) userns_parent_setup(c, pid, &rootfs_fd, &err);
  if (rc == 0 && err.err) {
    kill(pid, SIGKILL);
    rc = -1;
  }
  if (rc == 0) {
    sync_msg go = {};
    go.type = SYNC_GO;
    go.value[0] = pid;
    ssize_t sent = rootfs_fd >= 0 ? send_with_fd(sp[0], &go, sizeof go, rootfs_fd) : send(sp[0], &go, sizeof go, MSG_NOSIGNAL);
    if (rootfs_fd >= 0) close(rootfs_fd);
    if (sent != (ssize_t)sizeof go) {
      set_error(&err, errno, "setup", "send");
      rc = -1;
    } else {
      rc = read_frames(sp[0], c, &pid, fifo >= 0, &pty_fd, &err);
    }
  }
  int sync_fd = -1;
  if (rc == 0 && fifo >= 0 && opts.keep_sync) sync_fd = sp[0];
  else close(sp[0]);
  if (opts.monitor) {
    // The container died in its set-up because the monitor failed (its
    // execve): report that, not the child's silence.
    if (rc != 0 && mon.ctl >= 0) monitor_failed(&mon, &err);
    if (rc == 0 && pty_fd >= 0) rc = monitor_take_pty(&mon, pty_fd, &err);
    if (pty_fd >= 0) close(pty_fd);
    pty_fd = -1;
    // The monitor started while the container set itself up; now it must be
    // listening (attach socket, pid file) before we return.
    if (rc == 0) rc = monitor_wait_ready(&mon, &err);
    if (rc != 0) {
      // Neither may outlive a failed create; the monitor would record an exit.
      if (pid > 0) kill(pid, SIGKILL);
      monitor_abort(&mon);
    }
    if (mon.ctl >= 0) close(mon.ctl);
  } else if (rc != 0 && pid > 0) {
    if (pty_fd >= 0) close(pty_fd);
    // The child exits right after reporting; reap it so nothing lingers.
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (rc != 0) {
    if (sync_fd >= 0) close(sync_fd);
    throw MakeSystemError(env, err.err, err.step, err.syscall, err.path[0] ? err.path : nullptr);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("syncFd", sync_fd);
  result.Set("pid", pid);
  result.Set("ptyMaster", pty_fd);
  result.Set("monitorPid", opts.monitor ? mon.monitor_pid : 0);
  return result;
}

// waitExec(syncFd): after `start`, reads the created child's last frames:
// EOF once execve succeeded, or the error of a step after the fifo (user
// switch, working directory, exec). Always closes the fd.
Napi::Value WaitExec(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  sync_msg err = {};
  int rc = 0;
  for (;;) {
    sync_msg m;
    int got = recv_frame(fd, &m, nullptr, kSetupTimeoutMs, &err);
    if (got <= 0) {
      rc = got;
      break;
    }
    if (m.type == SYNC_ERROR) {
      err = m;
      rc = -1;
      break;
    }
  }
  close(fd);
  if (rc != 0) throw MakeSystemError(info.Env(), err.err, err.step, err.syscall, err.path[0] ? err.path : nullptr);
  return info.Env().Undefined();
}
