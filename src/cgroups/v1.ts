// cgroup v1: one directory per container in every controller hierarchy
// tsrun uses (memory, cpu, cpuacct, cpuset, pids, freezer, devices, blkio;
// co-mounted controllers such as cpu,cpuacct share one directory).

import path from 'node:path';
import { TsrunError } from '../errors.js';
import type { LinuxResources } from '../spec/oci.js';
import type { V1Controller } from './detect.js';
import { deviceRules, v1DeviceWrites } from './devices.js';
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
  sleep,
  writeControl,
} from './fsutil.js';
import { v1Frozen } from './frozen.js';
import { DEFAULT_CGROUP_PARENT } from './path.js';
import { applyWrites } from './apply.js';
import { checkUpdate, FIELD_PATHS, requiredControllers, v1Writes, type ControlWrite, type FieldNames } from './resources.js';
import { v1Stats } from './stats.js';
import type { Cgroup, CgroupDeps, CgroupStats, FreezeOptions } from './types.js';

const FREEZE_TIMEOUT_MS = 5000;

type Hierarchies = Partial<Record<V1Controller, string>>;

export async function createV1(
  deps: CgroupDeps,
  mountRoot: string,
  hierarchies: Hierarchies,
  relPath: string,
  resources?: LinuxResources,
): Promise<Cgroup> {
  if (Object.keys(hierarchies).length === 0) {
    throw new TsrunError('CGROUP_UNAVAILABLE', `no cgroup filesystem is mounted under ${mountRoot}`);
  }
  let writes = v1Writes(resources);
  const rules = deviceRules(resources?.devices);
  for (const [controller, flag] of requiredControllers(writes)) {
    if (!hierarchies[controller as V1Controller]) {
      throw new TsrunError(
        'CGROUP_UNAVAILABLE',
        `cannot apply ${flag}: the ${controller} controller is not mounted (no cgroup v1 hierarchy carries it under ${mountRoot})`,
      );
    }
  }

  const cg = new CgroupV1(deps, relPath, hierarchies);
  const created: string[] = [];
  try {
    for (const mount of new Set(Object.values(hierarchies))) {
      const after = mount === hierarchies.cpuset ? (dir: string) => inheritCpuset(deps, dir) : undefined;
      created.push(...(await makeCgroupPath(dirsOf(deps), mount, relPath, { after })));
    }
    if (resources?.memory) writes = v1Writes(resources, await cg.memoryLimit());
    applyWrites(deps, writes, (w) => cg.target(w));
    // Without a devices hierarchy the rules cannot be enforced; like runc,
    // go on (the container's /dev holds only the default nodes anyway).
    if (cg.dirs.devices) {
      for (const w of v1DeviceWrites(rules)) writeControl(deps, path.join(cg.dirs.devices, w.file), w.value, 'the device rules');
    }
  } catch (err) {
    await removeCreated(dirsOf(deps), created);
    throw err;
  }
  return cg;
}

/**
 * A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and
 * the kernel refuses to put a process in it (ENOSPC) until both are set:
 * copy them from the parent (runc's cpusetEnsureParent).
 */
async function inheritCpuset(deps: CgroupDeps, dir: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if ((await readText(path.join(dir, file)))?.trim() !== '') continue;
    const parentValue = (await readText(path.join(path.dirname(dir), file)))?.trim();
    if (parentValue) writeControl(deps, path.join(dir, file), parentValue);
  }
}

export class CgroupV1 implements Cgroup {
  readonly mode = 'v1' as const;
  /** This cgroup's directory in each controller's hierarchy. */
  readonly dirs: Hierarchies = {};
  private readonly unique: string[];

  constructor(
    private readonly deps: CgroupDeps,
    readonly relPath: string,
    private readonly hierarchies: Hierarchies,
  ) {
    // Concatenated, not path.join (~20 µs cold, and `ps` opens one cgroup
    // per container): mount points are absolute and normalised, and
    // checkRelPath admits only a clean relative path.
    for (const [controller, mount] of Object.entries(hierarchies)) this.dirs[controller as V1Controller] = `${mount}/${relPath}`;
    this.unique = [...new Set(Object.values(this.dirs))];
  }

  /** A write's file, or '' (which never exists) when its controller's hierarchy is missing. */
  target(w: Pick<ControlWrite, 'controller' | 'file'>): string {
    const dir = this.dirs[w.controller as V1Controller];
    return dir ? path.join(dir, w.file) : '';
  }

  /** memory.limit_in_bytes now, or undefined (no memory hierarchy): the order of the memory writes depends on it. */
  async memoryLimit(): Promise<number | undefined> {
    if (!this.dirs.memory) return undefined;
    const current = Number((await readText(path.join(this.dirs.memory, 'memory.limit_in_bytes')))?.trim());
    return Number.isFinite(current) ? current : undefined;
  }

  async update(resources: LinuxResources, names: FieldNames = FIELD_PATHS): Promise<string[]> {
    const warnings = checkUpdate(resources, names);
    const { devices: _devices, ...limits } = resources;
    const writes = v1Writes(limits, limits.memory ? await this.memoryLimit() : undefined, names);
    const skipped = applyWrites(this.deps, writes, (w) => this.target(w), { rollback: true });
    return [...warnings, ...skipped.flatMap((w) => (w.missing ? [w.missing] : []))];
  }

  procsFiles(): string[] {
    return this.unique.map((d) => path.join(d, 'cgroup.procs'));
  }

  oomFile(): string | null {
    const file = this.dirs.memory && path.join(this.dirs.memory, 'memory.oom_control');
    return file && exists(file) ? file : null;
  }

  async oomKillCount(): Promise<number> {
    const file = this.oomFile();
    return file ? (parseKeyed(await readText(file)).oom_kill ?? 0) : 0;
  }

  private freezerState(): string {
    if (!this.dirs.freezer) throw new TsrunError('CGROUP_UNAVAILABLE', 'cannot freeze: the freezer controller is not mounted');
    return path.join(this.dirs.freezer, 'freezer.state');
  }

  async freeze(opts: FreezeOptions = {}): Promise<void> {
    const file = this.freezerState();
    // A process forking while the freezer walks the cgroup can leave it
    // FREEZING; writing FROZEN again retries, and an occasional thaw lets a
    // fork storm settle (runc's freezer does the same).
    const done = await pollUntil(async (attempt) => {
      if (attempt % 50 === 49) {
        writeControl(this.deps, file, 'THAWED');
        await sleep(10);
      }
      writeControl(this.deps, file, 'FROZEN');
      return (await readText(file))?.trim() === 'FROZEN';
    }, opts.timeoutMs ?? FREEZE_TIMEOUT_MS);
    if (done) return;
    writeControl(this.deps, file, 'THAWED');
    throw new TsrunError('CGROUP_BUSY', `cannot freeze ${path.dirname(file)}: its processes did not stop in time`);
  }

  async thaw(): Promise<void> {
    if (!this.dirs.freezer) return; // never frozen, then
    const file = this.freezerState();
    writeControl(this.deps, file, 'THAWED');
    await pollUntil(async () => (await readText(file))?.trim() === 'THAWED', FREEZE_TIMEOUT_MS);
  }

  async frozen(): Promise<boolean> {
    return v1Frozen(this.dirs.freezer);
  }

  async pids(): Promise<number[]> {
    // A process normally sits in the same place in every hierarchy; the
    // union also finds one that was moved in only some of them.
    const all = new Set<number>();
    for (const dir of this.unique) await collectPids(dir, all);
    return [...all].sort((a, b) => a - b);
  }

  stats(): Promise<CgroupStats> {
    return v1Stats(this.dirs, async () => (await this.pids()).length);
  }

  async cpuStat(): Promise<Record<string, number>> {
    return this.dirs.cpu ? parseKeyed(await readText(path.join(this.dirs.cpu, 'cpu.stat'))) : {};
  }

  async destroy(): Promise<void> {
    let first: unknown;
    for (const mount of new Set(Object.values(this.hierarchies))) {
      try {
        await removeCgroupDir(dirsOf(this.deps), path.join(mount, this.relPath));
        await pruneParents(dirsOf(this.deps), mount, this.relPath, DEFAULT_CGROUP_PARENT);
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  }
}
