// JS errors shaped like Node's SystemError. uv_err_name gives the same codes
// Node uses ('EPERM', 'ENOENT', ...).
#include "errors.h"

#include <string.h>
#include <uv.h>

#include <string>

// Per Node environment (the main thread and each worker thread load the
// addon into their own environment, and a class of one cannot be used in
// another), so it is instance data, not a global.
void SetErrorClass(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto *cls = env.GetInstanceData<Napi::FunctionReference>();
  if (!cls) {
    cls = new Napi::FunctionReference();
    env.SetInstanceData(cls);  // deleted with the environment
  }
  *cls = Napi::Persistent(info[0].As<Napi::Function>());
}

Napi::Error MakeSystemError(Napi::Env env, int err, const char *step, const char *syscall, const char *path) {
  std::string msg = std::string(syscall) + (path && *path ? std::string(" ") + path : "") + ": " + strerror(err);
  Napi::Object fields = Napi::Object::New(env);
  fields.Set("message", msg);
  fields.Set("code", uv_err_name(-err));
  fields.Set("errno", -err);
  fields.Set("syscall", syscall);
  fields.Set("step", step);
  if (path && *path) fields.Set("path", path);
  auto *cls = env.GetInstanceData<Napi::FunctionReference>();
  if (!cls) {
    Napi::Error e = Napi::Error::New(env, msg);
    e.Set("code", fields.Get("code"));
    return e;
  }
  return Napi::Error(env, cls->New({fields}));
}
