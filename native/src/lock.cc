// Advisory file locks for the stores (one lock file per store or
// container), so parallel CLIs serialise their read-modify-write steps.
// Node has no flock of its own.
// Syscalls: flock.
#include <errno.h>
#include <sys/file.h>

#include "errors.h"
#include "spawn.h"

// flock(fd, exclusive): non-blocking; returns true when locked, false when
// another holder has it (EWOULDBLOCK), throws on any other error.
Napi::Value Flock(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].ToBoolean().Value();
  int rc;
  do { rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB); } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  throw MakeSystemError(info.Env(), errno, "lock", "flock", nullptr);
}
