// Usage numbers read from a cgroup's files, for both versions.

import path from 'node:path';
import { parseKeyed, readText } from './fsutil.js';
import type { CgroupStats } from './types.js';

// v1 reports "no limit" as the largest page count times the page size
// (9223372036854771712 with 4 KiB pages); anything this large is unlimited.
const V1_UNLIMITED = 2 ** 62;

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

export async function v2Stats(dir: string, countPids: () => Promise<number>): Promise<CgroupStats> {
  const read = (f: string) => readText(path.join(dir, f));
  const [cpu, memCurrent, memMax, pidsCurrent, pidsMax] = await Promise.all([
    read('cpu.stat'), read('memory.current'), read('memory.max'), read('pids.current'), read('pids.max'),
  ]);
  return {
    cpuUsageNs: (parseKeyed(cpu).usage_usec ?? 0) * 1000,
    memoryUsage: num(memCurrent) ?? 0,
    memoryLimit: v2Limit(memMax),
    pids: num(pidsCurrent) ?? (await countPids()),
    pidsLimit: v2Limit(pidsMax),
  };
}

/** `dirs` maps a controller to this cgroup's directory in its hierarchy. */
export async function v1Stats(dirs: Partial<Record<string, string>>, countPids: () => Promise<number>): Promise<CgroupStats> {
  const read = (controller: string, f: string) => (dirs[controller] ? readText(path.join(dirs[controller]!, f)) : Promise.resolve(null));
  const [usage, memUsage, memLimit, pidsCurrent, pidsMax] = await Promise.all([
    read('cpuacct', 'cpuacct.usage'),
    read('memory', 'memory.usage_in_bytes'),
    read('memory', 'memory.limit_in_bytes'),
    read('pids', 'pids.current'),
    read('pids', 'pids.max'),
  ]);
  return {
    cpuUsageNs: num(usage) ?? 0,
    memoryUsage: num(memUsage) ?? 0,
    memoryLimit: v1Limit(memLimit),
    pids: num(pidsCurrent) ?? (await countPids()),
    pidsLimit: v2Limit(pidsMax), // pids.max is "max" or a number in v1 too
  };
}
