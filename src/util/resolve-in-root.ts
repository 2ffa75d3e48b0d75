// Resolve a path inside an untrusted directory tree (an image rootfs) the
// way the container would see it, without ever leaving that tree.
//
// A rootfs comes from an image anyone can publish. If we simply read
// `${rootfs}/etc/passwd`, a symlink `etc/passwd -> /etc/shadow` (or
// `etc -> ../../../../etc`) would make tsrun read the HOST's file. This is
// the algorithm of Go's github.com/cyphar/filepath-securejoin (used by runc,
// moby and containerd): walk the path one component at a time, lstat each
// one, and when it is a symlink splice its target into the remaining path,
// re-rooting absolute targets at `root` and clamping `..` at `root`.
//
// It is a lexical walk over the live filesystem, so it is only safe while
// nothing inside the rootfs is changing it (i.e. before the container runs).
// readFileInRoot adds O_NOFOLLOW on the last component so a symlink swapped
// in after resolution is refused rather than followed.
//
// Its calls are synchronous: an lstat or a read of /etc/passwd takes µs,
// where each thread-pool round trip costs far more (`create` resolves a few).

import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { TsrunError } from '../errors.js';

/** securejoin's limit. Generous next to the kernel's 40, but any real loop still ends quickly. */
export const MAX_SYMLINK_HOPS = 255;

/** Largest file readFileInRoot reads unless told otherwise; /etc/passwd is never near this. */
export const DEFAULT_MAX_READ_BYTES = 16 * 1024 * 1024;

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  // ENOTDIR: a component we treated as a directory is a file, so nothing
  // below it can exist either. securejoin's IsNotExist treats it the same.
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Returns the host path that `unsafePath` names inside `root`, following
 * symlinks as if `root` were `/`. The result is always `root` or below it.
 * Components that do not exist are kept lexically, so the result is where
 * the file would be. Throws TsrunError('INVALID_ARGUMENT') after
 * MAX_SYMLINK_HOPS symlinks (a loop); other lstat/readlink failures (EACCES,
 * ...) are rethrown as Node's SystemError.
 */
export async function resolveInRoot(root: string, unsafePath: string): Promise<string> {
  const cleanRoot = path.resolve(root);
  // `current` is always a clean, symlink-free path relative to root, written
  // with a leading '/' ('' means root itself).
  let current = '';
  let remaining = unsafePath;
  let hops = 0;

  while (remaining !== '') {
    const slash = remaining.indexOf('/');
    const part = slash === -1 ? remaining : remaining.slice(0, slash);
    remaining = slash === -1 ? '' : remaining.slice(slash + 1);

    // Joining onto '/' and normalising clamps '..' at the root: '/..' is '/'.
    const next = path.posix.join('/', current, part);
    if (next === '/') {
      current = '';
      continue;
    }
    const full = cleanRoot + next;

    let isLink: boolean;
    try {
      isLink = lstatSync(full).isSymbolicLink();
    } catch (err) {
      if (!isMissing(err)) throw err;
      isLink = false;
    }
    if (!isLink) {
      current = next;
      continue;
    }

    hops += 1;
    if (hops > MAX_SYMLINK_HOPS) {
      const cause = Object.assign(new Error(`ELOOP: too many symbolic links, '${full}'`), {
        code: 'ELOOP',
        path: full,
      });
      throw new TsrunError(
        'INVALID_ARGUMENT',
        `too many levels of symbolic links resolving ${unsafePath} inside ${cleanRoot}`,
        { cause },
      );
    }
    const target = readlinkSync(full);
    // The link's target is resolved relative to the directory holding the
    // link (`current`), or from root when absolute; either way it is walked
    // by this same loop, so it can never escape.
    remaining = remaining === '' ? target : `${target}/${remaining}`;
    if (target.startsWith('/')) current = '';
  }

  return current === '' ? cleanRoot : cleanRoot + path.posix.normalize(current);
}

export interface ReadInRootOptions {
  /** Refuse files larger than this many bytes (default DEFAULT_MAX_READ_BYTES). */
  maxBytes?: number;
}

/**
 * Reads a text file of an untrusted rootfs, resolving `unsafePath` with
 * resolveInRoot. Returns null when the file (or a directory on its way) does
 * not exist. Refuses anything but a regular file: a FIFO planted at
 * /etc/passwd would otherwise block us forever, a device could be endless.
 */
export async function readFileInRoot(
  root: string,
  unsafePath: string,
  options: ReadInRootOptions = {},
): Promise<string | null> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  const resolved = await resolveInRoot(root, unsafePath);

  let fd: number;
  try {
    // O_NOFOLLOW: the last component was just checked not to be a symlink;
    // if it became one since, fail (ELOOP) instead of following it.
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(resolved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new TsrunError('INVALID_ARGUMENT', `${unsafePath} in ${path.resolve(root)} is not a regular file`);
    }
    if (st.size > maxBytes) {
      throw new TsrunError('INVALID_ARGUMENT', `${unsafePath} in ${path.resolve(root)} is larger than ${maxBytes} bytes`);
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
