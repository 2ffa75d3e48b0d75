// The subset of the OCI runtime-spec config.json (v1.2) that tsrun reads and
// writes. Field names are the spec's own so a bundle written by podman or
// containerd parses into the same shape as one tsrun builds.

export const OCI_VERSION = '1.2.0';

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface OciNamespace { type: NamespaceType; path?: string }

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciRlimit { type: string; hard: number; soft: number }

export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  /** Not in the spec: what the user asked for, kept for messages. */
  username?: string;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  /** AppArmor profile to exec into (only set on hosts with AppArmor). */
  apparmorProfile?: string;
}

/** One device-cgroup rule; type 'a' (or none) means every device, major/minor -1 or absent mean any. */
export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  /** Some of 'r', 'w', 'm'; absent means 'rwm'. */
  access?: string;
}

/** Bytes; -1 is unlimited. `swap` is memory + swap together, as in cgroup v1. */
export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  /** Kernel memory limits: no kernel since 6.x has them; ignored, as runc ignores them. */
  kernel?: number;
  kernelTCP?: number;
  /** 0-100 (cgroup v1 memory.swappiness); -1 or absent leaves the kernel's value. */
  swappiness?: number;
  /** cgroup v1 memory.oom_control: the OOM killer leaves the cgroup alone. */
  disableOOMKiller?: boolean;
}

export interface LinuxCpu {
  shares?: number;
  /** Microseconds per period; -1 is unlimited. */
  quota?: number;
  period?: number;
  /** cpuset list, e.g. "0-1,3". */
  cpus?: string;
  mems?: string;
  /** Realtime scheduler budget (µs); tsrun cannot set these. */
  realtimeRuntime?: number;
  realtimePeriod?: number;
}

export interface LinuxPids {
  /** 0 or -1 is unlimited. */
  limit: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  /** Bytes per second. */
  rate: number;
}

export interface LinuxBlockIO {
  /** Proportional weight (10-1000): v1 blkio.weight or blkio.bfq.weight, v2 io.bfq.weight or io.weight; skipped where the host has none. */
  weight?: number;
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCpu;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  /** cgroup v2 file → value, written as given (tsrun does not write these). */
  unified?: Record<string, string>;
}

/** One argument condition of a seccomp rule (runtime-spec config-linux.md). */
export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSeccompSyscall[];
}

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds; absent means no limit. */
  timeout?: number;
}

export interface OciHooks {
  prestart?: OciHook[];
  createRuntime?: OciHook[];
  createContainer?: OciHook[];
  startContainer?: OciHook[];
  poststart?: OciHook[];
  poststop?: OciHook[];
}

/** One line of /proc/PID/uid_map: container ids [containerID, containerID+size) are host ids [hostID, hostID+size). */
export interface LinuxIdMapping { containerID: number; hostID: number; size: number }

export interface OciLinux {
  namespaces?: OciNamespace[];
  uidMappings?: LinuxIdMapping[];
  gidMappings?: LinuxIdMapping[];
  seccomp?: OciSeccomp;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
  cgroupsPath?: string;
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  devices?: Array<{ path: string; type: string; major: number; minor: number; fileMode?: number; uid?: number; gid?: number }>;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: OciMount[];
  linux?: OciLinux;
  hooks?: OciHooks;
  annotations?: Record<string, string>;
}
