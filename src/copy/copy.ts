// `tsrun cp`: Docker's `docker cp`, between a container and the host, or
// a tar on stdin/stdout. Docker's rules (moby pkg/archive copy.go):
//
//   SRC file → DEST missing: a file DEST (its parent must exist)
//              DEST missing with a trailing '/': error, the directory must exist
//              DEST a file: overwritten;  DEST a directory: DEST/basename(SRC)
//   SRC dir  → DEST missing: DEST made as a copy of SRC
//              DEST a file: error;  DEST a directory: DEST/basename(SRC),
//              or with SRC ending in '/.', SRC's contents into DEST
//
// Container paths are resolved in the container's root (resolve.ts), with
// intermediate symlinks followed there and never out of it. A symlink as
// SRC is copied as a symlink unless -L; a symlink as DEST is followed (in
// the container), as Docker does, so its target is written. Without -a,
// what lands in a container belongs to the container's root (its root
// user mapped through its user namespace) and what lands on the host to
// the caller; with -a the source's ids are kept.
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { TsrunError } from '../errors.js';
import { openContainerFs, type ContainerFs, type CopyDeps } from './container.js';
import { walkTree, type CopyEntry } from './entries.js';
import { Extractor, type ExtractOptions } from './extract.js';
import { closeQuietly, errCode, openDirAt, refuseKernelFs } from './fd.js';
import { followsFinal, hasTrailingSeparator, specifiesCurrentDir } from './paths.js';
import { LookupError, type Located } from './resolve.js';
import { readTarEntries, TAR_END_BYTES, tarBytes, writeTarEntries } from './tar.js';

export type { CopyDeps } from './container.js';

export interface CopyOptions {
  /** -L: follow a symlink given as SRC. */
  followLink?: boolean;
  /** -a: keep the source's uid/gid. */
  archive?: boolean;
}

/** What `docker cp` reports: the content's size, the tar bytes moved, and where it went. */
export interface CopyResult {
  contentSize: number;
  transferred: number;
  dest: string;
}

function notFound(ref: string, p: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', `Could not find the file ${p} in container ${ref}`);
}

function checkPath(p: string, what: string): void {
  if (p === '') throw new TsrunError('INVALID_ARGUMENT', `${what} can not be empty`);
  if (p.includes('\0')) throw new TsrunError('INVALID_ARGUMENT', `${what} contains a NUL byte`);
}

/**
 * Locates a container path, with Docker's messages for what is not there:
 * the file named `missing` (the path as given; for a destination, its
 * parent directory, where Docker extracts to) is not found.
 */
function locate(c: ContainerFs, ref: string, p: string, followFinal: boolean, missing: string): Located {
  try {
    return c.root.locate(p, { followFinal });
  } catch (err) {
    if (!(err instanceof LookupError)) throw err;
    if (err.code === 'ELOOP') throw new TsrunError('INVALID_ARGUMENT', `too many levels of symbolic links resolving ${p} in container ${ref}`);
    if (err.code === 'ENOTDIR') throw new TsrunError('INVALID_ARGUMENT', `${err.at} is not a directory in container ${ref}`);
    throw notFound(ref, missing);
  }
}

/** Counts the content and tar sizes of the entries as they go by. */
async function* counted(entries: AsyncIterable<CopyEntry>, sizes: { content: number; tar: number }): AsyncGenerator<CopyEntry, void, undefined> {
  for await (const e of entries) {
    sizes.tar += tarBytes(e);
    if (e.type === 'file') sizes.content += e.size;
    yield e;
  }
}

async function extractAll(entries: AsyncIterable<CopyEntry>, intoFd: number, opts: ExtractOptions): Promise<void> {
  const x = new Extractor(intoFd, opts);
  try {
    for await (const e of entries) await x.add(e);
    x.finish();
  } catch (err) {
    x.abort();
    throw err;
  }
}

/** Errors of writes into a container, in its terms. */
function writeError(err: unknown, c: ContainerFs, where: string): unknown {
  const code = errCode(err);
  if (code === 'EROFS') return new TsrunError('INVALID_ARGUMENT', `cannot write to ${where}: read-only file system (a --read-only root filesystem or a read-only mount)`, { cause: err });
  if (code === 'EOVERFLOW' && c.running) {
    // An idmapped mount (the rootfs of a container with a user namespace)
    // refuses to create files for a caller whose ids it does not map: the
    // host's root is not in the container's range.
    return new TsrunError('UNSUPPORTED', `cannot write to ${where} while the container runs: its root filesystem is an idmapped mount (user namespace) the host's root cannot create files in; stop the container first`, { cause: err });
  }
  return err;
}

/** The in-container owner policy of copy-in (-a: the source's ids; else the container's root). */
function containerOwner(c: ContainerFs, archive: boolean | undefined): Pick<ExtractOptions, 'owner' | 'parentOwner'> {
  const root = c.ids.toDisk(0, 0);
  return { owner: archive ? (uid, gid) => c.ids.toDisk(uid, gid) : () => root, parentOwner: root };
}

/** Where DEST_PATH on the host is (Docker's CopyInfoDestinationPath): symlinks followed, up to 10. */
function hostDestination(dest: string): { path: string; exists: boolean; isDir: boolean } {
  let p = path.resolve(dest);
  for (let hops = 0; ; hops++) {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      if (hops >= 10) throw new TsrunError('INVALID_ARGUMENT', `too many symlinks in ${dest}`);
      const link = fs.readlinkSync(p);
      p = path.resolve(path.dirname(p), link);
      continue;
    }
    // Docker's ValidateOutputPath: never replace a device, fifo or socket (`cp c:/f /dev/null`).
    if (st && !st.isDirectory() && !st.isFile()) throw new TsrunError('INVALID_ARGUMENT', `${dest} must be a directory or a regular file`);
    if (st) return { path: p, exists: true, isDir: st.isDirectory() };
    const parent = path.dirname(p);
    const ps = fs.statSync(parent, { throwIfNoEntry: false });
    if (!ps) throw new TsrunError('INVALID_ARGUMENT', `stat ${parent}: no such file or directory`);
    if (!ps.isDirectory()) throw new TsrunError('INVALID_ARGUMENT', `stat ${parent}: not a directory`);
    return { path: p, exists: false, isDir: false };
  }
}

/** SRC_PATH on the host (Docker's ResolveHostSourcePath): the directory holding it, its name there, and the name it is copied as. */
function hostSource(src: string, followLink: boolean): { dir: string; name: string; base: string; st: fs.Stats } {
  const abs = path.resolve(src);
  const missing = (): never => {
    throw new TsrunError('INVALID_ARGUMENT', `lstat ${abs}: no such file or directory`);
  };
  let resolved: string;
  try {
    resolved = followLink || followsFinal(src) ? fs.realpathSync(abs) : path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') missing();
    throw err;
  }
  const st = fs.lstatSync(resolved, { throwIfNoEntry: false }) ?? missing();
  if ((hasTrailingSeparator(src) || specifiesCurrentDir(src)) && !st.isDirectory()) throw new TsrunError('INVALID_ARGUMENT', `${abs}: not a directory`);
  const isRoot = resolved === '/';
  return {
    dir: isRoot ? '/' : path.dirname(resolved),
    name: isRoot ? '.' : path.basename(resolved),
    base: specifiesCurrentDir(src) || abs === '/' ? '.' : path.basename(abs),
    st,
  };
}

/** Locates SRC_PATH in the container for reading; its entry name when copied into a directory. */
function containerSource(c: ContainerFs, ref: string, src: string, followLink: boolean): { located: Located; base: string; st: fs.Stats } {
  checkPath(src, 'source');
  const located = locate(c, ref, src, followLink || followsFinal(src), src);
  const st = located.stat;
  if (!st) {
    located.release();
    throw notFound(ref, src);
  }
  if ((hasTrailingSeparator(src) || specifiesCurrentDir(src)) && !st.isDirectory()) {
    located.release();
    throw new TsrunError('INVALID_ARGUMENT', `${src} is not a directory in container ${ref}`);
  }
  try {
    refuseKernelFs(located.dirFd, `${ref}:${src}`);
  } catch (err) {
    located.release();
    throw err;
  }
  // As Docker's rebase: -L copies the target under the link's own name.
  const clean = path.posix.normalize(`/${src}`);
  const base = specifiesCurrentDir(src) || clean === '/' ? '.' : path.posix.basename(clean);
  return { located, base, st };
}

/** `tsrun cp CONTAINER:SRC_PATH DEST_PATH`. */
export async function copyFromContainer(deps: CopyDeps, ref: string, src: string, dest: string, opts: CopyOptions = {}): Promise<CopyResult> {
  checkPath(dest, 'destination');
  const c = await openContainerFs(deps, ref);
  try {
    const { located, base, st } = containerSource(c, ref, src, !!opts.followLink);
    try {
      const isDir = st.isDirectory();
      const d = hostDestination(dest);
      const assertsDir = hasTrailingSeparator(dest) || specifiesCurrentDir(dest);
      let into: string;
      let rootName: string;
      if (d.exists && d.isDir) [into, rootName] = [d.path, base];
      else if (d.exists && isDir) throw new TsrunError('INVALID_ARGUMENT', `cannot copy directory ${ref}:${src} to file ${d.path}`);
      else if (!d.exists && !isDir && assertsDir) throw new TsrunError('INVALID_ARGUMENT', `no such directory: ${dest} (the destination directory must exist)`);
      else [into, rootName] = [path.dirname(d.path), path.basename(d.path)];

      const intoFd = fs.openSync(into, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      const sizes = { content: 0, tar: 0 };
      try {
        const entries = walkTree(located.dirFd, located.name, {
          rootName, owner: (u, g) => c.ids.toContainer(u, g), native: deps.native, label: `${ref}:${src}`,
        });
        await extractAll(counted(entries, sizes), intoFd, {
          owner: opts.archive ? (u, g) => [u, g] : null, parentOwner: null, hostSafe: !opts.archive, native: deps.native,
          describe: (rel) => path.join(into, rel),
        });
      } finally {
        closeQuietly(intoFd);
      }
      const transferred = sizes.tar + TAR_END_BYTES;
      const shown = path.resolve(dest) + (hasTrailingSeparator(dest) && dest !== '/' ? '/' : '');
      return { contentSize: isDir ? transferred : st.size, transferred, dest: shown };
    } finally {
      located.release();
    }
  } finally {
    c.close();
  }
}

/** `tsrun cp CONTAINER:SRC_PATH -`: a tar of SRC_PATH to `out` (not ended). */
export async function archiveFromContainer(deps: CopyDeps, ref: string, src: string, out: Writable, opts: CopyOptions = {}): Promise<CopyResult> {
  const c = await openContainerFs(deps, ref);
  try {
    const { located, base } = containerSource(c, ref, src, !!opts.followLink);
    try {
      // Named as the daemon names them: by what was found (a followed link's target), or './' for contents.
      const rootName = base === '.' ? '.' : located.name;
      const entries = walkTree(located.dirFd, located.name, {
        rootName, owner: (u, g) => c.ids.toContainer(u, g), native: deps.native, label: `${ref}:${src}`,
      });
      const sizes = { content: 0, tar: 0 };
      const transferred = await writeTarEntries(counted(entries, sizes), out);
      return { contentSize: sizes.content, transferred, dest: '-' };
    } finally {
      located.release();
    }
  } finally {
    c.close();
  }
}

/** Locates DEST_PATH in the container for writing (a symlink there is followed, in the container). */
function containerDestination(c: ContainerFs, ref: string, dest: string): Located {
  checkPath(dest, 'destination');
  if (c.readOnly) throw new TsrunError('INVALID_ARGUMENT', `container rootfs is marked read-only: cannot write to ${ref}:${dest}`);
  const located = locate(c, ref, dest, true, path.posix.dirname(path.posix.normalize(`/${dest}`)));
  const st = located.stat;
  if (st && !st.isDirectory() && !st.isFile()) {
    located.release();
    throw new TsrunError('INVALID_ARGUMENT', `destination "${ref}:${dest}" must be a directory or a regular file`);
  }
  if (st && !st.isDirectory() && (hasTrailingSeparator(dest) || specifiesCurrentDir(dest))) {
    located.release();
    throw new TsrunError('INVALID_ARGUMENT', `destination "${ref}:${dest}" is not a directory`);
  }
  return located;
}

/** Opens the directory a lookup found, never following a symlink put there since. */
function openLocatedDir(l: Located, where: string): number {
  const fd = openDirAt(l.dirFd, l.name);
  if (typeof fd !== 'number') throw new TsrunError('INVALID_STATE', `${where} changed while it was copied to`);
  return fd;
}

/** `tsrun cp SRC_PATH CONTAINER:DEST_PATH`. */
export async function copyToContainer(deps: CopyDeps, src: string, ref: string, dest: string, opts: CopyOptions = {}): Promise<CopyResult> {
  checkPath(src, 'source');
  const s = hostSource(src, !!opts.followLink);
  const isDir = s.st.isDirectory();
  const c = await openContainerFs(deps, ref);
  const where = `${ref}:${dest}`;
  try {
    const located = containerDestination(c, ref, dest);
    try {
      const exists = located.stat !== undefined;
      const destIsDir = !!located.stat?.isDirectory();
      const assertsDir = hasTrailingSeparator(dest) || specifiesCurrentDir(dest);
      if (exists && !destIsDir && isDir) throw new TsrunError('INVALID_ARGUMENT', `cannot copy directory ${s.dir === '/' && s.name === '.' ? '/' : path.join(s.dir, s.name)} to file ${where}`);
      if (!exists && !isDir && assertsDir) throw new TsrunError('INVALID_ARGUMENT', `no such directory: ${where} (the destination directory must exist)`);
      const intoDir = exists && destIsDir;
      const intoFd = intoDir ? openLocatedDir(located, where) : located.dirFd;
      const rootName = intoDir ? s.base : located.name;
      const srcFd = fs.openSync(s.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      const sizes = { content: 0, tar: 0 };
      try {
        refuseKernelFs(intoFd, where);
        const entries = walkTree(srcFd, s.name, { rootName, owner: (u, g) => [u, g], native: deps.native, label: src });
        const inContainer = intoDir ? located.path : path.posix.dirname(located.path);
        await extractAll(counted(entries, sizes), intoFd, {
          ...containerOwner(c, opts.archive), hostSafe: false, native: deps.native,
          describe: (rel) => `${ref}:${path.posix.join(inContainer, rel)}`,
        });
      } catch (err) {
        throw writeError(err, c, where);
      } finally {
        closeQuietly(srcFd);
        if (intoDir) closeQuietly(intoFd);
      }
      return { contentSize: sizes.content, transferred: sizes.tar + TAR_END_BYTES, dest: where };
    } finally {
      located.release();
    }
  } finally {
    c.close();
  }
}

/** `tsrun cp - CONTAINER:DEST_PATH`: a tar from `input`, extracted into the directory DEST_PATH. */
export async function extractToContainer(deps: CopyDeps, input: AsyncIterable<Buffer | string>, ref: string, dest: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const c = await openContainerFs(deps, ref);
  const where = `${ref}:${dest}`;
  try {
    const located = containerDestination(c, ref, dest);
    try {
      if (!located.stat?.isDirectory()) throw new TsrunError('INVALID_ARGUMENT', `destination "${where}" must be a directory`);
      const intoFd = openLocatedDir(located, where);
      const sizes = { read: 0 };
      try {
        refuseKernelFs(intoFd, where);
        await extractAll(readTarEntries(input, sizes), intoFd, {
          ...containerOwner(c, opts.archive), hostSafe: false, native: deps.native,
          describe: (rel) => `${ref}:${path.posix.join(located.path, rel)}`,
        });
      } catch (err) {
        throw writeError(err, c, where);
      } finally {
        closeQuietly(intoFd);
      }
      return { contentSize: sizes.read, transferred: sizes.read, dest: where };
    } finally {
      located.release();
    }
  } finally {
    c.close();
  }
}

/** Docker's ContainerPathStat (the X-Docker-Container-Path-Stat header of the API's archive endpoints). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode: the permission bits, and its own bits for the type, setuid, setgid and sticky. */
  mode: number;
  mtime: string;
  /** A symlink's target, resolved in the container's root (absolute); '' for anything else. */
  linkTarget: string;
}

/**
 * A container path's lstat, as Docker's daemon stats it for `docker cp`
 * (its parents' symlinks followed in the container's root); null when
 * there is nothing there.
 */
export async function statContainerPath(deps: CopyDeps, ref: string, p: string): Promise<PathStat | null> {
  checkPath(p, 'path');
  const c = await openContainerFs(deps, ref);
  const find = (followFinal: boolean): Located | null => {
    try {
      return c.root.locate(p, { followFinal });
    } catch (err) {
      if (err instanceof LookupError && err.code === 'ENOENT') return null;
      return locate(c, ref, p, followFinal, p); // Docker's messages for the others
    }
  };
  try {
    const located = find(false);
    if (!located?.stat) {
      located?.release();
      return null;
    }
    const st = located.stat;
    located.release();
    let linkTarget = '';
    if (st.isSymbolicLink()) {
      const target = find(true);
      linkTarget = target?.path ?? '';
      target?.release();
    }
    const clean = path.posix.normalize(`/${p}`);
    return { name: clean === '/' ? '/' : path.posix.basename(clean), size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget };
  } finally {
    c.close();
  }
}

/** Go's os.FileMode of a stat: its type bits (ModeDir 1<<31, ModeSymlink 1<<27, ...) over the permission bits. */
export function goFileMode(st: fs.Stats): number {
  let mode = st.mode & 0o777;
  if (st.mode & 0o4000) mode += 2 ** 23;
  if (st.mode & 0o2000) mode += 2 ** 22;
  if (st.mode & 0o1000) mode += 2 ** 20;
  if (st.isDirectory()) mode += 2 ** 31;
  else if (st.isSymbolicLink()) mode += 2 ** 27;
  else if (st.isFIFO()) mode += 2 ** 25;
  else if (st.isSocket()) mode += 2 ** 24;
  else if (st.isCharacterDevice()) mode += 2 ** 26 + 2 ** 21;
  else if (st.isBlockDevice()) mode += 2 ** 26;
  return mode;
}
