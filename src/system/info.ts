// `tsrun info`: Docker's Info document, as far as tsrun has its fields. The
// kernel facts come from `tsrun check`'s probe (without its namespace
// attempts: info forks nothing) and the cgroup version from the layout the
// runtime drives (cgroups/detect.ts); counts come from the stores.
import { createHash } from 'node:crypto';
import { access, readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NAMESPACE_UNTESTED, gatherFacts, type ProbeFacts } from '../check/probe.js';
import { detectLayout } from '../cgroups/detect.js';
import type { Tsrun } from '../tsrun.js';
import { API_VERSION, TSRUN_VERSION } from './version.js';

export interface InfoOptions {
  /** Docker's registry-mirrors (the global --registry-mirror). */
  registryMirrors?: string[];
  /** Registries reached over plain http (the global --insecure-registry). */
  insecureRegistries?: string[];
  /** The global --userns-remap, when set. */
  usernsRemap?: string;
}

export interface IndexInfo {
  Name: string;
  Mirrors: string[];
  Secure: boolean;
  Official: boolean;
}

/** Docker's `GET /info` (types.Info), the fields tsrun has. */
export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: 'overlay';
  DriverStatus: [string, string][];
  Plugins: { Volume: string[]; Network: string[]; Authorization: null; Log: string[] };
  MemoryLimit: boolean;
  SwapLimit: boolean;
  CpuCfsPeriod: boolean;
  CpuCfsQuota: boolean;
  CPUShares: boolean;
  CPUSet: boolean;
  PidsLimit: boolean;
  OomKillDisable: boolean;
  IPv4Forwarding: boolean;
  Debug: boolean;
  SystemTime: string;
  LoggingDriver: 'json-file';
  CgroupDriver: 'cgroupfs';
  CgroupVersion: '1' | '2';
  KernelVersion: string;
  OperatingSystem: string;
  OSVersion: string;
  OSType: 'linux';
  Architecture: string;
  IndexServerAddress: string;
  RegistryConfig: { InsecureRegistryCIDRs: string[]; IndexConfigs: Record<string, IndexInfo>; Mirrors: string[] };
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
  /** tsrun's runtime state directory (the global --runroot); not a Docker field. */
  RunRoot: string;
  Name: string;
  Labels: string[];
  ExperimentalBuild: boolean;
  ServerVersion: string;
  ApiVersion: string;
  Runtimes: Record<string, { path: string }>;
  DefaultRuntime: string;
  Swarm: { NodeID: ''; NodeAddr: ''; LocalNodeState: 'inactive'; ControlAvailable: false; Error: ''; RemoteManagers: null };
  /** Containers outlive the CLI (each has its own monitor): there is no daemon whose restart could stop them. */
  LiveRestoreEnabled: true;
  Isolation: '';
  SecurityOptions: string[];
  Warnings: string[];
}

// statfs(2) f_type → Docker's backing filesystem names.
const FS_NAMES: Record<number, string> = {
  0xef53: 'extfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs', 0x6969: 'nfs', 0x65735546: 'fuse', 0xf2f52010: 'f2fs',
};

const readText = (path: string) => readFile(path, 'utf8').catch(() => null);
const exists = (path: string) => access(path).then(() => true, () => false);

/** A value of /etc/os-release (`PRETTY_NAME`), unquoted. */
export function osRelease(text: string | null, key: string): string | undefined {
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text ?? '');
  return m ? m[1].trim().replace(/^(["'])(.*)\1$/, '$2') : undefined;
}

/** The filesystem the store lives on (its nearest existing ancestor's when it is not made yet). */
async function backingFilesystem(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    const st = await statfs(p).catch(() => null);
    if (st) return FS_NAMES[st.type] ?? `0x${st.type.toString(16)}`;
    if (p === dirname(p)) return 'unknown';
  }
}

/** A stable id per host and store (Docker's engine ID is a UUID too), derived, so `info` writes nothing. */
function engineId(machineId: string | null, root: string): string {
  const h = createHash('sha256').update(`${machineId?.trim() || os.hostname()}\0${root}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Docker's limit-support warnings ("WARNING: No memory limit support") and tsrun's own from the probe. */
function warningsOf(facts: ProbeFacts, info: Pick<SystemInfo, 'MemoryLimit' | 'SwapLimit' | 'CpuCfsQuota' | 'CPUShares' | 'CPUSet' | 'PidsLimit'>): string[] {
  const w: string[] = [];
  if (facts.uid !== 0) w.push(`WARNING: running as uid ${facts.uid}: tsrun needs root`);
  if (!facts.overlay) w.push('WARNING: overlay is not in /proc/filesystems: containers from images cannot run');
  if (facts.cgroup.mode === 'none') w.push('WARNING: no cgroup filesystem is mounted: no resource limits');
  if (!info.MemoryLimit) w.push('WARNING: No memory limit support');
  if (!info.SwapLimit) w.push('WARNING: No swap limit support');
  if (!info.CpuCfsQuota) w.push('WARNING: No cpu cfs quota support');
  if (!info.CPUShares) w.push('WARNING: No cpu shares support');
  if (!info.CPUSet) w.push('WARNING: No cpuset support');
  if (!info.PidsLimit) w.push('WARNING: No pids limit support');
  if (!facts.seccomp.supported) w.push('WARNING: seccomp is not supported by this kernel: containers run without a syscall filter');
  const missing = Object.entries(facts.networkTools).filter(([, ok]) => !ok).map(([t]) => t);
  if (missing.length) w.push(`WARNING: bridge networks are unavailable: ${missing.join(', ')} not found (see tsrun check)`);
  return w;
}

export async function systemInfo(tsrun: Tsrun, opts: InfoOptions = {}): Promise<SystemInfo> {
  const [facts, osText, machineId, ipForward, containers, index, fsName] = await Promise.all([
    gatherFacts({ readFile: readText, exists, tryNamespace: () => NAMESPACE_UNTESTED, uid: process.getuid?.() ?? -1 }),
    readText('/etc/os-release').then((t) => t ?? readText('/usr/lib/os-release')),
    readText('/etc/machine-id'),
    readText('/proc/sys/net/ipv4/ip_forward'),
    tsrun.containers.summaries(true),
    tsrun.images.index.read(),
    backingFilesystem(tsrun.root),
  ]);
  const layout = detectLayout({ native: tsrun.native });
  const usable = facts.cgroup.usable;
  const memsw = layout.mode === 'v1' && layout.hierarchies.memory ? await exists(`${layout.hierarchies.memory}/memory.memsw.limit_in_bytes`) : 'memory' in usable;
  const limits = {
    MemoryLimit: 'memory' in usable,
    SwapLimit: memsw,
    CpuCfsPeriod: 'cpu' in usable,
    CpuCfsQuota: 'cpu' in usable,
    CPUShares: 'cpu' in usable,
    CPUSet: 'cpuset' in usable,
    PidsLimit: 'pids' in usable,
  };
  // Docker counts a container its restart policy is about to start again as running (State.Running is true).
  const running = containers.filter((c) => c.status === 'running' || c.status === 'restarting').length;
  const paused = containers.filter((c) => c.status === 'paused').length;
  const mirrors = opts.registryMirrors ?? [];
  const insecure = opts.insecureRegistries ?? [];
  const security = [
    ...(facts.seccomp.supported ? ['name=seccomp,profile=default'] : []),
    'name=no-new-privileges',
    ...(facts.namespaces.cgroup.supported ? ['name=cgroupns'] : []),
    ...(opts.usernsRemap ? ['name=userns'] : []),
  ];
  return {
    ID: engineId(machineId, tsrun.root),
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: containers.length - running - paused,
    Images: Object.keys(index.images).length,
    Driver: 'overlay',
    DriverStatus: [['Backing Filesystem', fsName], ['Supports d_type', 'true']],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file'] },
    ...limits,
    OomKillDisable: layout.mode === 'v1' && limits.MemoryLimit,
    IPv4Forwarding: ipForward?.trim() === '1',
    Debug: !!process.env.TSRUN_DEBUG,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: layout.mode === 'v2' ? '2' : '1',
    KernelVersion: facts.kernelRelease ?? os.release(),
    OperatingSystem: osRelease(osText, 'PRETTY_NAME') ?? 'Linux',
    OSVersion: osRelease(osText, 'VERSION_ID') ?? '',
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: {
      // Plain http to loopback registries needs no --insecure-registry (README "Usage").
      InsecureRegistryCIDRs: ['127.0.0.0/8'],
      IndexConfigs: {
        'docker.io': { Name: 'docker.io', Mirrors: mirrors, Secure: true, Official: true },
        ...Object.fromEntries(insecure.map((h) => [h, { Name: h, Mirrors: [], Secure: false, Official: false }])),
      },
      Mirrors: mirrors,
    },
    NCPU: os.availableParallelism(),
    MemTotal: os.totalmem(),
    DockerRootDir: tsrun.root,
    RunRoot: tsrun.runroot,
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: TSRUN_VERSION,
    ApiVersion: API_VERSION,
    Runtimes: { 'tsrun-oci': { path: fileURLToPath(new URL('../../bin/tsrun-oci', import.meta.url)) } },
    DefaultRuntime: 'tsrun-oci',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    SecurityOptions: security,
    Warnings: warningsOf(facts, limits),
  };
}
