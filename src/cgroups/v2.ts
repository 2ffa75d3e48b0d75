// cgroup v2 (the unified hierarchy): one directory per container.
//
// A controller's files appear in a cgroup only when its parent lists the
// controller in cgroup.subtree_control, so every ancestor enables what the
// container needs. Device access has no files in v2; it is an eBPF program
// attached to the directory (native attachDeviceFilter).

import path from 'node:path';
import { TsrunError } from '../errors.js';
import type { LinuxResources } from '../spec/oci.js';
import { deviceRules } from './devices.js';
import {
  collectPids,
  dirsOf,
  exists,
  makeCgroupPath,
  parseKeyed,
  pollUntil,
  readText,
  removeCgroupDir,
  pruneParents,
  removeCreated,
  words,
  writeControl,
} from './fsutil.js';
import { v2Frozen } from './frozen.js';
import { DEFAULT_CGROUP_PARENT } from './path.js';
import { applyWrites } from './apply.js';
import { checkUpdate, FIELD_PATHS, requiredControllers, v2Writes, type FieldNames } from './resources.js';
import { v2Stats } from './stats.js';
import type { Cgroup, CgroupDeps, CgroupStats, FreezeOptions } from './types.js';

/** Enabled when on offer even if no limit needs them, so stats and later updates work (runc does the same). */
const WANTED = ['cpu', 'cpuset', 'io', 'memory', 'pids'];

const FREEZE_TIMEOUT_MS = 5000;

export async function createV2(deps: CgroupDeps, root: string, relPath: string, resources?: LinuxResources): Promise<Cgroup> {
  const writes = v2Writes(resources);
  const rules = deviceRules(resources?.devices);
  const required = requiredControllers(writes);

  // Fail before touching anything when the root does not offer a controller.
  const offered = words(await readText(path.join(root, 'cgroup.controllers')));
  for (const [controller, flag] of required) {
    if (!offered.includes(controller)) {
      throw new TsrunError(
        'CGROUP_UNAVAILABLE',
        `cannot apply ${flag}: the ${controller} controller is not available in cgroup v2 (${path.join(root, 'cgroup.controllers')} lists: ${offered.join(' ') || 'nothing'})`,
      );
    }
  }

  const dir = path.join(root, relPath);
  const created: string[] = [];
  try {
    created.push(...(await makeCgroupPath(dirsOf(deps), root, relPath, { before: (parent) => enableControllers(deps, parent, required) })));
    applyWrites(deps, writes, (w) => path.join(dir, w.file));
    try {
      deps.native.attachDeviceFilter(dir, rules);
    } catch (err) {
      throw new TsrunError('CGROUP_UNAVAILABLE', `cannot install the device rules on ${dir}: ${(err as Error).message}`, { cause: err });
    }
  } catch (err) {
    await removeCreated(dirsOf(deps), created);
    throw err;
  }
  return new CgroupV2(deps, root, relPath);
}

/**
 * Turns on, in `dir`'s cgroup.subtree_control, every required controller
 * and every wanted one that is on offer. One write per controller: a write
 * naming several fails as a whole if any one cannot be enabled.
 */
async function enableControllers(deps: CgroupDeps, dir: string, required: Map<string, string>): Promise<void> {
  const file = path.join(dir, 'cgroup.subtree_control');
  const offered = words(await readText(path.join(dir, 'cgroup.controllers')));
  const enabled = words(await readText(file));
  for (const controller of new Set([...required.keys(), ...WANTED])) {
    if (enabled.includes(controller)) continue;
    const flag = required.get(controller);
    if (!offered.includes(controller)) {
      if (flag === undefined) continue;
      throw new TsrunError('CGROUP_UNAVAILABLE', `cannot apply ${flag}: the ${controller} controller is not available in ${dir}`);
    }
    try {
      deps.native.cgroupWrite(file, `+${controller}`);
    } catch (err) {
      if (flag === undefined) continue;
      // EBUSY: a non-root cgroup holding processes cannot hand controllers
      // down (the "no internal processes" rule).
      throw new TsrunError('CGROUP_UNAVAILABLE', `cannot apply ${flag}: enabling the ${controller} controller in ${file} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

export class CgroupV2 implements Cgroup {
  readonly mode = 'v2' as const;
  /** The cgroup's directory. */
  readonly dir: string;
  constructor(
    private readonly deps: CgroupDeps,
    private readonly root: string,
    readonly relPath: string,
  ) {
    this.dir = path.join(root, relPath);
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private write(name: string, value: string): void {
    writeControl(this.deps, this.file(name), value);
  }

  async update(resources: LinuxResources, names: FieldNames = FIELD_PATHS): Promise<string[]> {
    const warnings = checkUpdate(resources, names);
    const { devices: _devices, ...limits } = resources;
    const skipped = applyWrites(this.deps, v2Writes(limits, names), (w) => this.file(w.file), { rollback: true });
    return [...warnings, ...skipped.flatMap((w) => (w.missing ? [w.missing] : []))];
  }

  procsFiles(): string[] {
    return [this.file('cgroup.procs')];
  }

  oomFile(): string | null {
    return exists(this.file('memory.events')) ? this.file('memory.events') : null;
  }

  async oomKillCount(): Promise<number> {
    return parseKeyed(await readText(this.file('memory.events'))).oom_kill ?? 0;
  }

  async freeze(opts: FreezeOptions = {}): Promise<void> {
    if (!exists(this.file('cgroup.freeze'))) {
      throw new TsrunError('CGROUP_UNAVAILABLE', `cannot freeze ${this.dir}: no cgroup.freeze (needs Linux 5.2 or later)`);
    }
    this.write('cgroup.freeze', '1');
    if (await pollUntil(() => this.frozen(), opts.timeoutMs ?? FREEZE_TIMEOUT_MS)) return;
    this.write('cgroup.freeze', '0');
    throw new TsrunError('CGROUP_BUSY', `cannot freeze ${this.dir}: its processes did not stop in time`);
  }

  async thaw(): Promise<void> {
    if (!exists(this.file('cgroup.freeze'))) return;
    this.write('cgroup.freeze', '0');
    await pollUntil(async () => !(await this.frozen()), FREEZE_TIMEOUT_MS);
  }

  async frozen(): Promise<boolean> {
    return v2Frozen(this.dir);
  }

  async pids(): Promise<number[]> {
    return [...(await collectPids(this.dir))].sort((a, b) => a - b);
  }

  stats(): Promise<CgroupStats> {
    return v2Stats(this.dir, async () => (await this.pids()).length);
  }

  async cpuStat(): Promise<Record<string, number>> {
    return parseKeyed(await readText(this.file('cpu.stat')));
  }

  async destroy(): Promise<void> {
    await removeCgroupDir(dirsOf(this.deps), this.dir);
    await pruneParents(dirsOf(this.deps), this.root, this.relPath, DEFAULT_CGROUP_PARENT);
  }
}
