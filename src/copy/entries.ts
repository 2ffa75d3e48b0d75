// What cp moves: a stream of entries shaped like the tar reader's
// (unpack/tar.ts), whichever side they come from — a tree walked here, or
// a tar on stdin — and whichever side they go to — a directory
// (extract.ts) or a tar on stdout (tar.ts).
//
// The walk reads a tree through descriptors (fd.ts): each directory is
// opened with O_NOFOLLOW and its children are looked up in it, a symlink is
// reported as a symlink and never entered, a file is opened O_NOFOLLOW and
// must still be a regular file once open. Names are relative, the target's
// own entry first, parents before children, children in name order.
// Hard links inside the tree become hardlink entries (by inode, as tar
// does); sockets are left out (tar cannot hold them). A file that changes
// while it is read is cut or zero-padded to the size its entry announced,
// as GNU tar does. Directories on a kernel filesystem (a container's /proc,
// /sys, cgroups) are listed but not entered.
import fs from 'node:fs';
import type { NativeBinding } from '../native/binding.js';
import type { TarEntry } from '../image/unpack/tar.js';
import { TsrunError } from '../errors.js';
import { at, closeQuietly, kernelFsOf, lstatAt, openDirAt, openFileAt } from './fd.js';

/** One thing to copy: the fields of a tar entry that cp uses. */
export type CopyEntry = Pick<
  TarEntry,
  'path' | 'type' | 'typeflag' | 'linkname' | 'size' | 'mode' | 'uid' | 'gid' | 'mtime' | 'atime' | 'devmajor' | 'devminor' | 'xattrs' | 'chunks'
>;

export type XattrNative = Pick<NativeBinding, 'llistxattr' | 'lgetxattr'>;

export interface WalkOptions {
  /** The name the target gets in the entries ('.' for "the contents of"); children are rootName/child. */
  rootName: string;
  /** The owner to report for ids as the walk sees them on disk (a container's user namespace maps them back). */
  owner: (uid: number, gid: number) => [number, number];
  native: XattrNative;
  /** How to name the target in an error. */
  label: string;
}

// overlayfs and SELinux bookkeeping, not the file's data (export.ts leaves them out too).
const SKIP_XATTR = /^(?:trusted\.overlay\.|security\.selinux$)/;
const READ_CHUNK = 1 << 20;

function xattrsAt(native: XattrNative, dirFd: number, name: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let names: string[];
  try {
    names = native.llistxattr(at(dirFd, name));
  } catch {
    return out; // no xattr support there, or gone
  }
  for (const n of names.filter((x) => !SKIP_XATTR.test(x)).sort()) {
    try {
      const v = native.lgetxattr(at(dirFd, name), n);
      if (v) out.set(n, v);
    } catch {
      // gone or not readable: leave it out
    }
  }
  return out;
}

function read(fd: number, buf: Buffer, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, 0, buf.length, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Exactly `size` bytes of the open file: cut when it grew, zero-padded when it shrank. */
async function* fileBody(fd: number, size: number): AsyncGenerator<Buffer, void, undefined> {
  let pos = 0;
  while (pos < size) {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - pos));
    const n = await read(fd, buf, pos);
    if (n === 0) {
      // Shrank while we read it: pad with zeros, as GNU tar does.
      for (let left = size - pos; left > 0; left -= Math.min(left, READ_CHUNK)) yield Buffer.alloc(Math.min(left, READ_CHUNK));
      return;
    }
    pos += n;
    yield n === buf.length ? buf : buf.subarray(0, n);
  }
}

function majorMinor(rdev: number): { devmajor: number; devminor: number } {
  // glibc's gnu_dev_major/minor on the 64-bit dev_t (rdev fits a double exactly in practice).
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev >>> 0;
  return { devmajor: ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0), devminor: ((lo & 0xff) | ((lo >>> 12) & 0xfff00) | ((hi & 0xfff) << 20)) >>> 0 };
}

const NO_BODY = async function* (): AsyncGenerator<Buffer, void, undefined> {};

/**
 * The entries for `name` in the open directory `dirFd` (and, for a
 * directory, everything below it). The caller has located the target; a
 * target gone since is ENOENT.
 */
export async function* walkTree(dirFd: number, name: string, opts: WalkOptions): AsyncGenerator<CopyEntry, void, undefined> {
  const inodes = new Map<string, string>();

  async function* one(parentFd: number, child: string, rel: string, isRoot: boolean): AsyncGenerator<CopyEntry, void, undefined> {
    const st = lstatAt(parentFd, child);
    if (!st) {
      if (isRoot) throw new TsrunError('INVALID_STATE', `${opts.label} was removed while it was copied`);
      return; // removed while we walked
    }
    const [uid, gid] = opts.owner(st.uid, st.gid);
    const base = {
      path: rel, typeflag: '', linkname: '', size: 0, mode: st.mode & 0o7777, uid, gid,
      mtime: st.mtimeMs / 1000, atime: st.atimeMs / 1000, devmajor: 0, devminor: 0,
      xattrs: xattrsAt(opts.native, parentFd, child), chunks: NO_BODY,
    };
    // A second name of an inode already copied is a hard link to the first.
    const key = !st.isDirectory() && st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
    const first = key === undefined ? undefined : inodes.get(key);
    if (first !== undefined) {
      yield { ...base, type: 'hardlink', typeflag: '1', linkname: first, xattrs: new Map() };
      return;
    }
    const remember = () => key !== undefined && inodes.set(key, rel);
    if (st.isDirectory()) {
      const fd = openDirAt(parentFd, child);
      if (typeof fd !== 'number') {
        if (isRoot) throw new TsrunError('INVALID_STATE', `${opts.label} changed while it was copied`);
        return;
      }
      try {
        const kernelFs = kernelFsOf(fd);
        if (kernelFs && isRoot) throw new TsrunError('INVALID_ARGUMENT', `${opts.label} is a ${kernelFs} filesystem: cp does not copy kernel files`);
        yield { ...base, type: 'dir', typeflag: '5' };
        if (kernelFs) return;
        const names = fs.readdirSync(at(fd)).sort();
        for (const n of names) yield* one(fd, n, rel === '.' ? `./${n}` : `${rel}/${n}`, false);
      } finally {
        closeQuietly(fd);
      }
    } else if (st.isFile()) {
      const f = openFileAt(parentFd, child);
      if (!f) return; // replaced since the lstat
      try {
        const size = f.st.size;
        remember();
        yield { ...base, type: 'file', typeflag: '0', size, chunks: () => fileBody(f.fd, size) };
      } finally {
        closeQuietly(f.fd);
      }
    } else if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = fs.readlinkSync(at(parentFd, child));
      } catch {
        return; // replaced since the lstat
      }
      remember();
      yield { ...base, type: 'symlink', typeflag: '2', linkname: target };
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      remember();
      yield { ...base, type: st.isCharacterDevice() ? 'char' : 'block', typeflag: st.isCharacterDevice() ? '3' : '4', ...majorMinor(st.rdev) };
    } else if (st.isFIFO()) {
      remember();
      yield { ...base, type: 'fifo', typeflag: '6' };
    }
    // sockets: left out, as Docker and GNU tar do
  }

  yield* one(dirFd, name, opts.rootName, true);
}
