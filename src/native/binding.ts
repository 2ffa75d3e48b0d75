// The only importer of the compiled addon. Core code takes a NativeBinding
// as a dependency, so unit tests can pass a fake that records calls.
import { getSystemErrorName } from 'node:util';
import { fileURLToPath } from 'node:url';
import { NativeSystemError, TsrunError } from '../errors.js';
import { CLONE_FLAGS } from './constants.js';
import type { OciSeccomp } from '../spec/oci.js';
import type { ExitStatus, NativeContainerConfig, NativeDeviceRule, NativeHook, SpawnOptions, SpawnResult } from './types.js';

export type { ExitStatus, NativeContainerConfig, NativeDeviceRule, NativeHook, SpawnOptions, SpawnResult } from './types.js';

export interface NativeBinding {
  /**
   * Clones the container's first process and returns once it has exec'd, or
   * with `execFifo` once it is created and waiting for `start` (throws
   * NativeSystemError when set-up fails).
   */
  spawn(config: NativeContainerConfig, options?: SpawnOptions): SpawnResult;
  /** Resolves when the process exits; reaps it. */
  waitExit(pid: number): Promise<ExitStatus>;
  /** After `start`: returns once the created process exec'd, throws the error of a later set-up step; closes syncFd. */
  waitExec(syncFd: number): void;
  /** 0 when a namespace of this kind can be created, else the errno. */
  probeNamespace(kind: keyof typeof CLONE_FLAGS): number;
  setWinsize(fd: number, rows: number, cols: number): void;
  /** Non-blocking flock: true when taken, false when someone else holds it. */
  flock(fd: number, exclusive: boolean): boolean;
  /** Creates a fifo with exactly this mode. */
  mkfifo(path: string, mode: number): void;
  /** Connects to a unix socket and sends fd with SCM_RIGHTS (runc's --console-socket protocol). */
  sendFd(socketPath: string, fd: number, name: string): void;
  /** One open(O_WRONLY) + write() of the whole value to a cgroup control file. */
  cgroupWrite(path: string, value: string): void;
  /** cgroup v2: loads an eBPF device program from the rules (last match wins, default deny) and attaches it to the cgroup directory. */
  attachDeviceFilter(cgroupDir: string, rules: NativeDeviceRule[]): void;
  /** mknod(2): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO) and permission bits (umask applies). */
  mknod(path: string, mode: number, dev: { major: number; minor: number }): void;
  /** lsetxattr(2): sets an extended attribute on the path itself, never following a final symlink. */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2): the value, or null when the attribute is not set. */
  lgetxattr(path: string, name: string): Buffer | null;
  /** llistxattr(2): the attribute names of the path itself. */
  llistxattr(path: string): string[];
  /** mount(2) on the host (MS_* flags from constants.ts). */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** umount2(2) on the host (MNT_* flags from constants.ts). */
  umount(target: string, flags: number): void;
  /** Compiles an OCI linux.seccomp object with libseccomp into a BPF program (struct sock_filter[]); unknown syscall names are skipped. */
  seccompCompile(seccomp: OciSeccomp): Buffer;
  /** libseccomp's version and whether the kernel has seccomp filters. */
  seccompInfo(): { libseccomp: string; kernel: boolean; apiLevel: number; program: number };
  /** Runs OCI hooks in order with `{"pid":PID,` + stateRest on stdin; throws a NativeSystemError (step "hooks") for the first that fails. */
  runHooks(hooks: NativeHook[], phase: string, pid: number, stateRest: string): void;
  /**
   * Many small files read in one call (ps: every container's state files):
   * each one's text (UTF-8), null for one that cannot be read or is not a
   * regular file. Never pass a fifo: opening one, even to find that out,
   * wakes a writer waiting for a reader.
   */
  readTexts(paths: string[]): (string | null)[];
}

// What the .node file exports: the facade, except that namespaces are
// probed by flag number and what the files addon does, plus the error-class
// hand-over made at load.
type RawAddon = Omit<NativeBinding, 'probeNamespace' | 'readTexts' | 'flock' | 'umount'> & {
  setErrorClass(cls: unknown): void;
  probeNamespace(flag: number): number;
};

let addon: RawAddon | undefined;

/** The monitor executable node-gyp builds beside the addon (found when asked: a URL's first use costs ~0.5 ms that verbs which only read need not pay). */
export const monitorPath = (): string => fileURLToPath(new URL('../../build/Release/tsrun-monitor', import.meta.url));

function load(): RawAddon {
  if (addon) return addon;
  try {
    // dist/native/binding.js and src/native/binding.ts both sit two levels below the package root.
    // process.dlopen, not require: no module resolution, no package.json lookups.
    const module = { exports: {} as RawAddon };
    process.dlopen(module, fileURLToPath(new URL('../../build/Release/tsrun.node', import.meta.url)));
    addon = module.exports;
  } catch (cause) {
    throw new TsrunError('NATIVE_UNAVAILABLE', 'the native addon is not built: run `npm ci` (or `npm run build`)', { cause });
  }
  addon.setErrorClass(NativeSystemError);
  return addon;
}

// The files addon (native/src/files/): plain C, loaded in a fraction of a
// ms where tsrun.node's libraries take ~2 ms that ps, inspect, logs, stop
// and rm should not pay; the launcher (bin/launch.cjs) has loaded it
// already and hands it over. Its system calls answer with errno values
// (flock: 0 taken, -1 held by another), made NativeSystemErrors here.
type FilesAddon = {
  readTexts(paths: string[]): (string | null)[];
  flock(fd: number, exclusive: boolean): number;
  umount(target: string, flags: number): number;
  errorText(errno: number): string;
};
let filesAddon: FilesAddon | undefined;

// node-gyp builds it with tsrun.node: missing, it is NATIVE_UNAVAILABLE as tsrun.node is.
function files(): FilesAddon {
  if (filesAddon) return filesAddon;
  const launched = (globalThis as Record<symbol, FilesAddon | undefined>)[Symbol.for('tsrun.files')];
  if (launched?.flock) return (filesAddon = launched);
  try {
    const module = { exports: {} as FilesAddon };
    process.dlopen(module, fileURLToPath(new URL('../../build/Release/tsrun-files.node', import.meta.url)));
    return (filesAddon = module.exports);
  } catch (cause) {
    throw new TsrunError('NATIVE_UNAVAILABLE', 'the native addon is not built: run `npm ci` (or `npm run build`)', { cause });
  }
}

// tsrun.node's MakeSystemError (native/src/errors.cc), from an errno.
function systemError(f: FilesAddon, errno: number, step: string, syscall: string, path?: string): NativeSystemError {
  return new NativeSystemError({
    message: `${syscall}${path ? ` ${path}` : ''}: ${f.errorText(errno)}`, code: getSystemErrorName(-errno), errno: -errno, syscall, step, path,
  });
}

/** The real kernel facade; the addon is loaded on first use. */
export const native: NativeBinding = {
  spawn: (config, options) => load().spawn(config, options),
  waitExit: (pid) => load().waitExit(pid),
  waitExec: (fd) => load().waitExec(fd),
  probeNamespace: (kind) => load().probeNamespace(CLONE_FLAGS[kind]),
  setWinsize: (fd, rows, cols) => load().setWinsize(fd, rows, cols),
  flock: (fd, exclusive) => {
    const f = files();
    const err = f.flock(fd, exclusive);
    if (err > 0) throw systemError(f, err, 'lock', 'flock');
    return err === 0;
  },
  mkfifo: (path, mode) => load().mkfifo(path, mode),
  sendFd: (socketPath, fd, name) => load().sendFd(socketPath, fd, name),
  cgroupWrite: (path, value) => load().cgroupWrite(path, value),
  attachDeviceFilter: (cgroupDir, rules) => load().attachDeviceFilter(cgroupDir, rules),
  mknod: (path, mode, dev) => {
    checkString('mknod', 'path', path);
    checkUint('mknod', 'mode', mode);
    checkUint('mknod', 'major', dev?.major);
    checkUint('mknod', 'minor', dev?.minor);
    load().mknod(path, mode, { major: dev.major, minor: dev.minor });
  },
  lsetxattr: (path, name, value) => {
    checkString('lsetxattr', 'path', path);
    checkString('lsetxattr', 'name', name);
    if (!Buffer.isBuffer(value)) throw new TypeError('lsetxattr: value must be a Buffer');
    load().lsetxattr(path, name, value);
  },
  lgetxattr: (path, name) => {
    checkString('lgetxattr', 'path', path);
    checkString('lgetxattr', 'name', name);
    return load().lgetxattr(path, name);
  },
  llistxattr: (path) => {
    checkString('llistxattr', 'path', path);
    return load().llistxattr(path);
  },
  mount: (source, target, fstype, flags, data) => {
    if (source !== null) checkString('mount', 'source', source);
    checkString('mount', 'target', target);
    if (fstype !== null) checkString('mount', 'fstype', fstype);
    checkUint('mount', 'flags', flags);
    if (data !== null) checkString('mount', 'data', data);
    load().mount(source, target, fstype, flags, data);
  },
  umount: (target, flags) => {
    checkString('umount', 'target', target);
    checkUint('umount', 'flags', flags);
    const f = files();
    const err = f.umount(target, flags);
    if (err) throw systemError(f, err, 'mount', 'umount2', target);
  },
  seccompCompile: (seccomp) => load().seccompCompile(seccomp),
  seccompInfo: () => load().seccompInfo(),
  runHooks: (hooks, phase, pid, stateRest) => {
    for (const h of hooks) checkString('runHooks', 'path', h.path);
    load().runHooks(hooks, phase, pid, stateRest);
  },
  readTexts: (paths) => files().readTexts(paths),
};

// The native side trusts its inputs (sharp's model): strings without NUL
// bytes (C would silently cut them there) and non-negative integers.
function checkString(fn: string, what: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v === '' || v.includes('\0')) throw new TypeError(`${fn}: ${what} must be a non-empty string without NUL bytes`);
}

function checkUint(fn: string, what: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TypeError(`${fn}: ${what} must be an unsigned 32-bit integer`);
}
