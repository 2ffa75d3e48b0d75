// Usage numbers read from a cgroup's files, for both versions.

import path from 'node:path';
import { parseKeyed, readText } from './fsutil.js';
import type { Cgroup, CgroupStats } from './types.js';

// v1 reports "no limit" as the largest page count times the page size
// (9223372036854771712 with 4 KiB pages); anything this large is unlimited.
const V1_UNLIMITED = 2 ** 62;

// cpuacct.stat counts USER_HZ ticks, 100 a second on every architecture Linux has.
const NS_PER_TICK = 1e7;

function num(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

/** v2 limit files: "max" or a number. */
function v2Limit(text: string | null): number | null {
  return text === null || text.trim() === 'max' ? null : num(text);
}

function v1Limit(text: string | null): number | null {
  const n = num(text);
  return n === null || n < 0 || n >= V1_UNLIMITED ? null : n;
}

/** v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." a line per device. */
export function parseIoStat(text: string | null): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text?.split('\n') ?? []) {
    for (const kv of line.trim().split(/\s+/).slice(1)) {
      const [key, value] = kv.split('=');
      if (key === 'rbytes') read += Number(value) || 0;
      else if (key === 'wbytes') write += Number(value) || 0;
    }
  }
  return { read, write };
}

/** v1 blkio.*io_service_bytes*: "MAJ:MIN Read N" (and Write, Sync, Async, Discard, Total) a line each, then "Total N". */
export function parseIoServiceBytes(text: string | null): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text?.split('\n') ?? []) {
    const [dev, op, value] = line.trim().split(/\s+/);
    if (!dev?.includes(':') || value === undefined) continue;
    if (op === 'Read') read += Number(value) || 0;
    else if (op === 'Write') write += Number(value) || 0;
  }
  return { read, write };
}

export async function v2Stats(dir: string, countPids: () => Promise<number>): Promise<CgroupStats> {
  const read = (f: string) => readText(path.join(dir, f));
  const [cpu, memCurrent, memMax, pidsCurrent, pidsMax, ioStat] = await Promise.all([
    read('cpu.stat'), read('memory.current'), read('memory.max'), read('pids.current'), read('pids.max'), read('io.stat'),
  ]);
  const io = parseIoStat(ioStat);
  const cpuStat = parseKeyed(cpu);
  return {
    cpuUsageNs: (cpuStat.usage_usec ?? 0) * 1000,
    cpuUserNs: (cpuStat.user_usec ?? 0) * 1000,
    cpuSystemNs: (cpuStat.system_usec ?? 0) * 1000,
    memoryUsage: num(memCurrent) ?? 0,
    memoryLimit: v2Limit(memMax),
    pids: num(pidsCurrent) ?? (await countPids()),
    pidsLimit: v2Limit(pidsMax),
    blockRead: io.read,
    blockWrite: io.write,
  };
}

/** `dirs` maps a controller to this cgroup's directory in its hierarchy. */
export async function v1Stats(dirs: Partial<Record<string, string>>, countPids: () => Promise<number>): Promise<CgroupStats> {
  const read = (controller: string, f: string) => (dirs[controller] ? readText(path.join(dirs[controller]!, f)) : Promise.resolve(null));
  const [usage, acct, memUsage, memLimit, pidsCurrent, pidsMax, throttled] = await Promise.all([
    read('cpuacct', 'cpuacct.usage'),
    read('cpuacct', 'cpuacct.stat'),
    read('memory', 'memory.usage_in_bytes'),
    read('memory', 'memory.limit_in_bytes'),
    read('pids', 'pids.current'),
    read('pids', 'pids.max'),
    read('blkio', 'blkio.throttle.io_service_bytes_recursive'),
  ]);
  const ticks = parseKeyed(acct);
  // Docker's order: the throttle policy's counts (every I/O passes it), else CFQ/BFQ's.
  let io = parseIoServiceBytes(throttled ?? (await read('blkio', 'blkio.throttle.io_service_bytes')));
  if (io.read === 0 && io.write === 0) {
    const cfq = await read('blkio', 'blkio.io_service_bytes_recursive');
    if (cfq !== null) io = parseIoServiceBytes(cfq);
  }
  return {
    cpuUsageNs: num(usage) ?? 0,
    cpuUserNs: (ticks.user ?? 0) * NS_PER_TICK,
    cpuSystemNs: (ticks.system ?? 0) * NS_PER_TICK,
    memoryUsage: num(memUsage) ?? 0,
    memoryLimit: v1Limit(memLimit),
    pids: num(pidsCurrent) ?? (await countPids()),
    pidsLimit: v2Limit(pidsMax), // pids.max is "max" or a number in v1 too
    blockRead: io.read,
    blockWrite: io.write,
  };
}

/**
 * runc's types.Stats (what `runc events` prints as "data") for the numbers
 * tsrun reads. Unlimited limits are the 64-bit integers runc prints
 * (bigint: a JS number cannot hold them exactly); fields runc leaves out
 * when zero are left out.
 */
export interface RuncStats {
  cpu: {
    usage: { total?: number; kernel: number; user: number };
    throttling: { periods?: number; throttled_periods?: number; throttled_time?: number };
  };
  cpuset: Record<string, never>;
  memory: {
    usage: { limit: number | bigint; usage?: number; failcnt: number };
    swap: { limit: number; failcnt: number };
    kernel: { limit: number; failcnt: number };
    kernelTCP: { limit: number; failcnt: number };
  };
  pids: { current?: number; limit?: number };
  blkio: Record<string, never>;
  hugetlb: Record<string, never>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const V1_UNLIMITED_EXACT = 9223372036854771712n;
const V2_UNLIMITED_EXACT = 18446744073709551615n;

function omitZero<T extends Record<string, number>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0)) as Partial<T>;
}

export async function runcStats(cg: Cgroup): Promise<RuncStats> {
  const [s, cpuStat] = await Promise.all([cg.stats(), cg.cpuStat().catch(() => ({}) as Record<string, number>)]);
  // v1 counts throttled time in ns, v2 in µs.
  const throttledTime = cg.mode === 'v2' ? (cpuStat.throttled_usec ?? 0) * 1000 : (cpuStat.throttled_time ?? 0);
  return {
    cpu: {
      usage: { ...omitZero({ total: s.cpuUsageNs }), kernel: s.cpuSystemNs, user: s.cpuUserNs },
      throttling: omitZero({ periods: cpuStat.nr_periods ?? 0, throttled_periods: cpuStat.nr_throttled ?? 0, throttled_time: throttledTime }),
    },
    cpuset: {},
    memory: {
      usage: { limit: s.memoryLimit ?? (cg.mode === 'v2' ? V2_UNLIMITED_EXACT : V1_UNLIMITED_EXACT), ...omitZero({ usage: s.memoryUsage }), failcnt: 0 },
      swap: { limit: 0, failcnt: 0 },
      kernel: { limit: 0, failcnt: 0 },
      kernelTCP: { limit: 0, failcnt: 0 },
    },
    pids: omitZero({ current: s.pids, limit: s.pidsLimit ?? 0 }),
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}
