// Namespaces the child joins by path (a user namespace among them in the
// order runc uses), and the loopback interface of a new network namespace.
// Syscalls: open, setns, socket, ioctl(SIOCGIFFLAGS, SIOCSIFFLAGS).
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"

void child_join_namespaces(const container_config *c) {
  // Every path is opened first, with the caller's identity: joining a user
  // namespace changes what we may open and join.
  int fds[16];
  size_t n = c->n_joins;
  if (n > 16) child_fail_errno(E2BIG, "namespaces", "setns", nullptr);
  for (size_t i = 0; i < n; i++) {
    fds[i] = -1;
    if (c->pid_ns_entered && c->joins[i].flag == CLONE_NEWPID) continue;
    fds[i] = open(c->joins[i].path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) child_fail("namespaces", "open", c->joins[i].path);
  }
  // As runc 1.2 does: the others first, with the caller's privileges (one
  // owned by the host, such as a network namespace joined at create, can
  // no longer be joined from inside the user namespace); then the user
  // namespace; then those that refused (EPERM) before it.
  for (int pass = 0; pass < 3; pass++) {
    for (size_t i = 0; i < n; i++) {
      if (fds[i] < 0 || (pass == 1) != (c->joins[i].flag == CLONE_NEWUSER)) continue;
      if (setns(fds[i], c->joins[i].flag) != 0) {
        if (pass == 0 && errno == EPERM) continue;
        child_fail("namespaces", "setns", c->joins[i].path);
      }
      close(fds[i]);
      fds[i] = -1;
    }
  }
}

void child_loopback_up() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) child_fail("network", "socket", nullptr);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) child_fail("network", "ioctl", "lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) child_fail("network", "ioctl", "lo");
  close(s);
}
