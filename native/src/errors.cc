// JS errors shaped like Node's SystemError. uv_err_name gives the same codes
// Node uses ('EPERM', 'ENOENT', ...).
#include "errors.h"

#include <string.h>
#include <uv.h>

#include <string>

static Napi::FunctionReference *g_error_class = nullptr;

void SetErrorClass(const Napi::CallbackInfo &info) {
  if (!g_error_class) g_error_class = new Napi::FunctionReference();
  *g_error_class = Napi::Persistent(info[0].As<Napi::Function>());
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
  if (!g_error_class) {
    Napi::Error e = Napi::Error::New(env, msg);
    e.Set("code", fields.Get("code"));
    return e;
  }
  return Napi::Error(env, g_error_class->New({fields}));
}
