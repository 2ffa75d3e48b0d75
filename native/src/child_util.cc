// Async-signal-safe helpers shared by the child's set-up steps: the error
// frame writer and a few bounded string functions.
// Syscalls: sendmsg (send, and SCM_RIGHTS fd passing), _exit, open, write,
// close.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "child.h"
#include "sync.h"

int g_child_sync_fd = -1;

size_t s_len(const char *s) {
  size_t n = 0;
  while (s && s[n]) n++;
  return n;
}

bool s_append(char *dst, size_t cap, const char *src) {
  size_t n = s_len(dst);
  if (!src) return true;
  while (*src) {
    if (n + 1 >= cap) { dst[n] = 0; return false; }
    dst[n++] = *src++;
  }
  dst[n] = 0;
  return true;
}

bool s_append_uint(char *dst, size_t cap, unsigned long v) {
  char tmp[24];
  int i = 0;
  do { tmp[i++] = (char)('0' + v % 10); v /= 10; } while (v && i < 23);
  char out[24];
  int j = 0;
  while (i > 0) out[j++] = tmp[--i];
  out[j] = 0;
  return s_append(dst, cap, out);
}

bool s_eq(const char *a, const char *b) {
  if (!a || !b) return a == b;
  while (*a && *a == *b) { a++; b++; }
  return *a == *b;
}

static void copy_field(char *dst, size_t cap, const char *src) {
  dst[0] = 0;
  s_append(dst, cap, src);
}

void child_fail_errno(int err, const char *step, const char *syscall, const char *path, int code) {
  sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = SYNC_ERROR;
  m.err = err;
  copy_field(m.step, sizeof m.step, step);
  copy_field(m.syscall, sizeof m.syscall, syscall);
  copy_field(m.path, sizeof m.path, path);
  if (g_child_sync_fd >= 0) {
    ssize_t r;
    do { r = send(g_child_sync_fd, &m, sizeof m, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
  }
  _exit(code);
}

void child_fail(const char *step, const char *syscall, const char *path, int code) {
  child_fail_errno(errno, step, syscall, path, code);
}

int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = s_len(data);
  ssize_t r;
  do { r = write(fd, data, len); } while (r < 0 && errno == EINTR);
  int saved = errno;
  close(fd);
  errno = saved;
  return r == (ssize_t)len ? 0 : -1;
}

ssize_t send_with_fd(int sock, const void *data, size_t len, int fd) {
  struct iovec iov = {const_cast<void *>(data), len};
  char ctrl[CMSG_SPACE(sizeof(int))];
  memset(ctrl, 0, sizeof ctrl);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

ssize_t recv_with_fd(int sock, void *data, size_t len, int *fd) {
  struct iovec iov = {data, len};
  char ctrl[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  ssize_t n;
  do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
  struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : nullptr;
  if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(cm), sizeof(int));
  return n;
}
