// Writes cp's entries below one directory, and nowhere else, whatever
// the entries say and whatever the tree they land in holds or does while
// they are written (a running container can change it).
//
//  - every name is cleaned lexically: leading '/' dropped, `..` resolved;
//    a name still leaving the directory fails (Docker: "is outside of");
//  - parents are walked from the directory's descriptor one name at a time
//    with O_NOFOLLOW|O_DIRECTORY (fd.ts); a symlink or file on the way fails,
//    a missing one is made 0755 (for a tar that lists no directories);
//  - the entry itself is never followed: files are created
//    O_CREAT|O_EXCL|O_NOFOLLOW after what was there is unlinked, symlinks,
//    devices and hard links are made by name, metadata goes through the
//    open descriptor or an l* call;
//  - Docker's NoOverwriteDirNonDir, which `docker cp` sets: a directory is
//    never replaced by a non-directory or the other way round (so nothing
//    is ever removed recursively);
//  - Docker's breakout rules for links: a hard link must name an entry
//    below the directory, a relative symlink must not climb out of it
//    (absolute ones are kept: they only ever resolve inside the root they
//    land in, or on the host where the user asked for the copy).
// Directories' times are set at the end, once their children are in.
import fs from 'node:fs';
import path from 'node:path';
import { TsrunError } from '../errors.js';
import type { NativeBinding } from '../native/binding.js';
import { S_IF } from '../native/constants.js';
import type { CopyEntry } from './entries.js';
import { at, chmodAt, closeQuietly, errCode, kernelFsOf, lstatAt, openDirAt } from './fd.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
const MAX_ID = 0xfffffffe;

export interface ExtractOptions {
  /** The owner an entry gets from its recorded ids; null: whoever writes it (the calling user). */
  owner: ((uid: number, gid: number) => [number, number]) | null;
  /** The owner of directories made for entries whose parents the stream does not list; null: the calling user. */
  parentOwner: [number, number] | null;
  /**
   * Copying out without -a: clear setuid and setgid bits (the owner is not
   * kept, as cp does), and leave device nodes readable and writable by
   * their owner only, so a node a container made (its host's disk, say)
   * does not become a door for the host's other users.
   */
  hostSafe: boolean;
  native: Pick<NativeBinding, 'mknod' | 'lsetxattr'>;
  /** How to name a path below the directory in an error. */
  describe: (rel: string) => string;
}

function kindOf(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a directory';
  return 'a special file';
}

export class Extractor {
  /** The directories from the root to the last entry's parent, open. */
  private chain: { name: string; fd: number }[] = [];
  private readonly dirTimes = new Map<string, { atime: number; mtime: number }>();

  constructor(
    /** The directory everything is written below (the caller's descriptor; not closed here). */
    private readonly rootFd: number,
    private readonly opts: ExtractOptions,
  ) {}

  private fail(why: string): never {
    throw new TsrunError('INVALID_ARGUMENT', why);
  }

  /** The entry's name relative to the root ('' for the root itself). */
  private clean(name: string, what: string, entry: string): string {
    if (name.includes('\0')) this.fail(`invalid entry ${JSON.stringify(entry)}: its ${what} contains a NUL byte`);
    const p = path.posix.normalize(`${name.replace(/^\/+/, '')}/`).replace(/\/+$/, '');
    if (p === '..' || p.startsWith('../')) this.fail(`invalid entry ${JSON.stringify(entry)}: its ${what} ${JSON.stringify(name)} is outside of ${this.opts.describe('')}`);
    return p === '.' ? '' : p;
  }

  /** The open directory `parts` names below the root, made when missing, never through a symlink. */
  private parentFd(parts: string[]): number {
    let keep = 0;
    while (keep < this.chain.length && keep < parts.length && this.chain[keep].name === parts[keep]) keep++;
    for (const d of this.chain.splice(keep)) closeQuietly(d.fd);
    for (let i = keep; i < parts.length; i++) {
      const dir = i === 0 ? this.rootFd : this.chain[i - 1].fd;
      const rel = parts.slice(0, i + 1).join('/');
      let fd = openDirAt(dir, parts[i]);
      if (fd === 'missing') {
        try {
          fs.mkdirSync(at(dir, parts[i]), 0o755);
        } catch (err) {
          if (errCode(err) !== 'EEXIST') throw err;
        }
        fd = openDirAt(dir, parts[i]);
        if (typeof fd === 'number' && this.opts.parentOwner) fs.fchownSync(fd, ...this.opts.parentOwner);
      }
      if (typeof fd !== 'number') {
        const st = lstatAt(dir, parts[i]);
        this.fail(`cannot write below ${this.opts.describe(rel)}: it is ${st ? kindOf(st) : 'gone'}, not a directory${st?.isSymbolicLink() ? ' (cp never writes through a symlink)' : ''}`);
      }
      this.chain.push({ name: parts[i], fd });
      this.refuseKernelFs(fd, rel);
    }
    return parts.length ? this.chain[parts.length - 1].fd : this.rootFd;
  }

  private refuseKernelFs(fd: number, rel: string): void {
    const k = kernelFsOf(fd);
    if (k) {
      closeQuietly(this.chain.pop()?.fd);
      this.fail(`cannot write into ${this.opts.describe(rel)}: it is a ${k} filesystem`);
    }
  }

  private ids(e: CopyEntry): [number, number] | null {
    if (!this.opts.owner) return null;
    return this.opts.owner(e.uid, e.gid);
  }

  private mode(e: CopyEntry): number {
    if (!this.opts.hostSafe) return e.mode & 0o7777;
    return e.mode & (e.type === 'char' || e.type === 'block' ? 0o600 : 0o1777);
  }

  private xattrs(e: CopyEntry, dir: number, name: string, regularOrDir: boolean): void {
    for (const [key, value] of e.xattrs) {
      if (key.startsWith('trusted.overlay.')) continue; // overlayfs metadata is never taken from a stream
      try {
        this.opts.native.lsetxattr(at(dir, name), key, value);
      } catch (err) {
        const code = errCode(err);
        // As Docker and containerd: a filesystem without xattrs loses them; user.* only on files and directories.
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') continue;
        if (code === 'EPERM' && key.startsWith('user.') && !regularOrDir) continue;
        throw err;
      }
    }
  }

  /** Writes one entry. Its body (a file's) is read here; nothing else of the stream is. */
  async add(e: CopyEntry): Promise<void> {
    const rel = this.clean(e.path, 'name', e.path);
    if (!Number.isInteger(e.uid) || !Number.isInteger(e.gid) || e.uid < 0 || e.gid < 0 || e.uid > MAX_ID || e.gid > MAX_ID) {
      this.fail(`invalid entry ${JSON.stringify(e.path)}: owner ${e.uid}:${e.gid} is out of range`);
    }
    if (rel === '') {
      if (e.type !== 'dir') this.fail(`cannot overwrite directory ${this.opts.describe('')} with non-directory ${JSON.stringify(e.path)}`);
      // Docker skips '.' over an existing directory: `cp dir/. c:/tmp` keeps /tmp's owner and mode.
      return;
    }
    const parts = rel.split('/');
    const name = parts.pop()!;
    const dir = this.parentFd(parts);
    const existing = lstatAt(dir, name);

    if (e.type === 'dir') {
      if (existing && !existing.isDirectory()) this.fail(`cannot overwrite non-directory ${this.opts.describe(rel)} with directory ${JSON.stringify(e.path)}`);
      if (!existing) {
        try {
          fs.mkdirSync(at(dir, name), 0o700);
        } catch (err) {
          if (errCode(err) !== 'EEXIST') throw err;
        }
      }
      // The children that follow go below it: keep it open as the chain's next link.
      const fd = this.parentFd([...parts, name]);
      this.dirMeta(e, fd, rel);
      return;
    }

    if (existing?.isDirectory()) this.fail(`cannot overwrite directory ${this.opts.describe(rel)} with non-directory ${JSON.stringify(e.path)}`);
    const create = <T>(make: () => T): T => {
      for (let attempt = 0; ; attempt++) {
        const st = lstatAt(dir, name);
        if (st?.isDirectory()) this.fail(`cannot overwrite directory ${this.opts.describe(rel)} with non-directory ${JSON.stringify(e.path)}`);
        if (st) {
          try {
            fs.unlinkSync(at(dir, name));
          } catch (err) {
            if (errCode(err) === 'EBUSY') this.fail(`cannot replace ${this.opts.describe(rel)}: it is a mount point`);
            if (errCode(err) !== 'ENOENT') throw err;
          }
        }
        try {
          return make();
        } catch (err) {
          // Something was put there since: once more, then give up.
          if (errCode(err) !== 'EEXIST' || attempt > 0) throw err;
        }
      }
    };
    const ids = this.ids(e);

    switch (e.type) {
      case 'file': {
        const fd = create(() => fs.openSync(at(dir, name), CREATE_FLAGS, 0o600));
        try {
          for await (const chunk of e.chunks()) {
            let off = 0;
            while (off < chunk.length) off += await new Promise<number>((res, rej) => fs.write(fd, chunk, off, chunk.length - off, null, (err, n) => (err ? rej(err) : res(n))));
          }
          if (ids) fs.fchownSync(fd, ...ids);
          fs.fchmodSync(fd, this.mode(e));
          if (e.xattrs.size) this.xattrs(e, dir, name, true);
          fs.futimesSync(fd, e.atime ?? e.mtime, e.mtime);
        } finally {
          fs.closeSync(fd);
        }
        return;
      }
      case 'symlink': {
        if (e.linkname === '' || e.linkname.includes('\0')) this.fail(`invalid entry ${JSON.stringify(e.path)}: bad symlink target`);
        // Docker's rule: a relative target must stay below the directory written to.
        if (!e.linkname.startsWith('/')) {
          const target = path.posix.normalize(path.posix.join(parts.join('/') || '.', e.linkname));
          if (target === '..' || target.startsWith('../')) this.fail(`invalid symlink ${JSON.stringify(e.path)} -> ${JSON.stringify(e.linkname)}: it points outside of ${this.opts.describe('')}`);
        }
        create(() => fs.symlinkSync(e.linkname, at(dir, name)));
        if (ids) fs.lchownSync(at(dir, name), ...ids);
        if (e.xattrs.size) this.xattrs(e, dir, name, false);
        fs.lutimesSync(at(dir, name), e.atime ?? e.mtime, e.mtime);
        return;
      }
      case 'hardlink': {
        const target = this.clean(e.linkname, 'hard link target', e.path);
        if (target === '') this.fail(`invalid entry ${JSON.stringify(e.path)}: a hard link to the directory itself`);
        const tparts = target.split('/');
        const tname = tparts.pop()!;
        const t = this.lookupDir(tparts);
        try {
          const st = t === undefined ? undefined : lstatAt(t, tname);
          if (t === undefined || !st) this.fail(`invalid entry ${JSON.stringify(e.path)}: hard link target ${JSON.stringify(e.linkname)} is not among the entries written`);
          if (st.isDirectory()) this.fail(`invalid entry ${JSON.stringify(e.path)}: hard link target ${JSON.stringify(e.linkname)} is a directory`);
          if (target === rel) return;
          // link(2) never follows a symlink at its source: it links the symlink itself.
          create(() => fs.linkSync(at(t, tname), at(dir, name)));
        } finally {
          if (t !== undefined && t !== this.rootFd) closeQuietly(t);
        }
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        const type = e.type === 'char' ? S_IF.CHR : e.type === 'block' ? S_IF.BLK : S_IF.FIFO;
        create(() => this.opts.native.mknod(at(dir, name), type | (this.mode(e) & 0o777), { major: e.devmajor, minor: e.devminor }));
        if (ids) fs.lchownSync(at(dir, name), ...ids);
        chmodAt(dir, name, this.mode(e));
        if (e.xattrs.size) this.xattrs(e, dir, name, false);
        fs.lutimesSync(at(dir, name), e.atime ?? e.mtime, e.mtime);
        return;
      }
      default:
        this.fail(`invalid entry ${JSON.stringify(e.path)}: unsupported tar entry type ${JSON.stringify(e.typeflag)}`);
    }
  }

  /** An existing directory below the root, walked without following symlinks and without making anything; undefined when it is not there. */
  private lookupDir(parts: string[]): number | undefined {
    let fd = this.rootFd;
    for (const p of parts) {
      const next = openDirAt(fd, p);
      if (fd !== this.rootFd) closeQuietly(fd);
      if (typeof next !== 'number') return undefined;
      fd = next;
    }
    return fd;
  }

  private dirMeta(e: CopyEntry, fd: number, rel: string): void {
    const ids = this.ids(e);
    if (ids) fs.fchownSync(fd, ...ids);
    fs.fchmodSync(fd, this.mode(e));
    if (e.xattrs.size) this.xattrs(e, fd, '.', true);
    this.dirTimes.set(rel, { atime: e.atime ?? e.mtime, mtime: e.mtime });
  }

  /** Sets the directories' times, now that their children are written, and closes what is open. */
  finish(): void {
    for (const d of this.chain.splice(0)) closeQuietly(d.fd);
    for (const [rel, t] of this.dirTimes) {
      const fd = this.lookupDir(rel.split('/'));
      if (fd === undefined) continue;
      try {
        fs.futimesSync(fd, t.atime, t.mtime);
      } finally {
        closeQuietly(fd);
      }
    }
  }

  /** Closes what is open, after a failure. */
  abort(): void {
    for (const d of this.chain.splice(0)) closeQuietly(d.fd);
  }
}
