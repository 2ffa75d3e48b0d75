// The OCI runtime's side of the contract with engines (podman/conmon,
// containerd's shim) that hand tsrun-oci a bundle:
//   - `features`: what this runtime can do, as runc's `features` JSON
//     (runtime-spec features.md), so an engine can check before it asks;
//   - prepareBundleSpec: what a runtime adds to or refuses in a config.json
//     written by someone else (runc's specconv does the same: it appends the
//     default device allow-list and turns a "cgroup" mount into something
//     the host can mount);
//   - execProcess: the process of `exec ID CMD...` without --process.
// Pure functions of their inputs: no printing, no I/O.
import { CAPABILITIES, CLONE_FLAGS } from '../native/constants.js';
import { TsrunError } from '../errors.js';
import { DEFAULT_DEVICE_RULES } from '../spec/defaults.js';
import { SECCOMP_ACTIONS, SECCOMP_FLAGS } from '../spec/seccomp.js';
import { checkOciSysctls } from '../spec/sysctl.js';
import { OCI_VERSION, type OciMount, type OciProcess, type OciSpec } from '../spec/oci.js';
import { parseMountInfo } from '../util/mountinfo.js';

export const OCI_VERSION_MIN = '1.0.0';

/** runtime-spec features.md, the subset tsrun fills in. */
export interface OciFeatures {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean };
    seccomp: { enabled: boolean; actions?: string[]; operators?: string[]; archs?: string[]; knownFlags?: string[]; supportedFlags?: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
  };
  annotations: Record<string, string>;
}

/**
 * Mount options native-config.ts turns into mount(2) flags or propagation
 * (anything else is passed to the filesystem as data). Kept in step with
 * its FLAG_OPTIONS and PROPAGATION tables; the oci-cli test checks that
 * every one listed here is taken as a flag.
 */
export const MOUNT_OPTIONS: readonly string[] = Object.freeze([
  'async', 'atime', 'bind', 'dev', 'diratime', 'dirsync', 'exec', 'mand', 'noatime', 'nodev', 'nodiratime',
  'noexec', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'rbind', 'relatime',
  'remount', 'ro', 'rprivate', 'rshared', 'rslave', 'runbindable', 'rw', 'shared', 'slave', 'strictatime',
  'suid', 'sync', 'unbindable',
]);

// Namespaces the native side can create or join (time not yet).
const NAMESPACES = Object.keys(CLONE_FLAGS).filter((n) => n !== 'time').sort();

export function features(info: { version: string; commit: string }): OciFeatures {
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces: NAMESPACES,
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: SECCOMP_ACTIONS.filter((a) => a !== 'SCMP_ACT_NOTIFY'),
        operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
        archs: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64'],
        knownFlags: Object.keys(SECCOMP_FLAGS),
        supportedFlags: Object.keys(SECCOMP_FLAGS),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'org.tsrun.version': info.version, 'org.tsrun.commit': info.commit },
  };
}

/** What the host looks like, for the "cgroup" mount (see prepareBundleSpec). */
export interface HostCgroups {
  mode: 'v1' | 'v2';
  /** v1: each hierarchy mounted below /sys/fs/cgroup, as its directory name and its controller options ("cpu,cpuacct", "name=systemd"). */
  v1Hierarchies?: Array<{ name: string; options: string }>;
}

export interface PreparedSpec {
  spec: OciSpec;
  /** Things changed or dropped that a user should hear about (the CLI logs them). */
  warnings: string[];
}

/**
 * Applies the runtime's rules to a bundle's config.json:
 *  - refuses what tsrun cannot honour and must not silently skip: sysctls
 *    outside the container's namespaces (runc's rule), SELinux labels, and
 *    any systemd cgroup path when
 *    `systemdCgroup` (--systemd-cgroup) is set;
 *  - appends runc's default device allow-list to linux.resources.devices
 *    (runc's specconv always does: engines write only "deny all" and their
 *    own extra devices, and rely on the runtime for /dev/null and friends);
 *  - turns a mount of type "cgroup" into what can be mounted here: cgroup2
 *    or the v1 hierarchies when the container has its own cgroup
 *    namespace, else an empty read-only tmpfs (runc bind-mounts the
 *    container's own cgroup directories there; tsrun does not yet).
 * Returns a new spec; the input is not changed.
 */
export function prepareBundleSpec(input: OciSpec, host: HostCgroups, opts: { systemdCgroup?: boolean } = {}): PreparedSpec {
  const spec = structuredClone(input) as OciSpec & { hooks?: Record<string, unknown[]> };
  const warnings: string[] = [];
  const linux = (spec.linux ?? {}) as NonNullable<OciSpec['linux']> & {
    seccomp?: unknown; mountLabel?: string; intelRdt?: unknown;
  };
  const proc = spec.process as OciProcess & { selinuxLabel?: string };

  if (opts.systemdCgroup) {
    throw new TsrunError(
      'UNSUPPORTED',
      '--systemd-cgroup: the systemd cgroup driver is not supported by tsrun-oci; use cgroupfs (podman --cgroup-manager cgroupfs, containerd SystemdCgroup = false)',
    );
  }
  if (!spec.process) throw new TsrunError('INVALID_ARGUMENT', 'config.json has no process');
  if (linux.sysctl) checkOciSysctls(linux.sysctl, linux.namespaces ?? []);
  if (proc.selinuxLabel || linux.mountLabel) {
    throw new TsrunError('UNSUPPORTED', 'config.json sets an SELinux label but SELinux is not enabled on this host');
  }

  const resources = (linux.resources ??= {});
  resources.devices = [
    ...(resources.devices ?? []),
    // runc's AllowedDevices: everything after the leading "deny all".
    ...DEFAULT_DEVICE_RULES.filter((r) => r.allow).map((r) => ({ ...r })),
  ];
  spec.linux = linux;

  const ownCgroupNs = (linux.namespaces ?? []).some((n) => n.type === 'cgroup' && !n.path);
  const mounts: OciMount[] = [];
  for (const m of spec.mounts ?? []) {
    if (m.type !== 'cgroup') {
      mounts.push(m);
      continue;
    }
    mounts.push(...cgroupMounts(m, host, ownCgroupNs, warnings));
  }
  if (spec.mounts) spec.mounts = mounts;
  return { spec, warnings };
}

const MOUNT_FLAG_OPTS = new Set(['nosuid', 'nodev', 'noexec', 'ro', 'rw', 'relatime', 'noatime', 'strictatime']);

function cgroupMounts(m: OciMount, host: HostCgroups, ownCgroupNs: boolean, warnings: string[]): OciMount[] {
  const opts = m.options ?? [];
  const flags = opts.filter((o) => MOUNT_FLAG_OPTS.has(o));
  const readonly = opts.includes('ro');
  if (ownCgroupNs && host.mode === 'v2') {
    // In its own cgroup namespace, a fresh cgroup2 mount shows the
    // container's cgroup as the root: what runc mounts.
    return [{ destination: m.destination, type: 'cgroup2', source: 'cgroup2', options: flags }];
  }
  if (ownCgroupNs && host.mode === 'v1' && host.v1Hierarchies?.length) {
    // A tmpfs holding one v1 mount per hierarchy (the tmpfs stays writable:
    // the hierarchy directories are made in it).
    return [
      { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755', 'size=64k'] },
      ...host.v1Hierarchies.map((h) => ({
        destination: `${m.destination.replace(/\/$/, '')}/${h.name}`,
        type: 'cgroup',
        source: 'cgroup',
        options: [...flags, ...h.options.split(',')],
      })),
    ];
  }
  warnings.push(
    `the cgroup mount at ${m.destination} is an empty tmpfs: without a cgroup namespace tsrun-oci does not expose the container's cgroups (runc bind-mounts them)`,
  );
  return [{ destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755', 'size=64k', ...(readonly ? ['ro'] : [])] }];
}

/**
 * The v1 hierarchies mounted below `root` in a /proc/self/mountinfo text,
 * with the options that mount the same hierarchy again.
 */
export function v1HierarchiesFromMountinfo(mountinfo: string, root = '/sys/fs/cgroup'): Array<{ name: string; options: string }> {
  const out: Array<{ name: string; options: string }> = [];
  for (const { fstype, mountPoint, superOptions } of parseMountInfo(mountinfo, [' - cgroup '])) {
    if (fstype !== 'cgroup' || !mountPoint.startsWith(`${root}/`)) continue;
    const name = mountPoint.slice(root.length + 1);
    if (name.includes('/')) continue;
    const options = superOptions.filter((o) => o !== 'rw' && o !== 'ro' && o !== 'xattr' && !o.startsWith('release_agent='));
    if (options.length > 0) out.push({ name, options: options.join(',') });
  }
  return out;
}

/** runc exec's flags (without --process): the container's own process with these changes. */
export interface ExecArgs {
  args: string[];
  env?: string[];
  cwd?: string;
  /** "uid" or "uid:gid", numbers only (runc's --user). */
  user?: string;
  additionalGids?: string[];
  tty?: boolean;
  caps?: string[];
  noNewPrivs?: boolean;
}

export function execProcess(base: OciProcess, a: ExecArgs): OciProcess {
  if (a.args.length === 0) throw new TsrunError('INVALID_ARGUMENT', 'exec: no command given (pass CMD... or --process FILE)');
  const proc: OciProcess = structuredClone(base);
  proc.args = a.args;
  if (a.env?.length) proc.env = [...(proc.env ?? []), ...a.env];
  if (a.cwd) proc.cwd = a.cwd;
  proc.terminal = !!a.tty;
  if (!a.tty) delete proc.consoleSize;
  if (a.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(a.user);
    if (!m) throw new TsrunError('INVALID_ARGUMENT', `invalid --user ${JSON.stringify(a.user)}: expected UID[:GID] (numbers)`);
    proc.user = { ...proc.user, uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : proc.user.gid };
  }
  if (a.additionalGids?.length) {
    proc.user.additionalGids = a.additionalGids.map((g) => {
      if (!/^\d+$/.test(g)) throw new TsrunError('INVALID_ARGUMENT', `invalid --additional-gids value ${JSON.stringify(g)}`);
      return Number(g);
    });
  }
  if (a.caps?.length) {
    const caps = (proc.capabilities ??= {});
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) {
      caps[set] = [...new Set([...(caps[set] ?? []), ...a.caps.map((c) => c.toUpperCase())])];
    }
  }
  if (a.noNewPrivs) proc.noNewPrivileges = true;
  return proc;
}
