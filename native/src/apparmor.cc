// AppArmor: the profile named by process.apparmorProfile is asked for with
// "exec PROFILE" on the process's own attr file, so the kernel switches to
// it at execve (what runc's apparmor.ApplyProfile does). The JS side has
// already refused a profile on a host without AppArmor.
// Syscalls: open, write.
#include <errno.h>

#include "child.h"

void child_apparmor(const container_config *c) {
  if (!c->apparmor_profile) return;
  char cmd[300] = "exec ";
  if (!s_append(cmd, sizeof cmd, c->apparmor_profile)) child_fail_errno(ENAMETOOLONG, "apparmor", "write", c->apparmor_profile);
  // Since Linux 5.8 each LSM has its own directory; older kernels only the shared file.
  if (write_file("/proc/self/attr/apparmor/exec", cmd) == 0) return;
  if (errno != ENOENT) child_fail("apparmor", "write", "/proc/self/attr/apparmor/exec");
  if (write_file("/proc/self/attr/exec", cmd) != 0) child_fail("apparmor", "write", "/proc/self/attr/exec");
}
