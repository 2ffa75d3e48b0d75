// Reading, creating and removing cgroup directories. Writes go through the
// native cgroupWrite (one write() per value); reads and mkdir/rmdir are
// plain filesystem calls, synchronous: cgroupfs answers at once, and
// node:fs/promises cost a container's start ~5 ms (its module, and the
// thread pool's start).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { NativeSystemError, TsrunError } from '../errors.js';
import type { CgroupDeps, CgroupDirs } from './types.js';

const NODE_DIRS: CgroupDirs = { mkdir: (p) => mkdirSync(p), rmdir: (p) => rmdirSync(p) };

/** The deps' way of making and removing cgroup directories. */
export const dirsOf = (deps: CgroupDeps): CgroupDirs => deps.dirs ?? NODE_DIRS;

/** A file's text, or null when it (or its cgroup) does not exist. */
export async function readText(file: string): Promise<string | null> {
  return readTextSync(file);
}

export function readTextSync(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}

export function exists(file: string): boolean {
  return existsSync(file);
}

// ENODEV: a control file of a cgroup being removed.
function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENODEV';
}

export function words(text: string | null): string[] {
  return text?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** "key value" lines (cpu.stat, memory.events, memory.oom_control) as numbers. */
export function parseKeyed(text: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text?.split('\n') ?? []) {
    const [key, value, ...rest] = line.trim().split(/\s+/);
    if (!key || value === undefined || rest.length > 0) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out[key] = n;
  }
  return out;
}

/**
 * Writes `value` to a control file. Errors name the flag the value came
 * from: EINVAL and friends mean the value itself was refused.
 */
export function writeControl(deps: CgroupDeps, file: string, value: string, flag?: string): void {
  try {
    deps.native.cgroupWrite(file, value);
  } catch (err) {
    const code = (err as NativeSystemError).code;
    const what = flag ? `cannot apply ${flag}: ` : '';
    const detail = `writing ${JSON.stringify(value)} to ${file} failed: ${(err as Error).message}`;
    if (code === 'EINVAL' || code === 'ERANGE' || code === 'EOVERFLOW') {
      throw new TsrunError('INVALID_ARGUMENT', `${what}the kernel refused the value (${detail})`, { cause: err });
    }
    throw new TsrunError('CGROUP_UNAVAILABLE', `${what}${detail}`, { cause: err });
  }
}

/** mkdir that reports whether this call created the directory. */
export async function mkdirOnce(dirs: CgroupDirs, dir: string): Promise<boolean> {
  try {
    dirs.mkdir(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new TsrunError('CGROUP_UNAVAILABLE', `cannot create cgroup ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isEnoent = (err: unknown): boolean =>
  ((err as { cause?: NodeJS.ErrnoException }).cause ?? (err as NodeJS.ErrnoException)).code === 'ENOENT';

/**
 * Creates root/relPath a level at a time: `before(parent)` runs ahead of
 * each mkdir, `after(dir)` behind it. Returns the directories this call
 * made. The removal of another container may prune a shared parent that it
 * emptied (pruneParents) between two levels; the walk then starts over.
 */
export async function makeCgroupPath(
  dirs: CgroupDirs,
  root: string,
  relPath: string,
  hooks: { before?: (parent: string) => Promise<void>; after?: (dir: string) => Promise<void> } = {},
): Promise<string[]> {
  const created: string[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      let dir = root;
      for (const segment of relPath.split('/')) {
        await hooks.before?.(dir);
        dir = path.join(dir, segment);
        if (await mkdirOnce(dirs, dir)) created.push(dir);
        await hooks.after?.(dir);
      }
      return created;
    } catch (err) {
      if (attempt >= 4 || !isEnoent(err)) {
        await removeCreated(dirs, created);
        throw err;
      }
    }
  }
}

/**
 * After a container's cgroup is gone, removes the parents above it that
 * tsrun itself names (`tsrun/`), once they are empty, so removing the last
 * container leaves no tsrun directory behind. A parent the user chose
 * (--cgroup-parent, an engine's cgroupsPath) is theirs and stays. rmdir
 * refuses a parent that still holds another container (EBUSY): that stops it.
 */
export async function pruneParents(dirs: CgroupDirs, root: string, relPath: string, ownParent: string): Promise<void> {
  const segments = relPath.split('/');
  if (segments[0] !== ownParent) return;
  for (let n = segments.length - 1; n >= 1; n--) {
    try {
      dirs.rmdir(path.join(root, ...segments.slice(0, n)));
    } catch {
      return;
    }
  }
}

/**
 * Removes a cgroup and any cgroups below it, deepest first. cgroupfs
 * refuses rmdir with EBUSY while processes remain; a process that was just
 * killed leaves a moment later, so EBUSY is retried for `busyMs`.
 */
export async function removeCgroupDir(dirs: CgroupDirs, dir: string, busyMs = 2000): Promise<void> {
  let children: string[];
  try {
    children = subdirs(dir);
  } catch (err) {
    if (isGone(err)) return;
    throw err;
  }
  for (const child of children) await removeCgroupDir(dirs, path.join(dir, child), busyMs);
  for (const deadline = Date.now() + busyMs; ; await sleep(10)) {
    try {
      dirs.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() >= deadline) {
        throw new TsrunError(
          code === 'EBUSY' ? 'CGROUP_BUSY' : 'CGROUP_UNAVAILABLE',
          code === 'EBUSY' ? `cannot remove cgroup ${dir}: processes are still in it` : `cannot remove cgroup ${dir}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  }
}

/**
 * Best-effort removal on a failed create: nothing we made may stay. Plain
 * rmdir, deepest first, never recursive: a parent we created may meanwhile
 * hold another container's cgroup, and then it stays (EBUSY).
 */
export async function removeCreated(dirs: CgroupDirs, made: string[]): Promise<void> {
  for (const dir of [...made].sort((a, b) => b.length - a.length)) {
    try {
      dirs.rmdir(dir);
    } catch {
      // it stays
    }
  }
}

const subdirs = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

/** Pids in this cgroup and every cgroup below it. */
export async function collectPids(dir: string, into = new Set<number>()): Promise<Set<number>> {
  for (const w of words(await readText(path.join(dir, 'cgroup.procs')))) into.add(Number(w));
  let children: string[] = [];
  try {
    children = subdirs(dir);
  } catch (err) {
    if (!isGone(err)) throw err;
  }
  for (const child of children) await collectPids(path.join(dir, child), into);
  return into;
}

/**
 * Calls `step` until it returns true or `timeoutMs` passes; the interval
 * grows from 1 ms to 10 ms (freezing usually settles in a few ms).
 */
export async function pollUntil(step: (attempt: number) => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (await step(attempt)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(10, 1 + attempt));
  }
}

export { sleep };
