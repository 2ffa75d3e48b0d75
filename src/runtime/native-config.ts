// Translates an OCI runtime spec into the resolved NativeContainerConfig the
// addon executes: names become numbers, mount options become flags, and
// anything the kernel side cannot honour is refused here with a clear error
// (sharp's rule: validate in JS so the native side can trust its input).
import { statSync } from 'node:fs';
import { TsrunError } from '../errors.js';
import { CAPABILITIES, CLONE_FLAGS, MS, RLIMITS } from '../native/constants.js';
import type { NativeContainerConfig, NativeDevice, NativeMount } from '../native/types.js';
import { INIT_ANNOTATION } from '../spec/annotations.js';
import { detectHostLsm } from '../spec/lsm.js';
import type { OciMount, OciSpec } from '../spec/oci.js';
import { nativeUserns } from './native-userns.js';

/** The devices every container gets, as runc and Docker create them. */
export const DEFAULT_DEVICES: NativeDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, mode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, mode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, mode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, mode: 0o666, uid: 0, gid: 0 },
];

// Options that set (true) or clear (false) a mount flag; the rest is fs data.
const FLAG_OPTIONS: Record<string, [number, boolean]> = {
  ro: [MS.RDONLY, true], rw: [MS.RDONLY, false],
  nosuid: [MS.NOSUID, true], suid: [MS.NOSUID, false],
  nodev: [MS.NODEV, true], dev: [MS.NODEV, false],
  noexec: [MS.NOEXEC, true], exec: [MS.NOEXEC, false],
  sync: [MS.SYNCHRONOUS, true], async: [MS.SYNCHRONOUS, false],
  dirsync: [MS.DIRSYNC, true],
  remount: [MS.REMOUNT, true],
  mand: [MS.MANDLOCK, true], nomand: [MS.MANDLOCK, false],
  noatime: [MS.NOATIME, true], atime: [MS.NOATIME, false],
  nodiratime: [MS.NODIRATIME, true], diratime: [MS.NODIRATIME, false],
  relatime: [MS.RELATIME, true], norelatime: [MS.RELATIME, false],
  strictatime: [MS.STRICTATIME, true], nostrictatime: [MS.STRICTATIME, false],
  nosymfollow: [MS.NOSYMFOLLOW, true],
  bind: [MS.BIND, true],
  rbind: [MS.BIND | MS.REC, true],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

// Flags a bind mount ignores on its first call and needs a remount for.
const BIND_REMOUNT_MASK = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME;

export function translateMount(m: OciMount): NativeMount {
  if (!m.destination.startsWith('/')) {
    throw new TsrunError('INVALID_ARGUMENT', `mount destination ${JSON.stringify(m.destination)} must be an absolute path`);
  }
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const opt of m.options ?? []) {
    const f = Object.hasOwn(FLAG_OPTIONS, opt) ? FLAG_OPTIONS[opt] : undefined;
    if (f) flags = f[1] ? flags | f[0] : flags & ~f[0];
    else if (Object.hasOwn(PROPAGATION, opt)) propagation |= PROPAGATION[opt];
    else data.push(opt);
  }
  if (m.type === 'bind') flags |= MS.BIND;
  const isBind = (flags & MS.BIND) !== 0;
  let targetKind: 'dir' | 'file' = 'dir';
  if (isBind) {
    if (!m.source) throw new TsrunError('INVALID_ARGUMENT', `bind mount to ${m.destination} has no source`);
    try {
      targetKind = statSync(m.source).isDirectory() ? 'dir' : 'file';
    } catch (cause) {
      throw new TsrunError('INVALID_ARGUMENT', `bind mount source ${m.source} does not exist`, { cause });
    }
  }
  return {
    source: m.source ?? m.type ?? null,
    target: m.destination,
    fstype: isBind ? null : (m.type ?? null),
    flags: isBind ? flags & ~BIND_REMOUNT_MASK : flags,
    data: data.length ? data.join(',') : null,
    propagation,
    remountFlags: isBind ? flags & BIND_REMOUNT_MASK : 0,
    targetKind,
  };
}

function capNumbers(names: string[] | undefined): number[] {
  return (names ?? []).map((name) => {
    const n = (CAPABILITIES as readonly string[]).indexOf(name.toUpperCase());
    if (n < 0) throw new TsrunError('INVALID_ARGUMENT', `unknown capability ${JSON.stringify(name)}`);
    return n;
  });
}

/** process.apparmorProfile, applied at execve; refused where the host has no AppArmor. */
function apparmorProfileOf(profile: string | undefined): string | null {
  if (!profile) return null;
  if (!detectHostLsm().apparmor) {
    throw new TsrunError('UNSUPPORTED', `process.apparmorProfile "${profile}" is set but AppArmor is not enabled on this host`);
  }
  return profile;
}

/** Whether a namespace path is the mount namespace this process is in (compared by inode, as the kernel identifies them). */
function isOwnMountNamespace(path: string): boolean {
  try {
    const a = statSync(path);
    const b = statSync('/proc/self/ns/mnt');
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false; // the join reports a missing path
  }
}

export function toNativeConfig(
  spec: OciSpec,
  opts: { stdio: [number, number, number]; killOnParentDeath?: boolean },
): NativeContainerConfig {
  let cloneFlags = 0;
  const joinNamespaces: Array<{ flag: number; path: string }> = [];
  const joined: string[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    const flag = Object.hasOwn(CLONE_FLAGS, ns.type) ? CLONE_FLAGS[ns.type] : undefined;
    if (flag === undefined || ns.type === 'time') {
      throw new TsrunError('UNSUPPORTED', `namespace type ${JSON.stringify(ns.type)} is not supported yet`);
    }
    // A user namespace is joined first: it decides what the other joins may do.
    if (!ns.path) {
      cloneFlags |= flag;
      continue;
    }
    // Joining the mount namespace we are in is having none of its own.
    if (ns.type === 'mount' && isOwnMountNamespace(ns.path)) continue;
    if (ns.type === 'user') joinNamespaces.unshift({ flag, path: ns.path });
    else joinNamespaces.push({ flag, path: ns.path });
    joined.push(ns.type);
  }
  const userns = nativeUserns(spec, (cloneFlags & CLONE_FLAGS.user) !== 0, joined);
  const hostMountNs = !(cloneFlags & CLONE_FLAGS.mount) && !joined.includes('mount');
  if (hostMountNs && userns) {
    throw new TsrunError('UNSUPPORTED', 'a container with a user namespace needs a mount namespace of its own');
  }
  const p = spec.process;
  const devices: NativeDevice[] = [...DEFAULT_DEVICES];
  for (const d of spec.linux?.devices ?? []) {
    if (d.type !== 'c' && d.type !== 'b' && d.type !== 'p') {
      throw new TsrunError('INVALID_ARGUMENT', `device ${d.path}: unsupported type ${JSON.stringify(d.type)}`);
    }
    devices.push({ path: d.path, type: d.type, major: d.major, minor: d.minor, mode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0 });
  }
  return {
    rootfs: spec.root.path,
    readonlyRoot: !!spec.root.readonly,
    noPivot: false,
    hostMountNs,
    apparmorProfile: apparmorProfileOf(p.apparmorProfile),
    cloneFlags,
    joinNamespaces,
    hostname: spec.hostname ?? null,
    mounts: (spec.mounts ?? []).map(translateMount),
    devices,
    sysctl: Object.entries(spec.linux?.sysctl ?? {}).map(([key, value]) => ({ key, value: String(value) })),
    maskedPaths: spec.linux?.maskedPaths ?? [],
    readonlyPaths: spec.linux?.readonlyPaths ?? [],
    args: p.args,
    env: p.env ?? [],
    cwd: p.cwd,
    uid: p.user.uid,
    gid: p.user.gid,
    additionalGids: p.user.additionalGids ?? [],
    umask: p.user.umask ?? -1,
    caps: {
      bounding: capNumbers(p.capabilities?.bounding),
      effective: capNumbers(p.capabilities?.effective),
      permitted: capNumbers(p.capabilities?.permitted),
      inheritable: capNumbers(p.capabilities?.inheritable),
      ambient: capNumbers(p.capabilities?.ambient),
    },
    rlimits: (p.rlimits ?? []).map((r) => {
      const resource = (RLIMITS as readonly string[]).indexOf(r.type);
      if (resource < 0) throw new TsrunError('INVALID_ARGUMENT', `unknown rlimit ${JSON.stringify(r.type)}`);
      return { resource, soft: r.soft, hard: r.hard };
    }),
    noNewPrivs: !!p.noNewPrivileges,
    oomScoreAdj: p.oomScoreAdj ?? null,
    terminal: !!p.terminal,
    consoleSize: p.consoleSize ? { rows: p.consoleSize.height, cols: p.consoleSize.width } : null,
    stdio: opts.stdio,
    // --init travels in the spec, so a bundle written to disk keeps it.
    init: spec.annotations?.[INIT_ANNOTATION] === 'true',
    killOnParentDeath: !!opts.killOnParentDeath,
    userns,
  };
}
