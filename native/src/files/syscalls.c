// The two system calls the short verbs make besides reading files: flock
// (every store and container lock: stop, rm, rename...) and umount2 (rm of
// a container's overlay). Here, they need not load tsrun.node, whose C++
// runtime and libseccomp take ~2 ms to load. Errors come back as errno
// values; the facade (src/native/binding.ts) turns them into
// NativeSystemErrors as tsrun.node's are.
// Syscalls: flock, umount2.
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include "files.h"

static napi_value int_value(napi_env env, int n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

// flock(fd, exclusive): non-blocking; 0 when taken, -1 when someone else
// holds it, else the errno.
napi_value files_flock(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  int32_t fd;
  bool exclusive;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, args[0], &fd) != napi_ok ||
      napi_get_value_bool(env, args[1], &exclusive) != napi_ok)
    return int_value(env, EINVAL);
  int rc;
  do rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return int_value(env, 0);
  return int_value(env, errno == EWOULDBLOCK ? -1 : errno);
}

// umount(target, flags): umount2; 0, else the errno.
napi_value files_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2, n;
  napi_value args[2];
  uint32_t flags;
  char target[4096];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, args[0], target, sizeof target, &n) != napi_ok || n >= sizeof target - 1 ||
      napi_get_value_uint32(env, args[1], &flags) != napi_ok)
    return int_value(env, EINVAL);
  return int_value(env, umount2(target, flags) == 0 ? 0 : errno);
}

// errorText(errno): strerror's text, for the error's message.
napi_value files_error_text(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, text;
  int32_t err = 0;
  napi_get_cb_info(env, info, &argc, &arg, NULL, NULL);
  if (argc >= 1) napi_get_value_int32(env, arg, &err);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &text);
  return text;
}
