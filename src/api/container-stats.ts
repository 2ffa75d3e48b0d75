// GET /containers/{id}/stats: Docker's stats document from the numbers
// `tsrun stats` reads (the container's cgroup, its network namespace's
// traffic), with the host's CPU time beside them (system_cpu_usage) and
// the previous reading as precpu_stats, so a client computes CPU % as the
// docker CLI does: (cpu delta / system delta) × online CPUs × 100.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { CgroupStats } from '../cgroups/types.js';
import type { ContainerView } from '../runtime/containers.js';
import type { Tsrun } from '../tsrun.js';

export interface StatsSample {
  at: Date;
  cg: CgroupStats;
  net: { rxBytes: number; txBytes: number } | null;
  systemNs: number;
  cpus: number;
}

// /proc/stat counts USER_HZ ticks, 100 a second.
const NS_PER_TICK = 1e7;

/** The host's CPU time (Docker's system_cpu_usage: every state but steal and guest) and its CPU count. */
function hostCpu(): { systemNs: number; cpus: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const total = lines[0].trim().split(/\s+/).slice(1, 8).reduce((sum, n) => sum + Number(n), 0);
  return { systemNs: total * NS_PER_TICK, cpus: lines.filter((l) => /^cpu\d+ /.test(l)).length || 1 };
}

/** One reading of a running container; null when it has no process (or cgroup) to read. */
export async function sampleStats(tsrun: Tsrun, v: ContainerView): Promise<StatsSample | null> {
  if (v.status !== 'running' && v.status !== 'paused') return null;
  const c = tsrun.containers;
  const rec = await c.engine.load(v.record.id).catch(() => null);
  const cg = rec && (await c.engine.cgroup(rec).stats().catch(() => null));
  if (!cg) return null;
  return { at: new Date(), cg, net: await c.netIO(v), ...hostCpu() };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function cpuStats(s: StatsSample | null): object {
  return {
    cpu_usage: { total_usage: s?.cg.cpuUsageNs ?? 0, usage_in_kernelmode: s?.cg.cpuSystemNs ?? 0, usage_in_usermode: s?.cg.cpuUserNs ?? 0 },
    ...(s ? { system_cpu_usage: s.systemNs, online_cpus: s.cpus } : {}),
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** Docker's stats document for `now` after `before` (a stopped container's: zeros). */
export function statsDocument(v: ContainerView, now: StatsSample | null, before: StatsSample | null): object {
  const cg = now?.cg;
  return {
    read: now?.at.toISOString() ?? ZERO_TIME,
    preread: before?.at.toISOString() ?? ZERO_TIME,
    pids_stats: cg ? { current: cg.pids, ...(cg.pidsLimit !== null ? { limit: cg.pidsLimit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: cg ? [{ major: 0, minor: 0, op: 'read', value: cg.blockRead }, { major: 0, minor: 0, op: 'write', value: cg.blockWrite }] : null,
      io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null,
      io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(now),
    precpu_stats: cpuStats(before),
    memory_stats: cg ? { usage: cg.memoryUsage, limit: cg.memoryLimit ?? totalmem(), stats: {} } : {},
    name: `/${v.record.name}`,
    id: v.record.id,
    ...(now?.net ? {
      networks: {
        eth0: { rx_bytes: now.net.rxBytes, rx_packets: 0, rx_errors: 0, rx_dropped: 0, tx_bytes: now.net.txBytes, tx_packets: 0, tx_errors: 0, tx_dropped: 0 },
      },
    } : {}),
  };
}
