// rm -rf of a small state directory (a container's record or instance):
// its files unlinked by name, then the directory. fs.rmSync's recursive
// walk tries an rmdir first and lstats every entry, and loads Node's rimraf
// module: for a handful of files it costs a short verb a few ms.
import { readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Removes `dir` and what it holds; nothing when it is not there. */
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
    if (e.isDirectory()) rmSync(path, { recursive: true, force: true });
    else unlinkSync(path);
  }
  rmdirSync(dir);
}

/** Unlinks a file; nothing when it is not there (fs.rmSync loads rimraf even for one file). */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
