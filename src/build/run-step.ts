// RUN: the command runs in a container of tsrun's own runtime (the same
// create/start/attach path as `tsrun run`, with its isolation), whose root
// is the step's overlay. What it changes lands in the overlay's upperdir.
//
// The runtime creates mount points that the image lacks (/etc/hosts for the
// network files, a --mount target, /proc in a scratch image): those are the
// runtime's, not the step's, so they are taken out of the upperdir after
// the run, as BuildKit and Buildah do.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Writable } from 'node:stream';
import { TsrunError } from '../errors.js';
import { runAttached } from '../runtime/run.js';
import { defaultMounts } from '../spec/defaults.js';
import type { Tsrun } from '../tsrun.js';
import { resolveInRoot } from '../util/resolve-in-root.js';
import type { MountSpec } from '../volume/flags.js';

export interface RunStepRequest {
  rootfs: string;
  upper: string;
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

async function exists(rootfs: string, p: string): Promise<boolean> {
  try {
    await lstat(await resolveInRoot(rootfs, p));
    return true;
  } catch {
    return false;
  }
}

/** Nothing but empty files and directories below (a mount point the runtime made). */
async function hollow(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return false;
  if (st.isFile()) return st.size === 0;
  if (!st.isDirectory()) return false;
  for (const n of await readdir(path)) if (!(await hollow(join(path, n)))) return false;
  return true;
}

/** Runs the command; returns its exit code (the caller turns non-zero into the build's error). */
export async function runStep(tsrun: Tsrun, req: RunStepRequest): Promise<number> {
  // The mount points that are not in the image yet: taken out again afterwards.
  const destinations = [...defaultMounts().map((m) => m.destination), ...ETC_FILES, ...req.mounts.map((m) => m.target)];
  const created: string[] = [];
  for (const d of destinations) {
    let top: string | undefined;
    for (let p = d; p !== '/'; p = posix.dirname(p)) if (!(await exists(req.rootfs, p))) top = p;
    if (top && !created.includes(top)) created.push(top);
  }
  if (req.workdir && !(await exists(req.rootfs, req.workdir))) {
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
    for (const p of created) {
      const inUpper = join(req.upper, p);
      if (await hollow(inUpper)) await rm(inUpper, { recursive: true, force: true });
    }
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

export function runFailed(what: string, code: number): TsrunError {
  return new TsrunError('BUILD_FAILED', `${what}: did not complete successfully: exit code: ${code}`);
}
