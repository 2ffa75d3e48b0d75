// Small host-side helpers: can this kernel create a namespace of a kind
// (for `tsrun check`), and terminal window size on a pty master.
// Syscalls: clone, unshare, waitpid, ioctl(TIOCSWINSZ).
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "errors.h"
#include "spawn.h"

// probeNamespace(cloneFlag): 0 when a namespace of that kind can be
// created, else errno. A throwaway child unshare()s it: unlike clone(), that
// also works for CLONE_NEWTIME, whose bit clone() reads as a signal number.
Napi::Value ProbeNamespace(const Napi::CallbackInfo &info) {
  int flag = info[0].As<Napi::Number>().Int32Value();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(unshare(flag) == 0 ? 0 : (errno & 0xff));
  int err = pid < 0 ? errno : 0;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid > 0) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    err = WIFEXITED(st) ? WEXITSTATUS(st) : EINVAL;
  }
  return Napi::Number::New(info.Env(), err);
}

// setWinsize(fd, rows, cols)
Napi::Value SetWinsize(const Napi::CallbackInfo &info) {
  struct winsize ws = {};
  int fd = info[0].As<Napi::Number>().Int32Value();
  ws.ws_row = (unsigned short)info[1].As<Napi::Number>().Uint32Value();
  ws.ws_col = (unsigned short)info[2].As<Napi::Number>().Uint32Value();
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0) throw MakeSystemError(info.Env(), errno, "console", "ioctl", nullptr);
  return info.Env().Undefined();
}
