// OCI linux.resources → the control-file writes for each cgroup version.
// Pure: the v1/v2 modules check the files exist and perform the writes.
// runc's libcontainer/cgroups/fs (v1) and fs2 (v2) are the reference for
// every translation here.

import { TsrunError } from '../errors.js';
import type { LinuxResources, LinuxThrottleDevice } from '../spec/oci.js';

export interface ControlWrite {
  /** The controller whose files these are (v1: which hierarchy). */
  controller: string;
  file: string;
  value: string;
  /** The run flag the value came from, for messages. */
  flag: string;
  /**
   * Skipped when the file is missing: only "unlimited swap", which is what
   * a kernel without swap accounting gives anyway.
   */
  optional?: boolean;
}

/** Docker's flag for each OCI field, so messages name what the user typed. */
export const FLAGS = {
  memory: '--memory',
  swap: '--memory-swap',
  reservation: '--memory-reservation',
  quota: '--cpus',
  period: '--cpu-period',
  shares: '--cpu-shares',
  cpus: '--cpuset-cpus',
  mems: '--cpuset-mems',
  pids: '--pids-limit',
  readBps: '--device-read-bps',
  writeBps: '--device-write-bps',
} as const;

const CPUSET_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function invalid(flag: string, message: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', `invalid ${flag}: ${message}`);
}

function checkInt(value: number | undefined, flag: string, min: number): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < min) throw invalid(flag, `${value} is not an integer >= ${min}`);
}

/** Throws INVALID_ARGUMENT for values no kernel would take (and that could smuggle extra text into a write). */
export function validateResources(r: LinuxResources): void {
  const m = r.memory;
  checkInt(m?.limit, FLAGS.memory, -1);
  checkInt(m?.swap, FLAGS.swap, -1);
  checkInt(m?.reservation, FLAGS.reservation, -1);
  const c = r.cpu;
  checkInt(c?.shares, FLAGS.shares, 0);
  checkInt(c?.quota, FLAGS.quota, -1);
  checkInt(c?.period, FLAGS.period, 0);
  for (const [v, flag] of [[c?.cpus, FLAGS.cpus], [c?.mems, FLAGS.mems]] as const) {
    if (v !== undefined && v !== '' && !CPUSET_LIST.test(v)) throw invalid(flag, `${JSON.stringify(v)} is not a list such as 0-2,4`);
  }
  if (r.pids) checkInt(r.pids.limit, FLAGS.pids, Number.MIN_SAFE_INTEGER);
  for (const [list, flag] of [[r.blockIO?.throttleReadBpsDevice, FLAGS.readBps], [r.blockIO?.throttleWriteBpsDevice, FLAGS.writeBps]] as const) {
    for (const d of list ?? []) {
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
export function v2SwapValue(swap: number | undefined, limit: number | undefined): string | null {
  if (limit === -1 && !swap) return 'max'; // unlimited memory means unlimited swap too
  if (swap === undefined || swap === 0) return null;
  if (swap === -1) return 'max';
  if (limit === undefined || limit === 0 || limit === -1) throw invalid(FLAGS.swap, 'a swap limit needs a memory limit (--memory)');
  if (swap < limit) throw invalid(FLAGS.swap, `memory+swap (${swap}) must not be less than the memory limit (${limit})`);
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

export function v2Writes(r: LinuxResources | undefined): ControlWrite[] {
  if (!r) return [];
  validateResources(r);
  const out: ControlWrite[] = [];
  const m = r.memory;
  if (m) {
    // Swap before memory.max, as runc does; in v2 the two limits are independent.
    const swap = v2SwapValue(m.swap, m.limit);
    if (swap !== null) out.push({ controller: 'memory', file: 'memory.swap.max', value: swap, flag: FLAGS.swap, optional: swap === 'max' });
    const limit = limitValue(m.limit);
    if (limit !== null) out.push({ controller: 'memory', file: 'memory.max', value: limit, flag: FLAGS.memory });
    const low = limitValue(m.reservation);
    if (low !== null) out.push({ controller: 'memory', file: 'memory.low', value: low, flag: FLAGS.reservation });
  }
  const c = r.cpu;
  if (c) {
    if (c.shares) out.push({ controller: 'cpu', file: 'cpu.weight', value: String(sharesToWeight(c.shares)), flag: FLAGS.shares });
    if (c.quota || c.period) {
      // Without a period the kernel keeps the current one.
      const quota = c.quota && c.quota > 0 ? String(c.quota) : 'max';
      out.push({ controller: 'cpu', file: 'cpu.max', value: c.period ? `${quota} ${c.period}` : quota, flag: c.quota ? FLAGS.quota : FLAGS.period });
    }
    if (c.cpus) out.push({ controller: 'cpuset', file: 'cpuset.cpus', value: c.cpus, flag: FLAGS.cpus });
    if (c.mems) out.push({ controller: 'cpuset', file: 'cpuset.mems', value: c.mems, flag: FLAGS.mems });
  }
  const pids = limitValue(r.pids?.limit);
  if (pids !== null) out.push({ controller: 'pids', file: 'pids.max', value: pids, flag: FLAGS.pids });
  const io = ioMaxLines(r.blockIO?.throttleReadBpsDevice, r.blockIO?.throttleWriteBpsDevice);
  for (const [dev, parts] of io) {
    const flag = parts.some((p) => p.startsWith('rbps=')) ? FLAGS.readBps : FLAGS.writeBps;
    out.push({ controller: 'io', file: 'io.max', value: `${dev} ${parts.join(' ')}`, flag });
  }
  return out;
}

/**
 * v1 writes. memory.memsw.limit_in_bytes (memory + swap) may never be
 * below memory.limit_in_bytes, so the order depends on the current limit:
 * when the new memory+swap is above it, raise memsw first (runc's
 * setMemoryAndSwap). `currentMemoryLimit` is what the cgroup has now
 * (unlimited in a fresh one).
 */
export function v1Writes(r: LinuxResources | undefined, currentMemoryLimit = Number.MAX_SAFE_INTEGER): ControlWrite[] {
  if (!r) return [];
  validateResources(r);
  const out: ControlWrite[] = [];
  const m = r.memory;
  if (m) {
    let swap = m.swap;
    if (m.limit === -1 && !swap) swap = -1;
    // Same sanity rules as v2, so a spec means the same on both.
    if (swap !== undefined && swap !== -1 && swap !== 0) v2SwapValue(swap, m.limit);
    const mem: ControlWrite | null = m.limit ? { controller: 'memory', file: 'memory.limit_in_bytes', value: String(m.limit), flag: FLAGS.memory } : null;
    const memsw: ControlWrite | null = swap
      ? { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(swap), flag: FLAGS.swap, optional: swap === -1 }
      : null;
    if (mem && memsw && (swap === -1 || currentMemoryLimit < swap!)) out.push(memsw, mem);
    else out.push(...[mem, memsw].filter((w): w is ControlWrite => w !== null));
    if (m.reservation) out.push({ controller: 'memory', file: 'memory.soft_limit_in_bytes', value: String(m.reservation), flag: FLAGS.reservation });
  }
  const c = r.cpu;
  if (c) {
    if (c.shares) out.push({ controller: 'cpu', file: 'cpu.shares', value: String(c.shares), flag: FLAGS.shares });
    // Period first: the quota is checked against it.
    if (c.period) out.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(c.period), flag: FLAGS.period });
    if (c.quota) out.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(c.quota > 0 ? c.quota : -1), flag: FLAGS.quota });
    if (c.cpus) out.push({ controller: 'cpuset', file: 'cpuset.cpus', value: c.cpus, flag: FLAGS.cpus });
    if (c.mems) out.push({ controller: 'cpuset', file: 'cpuset.mems', value: c.mems, flag: FLAGS.mems });
  }
  const pids = limitValue(r.pids?.limit);
  if (pids !== null) out.push({ controller: 'pids', file: 'pids.max', value: pids, flag: FLAGS.pids });
  for (const d of r.blockIO?.throttleReadBpsDevice ?? []) {
    out.push({ controller: 'blkio', file: 'blkio.throttle.read_bps_device', value: `${d.major}:${d.minor} ${d.rate}`, flag: FLAGS.readBps });
  }
  for (const d of r.blockIO?.throttleWriteBpsDevice ?? []) {
    out.push({ controller: 'blkio', file: 'blkio.throttle.write_bps_device', value: `${d.major}:${d.minor} ${d.rate}`, flag: FLAGS.writeBps });
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
