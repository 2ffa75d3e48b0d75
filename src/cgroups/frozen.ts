// Whether a cgroup is frozen (paused), told by one small file: without a
// handle (a handle's per-controller paths were most of what `ps` allocated
// per container), and without the modules that create and limit cgroups,
// which `ps` never loads. Read synchronously: a small sync read costs
// ~20 µs where fs/promises takes ~0.3 ms of CPU.
import type { TextReader } from '../util/small-files.js';
import { detectLayout } from './detect.js';
import { parseKeyed, readTextSync } from './fsutil.js';
import { checkRelPath } from './path.js';
import type { CgroupDeps } from './types.js';

/** The file that says whether a directory of v1's freezer hierarchy is frozen. */
export const v1FreezerState = (freezerDir: string): string => `${freezerDir}/freezer.state`;

/** The file that says whether a cgroup v2 directory is frozen (and populated). */
export const v2Events = (dir: string): string => `${dir}/cgroup.events`;

/** Whether the cgroup's directory in the freezer hierarchy (none: never frozen) is frozen. */
export function v1Frozen(freezerDir: string | undefined, read: TextReader = readTextSync): boolean {
  return !!freezerDir && read(v1FreezerState(freezerDir))?.trim() === 'FROZEN';
}

/** Whether the cgroup v2 directory `dir` is frozen. */
export function v2Frozen(dir: string, read: TextReader = readTextSync): boolean {
  return parseKeyed(read(v2Events(dir))).frozen === 1;
}

/** Whether the cgroup at `relPath` is frozen; `read`: where its file comes from when the caller has read it already (cgroupFrozenFile). */
export function cgroupFrozen(deps: CgroupDeps, relPath: string, read?: TextReader): boolean {
  const f = freezerDir(deps, relPath);
  return f.v2 ? v2Frozen(f.dir!, read) : v1Frozen(f.dir, read);
}

/** The file cgroupFrozen reads (none: a v1 host without a freezer hierarchy). */
export function cgroupFrozenFile(deps: CgroupDeps, relPath: string): string | undefined {
  const f = freezerDir(deps, relPath);
  return f.dir && (f.v2 ? v2Events(f.dir) : v1FreezerState(f.dir));
}

// The directory whose state file says whether the cgroup is frozen: its v2
// directory, or its directory in v1's freezer hierarchy.
function freezerDir(deps: CgroupDeps, relPath: string): { v2: boolean; dir: string | undefined } {
  checkRelPath(relPath);
  const layout = detectLayout(deps);
  if (layout.mode === 'v2') return { v2: true, dir: `${layout.root}/${relPath}` };
  return { v2: false, dir: layout.hierarchies.freezer && `${layout.hierarchies.freezer}/${relPath}` };
}
