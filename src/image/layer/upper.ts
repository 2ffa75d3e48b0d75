// What a container changed, read from its OverlayFS upperdir (never from
// the merged tree: walking and comparing whole trees is what this avoids).
// The upperdir holds exactly the changes, in the kernel's own encoding:
//   - a 0/0 character device NAME    NAME was deleted (a whiteout)
//   - a directory with the xattr      the directory replaced the lower one
//     trusted.overlay.opaque=y        (nothing below shows through)
//   - anything else                   added, or changed (copied up)
// upperEntries() yields those in one stable order (parents before children,
// siblings sorted bytewise, which is Go's filepath.Walk order), so the same
// upperdir gives the same tar, byte for byte; layer/write.ts turns them into
// a layer, upperChanges() into `tsrun diff`'s A/C/D lines (moby's
// pkg/archive/changes.go rules).
import fs from 'node:fs';
import path from 'node:path';
import { TsrunError } from '../../errors.js';
import { native as realNative, type NativeBinding } from '../../native/binding.js';

export type UpperNative = Pick<NativeBinding, 'llistxattr' | 'lgetxattr'>;

export type UpperFileType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface UpperEntry {
  /** Relative to the upperdir, '/'-separated, no leading slash ('etc/passwd'). */
  path: string;
  /** Absolute path in the upperdir (to read a file's bytes). */
  abs: string;
  /**
   * 'whiteout': path was deleted (the entry is the 0/0 device; its owner and
   * mtime are the device's). 'opaque': a directory hiding the lower one.
   * 'change': added or changed.
   */
  kind: 'change' | 'whiteout' | 'opaque';
  type: UpperFileType;
  /** Permission bits with setuid/setgid/sticky (st_mode & 07777). */
  mode: number;
  /** The whole st_mode (type bits too), for moby's directory comparison. */
  stMode: number;
  uid: number;
  gid: number;
  /** st_size (a file's byte count; for a directory what its filesystem says). */
  size: number;
  mtimeNs: bigint;
  /** Symlink target. */
  linkTarget?: string;
  /** An earlier entry (its `path`) that is the same inode: write a hard link to it. */
  hardlinkTo?: string;
  devMajor?: number;
  devMinor?: number;
  /** Extended attributes except overlay's own (trusted.overlay.*) and SELinux labels; sorted by name. */
  xattrs?: Map<string, Buffer>;
}

// overlayfs bookkeeping, and SELinux labels (a property of the host, not of
// the image: Docker's and containerd's layers leave them out as well).
const SKIP_XATTR = /^(?:trusted\.overlay\.|security\.selinux$)/;
// With redirect_dir or metacopy on, an upper entry can point into a lower
// layer instead of holding the data; such an upperdir is not a layer.
const UNSUPPORTED_XATTR = ['trusted.overlay.redirect', 'trusted.overlay.metacopy'];
const OPAQUE_XATTR = 'trusted.overlay.opaque';
// A tar layer says "delete NAME" with an entry `.wh.NAME`: a file the
// container itself named `.wh.*` cannot be told apart from a whiteout, so
// it is left out (Docker writes it and every reader then deletes NAME).
// `.wh..wh.*` is aufs metadata, never content.
const WHITEOUT_PREFIX = '.wh.';

function typeOf(st: fs.BigIntStats): UpperFileType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** glibc's major()/minor() of a 64-bit dev_t. */
function majorMinor(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function readXattrs(native: UpperNative, abs: string): { names: string[]; values: Map<string, Buffer> } {
  let names: string[];
  try {
    names = native.llistxattr(abs);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return { names: [], values: new Map() };
    throw err;
  }
  const values = new Map<string, Buffer>();
  for (const n of [...names].sort(byteCompare)) {
    if (SKIP_XATTR.test(n)) continue;
    const v = native.lgetxattr(abs, n);
    if (v) values.set(n, v);
  }
  return { names, values };
}

export interface UpperOptions {
  /** Relative paths left out, with everything under them (mountStubs()). */
  skip?: Set<string>;
}

/**
 * The upperdir's entries, parents before children, siblings sorted
 * bytewise. The calls are synchronous (as in unpack/apply.ts): one walker,
 * in order, and a synchronous lstat costs a fraction of a thread-pool round
 * trip; the generator still yields between entries, so a consumer streaming
 * a tar keeps its compressor (on the pool) busy.
 */
export async function* upperEntries(upperDir: string, native: UpperNative = realNative, opts: UpperOptions = {}): AsyncGenerator<UpperEntry> {
  const root = path.resolve(upperDir);
  const skip = opts.skip ?? new Set<string>();
  const inodes = new Map<string, string>();
  const walk = function* (dirAbs: string, dirRel: string): Generator<UpperEntry> {
    const names = fs.readdirSync(dirAbs).sort(byteCompare);
    for (const name of names) {
      if (name.startsWith(WHITEOUT_PREFIX)) continue;
      const abs = `${dirAbs}/${name}`;
      const rel = dirRel ? `${dirRel}/${name}` : name;
      if (skip.has(rel)) continue;
      const st = fs.lstatSync(abs, { bigint: true, throwIfNoEntry: false });
      if (!st) continue; // removed while we walked (a commit without --pause)
      const type = typeOf(st);
      const base = {
        path: rel, abs, type,
        mode: Number(st.mode & 0o7777n), stMode: Number(st.mode),
        uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size),
        mtimeNs: st.mtimeNs,
      };
      if (type === 'char' && st.rdev === 0n) {
        // Checked before hard links: the kernel shares one whiteout inode among many names.
        yield { ...base, kind: 'whiteout' };
        continue;
      }
      const { names: xnames, values: xattrs } = readXattrs(native, abs);
      const bad = xnames.find((n) => UNSUPPORTED_XATTR.includes(n));
      if (bad) {
        throw new TsrunError('UNSUPPORTED', `${abs} carries ${bad}: the overlay was mounted with redirect_dir or metacopy, so its upper directory is not a complete layer`);
      }
      const entry: UpperEntry = { ...base, kind: 'change', ...(xattrs.size ? { xattrs } : {}) };
      if (type === 'dir') {
        if (xnames.includes(OPAQUE_XATTR) && native.lgetxattr(abs, OPAQUE_XATTR)?.toString() === 'y') entry.kind = 'opaque';
        yield entry;
        yield* walk(abs, rel);
        continue;
      }
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first !== undefined) {
          yield { ...entry, hardlinkTo: first, xattrs: undefined };
          continue;
        }
        inodes.set(key, rel);
      }
      if (type === 'symlink') entry.linkTarget = fs.readlinkSync(abs);
      if (type === 'char' || type === 'block') {
        const { major, minor } = majorMinor(st.rdev);
        entry.devMajor = major;
        entry.devMinor = minor;
      }
      yield entry;
    }
  };
  if (!fs.lstatSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new TsrunError('INVALID_STATE', `the upper directory ${root} does not exist`);
  }
  for (const e of walk(root, '')) yield e;
}

/** What a lower layer holds at a path, for moby's "changed or added" decision. */
export interface LowerStat {
  isDir: boolean;
  /** The whole st_mode. */
  mode: number;
  size: number;
  mtimeNs: bigint;
}

/** Answers whether (and as what) a path exists below the upperdir: a LowerStat, or true/false when the caller knows no more. */
export type LowerExists = (path: string) => Promise<boolean | LowerStat | null>;

/**
 * A LowerExists over the image's layer directories (top-most first, as
 * OverlayFS lists them): the first layer that has the path, or a whiteout
 * of it or of a parent, or a non-directory or an opaque directory on the
 * way, decides. Paths are absolute ('/etc/passwd') or relative.
 */
export function lowerLookup(lowerDirs: string[], native: UpperNative = realNative): (path: string) => Promise<LowerStat | null> {
  return async (p: string) => {
    const parts = p.split('/').filter(Boolean);
    for (const layer of lowerDirs) {
      let cur = layer;
      let hidden = false; // an opaque dir on the way hides the layers below
      for (let i = 0; i < parts.length; i++) {
        cur = `${cur}/${parts[i]}`;
        const st = fs.lstatSync(cur, { bigint: true, throwIfNoEntry: false });
        if (!st) break;
        if (st.isCharacterDevice() && st.rdev === 0n) return null; // deleted in this layer
        if (i === parts.length - 1) return { isDir: st.isDirectory(), mode: Number(st.mode), size: Number(st.size), mtimeNs: st.mtimeNs };
        if (!st.isDirectory()) return null; // a file here shadows everything below
        if (native.lgetxattr(cur, OPAQUE_XATTR)?.toString() === 'y') hidden = true;
      }
      if (hidden) return null;
    }
    return null;
  };
}

export type ChangeKind = 'A' | 'C' | 'D';

/** moby's sameFsTime: equal, or the same second when one side has no sub-second part. */
function sameTime(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  const s = 1_000_000_000n;
  return a / s === b / s && (a % s === 0n || b % s === 0n);
}

/**
 * Docker's `docker diff` over an upperdir (moby pkg/archive changes() with
 * overlayDeletedFile, in walk order):
 *   - a whiteout is D;
 *   - an opaque directory that existed below is D (it replaced the old one;
 *     what it holds now follows as A/C), as moby and containers/storage do;
 *   - otherwise A, or C when the path exists below, except that a directory
 *     whose mode, size and mtime equal the lower one's is left out (it is
 *     only there as the parent of a copied-up file);
 *   - an A or D also marks its parent directory C, once, unless it is '/'.
 */
export async function upperChanges(upperDir: string, lowerExists: LowerExists, native: UpperNative = realNative, opts: UpperOptions = {}): Promise<Array<{ kind: ChangeKind; path: string }>> {
  const out: Array<{ kind: ChangeKind; path: string }> = [];
  const changedDirs = new Set<string>();
  for await (const e of upperEntries(upperDir, native, opts)) {
    const p = `/${e.path}`;
    let kind: ChangeKind;
    if (e.kind === 'whiteout') {
      kind = 'D';
    } else {
      const low = await lowerExists(p);
      if (e.kind === 'opaque' && low) {
        kind = 'D';
      } else if (!low) {
        kind = 'A';
      } else {
        if (typeof low === 'object' && low.isDir && e.type === 'dir' && low.size === e.size && low.mode === e.stMode && sameTime(low.mtimeNs, e.mtimeNs)) {
          continue;
        }
        kind = 'C';
      }
    }
    if (e.type === 'dir') changedDirs.add(p);
    if (kind !== 'C') {
      const parent = path.posix.dirname(p);
      if (parent !== '/' && !changedDirs.has(parent)) {
        out.push({ kind: 'C', path: parent });
        changedDirs.add(parent);
      }
    }
    out.push({ kind, path: p });
  }
  return out;
}

/**
 * The mount points the runtime had to create in the upperdir (a container's
 * /etc/hosts, /proc, ... when its image lacks them), with the directories
 * made only to hold them: what BuildKit's mount-stub cleaner drops and
 * what Docker keeps out of a container's layer (in its -init layer). A
 * stub is an empty file or directory at a mount destination that no lower
 * layer has; its parent counts when it holds nothing but stubs and no lower
 * layer has it either. Returns relative paths for UpperOptions.skip.
 */
export async function mountStubs(upperDir: string, destinations: string[], lowerExists: LowerExists): Promise<Set<string>> {
  const root = path.resolve(upperDir);
  const stubs = new Set<string>();
  const rels = [...new Set(destinations.map((d) => path.posix.normalize(`/${d}`).slice(1).replace(/\/+$/, '')).filter(Boolean))];
  // Deepest first: a destination inside another (/dev/pts in /dev) is decided before its parent.
  rels.sort((a, b) => b.split('/').length - a.split('/').length);
  for (const rel of rels) {
    const st = fs.lstatSync(`${root}/${rel}`, { throwIfNoEntry: false });
    if (!st || (await lowerExists(`/${rel}`))) continue;
    if ((st.isFile() && st.size === 0) || (st.isDirectory() && fs.readdirSync(`${root}/${rel}`).every((n) => stubs.has(`${rel}/${n}`)))) stubs.add(rel);
  }
  // Parents, deepest first, so a chain of stub-only directories goes whole.
  const parents = new Set<string>();
  for (const rel of stubs) for (let p = path.posix.dirname(rel); p !== '.'; p = path.posix.dirname(p)) parents.add(p);
  for (const dir of [...parents].sort((a, b) => b.split('/').length - a.split('/').length)) {
    const st = fs.lstatSync(`${root}/${dir}`, { throwIfNoEntry: false });
    if (!st?.isDirectory() || (await lowerExists(`/${dir}`))) continue;
    if (fs.readdirSync(`${root}/${dir}`).every((n) => stubs.has(`${dir}/${n}`))) stubs.add(dir);
  }
  return stubs;
}
