// `tsrun run` options + image config → OCI runtime spec, with Docker's
// rules for args, env, user, working directory and security defaults.
// The only I/O: the rootfs check, env files, the rootfs's passwd/group,
// and for the confinement flags the host's device nodes, a seccomp profile
// file, the LSM state and tsrun's own capabilities.

import { statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import path from 'node:path';
import { TsrunError } from '../errors.js';
import { readFileInRoot } from '../util/resolve-in-root.js';
import { capabilitySets, hostCapabilities, tweakCapabilities } from './capabilities.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NAMESPACES,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultDeviceRules,
  defaultMounts,
} from './defaults.js';
import { getEnv, mergeEnv, parseEnvOption, readEnvFile, type HostEnv } from './env.js';
import { devicesFromMapping, hostDevices, type OciDevice } from './devices.js';
import { applyNamespaceModes, DEFAULT_MODES } from './namespaces.js';
import {
  OCI_VERSION,
  type LinuxDeviceCgroup,
  type LinuxResources,
  type OciMount,
  type OciNamespace,
  type OciProcess,
  type OciSpec,
} from './oci.js';
import { seccompFor } from './seccomp.js';
import { detectHostLsm, lsmSettings, type Confinement, type HostLsm } from './security.js';
import { checkSysctlNamespaces, type SysctlNamespace } from './sysctl.js';
import { toRlimits } from './ulimits.js';
import { INIT_ANNOTATION } from './annotations.js';
import { MAX_ID, parseGroup, resolveExecUser } from './user.js';

/** The image config fields that shape the process (OCI image config names). */
export interface ImageProcessConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
}

export interface RunOptions {
  /** Absolute host path of the container's root filesystem. */
  rootfs: string;
  command: string[];
  /** --entrypoint: replaces the image entrypoint and drops the image cmd; '' clears it. */
  entrypoint?: string;
  /** Raw -e values: `KEY=VAL` or `KEY` (take the host's value). */
  env?: string[];
  /** --env-file paths, applied in order before -e. */
  envFiles?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  tty?: boolean;
  consoleSize?: { rows: number; cols: number };
  init?: boolean;
  readOnly?: boolean;
  image?: ImageProcessConfig;
  /** cgroup limits (spec/resources.ts parses Docker's flags); the default device rules are added. */
  resources?: LinuxResources;
  /** The network namespace: a new one (default), the host's, or one to join (`container:`). */
  network?: { host?: boolean; joinPath?: string };
  /** Files bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf (they must exist by start). */
  etcFiles?: { hostname: string; hosts: string; resolvConf: string };
  /**
   * Docker's confinement flags (--privileged, --cap-add, --security-opt,
   * --device, --ulimit, --sysctl, --ipc, ...), checked by
   * spec/security.ts parseConfinementFlags. Absent: Docker's defaults.
   */
  confinement?: Confinement;
  /** --annotation: the spec's OCI annotations (tsrun's own, such as --init's, are added to them). */
  annotations?: Record<string, string>;
}

export interface BuildContext {
  /** Container id; its first 12 characters are the default hostname, as in Docker. */
  id: string;
  /** The caller's environment, for `-e KEY` and env-file `KEY` lines. */
  hostEnv: HostEnv;
  /** The host's AppArmor/SELinux state (default: looked up in /sys). */
  lsm?: HostLsm;
  /** What --privileged and --cap-add ALL grant (default: tsrun's own effective set). */
  capabilities?: readonly string[];
}

export { INIT_ANNOTATION };

// sethostname(2) rejects names longer than this (HOST_NAME_MAX).
const HOST_NAME_MAX = 64;

async function checkRootfs(rootfs: string): Promise<void> {
  if (!path.isAbsolute(rootfs)) throw new TsrunError('INVALID_ARGUMENT', `rootfs ${rootfs} must be an absolute path`);
  let isDir: boolean;
  try {
    // Following symlinks is fine here: the rootfs path comes from the
    // caller (trusted), not from image content. Synchronous: one stat, and
    // create then need not load node:fs/promises (~2.5 ms) at all.
    isDir = statSync(rootfs).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TsrunError('ROOTFS_NOT_FOUND', `rootfs ${rootfs} does not exist`, { cause: err });
    }
    throw err;
  }
  if (!isDir) throw new TsrunError('ROOTFS_NOT_FOUND', `rootfs ${rootfs} is not a directory`);
}

/**
 * Docker's args rule: entrypoint + cmd, where --entrypoint replaces the
 * image entrypoint and also drops the image cmd (only the run command
 * follows it), and a non-empty run command replaces the image cmd.
 */
export function resolveArgs(opts: Pick<RunOptions, 'command' | 'entrypoint' | 'image'>): string[] {
  const image = opts.image ?? {};
  let args: string[];
  if (opts.entrypoint !== undefined) {
    args = [...(opts.entrypoint === '' ? [] : [opts.entrypoint]), ...opts.command];
  } else {
    const cmd = opts.command.length > 0 ? opts.command : (image.cmd ?? []);
    args = [...(image.entrypoint ?? []), ...cmd];
  }
  if (args.length === 0) throw new TsrunError('INVALID_ARGUMENT', 'no command specified');
  return args;
}

/** --workdir, else the image's WorkingDir, else '/'; must be absolute. */
export function resolveCwd(workdir: string | undefined, imageWorkingDir: string | undefined): string {
  const cwd = workdir || imageWorkingDir || '/';
  if (!path.posix.isAbsolute(cwd)) {
    throw new TsrunError('INVALID_ARGUMENT', `the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  }
  return path.posix.normalize(cwd).replace(/(.)\/$/, '$1');
}

function resolveHostname(hostname: string | undefined, id: string): string {
  const name = hostname || id.slice(0, 12);
  if (name === '' || name.length > HOST_NAME_MAX || name.includes('\0')) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid hostname ${JSON.stringify(name)}: must be 1-${HOST_NAME_MAX} characters`);
  }
  return name;
}

function consoleSizeOf(size: RunOptions['consoleSize']): OciProcess['consoleSize'] {
  if (size === undefined) return undefined;
  const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff; // struct winsize fields are u16
  if (!ok(size.rows) || !ok(size.cols)) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid console size ${size.rows}x${size.cols}`);
  }
  return { height: size.rows, width: size.cols };
}

function namespacesFor(network: RunOptions['network']): OciNamespace[] {
  return DEFAULT_NAMESPACES.filter((type) => !(type === 'network' && network?.host)).map((type) =>
    type === 'network' && network?.joinPath ? { type, path: network.joinPath } : { type },
  );
}

/**
 * Docker's default mounts, shaped by the confinement: /sys writable when
 * privileged; /dev/shm of --shm-size, the host's with --ipc host, and
 * none with --ipc none.
 */
function confinedMounts(c: Confinement | undefined): OciMount[] {
  const mounts: OciMount[] = [];
  for (const m of defaultMounts()) {
    if (m.destination === '/sys' && c?.privileged) m.options = m.options?.map((o) => (o === 'ro' ? 'rw' : o));
    if (m.destination === '/dev/shm') {
      if (c?.modes.ipc.kind === 'none') continue;
      if (c?.modes.ipc.kind === 'host') {
        mounts.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'nosuid', 'noexec', 'nodev'] });
        continue;
      }
      if (c?.shmSize !== undefined) m.options = m.options?.map((o) => (o.startsWith('size=') ? `size=${c.shmSize}` : o));
    }
    mounts.push(m);
  }
  return mounts;
}

/**
 * --group-add: group names are looked up in the image's /etc/group (read
 * inside the rootfs), numbers are taken as they are (moby's rule). They
 * follow the user's own groups.
 */
async function resolveGroupAdd(rootfs: string, groups: readonly string[]): Promise<number[]> {
  if (!groups.length) return [];
  const text = groups.every((g) => /^\d+$/.test(g)) ? null : await readFileInRoot(rootfs, '/etc/group');
  const entries = text === null ? [] : parseGroup(text);
  return groups.map((g) => {
    if (/^\d+$/.test(g)) {
      const n = Number(g);
      if (n > MAX_ID) throw new TsrunError('INVALID_ARGUMENT', `invalid --group-add ${g}: group ids must be in range 0-${MAX_ID}`);
      return n;
    }
    const entry = entries.find((e) => e.name === g);
    if (!entry) throw new TsrunError('USER_NOT_FOUND', `unable to find group ${g}: no matching entries in group file`);
    return entry.gid;
  });
}

/** --device nodes (and --privileged's host devices) with their device-cgroup rules. */
async function confinedDevices(c: Confinement | undefined): Promise<{ devices: OciDevice[]; rules: LinuxDeviceCgroup[] }> {
  const devices: OciDevice[] = c?.privileged ? await hostDevices() : [];
  const rules: LinuxDeviceCgroup[] = [];
  for (const m of c?.devices ?? []) {
    const found = await devicesFromMapping(m);
    devices.push(...found.devices);
    rules.push(...found.rules);
  }
  // A later node at the same path replaces an earlier one.
  const byPath = new Map(devices.map((d) => [d.path, d]));
  return { devices: [...byPath.values()], rules: [...rules, ...(c?.deviceCgroupRules ?? [])] };
}

function etcMounts(files: RunOptions['etcFiles']): OciMount[] {
  if (!files) return [];
  const bind = (destination: string, source: string) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
  return [bind('/etc/hostname', files.hostname), bind('/etc/hosts', files.hosts), bind('/etc/resolv.conf', files.resolvConf)];
}

/** Builds the OCI runtime spec for `tsrun run`. */
export async function buildSpec(opts: RunOptions, ctx: BuildContext): Promise<OciSpec> {
  const image = opts.image ?? {};
  const c = opts.confinement;
  const modes = c?.modes ?? DEFAULT_MODES;
  // Cheap, pure validation first so bad input fails before any I/O.
  const args = resolveArgs(opts);
  const cwd = resolveCwd(opts.workdir, image.workingDir);
  if (modes.uts === 'host' && opts.hostname !== undefined) {
    throw new TsrunError('INVALID_ARGUMENT', 'conflicting options: --hostname and --uts host (the container has the host\'s name)');
  }
  // With --uts host the name is the host's. It still goes into the spec,
  // for HOSTNAME and /etc/hostname: with no UTS namespace of its own the
  // native side never calls sethostname.
  const hostname = modes.uts === 'host' ? osHostname() : resolveHostname(opts.hostname, ctx.id);
  const hostNamespaces = new Set<SysctlNamespace>();
  if (opts.network?.host) hostNamespaces.add('network');
  if (modes.ipc.kind === 'host') hostNamespaces.add('ipc');
  checkSysctlNamespaces(c?.sysctls ?? {}, hostNamespaces);
  const lsm = c ? lsmSettings(c.security, ctx.lsm ?? detectHostLsm()) : {};
  const consoleSize = opts.tty ? consoleSizeOf(opts.consoleSize) : undefined;
  const envOptions = (opts.env ?? []).map((e) => parseEnvOption(e, ctx.hostEnv));

  await checkRootfs(opts.rootfs);
  const { user, home } = await resolveExecUser(opts.rootfs, opts.user || image.user);
  const extraGids = await resolveGroupAdd(opts.rootfs, c?.groupAdd ?? []);
  if (extraGids.length) user.additionalGids = [...new Set([...(user.additionalGids ?? [user.gid]), ...extraGids])];
  const { devices, rules: deviceRules } = await confinedDevices(c);

  const fromFiles: string[] = [];
  for (const file of opts.envFiles ?? []) fromFiles.push(...(await readEnvFile(file, ctx.hostEnv)));

  // Defaults first so image and user values override them in place;
  // TERM sits with the defaults so `-e TERM=...` still wins.
  const base = [DEFAULT_PATH_ENV, ...(image.env ?? []), `HOSTNAME=${hostname}`, ...(opts.tty ? ['TERM=xterm'] : [])];
  const env = mergeEnv(base, [...fromFiles, ...envOptions]);
  // runc sets HOME from passwd at exec time when it is missing; we are the
  // runtime, so do it here where the passwd lookup already happened.
  if (getEnv(env, 'HOME') === undefined) env.push(`HOME=${home}`);

  const caps = tweakCapabilities(DEFAULT_CAPABILITIES, c?.capAdd ?? [], c?.capDrop ?? [], !!c?.privileged, ctx.capabilities ?? hostCapabilities());
  const proc: OciProcess = {
    terminal: !!opts.tty,
    user,
    args,
    env,
    cwd,
    capabilities: capabilitySets(caps, user.uid),
    noNewPrivileges: c?.security.noNewPrivileges ?? true,
  };
  if (consoleSize) proc.consoleSize = consoleSize;
  if (c?.ulimits.length) proc.rlimits = toRlimits(c.ulimits);
  if (c?.oomScoreAdj !== undefined) proc.oomScoreAdj = c.oomScoreAdj;
  if (lsm.apparmorProfile) proc.apparmorProfile = lsm.apparmorProfile;

  // --privileged (and systempaths=unconfined) hide nothing and leave
  // /proc/sys writable; --privileged also opens every device.
  const unmasked = !!c?.privileged || !!c?.security.unmaskedPaths;
  const deviceCgroup: LinuxDeviceCgroup[] = c?.privileged
    ? [{ allow: true, type: 'a', access: 'rwm' }]
    : [...defaultDeviceRules(), ...(opts.resources?.devices ?? []), ...deviceRules];
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: proc,
    root: { path: opts.rootfs, readonly: !!opts.readOnly },
    hostname,
    mounts: [...confinedMounts(c), ...etcMounts(opts.etcFiles)],
    linux: {
      namespaces: applyNamespaceModes(namespacesFor(opts.network), modes),
      maskedPaths: unmasked ? [] : [...DEFAULT_MASKED_PATHS],
      readonlyPaths: unmasked ? [] : [...DEFAULT_READONLY_PATHS],
      resources: { ...opts.resources, devices: deviceCgroup },
    },
  };
  const linux = spec.linux!;
  if (devices.length) linux.devices = devices;
  if (c && Object.keys(c.sysctls).length) linux.sysctl = { ...c.sysctls };
  // Docker: a privileged container has no seccomp filter. Otherwise the
  // profile is resolved against the final bounding set (its rules that
  // need a capability apply only when the container has it).
  if (!c?.privileged) {
    const seccomp = await seccompFor(c?.security.seccomp ?? { kind: 'default' }, caps);
    if (seccomp) linux.seccomp = seccomp;
  }
  if (opts.annotations && Object.keys(opts.annotations).length) spec.annotations = { ...opts.annotations };
  if (opts.init) spec.annotations = { ...spec.annotations, [INIT_ANNOTATION]: 'true' };
  return spec;
}
