// What the running kernel offers tsrun. Everything is read through a
// ProbeHost so the logic can be unit-tested against canned /proc and /sys
// text; nothing here prints or exits (the `tsrun check` verb does that).

import { getSystemErrorName } from 'node:util';
import { parseMountInfo, type MountInfoEntry } from '../util/mountinfo.js';

export const NAMESPACES = ['pid', 'mount', 'uts', 'ipc', 'network', 'cgroup', 'user', 'time'] as const;
export type NamespaceKind = (typeof NAMESPACES)[number];

/** Returned by ProbeHost.tryNamespace when the attempt could not be made at all (e.g. native addon missing). */
export const NAMESPACE_UNTESTED = -1;

export interface ProbeHost {
  /** File contents, or null when it cannot be read. */
  readFile(path: string): Promise<string | null>;
  exists(path: string): Promise<boolean>;
  /** Try to create a namespace of this kind (in a throwaway child): 0, an errno, or NAMESPACE_UNTESTED. */
  tryNamespace(flag: NamespaceKind): number;
  uid: number;
}

export type CgroupMode = 'unified' | 'hybrid' | 'legacy' | 'none';

export interface NamespaceFacts {
  /** /proc/self/ns/<name> exists. */
  supported: boolean;
  /** 0 when creating one worked, else the errno (or NAMESPACE_UNTESTED). */
  errno: number;
}

export interface CgroupV1Hierarchy {
  mountPoint: string;
  controllers: string[];
}

export interface CgroupV2Facts {
  mountPoint: string;
  /** Controllers on offer at the top of the tree we see (its cgroup.controllers); tsrun's cgroups go below it. */
  rootControllers: string[];
  /** Already enabled for children there (its cgroup.subtree_control). */
  rootSubtreeControl: string[];
  /**
   * The top we see is not the kernel's real root (we are in a cgroup
   * namespace or were handed a sub-tree): only the real root has no cgroup.type.
   */
  delegatedRoot: boolean;
  /**
   * On offer but impossible to enable from here: a non-root cgroup that holds
   * processes cannot write its subtree_control (EBUSY, the "no internal
   * processes" rule), so only what is already enabled can be used.
   */
  cannotEnable: string[];
  /** Our own cgroup relative to the mount, from the "0::" line of /proc/self/cgroup; null if outside it. */
  ownPath: string | null;
}

export interface CgroupFacts {
  mode: CgroupMode;
  v1: CgroupV1Hierarchy[];
  v2: CgroupV2Facts | null;
  /** Controllers tsrun can use for limits, and which hierarchy provides each. */
  usable: Record<string, 'v1' | 'v2'>;
}

export interface ProbeFacts {
  uid: number;
  proc: boolean;
  kernelRelease: string | null;
  kernelVersion: [number, number, number] | null;
  namespaces: Record<NamespaceKind, NamespaceFacts>;
  overlay: boolean;
  userns: { maxUserNamespaces: number | null; unprivilegedClone: boolean | null };
  seccomp: { supported: boolean; actions: string[] };
  cgroup: CgroupFacts;
  /** Inferred from the kernel version; null when it is unknown. */
  syscalls: { pivotRoot: true; openat2: boolean | null; clone3: boolean | null; cloneIntoCgroup: boolean | null };
  /** The tools bridge networking runs, and whether each is on the system path. */
  networkTools: Record<(typeof NETWORK_TOOLS)[number], boolean>;
}

/** What bridge networks run (src/network/exec.ts), with their Debian packages. */
export const NETWORK_TOOLS = ['ip', 'nft', 'nsenter'] as const;
const TOOL_PACKAGES: Record<(typeof NETWORK_TOOLS)[number], string> = { ip: 'iproute2', nft: 'nftables', nsenter: 'util-linux' };
const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export type CheckName =
  | 'root'
  | 'procfs'
  | 'kernel'
  | `ns:${NamespaceKind}`
  | 'userns'
  | 'overlay'
  | 'seccomp'
  | 'cgroup'
  | 'cgroup-controllers'
  | 'pivot_root'
  | 'openat2'
  | 'clone3'
  | 'clone_into_cgroup'
  | 'bridge-network';

export interface CheckItem {
  name: CheckName;
  ok: boolean;
  detail: string;
  /** Containers cannot run at all without it. */
  required: boolean;
}

export interface CheckReport {
  items: CheckItem[];
  canRunContainers: boolean;
  facts: ProbeFacts;
}

const PROC_NS_NAME: Record<NamespaceKind, string> = {
  pid: 'pid', mount: 'mnt', uts: 'uts', ipc: 'ipc', network: 'net', cgroup: 'cgroup', user: 'user', time: 'time',
};

/** The namespaces every tsrun container gets; without them there is no container. */
const REQUIRED_NAMESPACES: ReadonlySet<NamespaceKind> = new Set(['pid', 'mount', 'uts', 'ipc', 'network']);

/** Controllers that v1 hierarchies can carry; other super options (rw, name=systemd, ...) are not controllers. */
const V1_CONTROLLERS: ReadonlySet<string> = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'perf_event',
  'hugetlb', 'pids', 'rdma', 'misc',
]);

/** The controllers behind --memory, --cpus and --pids-limit. */
export const LIMIT_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;

const CGROUP_ROOT = '/sys/fs/cgroup';

export async function probe(host: ProbeHost): Promise<CheckReport> {
  return buildReport(await gatherFacts(host));
}

export async function gatherFacts(host: ProbeHost): Promise<ProbeFacts> {
  const [proc, release, filesystems, maxUserNs, unprivClone, status, actions, mountinfo, selfCgroup] = await Promise.all([
    host.exists('/proc/self'),
    host.readFile('/proc/sys/kernel/osrelease'),
    host.readFile('/proc/filesystems'),
    host.readFile('/proc/sys/user/max_user_namespaces'),
    host.readFile('/proc/sys/kernel/unprivileged_userns_clone'),
    host.readFile('/proc/self/status'),
    host.readFile('/proc/sys/kernel/seccomp/actions_avail'),
    host.readFile('/proc/self/mountinfo'),
    host.readFile('/proc/self/cgroup'),
  ]);

  const namespaces = {} as Record<NamespaceKind, NamespaceFacts>;
  for (const kind of NAMESPACES) {
    namespaces[kind] = {
      supported: await host.exists(`/proc/self/ns/${PROC_NS_NAME[kind]}`),
      // Always tried, even when /proc says no: the attempt is the ground truth
      // (and /proc may simply not be mounted).
      errno: host.tryNamespace(kind),
    };
  }

  const kernelRelease = release?.trim() || null;
  const kernelVersion = parseKernelVersion(kernelRelease);
  const atLeast = (major: number, minor: number): boolean | null =>
    kernelVersion === null ? null : kernelVersion[0] > major || (kernelVersion[0] === major && kernelVersion[1] >= minor);

  return {
    uid: host.uid,
    proc,
    kernelRelease,
    kernelVersion,
    namespaces,
    overlay: filesystems !== null && /^\S*\s+overlay$/m.test(filesystems),
    userns: {
      maxUserNamespaces: parseIntOrNull(maxUserNs),
      // Debian/Ubuntu-only sysctl; absent on mainline kernels, where only max_user_namespaces gates.
      unprivilegedClone: unprivClone === null ? null : unprivClone.trim() === '1',
    },
    seccomp: {
      supported: status !== null && /^Seccomp:\s/m.test(status),
      actions: actions?.trim().split(/\s+/).filter(Boolean) ?? [],
    },
    cgroup: await probeCgroups(host, mountinfo ?? '', selfCgroup ?? ''),
    syscalls: { pivotRoot: true, openat2: atLeast(5, 6), clone3: atLeast(5, 3), cloneIntoCgroup: atLeast(5, 7) },
    networkTools: Object.fromEntries(
      await Promise.all(NETWORK_TOOLS.map(async (t) => [t, (await Promise.all(TOOL_DIRS.map((d) => host.exists(`${d}/${t}`)))).some(Boolean)])),
    ) as ProbeFacts['networkTools'],
  };
}

export function parseKernelVersion(release: string | null): [number, number, number] | null {
  const m = release === null ? null : /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

function parseIntOrNull(text: string | null): number | null {
  if (text === null) return null;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isNaN(n) ? null : n;
}

// ---- mountinfo and cgroups -------------------------------------------------

function words(text: string | null): string[] {
  return text?.trim().split(/\s+/).filter(Boolean) ?? [];
}

async function probeCgroups(host: ProbeHost, mountinfo: string, selfCgroup: string): Promise<CgroupFacts> {
  const mounts = parseMountInfo(mountinfo);

  // A controller binds to one v1 hierarchy; the same hierarchy may be mounted
  // twice (bind mounts in nested containers), so keep the first per controller.
  const v1: CgroupV1Hierarchy[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (m.fstype !== 'cgroup') continue;
    const controllers = m.superOptions.filter((o) => V1_CONTROLLERS.has(o) && !seen.has(o));
    if (controllers.length === 0) continue;
    controllers.forEach((c) => seen.add(c));
    v1.push({ mountPoint: m.mountPoint, controllers });
  }

  const v2Mounts = mounts.filter((m) => m.fstype === 'cgroup2');
  const v2Mount = v2Mounts.find((m) => m.mountPoint === CGROUP_ROOT) ?? v2Mounts[0] ?? null;

  let mode: CgroupMode;
  if (v2Mount?.mountPoint === CGROUP_ROOT) mode = 'unified';
  else if (v1.length > 0) mode = v2Mount ? 'hybrid' : 'legacy';
  else mode = v2Mount ? 'unified' : 'none';

  const v2 = v2Mount ? await probeV2(host, v2Mount, selfCgroup) : null;

  const usable: Record<string, 'v1' | 'v2'> = {};
  for (const h of v1) for (const c of h.controllers) usable[c] = 'v1';
  // A controller bound to v1 never shows in v2's lists, so there is no overlap to resolve.
  for (const c of v2?.rootControllers ?? []) if (!v2!.cannotEnable.includes(c)) usable[c] ??= 'v2';
  return { mode, v1, v2, usable };
}

async function probeV2(host: ProbeHost, mount: MountInfoEntry, selfCgroup: string): Promise<CgroupV2Facts> {
  const dir = mount.mountPoint;
  const rootControllers = words(await host.readFile(`${dir}/cgroup.controllers`));
  const rootSubtreeControl = words(await host.readFile(`${dir}/cgroup.subtree_control`));
  const delegatedRoot = await host.exists(`${dir}/cgroup.type`);
  const hasProcesses = delegatedRoot && words(await host.readFile(`${dir}/cgroup.procs`)).length > 0;

  // /proc/self/cgroup paths are relative to our cgroup namespace root; when
  // the mount shows a sub-tree (no cgroupns), strip that sub-tree's prefix.
  const line = selfCgroup.split('\n').find((l) => l.startsWith('0::'));
  let ownPath: string | null = line ? line.slice(3).trim() : null;
  if (ownPath !== null && mount.root !== '/') {
    if (ownPath === mount.root || ownPath.startsWith(`${mount.root}/`)) ownPath = ownPath.slice(mount.root.length) || '/';
    else ownPath = null;
  }
  if (ownPath?.startsWith('/..')) ownPath = null;

  return {
    mountPoint: dir,
    rootControllers,
    rootSubtreeControl,
    delegatedRoot,
    cannotEnable: hasProcesses ? rootControllers.filter((c) => !rootSubtreeControl.includes(c)) : [],
    ownPath,
  };
}

// ---- facts → check items ---------------------------------------------------

export function buildReport(facts: ProbeFacts): CheckReport {
  const items: CheckItem[] = [
    {
      name: 'root',
      ok: facts.uid === 0,
      detail: facts.uid === 0 ? 'running as uid 0' : `running as uid ${facts.uid}; tsrun needs root`,
      required: true,
    },
    {
      name: 'procfs',
      ok: facts.proc,
      detail: facts.proc ? '/proc is mounted' : '/proc/self is missing',
      required: true,
    },
    {
      name: 'kernel',
      ok: facts.kernelVersion !== null,
      detail: facts.kernelRelease ?? 'cannot read /proc/sys/kernel/osrelease',
      required: false,
    },
    ...NAMESPACES.map((kind) => namespaceItem(kind, facts.namespaces[kind])),
    userNamespaceItem(facts),
    {
      name: 'overlay',
      ok: facts.overlay,
      detail: facts.overlay ? 'overlay in /proc/filesystems' : 'overlay not in /proc/filesystems',
      required: false,
    },
    {
      name: 'seccomp',
      ok: facts.seccomp.supported,
      detail: facts.seccomp.supported
        ? `supported${facts.seccomp.actions.length ? `; actions: ${facts.seccomp.actions.join(' ')}` : ''}`
        : 'no Seccomp: line in /proc/self/status',
      required: false,
    },
    cgroupModeItem(facts.cgroup),
    cgroupControllersItem(facts.cgroup),
    { name: 'pivot_root', ok: true, detail: 'always available', required: false },
    syscallItem('openat2', facts.syscalls.openat2, '5.6', facts),
    syscallItem('clone3', facts.syscalls.clone3, '5.3', facts),
    syscallItem('clone_into_cgroup', facts.syscalls.cloneIntoCgroup, '5.7', facts),
    networkToolsItem(facts),
  ];
  return { items, canRunContainers: items.every((i) => i.ok || !i.required), facts };
}

function namespaceItem(kind: NamespaceKind, ns: NamespaceFacts): CheckItem {
  const procName = `/proc/self/ns/${PROC_NS_NAME[kind]}`;
  let detail: string;
  if (ns.errno === 0) detail = 'supported, can create';
  else if (ns.errno === NAMESPACE_UNTESTED) detail = `${ns.supported ? 'in kernel' : `no ${procName}`}; creating one could not be tried (native probe unavailable)`;
  else if (!ns.supported) detail = `not in kernel (no ${procName}); creating one failed: ${errnoName(ns.errno)}`;
  else detail = `in kernel, but creating one failed: ${errnoName(ns.errno)}`;
  return { name: `ns:${kind}`, ok: ns.errno === 0, detail, required: REQUIRED_NAMESPACES.has(kind) };
}

function userNamespaceItem(facts: ProbeFacts): CheckItem {
  const { maxUserNamespaces: max, unprivilegedClone } = facts.userns;
  const parts = [max === null ? 'no /proc/sys/user/max_user_namespaces' : `max_user_namespaces=${max}`];
  if (unprivilegedClone !== null) parts.push(`unprivileged_userns_clone=${unprivilegedClone ? 1 : 0}`);
  return { name: 'userns', ok: max !== null && max > 0, detail: parts.join(', '), required: false };
}

function cgroupModeItem(cg: CgroupFacts): CheckItem {
  const v2At = cg.v2 ? `cgroup2 at ${cg.v2.mountPoint}` : '';
  const detail = {
    unified: `unified: ${v2At}`,
    hybrid: `hybrid: ${cg.v1.length} v1 hierarchies + ${v2At}`,
    legacy: `legacy: ${cg.v1.length} v1 hierarchies, no cgroup2`,
    none: 'no cgroup filesystem mounted',
  }[cg.mode];
  return { name: 'cgroup', ok: cg.mode !== 'none', detail, required: false };
}

function cgroupControllersItem(cg: CgroupFacts): CheckItem {
  const missing = LIMIT_CONTROLLERS.filter((c) => !(c in cg.usable));
  const have = Object.entries(cg.usable).map(([c, v]) => `${c}(${v})`);
  let detail = have.length ? have.join(' ') : 'none usable';
  if (missing.length) detail += `; missing: ${missing.join(' ')}`;
  return { name: 'cgroup-controllers', ok: missing.length === 0, detail, required: false };
}

function networkToolsItem(facts: ProbeFacts): CheckItem {
  const missing = NETWORK_TOOLS.filter((t) => !facts.networkTools[t]);
  return {
    name: 'bridge-network',
    ok: missing.length === 0,
    detail: missing.length
      ? `missing ${missing.join(', ')}: apt-get install ${missing.map((t) => TOOL_PACKAGES[t]).join(' ')} (or run with --network none|host)`
      : `${NETWORK_TOOLS.join(', ')} found`,
    required: false,
  };
}

function syscallItem(name: CheckName, present: boolean | null, since: string, facts: ProbeFacts): CheckItem {
  const v = facts.kernelVersion ? `${facts.kernelVersion[0]}.${facts.kernelVersion[1]}` : null;
  const detail = v === null ? `kernel version unknown (needs >= ${since})` : `kernel ${v} ${present ? '>=' : '<'} ${since}`;
  return { name, ok: present === true, detail, required: false };
}

/** "EPERM (1)"; libuv knows the Linux errno names, so no table of our own. */
export function errnoName(errno: number): string {
  let name = 'errno';
  try {
    const n = getSystemErrorName(-errno);
    if (/^E[A-Z0-9]+$/.test(n)) name = n;
  } catch {
    // not a valid errno number: keep the generic label
  }
  return `${name} (${errno})`;
}
