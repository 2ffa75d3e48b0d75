// Host filesystem calls for the image layer unpacker and the overlay rootfs:
// device nodes and whiteouts, extended attributes on the link itself, and
// host-side mounts. Arguments are validated in src/native/binding.ts.
// Syscalls: mknod, lsetxattr, lgetxattr, llistxattr, mount (umount2: files/syscalls.c).
#include "fsops.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <string>
#include <vector>

#include "errors.h"

static std::string Str(const Napi::Value &v) { return v.As<Napi::String>().Utf8Value(); }

// mknod(path, mode, {major, minor}): mode carries S_IFCHR/S_IFBLK/S_IFIFO/S_IFREG.
Napi::Value Mknod(const Napi::CallbackInfo &info) {
  std::string path = Str(info[0]);
  mode_t mode = (mode_t)info[1].As<Napi::Number>().Uint32Value();
  Napi::Object dev = info[2].As<Napi::Object>();
  unsigned major = dev.Get("major").As<Napi::Number>().Uint32Value();
  unsigned minor = dev.Get("minor").As<Napi::Number>().Uint32Value();
  if (mknod(path.c_str(), mode, makedev(major, minor)) != 0) throw MakeSystemError(info.Env(), errno, "fs", "mknod", path.c_str());
  return info.Env().Undefined();
}

// lsetxattr(path, name, value: Buffer): never follows a final symlink.
Napi::Value Lsetxattr(const Napi::CallbackInfo &info) {
  std::string path = Str(info[0]);
  std::string name = Str(info[1]);
  Napi::Buffer<uint8_t> value = info[2].As<Napi::Buffer<uint8_t>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) != 0)
    throw MakeSystemError(info.Env(), errno, "fs", "lsetxattr", path.c_str());
  return info.Env().Undefined();
}

// lgetxattr(path, name): Buffer, or null when the attribute is absent (ENODATA).
Napi::Value Lgetxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = Str(info[0]);
  std::string name = Str(info[1]);
  for (;;) {
    ssize_t n = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENODATA) return env.Null();
      throw MakeSystemError(env, errno, "fs", "lgetxattr", path.c_str());
    }
    std::vector<char> buf((size_t)n + 1);
    ssize_t m = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (m < 0) {
      if (errno == ERANGE) continue;  // grew in between
      if (errno == ENODATA) return env.Null();
      throw MakeSystemError(env, errno, "fs", "lgetxattr", path.c_str());
    }
    return Napi::Buffer<char>::Copy(env, buf.data(), (size_t)m);
  }
}

// llistxattr(path): string[] of attribute names.
Napi::Value Llistxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = Str(info[0]);
  for (;;) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) throw MakeSystemError(env, errno, "fs", "llistxattr", path.c_str());
    std::vector<char> buf((size_t)n + 1);
    ssize_t m = llistxattr(path.c_str(), buf.data(), buf.size());
    if (m < 0) {
      if (errno == ERANGE) continue;
      throw MakeSystemError(env, errno, "fs", "llistxattr", path.c_str());
    }
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    for (ssize_t off = 0; off < m;) {
      std::string name(buf.data() + off);
      off += (ssize_t)name.size() + 1;
      if (!name.empty()) out.Set(i++, name);
    }
    return out;
  }
}

// mount(source|null, target, fstype|null, flags, data|null)
Napi::Value Mount(const Napi::CallbackInfo &info) {
  bool hasSource = info[0].IsString(), hasType = info[2].IsString(), hasData = info[4].IsString();
  std::string source = hasSource ? Str(info[0]) : "";
  std::string target = Str(info[1]);
  std::string fstype = hasType ? Str(info[2]) : "";
  unsigned long flags = (unsigned long)info[3].As<Napi::Number>().Int64Value();
  std::string data = hasData ? Str(info[4]) : "";
  if (mount(hasSource ? source.c_str() : nullptr, target.c_str(), hasType ? fstype.c_str() : nullptr, flags,
            hasData ? data.c_str() : nullptr) != 0)
    throw MakeSystemError(info.Env(), errno, "mount", "mount", target.c_str());
  return info.Env().Undefined();
}

