// OCI hooks (runtime-spec config.md#posix-platform-hooks): each hook runs
// with the container's state JSON on stdin, in order, and the first that
// fails (cannot be executed, exits non-zero, outlives its timeout) stops the
// rest. One runner serves the parent (createRuntime, and through runHooks
// the poststart/poststop hooks the JS side runs) and the container's child
// (createContainer, startContainer), so it is async-signal-safe: it may run
// in a copy of Node between clone and execve.
// Syscalls: memfd_create, write, lseek, pipe2, clone, dup2, close_range,
// rt_sigprocmask, rt_sigaction, execve, pidfd_open, poll, wait4, kill.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#include "child.h"
#include "errors.h"
#include "hooks.h"

static bool write_all(int fd, const char *s) {
  size_t len = s_len(s);
  while (len > 0) {
    ssize_t n = write(fd, s, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s += n;
    len -= (size_t)n;
  }
  return true;
}

// A memfd holding {"pid":PID,<state_rest>: the state document on stdin.
static int state_fd(pid_t pid, const char *state_rest) {
  int fd = (int)syscall(SYS_memfd_create, "oci-state", MFD_CLOEXEC);
  if (fd < 0) return -1;
  char head[40] = "{\"pid\":";
  s_append_uint(head, sizeof head, (unsigned long)pid);
  s_append(head, sizeof head, ",");
  if (!write_all(fd, head) || !write_all(fd, state_rest)) {
    close(fd);
    return -1;
  }
  return fd;
}

[[noreturn]] static void hook_child(const hook_spec *h, int stdin_fd, int errpipe) {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  lseek(stdin_fd, 0, SEEK_SET);
  if (dup2(stdin_fd, 0) < 0) goto fail;
  // Nothing of ours may leak into the hook; the error pipe closes at execve.
  syscall(SYS_close_range, 3U, ~0U, (unsigned)CLOSE_RANGE_CLOEXEC);
  execve(h->path, h->argv, h->envp);
fail:
  int e = errno;
  ssize_t r = write(errpipe, &e, sizeof e);
  (void)r;
  _exit(127);
}

// Waits for pid for at most timeout_s seconds (0: forever). Returns the
// wait status, or -1 with errno ETIMEDOUT after killing it.
static int wait_hook(pid_t pid, int timeout_s) {
  int status = 0;
  if (timeout_s > 0) {
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
      struct pollfd p = {pfd, POLLIN, 0};
      int r;
      do { r = poll(&p, 1, timeout_s * 1000); } while (r < 0 && errno == EINTR);
      close(pfd);
      if (r == 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        errno = ETIMEDOUT;
        return -1;
      }
    }
  }
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

int run_hooks(const hook_list *list, pid_t pid, const char *state_rest, hook_failure *fail) {
  if (list->n == 0) return 0;
  int sfd = state_fd(pid, state_rest);
  if (sfd < 0) {
    fail->err = errno;
    fail->index = 0;
    fail->status = -1;
    return -1;
  }
  for (size_t i = 0; i < list->n; i++) {
    const hook_spec *h = &list->items[i];
    fail->index = (int)i;
    fail->status = -1;
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) != 0) {
      fail->err = errno;
      close(sfd);
      return -1;
    }
    pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (child == 0) hook_child(h, sfd, ep[1]);
    int clone_err = errno;
    close(ep[1]);
    if (child < 0) {
      close(ep[0]);
      close(sfd);
      fail->err = clone_err;
      return -1;
    }
    int status = wait_hook(child, h->timeout_s);
    int wait_err = errno;
    int exec_err = 0;
    ssize_t n;
    do { n = read(ep[0], &exec_err, sizeof exec_err); } while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n == (ssize_t)sizeof exec_err) {
      fail->err = exec_err;
    } else if (status < 0) {
      fail->err = wait_err;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fail->err = ECANCELED;
      fail->status = status;
    } else {
      continue;
    }
    close(sfd);
    return -1;
  }
  close(sfd);
  return 0;
}

// "exit status 3" / "killed by signal 9": what failed, for the error's path
// field (sync frames carry no free text otherwise).
void describe_hook_failure(const hook_spec *h, const hook_failure *f, char *out, size_t cap) {
  out[0] = 0;
  s_append(out, cap, h->path);
  if (f->status >= 0 && WIFEXITED(f->status)) {
    s_append(out, cap, ": exit status ");
    s_append_uint(out, cap, (unsigned long)WEXITSTATUS(f->status));
  } else if (f->status >= 0 && WIFSIGNALED(f->status)) {
    s_append(out, cap, ": killed by signal ");
    s_append_uint(out, cap, (unsigned long)WTERMSIG(f->status));
  } else if (f->err == ETIMEDOUT) {
    s_append(out, cap, ": timed out after ");
    s_append_uint(out, cap, (unsigned long)h->timeout_s);
    s_append(out, cap, "s");
  }
}

void child_run_hooks(const container_config *c, const hook_list *list, const char *state, const char *phase) {
  hook_failure f = {};
  if (run_hooks(list, c->host_pid, state, &f) == 0) return;
  char what[1024];
  describe_hook_failure(&list->items[f.index], &f, what, sizeof what);
  child_fail_errno(f.err, "hooks", phase, what);
}

// runHooks(hooks, phase, pid, stateRest): the parent-side runner for JS
// (poststart, poststop). Throws a SystemError with step "hooks".
Napi::Value RunHooks(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array arr = info[0].As<Napi::Array>();
  std::string phase = info[1].As<Napi::String>().Utf8Value();
  pid_t pid = (pid_t)info[2].As<Napi::Number>().Int32Value();
  std::string state = info[3].As<Napi::String>().Utf8Value();
  HookStore store;
  store.load(arr);
  hook_list list = store.list();
  hook_failure f = {};
  if (run_hooks(&list, pid, state.c_str(), &f) == 0) return env.Undefined();
  char what[1024];
  describe_hook_failure(&list.items[f.index], &f, what, sizeof what);
  throw MakeSystemError(env, f.err, "hooks", phase.c_str(), what);
}

void HookStore::load(const Napi::Array &arr) {
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object h = arr.Get(i).As<Napi::Object>();
    Entry e;
    e.path = h.Get("path").As<Napi::String>().Utf8Value();
    Napi::Array args = h.Get("args").As<Napi::Array>();
    for (uint32_t j = 0; j < args.Length(); j++) e.args.push_back(args.Get(j).As<Napi::String>().Utf8Value());
    if (e.args.empty()) e.args.push_back(e.path);
    Napi::Array envs = h.Get("env").As<Napi::Array>();
    for (uint32_t j = 0; j < envs.Length(); j++) e.env.push_back(envs.Get(j).As<Napi::String>().Utf8Value());
    e.timeout = h.Get("timeout").As<Napi::Number>().Int32Value();
    entries.push_back(std::move(e));
  }
  for (Entry &e : entries) {
    for (std::string &a : e.args) e.argv.push_back(const_cast<char *>(a.c_str()));
    e.argv.push_back(nullptr);
    for (std::string &v : e.env) e.envp.push_back(const_cast<char *>(v.c_str()));
    e.envp.push_back(nullptr);
    specs.push_back({e.path.c_str(), e.argv.data(), e.envp.data(), e.timeout});
  }
}

hook_list HookStore::list() const { return {specs.data(), specs.size()}; }
