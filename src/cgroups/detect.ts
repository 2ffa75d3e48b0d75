// Which cgroup version tsrun drives, and where each hierarchy is mounted.
//
// 'v2' only when the mount root itself (/sys/fs/cgroup) is cgroup2, as on
// every systemd host in "unified" mode. A hybrid host also mounts a cgroup2
// tree at /sys/fs/cgroup/unified, but systemd keeps every controller on the
// v1 side there, so that tree cannot limit anything and is ignored.

import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseMountInfo } from '../util/mountinfo.js';
import type { CgroupDeps, CgroupMode } from './types.js';

export const DEFAULT_MOUNT_ROOT = '/sys/fs/cgroup';

/** The v1 controllers tsrun uses; cpuacct is read for CPU usage. */
export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'freezer', 'devices', 'blkio'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export type CgroupLayout =
  | { mode: 'v2'; root: string }
  /** Mount point of the hierarchy carrying each controller; absent when not mounted. */
  | { mode: 'v1'; mountRoot: string; hierarchies: Partial<Record<V1Controller, string>> };

// Reading /proc/self/mountinfo costs ~0.5 ms plus parsing on a host with a
// hundred container mounts, and `ps` opens one cgroup per container: the
// layout is read once per deps object (an Engine keeps one for its life;
// the hierarchies do not move while a process runs).
const layouts = new WeakMap<CgroupDeps, CgroupLayout>();

export function detectLayout(deps: CgroupDeps): CgroupLayout {
  let layout = layouts.get(deps);
  if (!layout) layouts.set(deps, (layout = readLayout(deps)));
  return layout;
}

function readLayout(deps: CgroupDeps): CgroupLayout {
  const mountRoot = path.resolve(deps.mountRoot ?? DEFAULT_MOUNT_ROOT);
  let text: string | null = null;
  try {
    text = readFileSync(deps.mountinfo ?? '/proc/self/mountinfo', 'utf8');
  } catch {
    // No /proc: fall back to looking at the mount root itself.
  }
  if (text === null) {
    if (existsSync(path.join(mountRoot, 'cgroup.controllers'))) return { mode: 'v2', root: mountRoot };
    const hierarchies: Partial<Record<V1Controller, string>> = {};
    for (const c of V1_CONTROLLERS) {
      if (existsSync(path.join(mountRoot, c, 'cgroup.procs'))) hierarchies[c] = path.join(mountRoot, c);
    }
    return { mode: 'v1', mountRoot, hierarchies };
  }

  // Only the cgroup mounts and those on the mount root matter. The kernel
  // writes a path's space, tab, newline and backslash escaped: a root with
  // one of those in its last name is looked for in every line.
  const last = path.basename(mountRoot);
  const mounts = parseMountInfo(text, /[\s\\]/.test(last) ? undefined : [' - cgroup', last]);
  // Later mounts on the same point hide earlier ones.
  const atRoot = mounts.filter((m) => m.mountPoint === mountRoot).pop();
  if (atRoot?.fstype === 'cgroup2') return { mode: 'v2', root: mountRoot };

  // Prefer hierarchies below the mount root (a bind mount elsewhere may show
  // only a sub-tree); otherwise take the first mount of each controller.
  const under = (p: string) => p.startsWith(`${mountRoot}/`);
  const v1 = mounts.filter((m) => m.fstype === 'cgroup');
  const ordered = [...v1.filter((m) => under(m.mountPoint)), ...v1.filter((m) => !under(m.mountPoint))];
  const hierarchies: Partial<Record<V1Controller, string>> = {};
  for (const m of ordered) {
    for (const c of V1_CONTROLLERS) if (m.superOptions.includes(c)) hierarchies[c] ??= m.mountPoint;
  }
  return { mode: 'v1', mountRoot, hierarchies };
}

export function cgroupMode(deps: CgroupDeps): CgroupMode {
  return detectLayout(deps).mode;
}
