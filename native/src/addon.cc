// The addon's export list; each function lives in the file named beside it.
#include <napi.h>

#include "cgroup.h"
#include "errors.h"
#include "fsops.h"
#include "hooks.h"
#include "spawn.h"

static Napi::Value SetErrorClassJs(const Napi::CallbackInfo &info) {
  SetErrorClass(info);
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClassJs));  // errors.cc
  exports.Set("spawn", Napi::Function::New(env, Spawn));                    // spawn.cc
  exports.Set("waitExit", Napi::Function::New(env, WaitExit));              // wait.cc
  exports.Set("waitExec", Napi::Function::New(env, WaitExec));              // spawn.cc
  exports.Set("probeNamespace", Napi::Function::New(env, ProbeNamespace));  // probe.cc
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize));          // probe.cc
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));                  // handoff.cc
  exports.Set("sendFd", Napi::Function::New(env, SendFd));                  // handoff.cc
  exports.Set("cgroupWrite", Napi::Function::New(env, CgroupWrite));        // cgroup.cc
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter));  // cgroup.cc
  exports.Set("mknod", Napi::Function::New(env, Mknod));                    // fsops.cc
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));            // fsops.cc
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));            // fsops.cc
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr));          // fsops.cc
  exports.Set("mount", Napi::Function::New(env, Mount));                    // fsops.cc
  exports.Set("seccompCompile", Napi::Function::New(env, SeccompCompile));  // seccomp.cc
  exports.Set("seccompInfo", Napi::Function::New(env, SeccompInfo));        // seccomp.cc
  exports.Set("runHooks", Napi::Function::New(env, RunHooks));              // hooks.cc
  return exports;
}

NODE_API_MODULE(tsrun, Init)
