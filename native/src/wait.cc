// waitExit(pid): Promise<ExitStatus>. Each wait blocks in waitpid on a
// dedicated thread and reports through a ThreadSafeFunction (node-pty's
// model), so it takes no slot in libuv's small thread pool. libuv only ever
// waits for its own children by pid, so it never reaps ours.
// Syscalls: waitpid.
#include <errno.h>
#include <sys/wait.h>

#include <thread>

#include "errors.h"
#include "spawn.h"

namespace {
struct WaitResult {
  Napi::Promise::Deferred deferred;
  pid_t pid;
  int status = 0;
  int err = 0;
};

void Settle(Napi::Env env, Napi::Function, std::nullptr_t *, WaitResult *r) {
  if (env != nullptr) {
    if (r->err) {
      r->deferred.Reject(MakeSystemError(env, r->err, "wait", "waitpid", nullptr).Value());
    } else {
      Napi::Object o = Napi::Object::New(env);
      bool exited = WIFEXITED(r->status);
      o.Set("exitCode", exited ? Napi::Value(Napi::Number::New(env, WEXITSTATUS(r->status))) : env.Null());
      o.Set("signal", WIFSIGNALED(r->status) ? Napi::Value(Napi::Number::New(env, WTERMSIG(r->status))) : env.Null());
      r->deferred.Resolve(o);
    }
  }
  delete r;
}

using WaitFn = Napi::TypedThreadSafeFunction<std::nullptr_t, WaitResult, Settle>;
}  // namespace

Napi::Value WaitExit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto *r = new WaitResult{Napi::Promise::Deferred::New(env), (pid_t)info[0].As<Napi::Number>().Int32Value()};
  Napi::Promise promise = r->deferred.Promise();
  WaitFn fn = WaitFn::New(env, "tsrun.waitExit", 0, 1);
  std::thread([fn, r]() mutable {
    int rc;
    do { rc = waitpid(r->pid, &r->status, 0); } while (rc < 0 && errno == EINTR);
    if (rc < 0) r->err = errno;
    fn.BlockingCall(r);
    fn.Release();
  }).detach();
  return promise;
}
