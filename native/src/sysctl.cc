// linux.sysctl: each key is written under /proc/sys of the container's own
// /proc (so only namespaced knobs can take effect; the JS side refuses the
// rest, as runc and Docker do).
// Syscalls: open, write.
#include <errno.h>

#include "child.h"

void child_sysctls(const container_config *c) {
  for (size_t i = 0; i < c->n_sysctls; i++) {
    char path[512] = "/proc/sys/";
    size_t base = s_len(path);
    if (!s_append(path, sizeof path, c->sysctls[i].key)) child_fail_errno(ENAMETOOLONG, "sysctl", "open", c->sysctls[i].key);
    // "net.ipv4.ip_forward" → net/ipv4/ip_forward; a key may also be
    // written with slashes already ("net/ipv4/conf/eth0.100/forwarding").
    bool dotted = false;
    for (size_t j = base; path[j]; j++) dotted |= path[j] == '/';
    if (!dotted)
      for (size_t j = base; path[j]; j++)
        if (path[j] == '.') path[j] = '/';
    if (write_file(path, c->sysctls[i].value) != 0) child_fail("sysctl", "write", path);
  }
}
