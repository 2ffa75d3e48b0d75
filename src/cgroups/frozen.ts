// Whether a cgroup is frozen (paused), told by one small file: without a
// handle (a handle's per-controller paths were most of what `ps` allocated
// per container), and without the modules that create and limit cgroups,
// which `ps` never loads. An engine record keeps its cgroup's file
// (EngineRecord.frozenFile), so `ps` need not detect the layout either.
import { detectLayout } from './detect.js';
import { parseKeyed, readTextSync } from './fsutil.js';
import { checkRelPath } from './path.js';
import type { CgroupDeps } from './types.js';

/** The file that says whether a directory of v1's freezer hierarchy is frozen. */
const v1FreezerState = (freezerDir: string): string => `${freezerDir}/freezer.state`;

/** The file that says whether a cgroup v2 directory is frozen (and populated). */
const v2Events = (dir: string): string => `${dir}/cgroup.events`;

/** Whether either file says frozen (v1's freezer.state is FROZEN; v2's cgroup.events has `frozen 1`); null: not there, not frozen. */
export function frozenIn(text: string | null): boolean {
  return text !== null && (text.trim() === 'FROZEN' || parseKeyed(text).frozen === 1);
}

/** Whether the cgroup's directory in the freezer hierarchy (none: never frozen) is frozen. */
export function v1Frozen(freezerDir: string | undefined): boolean {
  return !!freezerDir && frozenIn(readTextSync(v1FreezerState(freezerDir)));
}

/** Whether the cgroup v2 directory `dir` is frozen. */
export function v2Frozen(dir: string): boolean {
  return frozenIn(readTextSync(v2Events(dir)));
}

/** The file that says whether the cgroup at `relPath` is frozen (frozenIn); none on a v1 host without a freezer hierarchy. */
export function cgroupFrozenFile(deps: CgroupDeps, relPath: string): string | undefined {
  checkRelPath(relPath);
  const layout = detectLayout(deps);
  if (layout.mode === 'v2') return v2Events(`${layout.root}/${relPath}`);
  return layout.hierarchies.freezer && v1FreezerState(`${layout.hierarchies.freezer}/${relPath}`);
}
