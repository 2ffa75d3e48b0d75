// Writes one layer's tar entries into a fresh, empty directory so that
// nothing outside that directory is ever created, changed or removed,
// whatever the tarball holds.
//
// How (containerd's archive.Apply and Docker's chrootarchive are the models,
// without the chroot):
//  - every name is cleaned lexically first: leading '/' dropped, `..`
//    resolved with posix normalize; a name still leaving the root fails;
//  - every parent of an entry must be a real directory inside the layer,
//    checked with lstat (never stat), created 0755 when missing; verified
//    directories are cached and dropped from the cache (with everything
//    below) when a later entry replaces them;
//  - the final component is never followed: files are opened
//    O_CREAT|O_EXCL|O_NOFOLLOW, and anything already there is removed
//    (unlink, or rm of a directory, which does not follow links) first;
//    symlinks are created as link text and only touched with l* calls;
//  - hard links must name something already in this layer, reached
//    through real directories; a link to a symlink links the symlink itself.
// A malicious entry fails the whole layer with TsrunError('LAYER_INVALID');
// the caller deletes the partial directory.
//
// Metadata: owner (lchown), then mode (chown clears setuid/setgid, so chmod
// comes after; a symlink is never chmod-ed), xattrs (after chown, which
// clears security.capability), times (directories' at the end, once their
// children are in place). OverlayFS whiteouts: `.wh.NAME` becomes a 0/0
// character device NAME, `.wh..wh..opq` the xattr trusted.overlay.opaque=y
// on its directory; other `.wh..wh.*` names and the top-level aufs metadata
// directories (`.wh..wh.plnk/`, ...) are skipped, as Docker does.
// trusted.overlay.* xattrs recorded in the tarball are dropped: only the
// whiteout translation may write overlay metadata (redirects in a crafted
// layer could point overlay lookups elsewhere).
//
// The calls are synchronous on purpose: one writer, in order (hard links and
// replacements depend on it), and a synchronous syscall costs a fraction of
// a thread-pool round trip; the bytes still stream from the decompressor
// chunk by chunk, so no file is ever held whole in memory.
import fs from 'node:fs';
import path from 'node:path';
import { TsrunError } from '../../errors.js';
import type { NativeBinding } from '../../native/binding.js';
import { S_IF } from '../../native/constants.js';
import type { TarEntry } from './tar.js';

export type UnpackNative = Pick<NativeBinding, 'mknod' | 'lsetxattr'>;

// libuv adds O_CLOEXEC to every open.
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const AUFS_META = '.wh..wh.';
const MAX_ID = 0xfffffffe;

/** Applies a layer's entries to `dir` (an existing, empty directory). */
export async function applyLayer(entries: AsyncIterable<TarEntry>, dir: string, native: UnpackNative): Promise<void> {
  const applier = new Applier(path.resolve(dir), native);
  for await (const entry of entries) await applier.apply(entry);
  applier.finish();
}

function errCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function kindOf(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  return 'special file';
}

class Applier {
  /** Paths (relative, '' for the root) known to be real directories inside the layer. */
  private readonly verified = new Set<string>(['']);
  /** Directory times to set at the end. */
  private readonly dirTimes = new Map<string, { atime: number; mtime: number }>();
  private readonly chown: boolean;

  constructor(
    private readonly root: string,
    private readonly native: UnpackNative,
  ) {
    const st = fs.lstatSync(root);
    if (!st.isDirectory()) throw new TsrunError('INVALID_ARGUMENT', `cannot unpack a layer into ${root}: not a directory`);
    this.chown = process.getuid?.() === 0;
  }

  private full(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  private fail(e: TarEntry, why: string): never {
    throw new TsrunError('LAYER_INVALID', `invalid layer entry ${JSON.stringify(e.path)}: ${why}`);
  }

  /** The name relative to the layer root ('' for the root), or a failure when it leaves it. */
  private clean(e: TarEntry, name: string, what: string): string {
    if (name.includes('\0')) this.fail(e, `${what} contains a NUL byte`);
    let p = path.posix.normalize(name.replace(/^\/+/, ''));
    if (p === '..' || p.startsWith('../')) this.fail(e, `${what} ${JSON.stringify(name)} leads outside the layer root`);
    if (p.endsWith('/')) p = p.replace(/\/+$/, '');
    if (p === '.' || p === '') return '';
    return p;
  }

  /**
   * Makes sure `rel` is a real directory inside the layer: each component
   * lstat-ed (or found in the cache), missing ones created 0755, a symlink
   * or other non-directory on the way fails.
   */
  private ensureDir(e: TarEntry, rel: string, create: boolean, missing?: string): void {
    if (this.verified.has(rel)) return;
    let cur = '';
    for (const part of rel.split('/')) {
      cur = cur === '' ? part : `${cur}/${part}`;
      if (this.verified.has(cur)) continue;
      const st = fs.lstatSync(this.full(cur), { throwIfNoEntry: false });
      if (!st) {
        if (!create) this.fail(e, missing ?? `${JSON.stringify(cur)} does not exist in this layer`);
        fs.mkdirSync(this.full(cur), 0o755);
      } else if (!st.isDirectory()) {
        this.fail(e, `parent ${JSON.stringify(cur)} is a ${kindOf(st)}, not a directory${st.isSymbolicLink() ? ' (entries are never written through symlinks)' : ''}`);
      }
      this.verified.add(cur);
    }
  }

  /** Removes what is at rel (never following it); false when nothing was there. */
  private remove(rel: string): boolean {
    const p = this.full(rel);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return false;
    if (st.isDirectory()) {
      // fs.rm lstat-s as it walks and unlinks symlinks, never following them.
      fs.rmSync(p, { recursive: true, force: true });
      this.forget(rel);
    } else {
      fs.unlinkSync(p);
    }
    return true;
  }

  private forget(rel: string): void {
    const prefix = `${rel}/`;
    this.verified.delete(rel);
    for (const v of this.verified) if (v.startsWith(prefix)) this.verified.delete(v);
    this.dirTimes.delete(rel);
    for (const v of this.dirTimes.keys()) if (v.startsWith(prefix)) this.dirTimes.delete(v);
  }

  /** Runs create(); when something is in the way, removes it and tries once more. */
  private replace<T>(rel: string, create: () => T): T {
    try {
      return create();
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    this.remove(rel);
    return create();
  }

  private owner(e: TarEntry, p: string): void {
    if (!this.chown) return;
    fs.lchownSync(p, e.uid, e.gid);
  }

  private xattrs(e: TarEntry, p: string, regularOrDir: boolean): void {
    for (const [name, value] of e.xattrs) {
      if (name.startsWith('trusted.overlay.')) continue;
      try {
        this.native.lsetxattr(p, name, value);
      } catch (err) {
        const code = errCode(err);
        // As containerd: user.* is only allowed on regular files and
        // directories, and a filesystem without xattr support loses them.
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') continue;
        if (code === 'EPERM' && name.startsWith('user.') && !regularOrDir) continue;
        throw err;
      }
    }
  }

  private times(e: TarEntry): { atime: number; mtime: number } {
    return { atime: e.atime ?? e.mtime, mtime: e.mtime };
  }

  async apply(e: TarEntry): Promise<void> {
    const rel = this.clean(e, e.path, 'path');
    if (!Number.isInteger(e.uid) || !Number.isInteger(e.gid) || e.uid < 0 || e.gid < 0 || e.uid > MAX_ID || e.gid > MAX_ID) {
      this.fail(e, `owner ${e.uid}:${e.gid} is out of range`);
    }
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    const base = slash < 0 ? rel : rel.slice(slash + 1);

    // aufs metadata (.wh..wh.plnk/, .wh..wh.aufs) is not part of the image, as in Docker.
    if (rel.startsWith(AUFS_META) && rel !== OPAQUE) {
      await e.skip();
      return;
    }
    if (base.startsWith(WHITEOUT)) {
      await e.skip();
      this.whiteout(e, parent, base);
      return;
    }
    if (rel === '') {
      if (e.type !== 'dir') this.fail(e, `the layer root can only be a directory, not a ${e.type}`);
      await e.skip();
      this.dirMeta(e, '');
      return;
    }
    this.ensureDir(e, parent, true);
    const p = this.full(rel);

    switch (e.type) {
      case 'dir': {
        await e.skip();
        try {
          fs.mkdirSync(p, 0o700);
        } catch (err) {
          if (errCode(err) !== 'EEXIST') throw err;
          const st = fs.lstatSync(p);
          if (!st.isDirectory()) {
            this.remove(rel);
            fs.mkdirSync(p, 0o700);
          }
        }
        this.verified.add(rel);
        this.dirMeta(e, rel);
        return;
      }
      case 'file': {
        const fd = this.replace(rel, () => fs.openSync(p, CREATE_FLAGS, 0o600));
        try {
          for await (const chunk of e.chunks()) {
            let off = 0;
            while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
          }
          if (this.chown) fs.fchownSync(fd, e.uid, e.gid);
          fs.fchmodSync(fd, e.mode & 0o7777);
          if (e.xattrs.size) this.xattrs(e, p, true);
          const t = this.times(e);
          fs.futimesSync(fd, t.atime, t.mtime);
        } finally {
          fs.closeSync(fd);
        }
        return;
      }
      case 'symlink': {
        await e.skip();
        if (e.linkname === '') this.fail(e, 'symlink with an empty target');
        if (e.linkname.includes('\0')) this.fail(e, 'symlink target contains a NUL byte');
        // The link text is kept as it is: it is only ever resolved inside the container.
        this.replace(rel, () => fs.symlinkSync(e.linkname, p));
        this.owner(e, p);
        if (e.xattrs.size) this.xattrs(e, p, false);
        const t = this.times(e);
        fs.lutimesSync(p, t.atime, t.mtime);
        return;
      }
      case 'hardlink': {
        await e.skip();
        const target = this.clean(e, e.linkname, 'hard link target');
        if (target === '') this.fail(e, 'hard link to the layer root');
        const ts = target.lastIndexOf('/');
        this.ensureDir(e, ts < 0 ? '' : target.slice(0, ts), false, `hard link target ${JSON.stringify(e.linkname)} is not in this layer (so far)`);
        const tp = this.full(target);
        const st = fs.lstatSync(tp, { throwIfNoEntry: false });
        if (!st) this.fail(e, `hard link target ${JSON.stringify(e.linkname)} is not in this layer (so far)`);
        if (st.isDirectory()) this.fail(e, `hard link target ${JSON.stringify(e.linkname)} is a directory`);
        if (target === rel) return;
        // link(2) does not follow a symlink at the target: it links the symlink itself.
        try {
          this.replace(rel, () => fs.linkSync(tp, p));
        } catch (err) {
          // Replacing the entry removed the target (a link to something below itself).
          if (errCode(err) === 'ENOENT') this.fail(e, `hard link target ${JSON.stringify(e.linkname)} was removed by this entry`);
          throw err;
        }
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        await e.skip();
        const type = e.type === 'char' ? S_IF.CHR : e.type === 'block' ? S_IF.BLK : S_IF.FIFO;
        this.replace(rel, () => this.native.mknod(p, type | (e.mode & 0o777), { major: e.devmajor, minor: e.devminor }));
        this.owner(e, p);
        fs.chmodSync(p, e.mode & 0o7777);
        if (e.xattrs.size) this.xattrs(e, p, false);
        const t = this.times(e);
        fs.lutimesSync(p, t.atime, t.mtime);
        return;
      }
      default:
        this.fail(e, `unsupported tar entry type ${JSON.stringify(e.typeflag)}`);
    }
  }

  private dirMeta(e: TarEntry, rel: string): void {
    const p = this.full(rel);
    this.owner(e, p);
    fs.chmodSync(p, e.mode & 0o7777);
    if (e.xattrs.size) this.xattrs(e, p, true);
    this.dirTimes.set(rel, this.times(e));
  }

  private whiteout(e: TarEntry, parent: string, base: string): void {
    if (base === OPAQUE) {
      this.ensureDir(e, parent, true);
      this.native.lsetxattr(this.full(parent), 'trusted.overlay.opaque', Buffer.from('y'));
      return;
    }
    if (base.startsWith(AUFS_META)) return; // aufs metadata
    const name = base.slice(WHITEOUT.length);
    if (name === '' || name === '.' || name === '..') this.fail(e, 'whiteout for an invalid name');
    this.ensureDir(e, parent, true);
    const rel = parent === '' ? name : `${parent}/${name}`;
    const p = this.full(rel);
    this.replace(rel, () => this.native.mknod(p, S_IF.CHR, { major: 0, minor: 0 }));
    this.owner(e, p);
  }

  /** Sets directory times, now that their children are written. */
  finish(): void {
    for (const [rel, t] of this.dirTimes) {
      if (this.verified.has(rel)) fs.lutimesSync(this.full(rel), t.atime, t.mtime);
    }
  }
}
