// Public API of the cgroups module: put a container in a cgroup with its
// resource limits and device rules, and read, freeze and remove it later.
// cgroup v2 when /sys/fs/cgroup is the unified hierarchy, else v1.

import type { LinuxResources } from '../spec/oci.js';
import { detectLayout } from './detect.js';
import { checkRelPath } from './path.js';
import type { Cgroup, CgroupDeps } from './types.js';
import { CgroupV1, createV1 } from './v1.js';
import { CgroupV2, createV2 } from './v2.js';

export { cgroupMode } from './detect.js';
export { cgroupFrozenFile } from './frozen.js';
export { DEFAULT_CGROUP_PARENT, resolveCgroupPath } from './path.js';
export { FIELD_PATHS, FLAGS, type FieldNames } from './resources.js';
export { runcStats, type RuncStats } from './stats.js';
export type { Cgroup, CgroupDeps, CgroupMode, CgroupStats, FreezeOptions } from './types.js';

/**
 * Creates the cgroup at `relPath` (see resolveCgroupPath), applies the
 * limits and installs the device rules. Throws CGROUP_UNAVAILABLE when a
 * limit needs a controller or file the host lacks, INVALID_ARGUMENT when
 * the kernel refuses a value, and in every failure leaves no directory it
 * created behind.
 */
export async function createCgroup(deps: CgroupDeps, relPath: string, resources?: LinuxResources): Promise<Cgroup> {
  checkRelPath(relPath);
  const layout = detectLayout(deps);
  if (layout.mode === 'v2') return createV2(deps, layout.root, relPath, resources);
  return createV1(deps, layout.mountRoot, layout.hierarchies, relPath, resources);
}

/** A handle on an existing cgroup (no file is touched until a method is called). */
export function openCgroup(deps: CgroupDeps, relPath: string): Cgroup {
  checkRelPath(relPath);
  const layout = detectLayout(deps);
  if (layout.mode === 'v2') return new CgroupV2(deps, layout.root, relPath);
  return new CgroupV1(deps, relPath, layout.hierarchies);
}

