// Docker's copy-up: an empty volume mounted over a directory the image has
// is first filled with that directory's content, owners, modes and times
// kept, so `-v data:/var/lib/app` starts with what the image put there.
//
// The source lives in an untrusted rootfs. Its path is resolved within the
// rootfs (resolveInRoot, as securejoin does), and the walk below never
// follows a symlink: links are copied as links. This runs at create time,
// before any container process can change the rootfs.
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from '../util/resolve-in-root.js';

/** Copies `rootfs`'s `containerPath` (if it is a directory) into the empty `dest`. Returns whether anything was there. */
export async function copyUp(rootfs: string, containerPath: string, dest: string): Promise<boolean> {
  const src = await resolveInRoot(rootfs, containerPath);
  const st = await lstat(src).catch(() => null);
  if (!st?.isDirectory()) return false;
  await copyTree(src, dest);
  // The volume's root takes the directory's owner and mode (moby copyOwnership).
  await lchown(dest, st.uid, st.gid);
  await chmod(dest, st.mode & 0o7777);
  await utimes(dest, st.atime, st.mtime);
  return true;
}

async function copyTree(srcDir: string, destDir: string): Promise<void> {
  for (const name of await readdir(srcDir)) {
    const s = join(srcDir, name);
    const d = join(destDir, name);
    const st = await lstat(s);
    if (st.isDirectory()) {
      await mkdir(d, { mode: 0o700 });
      await copyTree(s, d);
    } else if (st.isFile()) {
      await copyFile(s, d);
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(s), d);
    } else {
      // Sockets, FIFOs, device nodes: Docker's copy-up keeps them, but a
      // device node from an image has no business in a volume; skip.
      continue;
    }
    await lchown(d, st.uid, st.gid);
    if (!st.isSymbolicLink()) {
      await chmod(d, st.mode & 0o7777); // after chown, which clears setuid bits
      await utimes(d, st.atime, st.mtime);
    } else {
      await lutimes(d, st.atime, st.mtime).catch(() => {});
    }
  }
}
