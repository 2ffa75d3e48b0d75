// OCI linux.resources → the control-file writes for each cgroup version.
// Pure: apply.ts checks the files exist and performs the writes.
// runc's libcontainer/cgroups/fs (v1) and fs2 (v2) are the reference for
// every translation here.

import { TsrunError } from '../errors.js';
import type { LinuxResources, LinuxThrottleDevice } from '../spec/oci.js';

export interface ControlWrite {
  /** The controller whose files these are (v1: which hierarchy). */
  controller: string;
  file: string;
  value: string;
  /** What messages call the field the value came from (a flag, by default Docker's). */
  flag: string;
  /**
   * Skipped when the file is missing: only "unlimited swap", which is what
   * a kernel without swap accounting gives anyway.
   */
  optional?: boolean;
  /** Files to write instead, in order, when `file` is missing (the first that exists wins), each with its own value. */
  alternatives?: Array<{ file: string; value: string }>;
  /** With `optional`: the warning when neither the file nor an alternative exists (the write is then skipped). */
  missing?: string;
}

/** Docker's warning for a --blkio-weight the host cannot apply (no CFQ/BFQ weight, no io.weight). */
export const BLKIO_WEIGHT_UNSUPPORTED = 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.';

/** Docker's flag for each OCI field, so messages name what the user typed. */
export const FLAGS = {
  memory: '--memory',
  swap: '--memory-swap',
  reservation: '--memory-reservation',
  swappiness: '--memory-swappiness',
  oomKillDisable: '--oom-kill-disable',
  kernel: '--kernel-memory',
  kernelTCP: '--kernel-memory-tcp',
  quota: '--cpus',
  period: '--cpu-period',
  shares: '--cpu-shares',
  cpus: '--cpuset-cpus',
  mems: '--cpuset-mems',
  rtPeriod: '--cpu-rt-period',
  rtRuntime: '--cpu-rt-runtime',
  pids: '--pids-limit',
  readBps: '--device-read-bps',
  writeBps: '--device-write-bps',
  blkioWeight: '--blkio-weight',
} as const;

/** What messages call each field: Docker's flags (FLAGS), the spec's paths (FIELD_PATHS), or a front end's own. */
export type FieldNames = Record<keyof typeof FLAGS, string>;

/** Each field's path below linux.resources. */
export const FIELD_PATHS: FieldNames = {
  memory: 'memory.limit',
  swap: 'memory.swap',
  reservation: 'memory.reservation',
  swappiness: 'memory.swappiness',
  oomKillDisable: 'memory.disableOOMKiller',
  kernel: 'memory.kernel',
  kernelTCP: 'memory.kernelTCP',
  quota: 'cpu.quota',
  period: 'cpu.period',
  shares: 'cpu.shares',
  cpus: 'cpu.cpus',
  mems: 'cpu.mems',
  rtPeriod: 'cpu.realtimePeriod',
  rtRuntime: 'cpu.realtimeRuntime',
  pids: 'pids.limit',
  readBps: 'blockIO.throttleReadBpsDevice',
  writeBps: 'blockIO.throttleWriteBpsDevice',
  blkioWeight: 'blockIO.weight',
};

const CPUSET_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function invalid(flag: string, message: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', `invalid ${flag}: ${message}`);
}

function checkInt(value: unknown, flag: string, min: number): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || (value as number) < min) throw invalid(flag, `${JSON.stringify(value)} is not an integer >= ${min}`);
}

// null is "not set", as Go's JSON decoder takes it.
function checkObject(value: unknown, what: string): void {
  if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    throw invalid(what, `${JSON.stringify(value)} is not an object`);
  }
}

/**
 * The swappiness to write, or null to leave the kernel's. The spec's field
 * is a uint64 and runc takes -1 (as uint64: 2^64-1, which JSON numbers
 * round to 2^64) as "not set".
 */
export function swappinessValue(v: number | undefined): number | null {
  return v === undefined || v === -1 || v === 2 ** 64 ? null : v;
}

/** Throws INVALID_ARGUMENT for values no kernel would take (and that could smuggle extra text into a write). */
export function validateResources(r: LinuxResources, names: FieldNames = FLAGS): void {
  for (const key of ['memory', 'cpu', 'pids', 'blockIO'] as const) checkObject(r[key], `linux.resources.${key}`);
  const m = r.memory;
  checkInt(m?.limit, names.memory, -1);
  checkInt(m?.swap, names.swap, -1);
  checkInt(m?.reservation, names.reservation, -1);
  const sw = swappinessValue(m?.swappiness);
  // runc: "valid memory swappiness range is 0-100"; the kernel says EINVAL.
  if (sw !== null && (!Number.isSafeInteger(sw) || sw < 0 || sw > 100)) {
    throw invalid(names.swappiness, `${JSON.stringify(m?.swappiness)} is not in 0-100 (-1 leaves the kernel's value)`);
  }
  if (m?.disableOOMKiller !== undefined && typeof m.disableOOMKiller !== 'boolean') {
    throw invalid(names.oomKillDisable, `${JSON.stringify(m.disableOOMKiller)} is not true or false`);
  }
  const c = r.cpu;
  checkInt(c?.shares, names.shares, 0);
  checkInt(c?.quota, names.quota, -1);
  checkInt(c?.period, names.period, 0);
  for (const [v, flag] of [[c?.cpus, names.cpus], [c?.mems, names.mems]] as const) {
    if (v !== undefined && v !== '' && (typeof v !== 'string' || !CPUSET_LIST.test(v))) {
      throw invalid(flag, `${JSON.stringify(v)} is not a list such as 0-2,4`);
    }
  }
  if (r.pids) checkInt(r.pids.limit, names.pids, Number.MIN_SAFE_INTEGER);
  checkInt(r.blockIO?.weight, names.blkioWeight, 0);
  if ((r.blockIO?.weight ?? 0) > 1000) throw invalid(names.blkioWeight, `${r.blockIO!.weight} is above 1000`);
  for (const [list, flag] of [[r.blockIO?.throttleReadBpsDevice, names.readBps], [r.blockIO?.throttleWriteBpsDevice, names.writeBps]] as const) {
    if (list !== undefined && !Array.isArray(list)) throw invalid(flag, `${JSON.stringify(list)} is not a list of devices`);
    for (const d of list ?? []) {
      if (d === null || typeof d !== 'object') throw invalid(flag, `${JSON.stringify(d)} is not a device`);
      checkInt(d.major, flag, 0);
      checkInt(d.minor, flag, 0);
      checkInt(d.rate, flag, 0);
    }
  }
}

/**
 * v2 memory.swap.max holds swap alone, while OCI (like v1) gives memory +
 * swap: runc's ConvertMemorySwapToCgroupV2Value. null = leave it alone.
 */
export function v2SwapValue(swap: number | undefined, limit: number | undefined, names: FieldNames = FLAGS): string | null {
  if (limit === -1 && !swap) return 'max'; // unlimited memory means unlimited swap too
  if (swap === undefined || swap === 0) return null;
  if (swap === -1) return 'max';
  if (limit === undefined || limit === 0 || limit === -1) throw invalid(names.swap, `a swap limit needs a memory limit (${names.memory})`);
  if (swap < limit) throw invalid(names.swap, `memory+swap (${swap}) must not be less than the memory limit (${limit})`);
  return String(swap - limit);
}

/** runc's ConvertCPUSharesToCgroupV2Value: [2, 262144] → [1, 10000]. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

// 0 = not set, -1 = unlimited ("max"), else the number.
function limitValue(n: number | undefined): string | null {
  if (n === undefined || n === 0) return null;
  return n < 0 ? 'max' : String(n);
}

/** Throttles grouped per device, in first-seen order: "MAJ:MIN" → key=value parts. */
function ioMaxLines(read: LinuxThrottleDevice[] = [], write: LinuxThrottleDevice[] = []): Map<string, string[]> {
  const lines = new Map<string, string[]>();
  const add = (d: LinuxThrottleDevice, key: string) => {
    const dev = `${d.major}:${d.minor}`;
    lines.set(dev, [...(lines.get(dev) ?? []).filter((p) => !p.startsWith(`${key}=`)), `${key}=${d.rate}`]);
  };
  read.forEach((d) => add(d, 'rbps'));
  write.forEach((d) => add(d, 'wbps'));
  return lines;
}

/**
 * v2 writes. The memory controller of cgroup v2 has no swappiness and no
 * switch for the OOM killer: runc drops both without a word, crun refuses
 * the latter; tsrun refuses both (CGROUP_UNAVAILABLE), since a container
 * that silently runs without a limit it asked for is worse than one that
 * does not start.
 */
export function v2Writes(r: LinuxResources | undefined, names: FieldNames = FLAGS): ControlWrite[] {
  if (!r) return [];
  validateResources(r, names);
  const out: ControlWrite[] = [];
  const m = r.memory;
  if (m) {
    if (swappinessValue(m.swappiness) !== null) {
      throw new TsrunError('CGROUP_UNAVAILABLE', `cannot apply ${names.swappiness}: cgroup v2 has no per-cgroup swappiness (memory.swappiness is cgroup v1 only)`);
    }
    if (m.disableOOMKiller) {
      throw new TsrunError(
        'CGROUP_UNAVAILABLE',
        `cannot apply ${names.oomKillDisable}: cgroup v2 cannot turn the OOM killer off (memory.oom_control is cgroup v1 only; an oom_score_adj of -1000 comes closest)`,
      );
    }
    // Swap before memory.max, as runc does; in v2 the two limits are independent.
    const swap = v2SwapValue(m.swap, m.limit, names);
    if (swap !== null) out.push({ controller: 'memory', file: 'memory.swap.max', value: swap, flag: names.swap, optional: swap === 'max' });
    const limit = limitValue(m.limit);
    if (limit !== null) out.push({ controller: 'memory', file: 'memory.max', value: limit, flag: names.memory });
    const low = limitValue(m.reservation);
    if (low !== null) out.push({ controller: 'memory', file: 'memory.low', value: low, flag: names.reservation });
  }
  const c = r.cpu;
  if (c) {
    if (c.shares) out.push({ controller: 'cpu', file: 'cpu.weight', value: String(sharesToWeight(c.shares)), flag: names.shares });
    if (c.quota || c.period) {
      // Without a period the kernel keeps the current one.
      const quota = c.quota && c.quota > 0 ? String(c.quota) : 'max';
      out.push({ controller: 'cpu', file: 'cpu.max', value: c.period ? `${quota} ${c.period}` : quota, flag: c.quota ? names.quota : names.period });
    }
    if (c.cpus) out.push({ controller: 'cpuset', file: 'cpuset.cpus', value: c.cpus, flag: names.cpus });
    if (c.mems) out.push({ controller: 'cpuset', file: 'cpuset.mems', value: c.mems, flag: names.mems });
  }
  const pids = limitValue(r.pids?.limit);
  if (pids !== null) out.push({ controller: 'pids', file: 'pids.max', value: pids, flag: names.pids });
  const io = ioMaxLines(r.blockIO?.throttleReadBpsDevice, r.blockIO?.throttleWriteBpsDevice);
  for (const [dev, parts] of io) {
    const flag = parts.some((p) => p.startsWith('rbps=')) ? names.readBps : names.writeBps;
    out.push({ controller: 'io', file: 'io.max', value: `${dev} ${parts.join(' ')}`, flag });
  }
  // runc's fs2 setIo: BFQ's weight as it is, else io.weight on its 1-10000 scale.
  const weight = r.blockIO?.weight;
  if (weight) {
    out.push({
      controller: 'io', file: 'io.bfq.weight', value: String(weight), flag: names.blkioWeight, optional: true,
      alternatives: [{ file: 'io.weight', value: String(Math.max(1, 1 + Math.floor(((weight - 10) * 9999) / 990))) }], missing: BLKIO_WEIGHT_UNSUPPORTED,
    });
  }
  return out;
}

/**
 * v1 writes. memory.memsw.limit_in_bytes (memory + swap) may never be
 * below memory.limit_in_bytes, so the order depends on the current limit:
 * when the new memory+swap is above it, raise memsw first (runc's
 * setMemoryAndSwap). `currentMemoryLimit` is what the cgroup has now
 * (unlimited in a fresh one). Then, as runc's MemoryGroup.Set:
 * memory.oom_control gets 1 for disableOOMKiller, memory.swappiness the
 * swappiness unless it is -1.
 */
export function v1Writes(r: LinuxResources | undefined, currentMemoryLimit = Number.MAX_SAFE_INTEGER, names: FieldNames = FLAGS): ControlWrite[] {
  if (!r) return [];
  validateResources(r, names);
  const out: ControlWrite[] = [];
  const m = r.memory;
  if (m) {
    let swap = m.swap;
    if (m.limit === -1 && !swap) swap = -1;
    // Same sanity rules as v2, so a spec means the same on both.
    if (swap !== undefined && swap !== -1 && swap !== 0) v2SwapValue(swap, m.limit, names);
    const mem: ControlWrite | null = m.limit ? { controller: 'memory', file: 'memory.limit_in_bytes', value: String(m.limit), flag: names.memory } : null;
    const memsw: ControlWrite | null = swap
      ? { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(swap), flag: names.swap, optional: swap === -1 }
      : null;
    if (mem && memsw && (swap === -1 || currentMemoryLimit < swap!)) out.push(memsw, mem);
    else out.push(...[mem, memsw].filter((w): w is ControlWrite => w !== null));
    if (m.reservation) out.push({ controller: 'memory', file: 'memory.soft_limit_in_bytes', value: String(m.reservation), flag: names.reservation });
    if (m.disableOOMKiller) out.push({ controller: 'memory', file: 'memory.oom_control', value: '1', flag: names.oomKillDisable });
    const swappiness = swappinessValue(m.swappiness);
    if (swappiness !== null) out.push({ controller: 'memory', file: 'memory.swappiness', value: String(swappiness), flag: names.swappiness });
  }
  const c = r.cpu;
  if (c) {
    if (c.shares) out.push({ controller: 'cpu', file: 'cpu.shares', value: String(c.shares), flag: names.shares });
    // Period first: the quota is checked against it.
    if (c.period) out.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(c.period), flag: names.period });
    if (c.quota) out.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(c.quota > 0 ? c.quota : -1), flag: names.quota });
    if (c.cpus) out.push({ controller: 'cpuset', file: 'cpuset.cpus', value: c.cpus, flag: names.cpus });
    if (c.mems) out.push({ controller: 'cpuset', file: 'cpuset.mems', value: c.mems, flag: names.mems });
  }
  const pids = limitValue(r.pids?.limit);
  if (pids !== null) out.push({ controller: 'pids', file: 'pids.max', value: pids, flag: names.pids });
  for (const d of r.blockIO?.throttleReadBpsDevice ?? []) {
    out.push({ controller: 'blkio', file: 'blkio.throttle.read_bps_device', value: `${d.major}:${d.minor} ${d.rate}`, flag: names.readBps });
  }
  for (const d of r.blockIO?.throttleWriteBpsDevice ?? []) {
    out.push({ controller: 'blkio', file: 'blkio.throttle.write_bps_device', value: `${d.major}:${d.minor} ${d.rate}`, flag: names.writeBps });
  }
  // CFQ's blkio.weight, or BFQ's blkio.bfq.weight; hosts with neither (mq-deadline, none) skip it.
  const weight = r.blockIO?.weight;
  if (weight) {
    out.push({
      controller: 'blkio', file: 'blkio.weight', value: String(weight), flag: names.blkioWeight, optional: true,
      alternatives: [{ file: 'blkio.bfq.weight', value: String(weight) }], missing: BLKIO_WEIGHT_UNSUPPORTED,
    });
  }
  return out;
}

/** Controllers the writes cannot do without (optional writes excluded), each with the first flag needing it. */
export function requiredControllers(writes: ControlWrite[]): Map<string, string> {
  const need = new Map<string, string>();
  for (const w of writes) if (!w.optional && !need.has(w.controller)) need.set(w.controller, w.flag);
  return need;
}

/** The CGROUP_UNAVAILABLE message for a control file the kernel did not create. */
export function missingFileMessage(w: ControlWrite): string {
  if (w.file === 'memory.memsw.limit_in_bytes' || w.file === 'memory.swap.max') {
    return `cannot apply ${w.flag}: the memory controller has no swap accounting (${w.file} missing)`;
  }
  return `cannot apply ${w.flag}: the ${w.controller} controller has no ${w.file} here`;
}

// What Cgroup.update does with each runtime-spec linux.resources field:
// write it (through v1Writes/v2Writes), ignore it (device rules: runc's
// update leaves them too), warn and ignore it (kernel memory: no kernel
// since Linux 6 has those limits, and runc ignores them), or refuse it by
// name when it is set (tsrun has no way to write it).
type Disposition = 'write' | 'ignore' | 'warn' | 'refuse';
const UPDATE_FIELDS: Record<string, Disposition | Record<string, Disposition>> = {
  devices: 'ignore',
  memory: {
    limit: 'write', reservation: 'write', swap: 'write', swappiness: 'write', disableOOMKiller: 'write',
    kernel: 'warn', kernelTCP: 'warn', useHierarchy: 'refuse', checkBeforeUpdate: 'refuse',
  },
  cpu: {
    shares: 'write', quota: 'write', period: 'write', cpus: 'write', mems: 'write',
    burst: 'refuse', realtimeRuntime: 'refuse', realtimePeriod: 'refuse', idle: 'refuse',
  },
  pids: { limit: 'write' },
  blockIO: {
    throttleReadBpsDevice: 'write', throttleWriteBpsDevice: 'write',
    weight: 'write', leafWeight: 'refuse', weightDevice: 'refuse', throttleReadIOPSDevice: 'refuse', throttleWriteIOPSDevice: 'refuse',
  },
  hugepageLimits: 'refuse',
  network: 'refuse',
  rdma: 'refuse',
  unified: 'refuse',
};

// Fields that have a name in FieldNames (the rest are named by their path).
const NAMED: Record<string, keyof FieldNames> = Object.fromEntries(
  Object.entries(FIELD_PATHS).map(([key, p]) => [p, key as keyof FieldNames]),
);

/** Set = asks for something: not absent, null, 0, false, '' or empty. */
function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === 0 || v === false || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/**
 * Checks new limits for a live cgroup before anything is written: throws
 * INVALID_ARGUMENT naming a field the runtime spec does not have (a typo
 * must not pass for a change), UNSUPPORTED naming every set field tsrun
 * cannot change. Returns warnings for fields that are ignored.
 */
export function checkUpdate(r: LinuxResources, names: FieldNames = FIELD_PATHS): string[] {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw invalid('linux.resources', `${JSON.stringify(r)} is not an object`);
  const name = (p: string) => (NAMED[p] ? names[NAMED[p]] : p);
  const refused: string[] = [];
  const ignored: string[] = [];
  const judge = (p: string, how: Disposition, v: unknown) => {
    if (how === 'refuse' && isSet(v)) refused.push(name(p));
    if (how === 'warn' && isSet(v)) ignored.push(name(p));
  };
  for (const [key, value] of Object.entries(r as Record<string, unknown>)) {
    const how = UPDATE_FIELDS[key];
    if (how === undefined) throw new TsrunError('INVALID_ARGUMENT', `unknown field linux.resources.${key}`);
    if (typeof how === 'string') {
      judge(key, how, value);
      continue;
    }
    if (value === undefined || value === null) continue;
    checkObject(value, `linux.resources.${key}`);
    for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
      if (how[field] === undefined) throw new TsrunError('INVALID_ARGUMENT', `unknown field linux.resources.${key}.${field}`);
      judge(`${key}.${field}`, how[field], v);
    }
  }
  if (refused.length) throw new TsrunError('UNSUPPORTED', `tsrun cannot change ${refused.join(', ')} of a container`);
  return ignored.length ? [`${ignored.join(' and ')} ignored: Linux 6 has no kernel memory limits (runc ignores them too)`] : [];
}
