// cgroup.cc: control-file writes and the cgroup v2 eBPF device filter.
#pragma once
#include <napi.h>

Napi::Value CgroupWrite(const Napi::CallbackInfo &info);
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo &info);
