// `tsrun update`: new limits for a container, Docker's way (moby's
// UpdateContainer): merged into what it has, checked against it with
// Docker's messages, written to its cgroup while it runs (the one cgroup
// update path, Cgroup.update, which tsrun-oci's `update` uses too) and
// kept in its config.json for the next start, so inspect shows them.
import { join } from 'node:path';
import { FLAGS, type FieldNames } from '../cgroups/resources.js';
import { TsrunError } from '../errors.js';
import type { LinuxResources, OciSpec } from '../spec/oci.js';
import { atomicWriteJson } from '../util/atomic-write.js';
import type { Engine } from './engine.js';
import type { ContainerStore } from './store.js';

/** Raw flag values (as given), by the ResourceFlags key: what the record's `limits` keep. */
export type LimitFlags = Record<string, string | string[] | undefined>;

export interface ResourceChange {
  /** The new values, parsed by spec/resources.ts parseResourceFlags with `update` (pids.limit -1 lifts a limit). */
  resources: LinuxResources;
  /** The flags they came from. */
  limits: LimitFlags;
}

function conflict(message: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', message);
}

const given = (limits: LimitFlags | undefined, key: string): boolean => {
  const v = limits?.[key];
  return typeof v === 'string' && v.trim() !== '' && v.trim() !== '0';
};

/**
 * Merges `change` into a container's limits. Returns the limits to keep
 * (`resources`, devices untouched), what to write to a live cgroup
 * (`write`: the changed fields, with the memory and swap pair whole, as
 * cgroup v2's memory.swap.max depends on both), and the merged flags.
 */
export function mergeResourceUpdate(
  current: LinuxResources | undefined,
  currentLimits: LimitFlags | undefined,
  change: ResourceChange,
): { resources: LinuxResources; write: LinuxResources; limits: LimitFlags } {
  const d = change.resources;
  const cur = current ?? {};
  // NanoCPUs (--cpus) sets the period and quota itself (moby: "once NanoCPU is already set, updating CPUPeriod/CPUQuota will be blocked, and vice versa").
  const nanoNow = given(currentLimits, 'cpus');
  if (given(change.limits, 'cpus') && given(currentLimits, 'cpuPeriod')) {
    throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  }
  if (given(change.limits, 'cpus') && given(currentLimits, 'cpuQuota')) {
    throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  }
  if (given(change.limits, 'cpuPeriod') && nanoNow) throw conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (given(change.limits, 'cpuQuota') && nanoNow) throw conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');

  const memory = { ...cur.memory };
  const dm = d.memory ?? {};
  if (dm.limit) {
    // moby: a memory limit above the memory+swap limit it has needs a new --memory-swap with it.
    if (memory.swap && memory.swap > 0 && dm.limit > memory.swap && !dm.swap) {
      throw conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    memory.limit = dm.limit;
  }
  if (dm.swap) memory.swap = dm.swap;
  if (dm.reservation) memory.reservation = dm.reservation;
  if (memory.swap && memory.swap > 0) {
    if (!memory.limit || memory.limit < 0) throw conflict('You should always set the Memory limit when using Memoryswap limit, see usage');
    if (memory.swap < memory.limit) throw conflict('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (memory.reservation && memory.limit && memory.limit > 0 && memory.reservation > memory.limit) {
    throw conflict('Minimum memory limit can not be less than memory reservation limit, see usage');
  }

  const cpu = { ...cur.cpu, ...d.cpu };
  if (cpu.quota === -1) delete cpu.quota; // --cpu-quota -1: unlimited, the kernel's default
  const pids = d.pids ? (d.pids.limit > 0 ? { limit: d.pids.limit } : undefined) : cur.pids;
  const blockIO = d.blockIO?.weight ? { ...cur.blockIO, weight: d.blockIO.weight } : cur.blockIO;

  const resources: LinuxResources = { ...cur };
  const set = <K extends keyof LinuxResources>(key: K, value: LinuxResources[K] | undefined) => {
    if (value && Object.keys(value).length) resources[key] = value;
    else delete resources[key];
  };
  set('memory', memory);
  set('cpu', cpu);
  set('pids', pids);
  set('blockIO', blockIO);

  const write: LinuxResources = {};
  if (dm.limit || dm.swap) write.memory = { ...(memory.limit ? { limit: memory.limit } : {}), ...(memory.swap ? { swap: memory.swap } : {}) };
  if (dm.reservation) write.memory = { ...write.memory, reservation: dm.reservation };
  if (d.cpu) write.cpu = d.cpu;
  if (d.pids) write.pids = d.pids;
  if (d.blockIO?.weight) write.blockIO = { weight: d.blockIO.weight };

  const limits: LimitFlags = { ...currentLimits };
  for (const [k, v] of Object.entries(change.limits)) if (v !== undefined) limits[k] = v;
  return { resources, write, limits };
}

/** What cgroup messages call each field: the flag the user typed. */
function fieldNames(limits: LimitFlags): FieldNames {
  return { ...FLAGS, quota: limits.cpus !== undefined ? '--cpus' : '--cpu-quota', period: limits.cpus !== undefined ? '--cpus' : '--cpu-period' };
}

export interface UpdateContext {
  store: ContainerStore;
  engine: Engine;
  /** Whether the container's process runs now (running or paused). */
  live(id: string): Promise<boolean>;
  /** `resources` less what the host cannot apply, with Docker's warnings. */
  hostResources(r: LinuxResources): Promise<LinuxResources>;
  onWarning?: (message: string) => void;
}

/**
 * Updates one container (its caller holds the container's update lock):
 * every check first, then the live cgroup (all or nothing: Cgroup.update
 * puts back what it changed when the kernel refuses a value), then the
 * spec and the record.
 */
export async function updateContainer(ctx: UpdateContext, id: string, change: ResourceChange): Promise<void> {
  const spec: OciSpec = await ctx.store.readSpec(id);
  const record = await ctx.store.read(id);
  const wanted = { ...change, resources: await ctx.hostResources(change.resources) };
  const { resources, write, limits } = mergeResourceUpdate(spec.linux?.resources, record.request?.limits, wanted);
  if (Object.keys(write).length && (await ctx.live(id))) {
    try {
      for (const w of await ctx.engine.update(id, write, fieldNames(change.limits))) ctx.onWarning?.(w);
    } catch (err) {
      // It stopped meanwhile: the new limits are for its next start.
      if (!(err instanceof TsrunError && err.code === 'INVALID_STATE')) throw err;
    }
  }
  await atomicWriteJson(join(ctx.store.dir(id), 'config.json'), { ...spec, linux: { ...spec.linux, resources } });
  const latest = await ctx.store.read(id);
  if (latest.request) await ctx.store.update({ ...latest, request: { ...latest.request, limits } });
}
