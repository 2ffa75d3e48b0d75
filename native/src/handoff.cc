// Small fd hand-offs Node has no API for: creating the exec fifo of the
// create/start split, and passing a container's pty master to the engine
// that asked for it with --console-socket (runc's protocol: one sendmsg
// with SCM_RIGHTS, the payload is the terminal's name).
// Syscalls: mknod (mkfifo), socket, connect, sendmsg.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "child.h"
#include "errors.h"
#include "spawn.h"

// mkfifo(path, mode): void
Napi::Value Mkfifo(const Napi::CallbackInfo &info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = (mode_t)info[1].As<Napi::Number>().Uint32Value();
  if (mkfifo(path.c_str(), mode) != 0) throw MakeSystemError(info.Env(), errno, "create", "mkfifo", path.c_str());
  // mkfifo applies the umask; the mode is what the caller asked for.
  if (chmod(path.c_str(), mode) != 0) throw MakeSystemError(info.Env(), errno, "create", "chmod", path.c_str());
  return info.Env().Undefined();
}

// sendFd(socketPath, fd, name): void
Napi::Value SendFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw MakeSystemError(env, ENAMETOOLONG, "console", "connect", path.c_str());
  memcpy(addr.sun_path, path.c_str(), path.size());
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw MakeSystemError(env, errno, "console", "socket", nullptr);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    close(s);
    throw MakeSystemError(env, e, "console", "connect", path.c_str());
  }
  ssize_t n = send_with_fd(s, name.data(), name.size(), fd);
  int e = errno;
  close(s);
  if (n < 0) throw MakeSystemError(env, e, "console", "sendmsg", path.c_str());
  return env.Undefined();
}
