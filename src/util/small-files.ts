// A container's small state files and directories (records, instances,
// names, /etc files), read and removed synchronously: a few µs each, where
// a thread-pool round trip costs far more. fs.rmSync is not used: its
// recursive walk tries an rmdir first and lstats every entry, and it loads
// Node's rimraf module even for one file (a few ms of a short verb).
import { readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** A state file's JSON; `none` when it is missing (null) or not JSON (state files are replaced whole, never cut: atomic-write.ts). */
export function parseOr<T, N>(text: string | null | undefined, none: N): T | N {
  if (text == null) return none;
  try {
    return JSON.parse(text) as T;
  } catch {
    return none;
  }
}

/** A small file's text, or null when it cannot be read. */
export function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Removes `dir` and what it holds, depth first; nothing when it is not
 * there. Symbolic links are removed, never followed. It walks into any
 * directory below, a mount point too: callers remove only trees with no
 * mount in them (ContainerRootfs.remove checks its overlay first).
 */
export function removeDir(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (!e.isDirectory()) removeFile(path);
    // An empty directory (most of a container's: merged, upper, work/work)
    // goes in one call, without being read.
    else if (!removeEmptyDir(path)) removeDir(path);
  }
  rmdirSync(dir);
}

/** Removes an empty directory: false when it holds something. */
function removeEmptyDir(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Unlinks a file; nothing when it is not there. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
