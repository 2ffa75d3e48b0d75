// Mount destinations are paths inside an untrusted rootfs: a symlink there
// (even dangling, like /proc -> /host/dir) must lead to a place *inside*
// the rootfs, where the mount then lands, as runc does with securejoin.
// The native side resolves again with openat2(RESOLVE_IN_ROOT), so even a
// rootfs changed in between cannot redirect a mount out of it.
import { relative } from 'node:path';
import type { NativeContainerConfig } from '../native/types.js';
import { resolveInRoot } from '../util/resolve-in-root.js';

export async function resolveMountTargets(config: NativeContainerConfig): Promise<void> {
  for (const m of config.mounts) {
    m.target = '/' + relative(config.rootfs, await resolveInRoot(config.rootfs, m.target));
  }
}
