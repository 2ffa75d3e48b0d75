// `tsrun export`: a container's filesystem as one uncompressed tar, as
// `docker export` writes it. For an image-based container that is the
// merged OverlayFS view (mounted first if it is not): one flattened tree,
// so no whiteouts; for a --rootfs container, its root directory. Owners,
// modes, mtimes, symlinks, hardlinks (by inode), devices, fifos and
// extended attributes are kept; sockets are left out (tar cannot hold
// them). Files that change while they are read are cut or zero-padded to
// the size first seen, as GNU tar does.
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { NativeBinding } from '../../native/binding.js';
import type { Containers } from '../../runtime/containers.js';
import type { Images } from '../images.js';
import { TarWriter, type TarWriteEntry } from './tar-write.js';

export interface ExportDeps {
  containers: Containers;
  images: Images;
  native: Pick<NativeBinding, 'llistxattr' | 'lgetxattr'>;
}

// overlayfs and SELinux bookkeeping, not the container's data.
const SKIP_XATTR = /^(?:trusted\.overlay\.|security\.selinux$)/;

/** The root filesystem directory of a container, mounted if needed. */
export async function containerRootfsDir(deps: ExportDeps, ref: string): Promise<string> {
  const id = await deps.containers.resolve(ref);
  const record = await deps.containers.store.read(id);
  if (record.request?.imageId) {
    await deps.images.rootfs.mount(id);
    return deps.images.rootfs.paths(id).merged;
  }
  const spec = await deps.containers.store.readSpec(id);
  return spec.root?.path ?? '';
}

function xattrsOf(native: ExportDeps['native'], path: string): Map<string, Buffer> | undefined {
  let names: string[];
  try {
    names = native.llistxattr(path);
  } catch {
    return undefined;
  }
  const out = new Map<string, Buffer>();
  for (const n of names.filter((x) => !SKIP_XATTR.test(x)).sort()) {
    try {
      const v = native.lgetxattr(path, n);
      if (v) out.set(n, v);
    } catch {
      // gone or not readable: leave it out
    }
  }
  return out.size ? out : undefined;
}

/** Writes the tree under `dir` (names relative to it, no leading "./") as a tar. */
export async function tarTree(dir: string, out: Writable, native: ExportDeps['native']): Promise<void> {
  const tar = new TarWriter(out);
  const inodes = new Map<string, string>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(abs)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed while we walked
      throw err;
    }
    for (const n of names) {
      const p = join(abs, n);
      const name = rel ? `${rel}/${n}` : n;
      let st;
      try {
        st = await lstat(p, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const base: Omit<TarWriteEntry, 'type'> = {
        name,
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtime: Number(st.mtimeMs / 1000n),
        xattrs: xattrsOf(native, p),
      };
      const key = `${st.dev}:${st.ino}`;
      if (!st.isDirectory() && st.nlink > 1n) {
        const first = inodes.get(key);
        if (first !== undefined) {
          await tar.add({ ...base, type: 'hardlink', linkname: first, xattrs: undefined });
          continue;
        }
        if (!st.isSocket()) inodes.set(key, name);
      }
      if (st.isDirectory()) {
        await tar.add({ ...base, type: 'dir' });
        await walk(p, name);
      } else if (st.isFile()) {
        await tar.add({ ...base, type: 'file', size: Number(st.size) }, createReadStream(p, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, { lenient: true });
      } else if (st.isSymbolicLink()) {
        await tar.add({ ...base, type: 'symlink', linkname: await readlink(p) });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const rdev = st.rdev;
        const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
        const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
        await tar.add({ ...base, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: major, devminor: minor });
      } else if (st.isFIFO()) {
        await tar.add({ ...base, type: 'fifo' });
      }
      // sockets: skipped, as Docker and GNU tar do
    }
  };
  await walk(dir, '');
  await tar.finish();
}

export async function exportContainer(deps: ExportDeps, ref: string, out: Writable): Promise<void> {
  const dir = await containerRootfsDir(deps, ref);
  await tarTree(dir, out, deps.native);
}
