// A container without a mount namespace of its own (runc allows it, and the
// OCI runtime-tools suite checks it) mounts its rootfs, /proc, /dev and the
// rest in the host's mount table. runc leaves them there after delete; the
// engine notes which mounts at or below the rootfs existed before create
// (an engine's own overlay, say) and at delete takes away every other one,
// deepest first.
import { readFile } from 'node:fs/promises';
import type { NativeBinding } from '../native/binding.js';
import { MNT_DETACH } from '../native/constants.js';

interface MountLine { id: number; point: string }

// mountinfo escapes space, tab, newline and backslash as octal.
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

async function mountsAt(rootfs: string): Promise<MountLine[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: MountLine[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const point = unescape(f[4]);
    if (point === rootfs || point.startsWith(`${rootfs}/`)) out.push({ id: Number(f[0]), point });
  }
  return out;
}

/** The ids of the mounts at or below rootfs now, to keep at delete. */
export async function hostMountsBefore(rootfs: string): Promise<number[]> {
  return (await mountsAt(rootfs)).map((m) => m.id);
}

/** Lazily unmounts, newest first, every mount at or below rootfs that is not in `keep`. */
export async function removeHostMounts(native: NativeBinding, rootfs: string, keep: number[]): Promise<void> {
  const kept = new Set(keep);
  // mountinfo lists mounts in the order they were made: the reverse takes
  // children before parents and the top of a stack first.
  const made = (await mountsAt(rootfs)).filter((m) => !kept.has(m.id)).reverse();
  for (const m of made) {
    try {
      native.umount(m.point, MNT_DETACH);
    } catch {
      // gone with its parent already
    }
  }
}
