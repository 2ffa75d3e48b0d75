// Native errors reach JS as instances of the NativeSystemError class that
// src/native/binding.ts hands over at load time (better-sqlite3's model), so
// they carry code/errno/syscall/path/step like Node's SystemError.
#pragma once
#include <napi.h>

void SetErrorClass(const Napi::CallbackInfo &info);
// Builds (does not throw) the JS error for errno `err` at `step`.
Napi::Error MakeSystemError(Napi::Env env, int err, const char *step, const char *syscall, const char *path);
