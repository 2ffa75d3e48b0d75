// The only importer of the compiled addon. Core code takes a NativeBinding
// as a dependency, so unit tests can pass a fake that records calls.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NativeSystemError, TsrunError } from '../errors.js';
import { CLONE_FLAGS } from './constants.js';
import type { ExitStatus, NativeContainerConfig, NativeDeviceRule, SpawnOptions, SpawnResult } from './types.js';

export type { ExitStatus, NativeContainerConfig, NativeDeviceRule, SpawnOptions, SpawnResult } from './types.js';

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
}

// What the .node file exports: the facade, except that namespaces are
// probed by flag number, plus the error-class hand-over made at load.
type RawAddon = Omit<NativeBinding, 'probeNamespace'> & {
  setErrorClass(cls: unknown): void;
  probeNamespace(flag: number): number;
};

let addon: RawAddon | undefined;

/** The monitor executable node-gyp builds beside the addon. */
export const MONITOR_PATH = fileURLToPath(new URL('../../build/Release/tsrun-monitor', import.meta.url));

function load(): RawAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    // dist/native/binding.js and src/native/binding.ts both sit two levels below the package root.
    addon = require('../../build/Release/tsrun.node') as RawAddon;
  } catch (cause) {
    throw new TsrunError('NATIVE_UNAVAILABLE', 'the native addon is not built: run `npm ci` (or `npm run build`)', { cause });
  }
  addon.setErrorClass(NativeSystemError);
  return addon;
}

/** The real kernel facade; the addon is loaded on first use. */
export const native: NativeBinding = {
  spawn: (config, options) => load().spawn(config, options),
  waitExit: (pid) => load().waitExit(pid),
  waitExec: (fd) => load().waitExec(fd),
  probeNamespace: (kind) => load().probeNamespace(CLONE_FLAGS[kind]),
  setWinsize: (fd, rows, cols) => load().setWinsize(fd, rows, cols),
  flock: (fd, exclusive) => load().flock(fd, exclusive),
  mkfifo: (path, mode) => load().mkfifo(path, mode),
  sendFd: (socketPath, fd, name) => load().sendFd(socketPath, fd, name),
  cgroupWrite: (path, value) => load().cgroupWrite(path, value),
  attachDeviceFilter: (cgroupDir, rules) => load().attachDeviceFilter(cgroupDir, rules),
};
