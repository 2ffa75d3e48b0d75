// Host-side filesystem calls Node has no binding for (layer unpacking,
// overlay rootfs). They run in the Node process, outside any namespace.
#pragma once
#include <napi.h>

Napi::Value Mknod(const Napi::CallbackInfo &info);
Napi::Value Lsetxattr(const Napi::CallbackInfo &info);
Napi::Value Lgetxattr(const Napi::CallbackInfo &info);
Napi::Value Llistxattr(const Napi::CallbackInfo &info);
Napi::Value Mount(const Napi::CallbackInfo &info);
