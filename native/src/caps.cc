// Capabilities and no_new_privs.
// Syscalls: prctl(PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_SET_NO_NEW_PRIVS),
// capset.
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

void child_bounding_set(const container_config *c) {
  // Dropped while still uid 0 with CAP_SETPCAP in the effective set.
  for (int cap = 0; cap < 64; cap++) {
    if (c->cap_bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;  // past CAP_LAST_CAP of this kernel
      child_fail("capabilities", "prctl", nullptr);
    }
  }
}

void child_capabilities(const container_config *c) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(c->cap_effective >> (32 * i));
    data[i].permitted = (uint32_t)(c->cap_permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(c->cap_inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) != 0) child_fail("capabilities", "capset", nullptr);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    child_fail("capabilities", "prctl", nullptr);
  for (int cap = 0; cap < 64; cap++) {
    if (!(c->cap_ambient & (1ULL << cap))) continue;
    // A capability missing from the permitted or inheritable set cannot be
    // raised; runc only warns then, and so the spec still runs here.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 && errno != EPERM)
      child_fail("capabilities", "prctl", nullptr);
  }
  if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail("no_new_privs", "prctl", nullptr);
}
