// Namespaces the child joins by path, and the loopback interface of a new
// network namespace.
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
  for (size_t i = 0; i < c->n_joins; i++) {
    int fd = open(c->joins[i].path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) child_fail("namespaces", "open", c->joins[i].path);
    if (setns(fd, c->joins[i].flag) != 0) child_fail("namespaces", "setns", c->joins[i].path);
    close(fd);
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
