// The shapes shared by the v1 and v2 implementations and the public API.
import type { NativeBinding } from '../native/binding.js';
import type { LinuxResources } from '../spec/oci.js';
import type { FieldNames } from './resources.js';

export type CgroupMode = 'v2' | 'v1';

export interface CgroupDeps {
  native: Pick<NativeBinding, 'cgroupWrite' | 'attachDeviceFilter'>;
  /** Where the cgroup filesystems are mounted; default /sys/fs/cgroup. */
  mountRoot?: string;
  /** Path of the mount table to read; default /proc/self/mountinfo (tests pass a fake). */
  mountinfo?: string;
  /** How cgroup directories are made and removed; default node:fs's (tests pass a fake kernel's, which fills a new cgroup with its control files). */
  dirs?: CgroupDirs;
}

/** mkdir and rmdir of a cgroup directory, throwing errors with node:fs's codes (EEXIST, EBUSY, ENOENT...). */
export interface CgroupDirs {
  mkdir(path: string): void;
  rmdir(path: string): void;
}

export interface CgroupStats {
  /** Total CPU time of every process in the cgroup, in nanoseconds. */
  cpuUsageNs: number;
  /** The part of it spent in user mode and in the kernel (v1: cpuacct.stat, in 10 ms ticks). */
  cpuUserNs: number;
  cpuSystemNs: number;
  /** Bytes charged to the cgroup as the kernel counts them (page cache included). */
  memoryUsage: number;
  /** null when unlimited or there is no memory controller. */
  memoryLimit: number | null;
  pids: number;
  /** null when unlimited or there is no pids controller. */
  pidsLimit: number | null;
  /** Bytes read from and written to block devices (v1 blkio.throttle.io_service_bytes, v2 io.stat); 0 without the controller. */
  blockRead: number;
  blockWrite: number;
}

export interface FreezeOptions {
  /** How long to wait for the kernel to report the cgroup frozen; default 5000 ms. */
  timeoutMs?: number;
}

export interface Cgroup {
  /** Path below the hierarchy root(s), without a leading slash: "tsrun/ID". */
  readonly relPath: string;
  readonly mode: CgroupMode;
  /** Every cgroup.procs file a new process must be written to (1 on v2; one per hierarchy on v1). */
  procsFiles(): string[];
  /** File holding an 'oom_kill N' line (v2 memory.events, v1 memory.oom_control), or null without a memory controller. */
  oomFile(): string | null;
  oomKillCount(): Promise<number>;
  /** Resolves once the kernel reports every process frozen; throws CGROUP_BUSY (after thawing) if it never does. */
  freeze(opts?: FreezeOptions): Promise<void>;
  thaw(): Promise<void>;
  frozen(): Promise<boolean>;
  /** Every pid in the cgroup and its descendants, sorted. */
  pids(): Promise<number[]>;
  stats(): Promise<CgroupStats>;
  /** cpu.stat as numbers; both versions have nr_periods and nr_throttled. */
  cpuStat(): Promise<Record<string, number>>;
  /**
   * New limits for a live cgroup (runc update). Every value is checked, and
   * every file looked for, before the first write; a field the spec does
   * not have is INVALID_ARGUMENT, one tsrun cannot change UNSUPPORTED,
   * both by name; a value the kernel refuses puts back what was changed.
   * Device rules are left as they are. `names` is what messages call each
   * field (default: its path below linux.resources). Returns warnings.
   */
  update(resources: LinuxResources, names?: FieldNames): Promise<string[]>;
  /** rmdir in every hierarchy, deepest first; the parent (e.g. "tsrun") stays. */
  destroy(): Promise<void>;
}
