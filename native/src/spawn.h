#pragma once
#include <napi.h>

Napi::Value Spawn(const Napi::CallbackInfo &info);
Napi::Value WaitExit(const Napi::CallbackInfo &info);
Napi::Value ProbeNamespace(const Napi::CallbackInfo &info);
Napi::Value SetWinsize(const Napi::CallbackInfo &info);
Napi::Value Mkfifo(const Napi::CallbackInfo &info);
Napi::Value SendFd(const Napi::CallbackInfo &info);
Napi::Value WaitExec(const Napi::CallbackInfo &info);
Napi::Value SeccompCompile(const Napi::CallbackInfo &info);
Napi::Value SeccompInfo(const Napi::CallbackInfo &info);
