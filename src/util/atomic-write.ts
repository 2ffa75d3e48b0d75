// State files are replaced whole or not at all: write a temp file beside the
// target, fsync it, rename over the target, fsync the directory (as runc,
// crun and containers/storage do). A crash leaves the old or the new file.
//
// The two halves are apart (stageFile, then commit) so that a caller
// writing several files syncs them side by side, then renames them in the
// order its invariants need. Opening, writing, closing and renaming a small
// file are synchronous calls of a few µs each; only the fsyncs go to the
// thread pool, so the event loop never waits on the disk.
import { closeSync, fsync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface StagedFile {
  /** Renames the synced temp file over the target, then fsyncs the directory (unless staged with syncDir false). */
  commit(): Promise<void>;
  /** Removes the temp file (the target is untouched). */
  discard(): void;
}

export interface StageOptions {
  mode?: number;
  /**
   * false: leave the directory's fsync to a later commit in the same
   * directory (one directory fsync makes every rename before it durable).
   */
  syncDir?: boolean;
}

/** Writes and fsyncs a temp file beside `path`; nothing is visible at `path` until commit(). */
export async function stageFile(path: string, data: string | Uint8Array, opts: StageOptions = {}): Promise<StagedFile> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${tempSuffix()}.tmp`);
  const fd = openSync(tmp, 'wx', opts.mode ?? 0o644);
  try {
    writeFileSync(fd, data);
    await fsyncFd(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  return {
    commit: async () => {
      try {
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
      if (opts.syncDir !== false) await syncDir(dir);
    },
    discard: () => rmSync(tmp, { force: true }),
  };
}

/** Waits for every staged file; if one failed, discards the others and throws its error. */
export async function stagedAll(files: Array<Promise<StagedFile>>): Promise<StagedFile[]> {
  const settled = await Promise.allSettled(files);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const staged = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    for (const f of staged) f.discard();
    throw failed.reason;
  }
  return staged;
}

export async function atomicWriteFile(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await (await stageFile(path, data, { mode })).commit();
}

/**
 * Replaces `path` whole (temp file + rename: a reader or a process killed
 * mid-write sees the old file or the new one) without fsync: for runtime
 * state under the runroot, which describes processes and cgroups that a
 * reboot or power loss ends anyway (runc's and crun's state is kept so).
 * Synchronous: a small file there takes a few µs.
 */
export function replaceFileSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${tempSuffix()}.tmp`);
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export function atomicWriteJson(path: string, value: unknown): Promise<void> {
  return atomicWriteFile(path, jsonText(value));
}

/** Makes the renames (and creations) of entries in `dir` so far durable. */
export async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

// Unique among live processes (pid, then a count), and O_EXCL refuses a
// clash rather than share a file. Not node:crypto: loading it costs every
// verb ~8 ms, and nothing here is secret.
let temps = 0;
function tempSuffix(): string {
  return `${process.pid.toString(16)}${(temps++).toString(16).padStart(4, '0')}${Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')}`;
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}
