// Which Linux security modules the host runs: a profile or label asked for
// on a host without its LSM is refused, never silently ignored.
import { existsSync, readFileSync } from 'node:fs';

export interface HostLsm {
  apparmor: boolean;
  selinux: boolean;
}

/** AppArmor as containerd's apparmor.HostSupports sees it; SELinux when selinuxfs is mounted. */
export function detectHostLsm(): HostLsm {
  let apparmor = false;
  try {
    apparmor = existsSync('/sys/kernel/security/apparmor') && readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    apparmor = false;
  }
  return { apparmor, selinux: existsSync('/sys/fs/selinux/enforce') };
}
