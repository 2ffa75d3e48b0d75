// What the host's cgroups can do with the limits Docker lets a user ask
// for but only warns about when the kernel lacks them (moby's
// verifyPlatformContainerResources): --blkio-weight needs CFQ's or BFQ's
// weight file (v1) or io.weight/io.bfq.weight (v2); --oom-kill-disable
// needs v1's memory.oom_control. Such a limit is dropped with Docker's
// warning rather than failing the container.

import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { LinuxResources } from '../spec/oci.js';
import { detectLayout } from './detect.js';
import { exists, readTextSync, words } from './fsutil.js';
import { BLKIO_WEIGHT_UNSUPPORTED } from './resources.js';
import type { CgroupDeps } from './types.js';

export const OOM_KILL_DISABLE_UNSUPPORTED = 'Your kernel does not support OomKillDisable. OomKillDisable discarded.';
export const OOM_KILL_DISABLE_NO_LIMIT =
  'OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.';

export interface HostSupport {
  blkioWeight: boolean;
  oomKillDisable: boolean;
}

/** True when `resources` asks for something hostSupport decides. */
export function needsHostCheck(resources: LinuxResources | undefined): boolean {
  return !!(resources?.blockIO?.weight || resources?.memory?.disableOOMKiller);
}

export function hostSupport(deps: CgroupDeps): HostSupport {
  const layout = detectLayout(deps);
  if (layout.mode === 'v1') {
    const blkio = layout.hierarchies.blkio;
    return {
      blkioWeight: !!blkio && (exists(path.join(blkio, 'blkio.weight')) || exists(path.join(blkio, 'blkio.bfq.weight'))),
      oomKillDisable: !!layout.hierarchies.memory,
    };
  }
  return { blkioWeight: v2HasIoWeight(layout.root), oomKillDisable: false };
}

// The root cgroup has no io.weight: look in the cgroups below it that have
// the io controller. None has it enabled yet (a fresh boot): the controller
// being on offer is all that can be known; the write is skipped at start if
// the kernel then has no weight file.
function v2HasIoWeight(root: string): boolean {
  if (!words(readTextSync(path.join(root, 'cgroup.controllers'))).includes('io')) return false;
  if (!words(readTextSync(path.join(root, 'cgroup.subtree_control'))).includes('io')) return true;
  let dirs: string[];
  try {
    dirs = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(root, d.name));
  } catch {
    return true;
  }
  return dirs.length === 0 || dirs.some((d) => exists(path.join(d, 'io.weight')) || exists(path.join(d, 'io.bfq.weight')));
}

/** `resources` without what the host cannot apply, and Docker's warnings for it. */
export function adaptToHost(resources: LinuxResources, support: HostSupport): { resources: LinuxResources; warnings: string[] } {
  const warnings: string[] = [];
  let out = resources;
  if (out.blockIO?.weight && !support.blkioWeight) {
    warnings.push(BLKIO_WEIGHT_UNSUPPORTED);
    const { weight: _w, ...blockIO } = out.blockIO;
    out = { ...out, blockIO };
    if (Object.keys(blockIO).length === 0) delete out.blockIO;
  }
  if (out.memory?.disableOOMKiller) {
    if (!support.oomKillDisable) {
      warnings.push(OOM_KILL_DISABLE_UNSUPPORTED);
      const { disableOOMKiller: _d, ...memory } = out.memory;
      out = { ...out, memory };
      if (Object.keys(memory).length === 0) delete out.memory;
    } else if (!out.memory.limit || out.memory.limit < 0) {
      warnings.push(OOM_KILL_DISABLE_NO_LIMIT);
    }
  }
  return { resources: out, warnings };
}
