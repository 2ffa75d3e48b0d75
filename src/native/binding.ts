// The only importer of the compiled addon. Core code takes a NativeBinding
// as a dependency, so unit tests can pass a fake that records calls.
import { createRequire } from 'node:module';
import { NativeSystemError, TsrunError } from '../errors.js';
import { CLONE_FLAGS } from './constants.js';
import type { ExitStatus, NativeContainerConfig, SpawnResult } from './types.js';

export type { ExitStatus, NativeContainerConfig, SpawnResult } from './types.js';

export interface NativeBinding {
  /** Clones the container's first process and returns once it has exec'd (or throws NativeSystemError). */
  spawn(config: NativeContainerConfig): SpawnResult;
  /** Resolves when the process exits; reaps it. */
  waitExit(pid: number): Promise<ExitStatus>;
  /** 0 when a namespace of this kind can be created, else the errno. */
  probeNamespace(kind: keyof typeof CLONE_FLAGS): number;
  setWinsize(fd: number, rows: number, cols: number): void;
  /** Non-blocking flock: true when taken, false when someone else holds it. */
  flock(fd: number, exclusive: boolean): boolean;
}

interface RawAddon {
  setErrorClass(cls: unknown): void;
  spawn(config: NativeContainerConfig): SpawnResult;
  waitExit(pid: number): Promise<ExitStatus>;
  probeNamespace(flag: number): number;
  setWinsize(fd: number, rows: number, cols: number): void;
  flock(fd: number, exclusive: boolean): boolean;
}

let addon: RawAddon | undefined;

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
  spawn: (config) => load().spawn(config),
  waitExit: (pid) => load().waitExit(pid),
  probeNamespace: (kind) => load().probeNamespace(CLONE_FLAGS[kind]),
  setWinsize: (fd, rows, cols) => load().setWinsize(fd, rows, cols),
  flock: (fd, exclusive) => load().flock(fd, exclusive),
};
