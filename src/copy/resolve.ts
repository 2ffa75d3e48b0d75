// A path inside a container, resolved as the container would resolve it,
// with its root as `/`, and never a step outside that root.
//
// This is openat2(RESOLVE_IN_ROOT) done one component at a time from
// TypeScript (the addon uses openat2 only inside its set-up child and does
// not export it): filepath-securejoin's procfs-based lookup, the way runc
// resolves mount targets. Every step holds a descriptor of the directory
// reached so far and looks up one name in it (fd.ts); a symlink's text is
// spliced into the path still to walk, an absolute one restarting from the
// root, and `..` pops back to the directory we came from (never the
// kernel's `..`), so it stops at the root. Because each step is relative to
// a descriptor and never follows a symlink itself, a container changing
// its tree while we walk it (a running one can) makes the walk fail or land
// elsewhere inside the container, never outside it.
//
// The older util/resolve-in-root.ts does the same lexically over paths; it
// is fine for a rootfs nobody is changing (before a container runs), not
// for a running container's.
import fs from 'node:fs';
import { MAX_SYMLINK_HOPS } from '../util/resolve-in-root.js';
import { closeQuietly, lstatAt, openDirAt, readlinkAt } from './fd.js';

/** Why a lookup failed: a missing component, a non-directory on the way, or a symlink loop. */
export class LookupError extends Error {
  constructor(
    readonly code: 'ENOENT' | 'ENOTDIR' | 'ELOOP',
    /** The clean in-root path of the component that failed. */
    readonly at: string,
  ) {
    super(`${code}: ${at}`);
    this.name = 'LookupError';
  }
}

/** What a lookup found: the directory holding the target, and the target's name in it. */
export interface Located {
  /** The open directory holding the target (the root's own descriptor for the root). */
  dirFd: number;
  /** The target's name in dirFd; '.' for the root itself. */
  name: string;
  /** The clean path of the target inside the root, '/' for the root. */
  path: string;
  /** lstat of the target; undefined when it does not exist (only the last component may be missing). */
  stat?: fs.Stats;
  /** Closes the descriptors the lookup opened (not the root's). */
  release(): void;
}

export interface LocateOptions {
  /** Follow a symlink in the last component too (its target is resolved in the root as well). */
  followFinal: boolean;
}

export class InRoot {
  private constructor(
    /** The root directory's descriptor. */
    readonly fd: number,
  ) {}

  /** Opens `dir` as a root: /proc/PID/root, a mounted overlay, a --rootfs directory, or a host directory. */
  static open(dir: string): InRoot {
    return new InRoot(fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY));
  }

  close(): void {
    closeQuietly(this.fd);
  }

  /**
   * Resolves `unsafePath` (absolute or not, it starts at the root) inside
   * the root. Throws LookupError when a directory on the way is missing
   * or not a directory, or after MAX_SYMLINK_HOPS symlinks.
   */
  locate(unsafePath: string, opts: LocateOptions): Located {
    const stack: { fd: number; name: string }[] = [];
    const release = () => {
      for (const s of stack.splice(0)) closeQuietly(s.fd);
    };
    const top = () => (stack.length ? stack[stack.length - 1].fd : this.fd);
    const pathOf = (name?: string) => `/${[...stack.map((s) => s.name), ...(name === undefined ? [] : [name])].join('/')}`;
    let parts = unsafePath.split('/');
    let hops = 0;
    try {
      while (parts.length) {
        const part = parts.shift()!;
        if (part === '' || part === '.') continue;
        if (part === '..') {
          closeQuietly(stack.pop()?.fd);
          continue;
        }
        const final = parts.every((p) => p === '' || p === '.');
        const dir = top();
        const link = readlinkAt(dir, part);
        if (link !== null && !(final && !opts.followFinal)) {
          if (++hops > MAX_SYMLINK_HOPS) throw new LookupError('ELOOP', pathOf(part));
          if (link.startsWith('/')) release();
          parts = [...link.split('/'), ...parts];
          continue;
        }
        if (final) {
          const stat = lstatAt(dir, part);
          return { dirFd: dir, name: part, path: pathOf(part), stat, release };
        }
        const fd = openDirAt(dir, part);
        if (fd === 'missing') throw new LookupError('ENOENT', pathOf(part));
        if (fd === 'notdir') {
          // A symlink put there since we looked: walk it on the next round.
          if (readlinkAt(dir, part) !== null && ++hops <= MAX_SYMLINK_HOPS) {
            parts.unshift(part);
            continue;
          }
          throw new LookupError(lstatAt(dir, part) ? 'ENOTDIR' : 'ENOENT', pathOf(part));
        }
        stack.push({ fd, name: part });
      }
      // The path ended on a directory we walked into ('/', 'a/.', 'a/b/..'):
      // name it in its parent, as every other target is.
      if (!stack.length) return { dirFd: this.fd, name: '.', path: '/', stat: fs.fstatSync(this.fd), release };
      const last = stack.pop()!;
      const stat = fs.fstatSync(last.fd);
      closeQuietly(last.fd);
      return { dirFd: top(), name: last.name, path: pathOf(last.name), stat, release };
    } catch (err) {
      release();
      throw err;
    }
  }
}
