// COPY/ADD's writing side: matched sources → a step's root filesystem (the
// merged overlay, so the changes land in its upperdir and become the layer).
//
// Docker's rules: a directory source copies its contents, not itself; a
// destination ending in '/' (or any destination of several sources) is a
// directory; a file copied onto an existing directory goes inside it;
// --parents keeps the source's own path under the destination. Modes and
// times are kept, symlinks copied as links, hard links within the copy stay
// hard links; owners are 0:0 for context files and kept from stages and
// images, unless --chown; --chmod sets the mode of everything copied.
//
// The image is untrusted: the destination and each parent on the way are
// resolved with resolveInRoot (symlinks followed inside the rootfs only),
// and the final component is never followed: whatever is there and is not a
// directory we can merge into is removed first.
import { chmodSync, constants as fsc, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, rmSync, symlinkSync, utimesSync, type Stats } from 'node:fs';
import { chmod, lchown, lstat, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { TsrunError } from '../errors.js';
import type { NativeBinding } from '../native/binding.js';
import { resolveInRoot } from '../util/resolve-in-root.js';
import type { MatchedSource, SourceEntry } from './sources.js';

export interface CopyOptions {
  /** Absolute container path as resolved against WORKDIR; `dirHint` when it ended in '/'. */
  dest: string;
  dirHint: boolean;
  owner?: { uid: number; gid: number };
  mode?: number;
  parents?: boolean;
  native: Pick<NativeBinding, 'mknod'>;
}

interface Target {
  /** Container path. */
  path: string;
  entry: SourceEntry;
}

/** A destination naming a directory by its form (`/app/`, `.`). */
export function isDirPath(p: string): boolean {
  return p.endsWith('/') || p.endsWith('/.') || p === '.';
}

/** Where each entry of each source lands (container paths). */
async function plan(rootfs: string, sources: MatchedSource[], opts: CopyOptions): Promise<Target[]> {
  const destDir = opts.dirHint || sources.length > 1 || sources.some((s) => s.name.includes('*')) || (await isDirectory(rootfs, opts.dest));
  const out: Target[] = [];
  for (const s of sources) {
    let base: string;
    if (opts.parents) base = posix.join(opts.dest, s.isDir ? s.name : posix.dirname(s.name) === '.' ? '' : posix.dirname(s.name));
    else base = opts.dest;
    for (const e of s.entries) {
      let path: string;
      if (e.rel === '') {
        if (s.isDir) path = opts.parents ? base : opts.dest;
        else path = destDir || opts.parents ? posix.join(base, posix.basename(s.name || e.path)) : opts.dest;
      } else path = posix.join(opts.parents ? base : opts.dest, e.rel);
      out.push({ path, entry: e });
    }
  }
  return out;
}

async function isDirectory(rootfs: string, containerPath: string): Promise<boolean> {
  try {
    return (await lstat(await resolveInRoot(rootfs, containerPath))).isDirectory();
  } catch {
    return false;
  }
}

/** Makes the container directory `dir` exist (root-owned 0755 for the ones it creates); returns its host path. */
async function ensureDir(rootfs: string, dir: string, made: Map<string, string>, owner?: { uid: number; gid: number }): Promise<string> {
  const known = made.get(dir);
  if (known) return known;
  const host = await resolveInRoot(rootfs, dir);
  let st;
  try {
    st = await lstat(host);
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory()) {
    if (st) await rm(host, { force: true });
    if (dir !== '/') await ensureDir(rootfs, posix.dirname(dir), made, owner);
    await mkdir(host, { mode: 0o755 });
    // Docker gives the directories a COPY creates the --chown owner too.
    if (owner) await lchown(host, owner.uid, owner.gid);
  }
  made.set(dir, host);
  return host;
}

function lstatOrNull(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

export async function copyInto(rootfs: string, sources: MatchedSource[], opts: CopyOptions): Promise<void> {
  const targets = await plan(rootfs, sources, opts);
  const dirs = new Map<string, string>();
  const links = new Map<string, string>(); // dev:ino of a multiply linked source → host path written
  const dirTimes: Array<[string, Date, Date]> = [];
  for (const t of targets) {
    const st = t.entry.stat;
    const owner = opts.owner ?? { uid: st.uid, gid: st.gid };
    const mode = opts.mode ?? st.mode & 0o7777;
    const path = t.path.replace(/(.)\/+$/, '$1');
    if (st.isDirectory()) {
      // Directories are followed like the image's own symlinks would be (inside the rootfs only).
      const existed = await isDirectory(rootfs, path);
      const host = await ensureDir(rootfs, path, dirs);
      // Copying a directory's contents into one that exists leaves that one as it is.
      if (t.entry.rel === '' && existed) continue;
      await lchown(host, owner.uid, owner.gid);
      await chmod(host, mode);
      dirTimes.push([host, st.atime, st.mtime]);
      continue;
    }
    const parent = await ensureDir(rootfs, posix.dirname(path), dirs, opts.owner);
    const host = join(parent, posix.basename(path));
    // Synchronous calls: one file is a handful of syscalls, each far cheaper
    // than a thread-pool round trip (the unpacker does the same).
    const existing = lstatOrNull(host);
    if (existing) rmSync(host, { recursive: existing.isDirectory(), force: true });
    const inode = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? links.get(inode) : undefined;
    if (first) {
      linkSync(first, host);
      continue;
    }
    if (st.isSymbolicLink()) {
      symlinkSync(t.entry.link!, host);
      lchownSync(host, owner.uid, owner.gid);
      lutimesSync(host, st.atime, st.mtime);
    } else {
      if (st.isFile()) copyFileSync(t.entry.path, host, fsc.COPYFILE_EXCL);
      else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
        opts.native.mknod(host, st.mode, { major: Math.floor(st.rdev / 256) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) });
      } else throw new TsrunError('BUILD_FAILED', `cannot copy ${t.entry.path}: a socket`);
      lchownSync(host, owner.uid, owner.gid);
      chmodSync(host, mode);
      utimesSync(host, st.atime, st.mtime);
    }
    if (st.nlink > 1) links.set(inode, host);
  }
  // Directory times last: writing their children changed them.
  for (const [host, atime, mtime] of dirTimes.reverse()) await utimes(host, atime, mtime);
}

/** Writes one file at a container path with the given mode and owner: a heredoc's text, or a host file's bytes (a download). */
export async function writeInto(rootfs: string, containerPath: string, data: string | { file: string }, opts: { mode: number; owner?: { uid: number; gid: number }; mtime?: Date }): Promise<void> {
  const parent = await ensureDir(rootfs, posix.dirname(containerPath), new Map(), opts.owner);
  const host = join(parent, posix.basename(containerPath));
  const existing = await lstat(host).catch(() => undefined);
  if (existing) await rm(host, { recursive: existing.isDirectory(), force: true });
  if (typeof data === 'string') await writeFile(host, data, { mode: opts.mode, flag: 'wx' });
  else copyFileSync(data.file, host, fsc.COPYFILE_EXCL);
  await chmod(host, opts.mode);
  if (opts.owner) await lchown(host, opts.owner.uid, opts.owner.gid);
  if (opts.mtime) await utimes(host, opts.mtime, opts.mtime);
}

