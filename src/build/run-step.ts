// RUN: the command runs in a container of tsrun's own runtime (the same
// create/start/attach path as `tsrun run`, with its isolation), whose root
// is the step's overlay. What it changes lands in the overlay's upperdir.
//
// The runtime creates mount points that the image lacks (/etc/hosts for the
// network files, a --mount target, /proc in a scratch image): those are the
// runtime's, not the step's. mountDestinations() names them, and the layer
// leaves them out (layer/upper.ts mountStubs, which commit uses too), as
// BuildKit and Buildah do.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { TsrunError } from '../errors.js';
import { runAttached } from '../runtime/run.js';
import { defaultMounts } from '../spec/defaults.js';
import type { Tsrun } from '../tsrun.js';
import { resolveInRoot } from '../util/resolve-in-root.js';
import type { MountSpec } from '../volume/flags.js';

export interface RunStepRequest {
  rootfs: string;
  args: string[];
  env: string[];
  user?: string;
  workdir?: string;
  network?: 'default' | 'none' | 'host';
  mounts: MountSpec[];
  stdout: Writable;
  stderr: Writable;
  /** Recorded before the container exists, removed after (the build's leftovers ledger). */
  onContainer: (name: string) => Promise<void>;
  onRemoved: (name: string) => Promise<void>;
}

const ETC_FILES = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'];

/** Where the runtime mounts something in a RUN's container: the mount points it may have to create. */
export function mountDestinations(mounts: MountSpec[]): string[] {
  return [...defaultMounts().map((m) => m.destination), ...ETC_FILES, ...mounts.map((m) => m.target)];
}

/** Runs the command; returns its exit code (the caller turns non-zero into the build's error). */
export async function runStep(tsrun: Tsrun, req: RunStepRequest): Promise<number> {
  if (req.workdir) {
    // Docker creates a missing WORKDIR for RUN; the directory is part of the step.
    await mkdir(await resolveInRoot(req.rootfs, req.workdir), { recursive: true, mode: 0o755 });
  }
  // Named before it exists, so a build killed at any point leaves a name the next one finds.
  const name = `tsrun-build-${randomBytes(6).toString('hex')}`;
  await req.onContainer(name);
  try {
    const run = await runAttached(
      tsrun.containers,
      { name, rootfs: req.rootfs, command: req.args, env: req.env, user: req.user, workdir: req.workdir, network: req.network === 'default' ? undefined : req.network, mounts: req.mounts },
      { stdout: req.stdout, stderr: req.stderr },
    );
    return await run.exited;
  } finally {
    await removeByName(tsrun, name);
    await req.onRemoved(name);
  }
}

/** Removes a build container by name; one that was never made is fine. */
export async function removeByName(tsrun: Tsrun, name: string): Promise<void> {
  let id: string;
  try {
    id = await tsrun.containers.resolve(name);
  } catch {
    return;
  }
  await tsrun.containers.remove(id, true);
}

/** The error of a RUN that exited non-zero; `exitCode` is what the Engine API's build reports as its error code (Docker's). */
export function runFailed(what: string, code: number): TsrunError & { exitCode: number } {
  return Object.assign(new TsrunError('BUILD_FAILED', `${what}: did not complete successfully: exit code: ${code}`), { exitCode: code });
}
