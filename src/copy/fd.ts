// The *at() calls cp needs, made from Node's path-based fs API.
//
// Node has no openat(2), and the addon does not export openat2. But
// `/proc/self/fd/N/NAME` is openat(N, NAME): the kernel jumps to the
// directory fd N holds (the magic link is followed, whatever happened to
// the path that directory was opened by) and looks up the one component
// NAME in it. With NAME a single component that is never '..' ('.' is the
// directory itself), and
// with every call below either not following a final symlink (lstat,
// readlink, unlink, mkdir, symlink, link, mknod, lchown, lutimes) or opening
// with O_NOFOLLOW, nothing a container does to its tree while we work can
// send a call outside the directory we hold: a symlink swapped in is
// refused (or, for l* calls, acted on as the symlink itself, inside the
// container), never followed from the host's root.
//
// Calls that must follow their path (chmod of a device node or fifo) go
// through an O_PATH|O_NOFOLLOW descriptor of the file itself, as runc and
// filepath-securejoin do: `/proc/self/fd/P` names that inode, not a path.
import fs from 'node:fs';
import { TsrunError } from '../errors.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** O_PATH (Linux, the same on x86-64 and arm64); Node's fs.constants does not carry it. */
export const O_PATH = 0o10000000;

/** The path that names `name` inside the directory open as `dirFd` (or that directory itself). */
export function at(dirFd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${dirFd}` : `/proc/self/fd/${dirFd}/${name}`;
}

export function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** lstat of name in dirFd; undefined when it does not exist. */
export function lstatAt(dirFd: number, name: string): fs.Stats | undefined {
  return fs.lstatSync(at(dirFd, name), { throwIfNoEntry: false });
}

/** The symlink text of name in dirFd, or null when it is not a symlink (or is gone). */
export function readlinkAt(dirFd: number, name: string): string | null {
  try {
    return fs.readlinkSync(at(dirFd, name));
  } catch (err) {
    const code = errCode(err);
    if (code === 'EINVAL' || code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Opens the directory `name` in dirFd without following a symlink there.
 * 'missing' when nothing is there, 'notdir' for anything but a directory
 * (a symlink included: O_NOFOLLOW|O_DIRECTORY gives ENOTDIR for one).
 */
export function openDirAt(dirFd: number, name: string): number | 'missing' | 'notdir' {
  try {
    return fs.openSync(at(dirFd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR' || code === 'ELOOP') return 'notdir';
    throw err;
  }
}

/**
 * Opens a regular file of dirFd for reading, never following a symlink.
 * The name is first opened O_PATH (which opens nothing: no device driver,
 * no fifo) and only a regular file is then opened for reading, through
 * that descriptor, so a device node a container swaps in (a host disk, a
 * watchdog) is never opened by the host's root.
 */
export function openFileAt(dirFd: number, name: string): { fd: number; st: fs.Stats } | null {
  let p: number;
  try {
    p = fs.openSync(at(dirFd, name), O_PATH | O_NOFOLLOW);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null; // gone since the lstat
    throw err;
  }
  try {
    const st = fs.fstatSync(p);
    if (!st.isFile()) return null; // replaced since the lstat
    return { fd: fs.openSync(at(p), O_RDONLY | O_NONBLOCK), st };
  } finally {
    fs.closeSync(p);
  }
}

/** chmod of name in dirFd, the file itself (reached through an O_PATH descriptor), never a symlink's target. */
export function chmodAt(dirFd: number, name: string, mode: number): void {
  const p = fs.openSync(at(dirFd, name), O_PATH | O_NOFOLLOW);
  try {
    if (fs.fstatSync(p).isSymbolicLink()) return; // Linux has no modes on symlinks
    fs.chmodSync(at(p), mode);
  } finally {
    fs.closeSync(p);
  }
}

export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

// Kernel filesystems of a container's own (its /proc, /sys, cgroups, ...).
// cp neither reads nor writes through them: their files are not data (and
// procfs sizes lie), and a write to /proc/sys or a cgroup directory is a
// write to the kernel. Docker cannot reach them at all (it copies from the
// root filesystem and the volumes, not through the container's mounts).
const KERNEL_FS = new Map<number, string>([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0x1cd1, 'devpts'],
  [0x19800202, 'mqueue'], [0x73636673, 'securityfs'], [0x64626720, 'debugfs'], [0x74726163, 'tracefs'],
  [0xcafe4a11, 'bpf'], [0x6165676c, 'pstore'], [0x62656570, 'configfs'], [0x65735543, 'fusectl'],
  [0xde5e81e4, 'efivarfs'], [0x42494e4d, 'binfmt_misc'], [0x6e736673, 'nsfs'],
]);

/** The name of the kernel filesystem the open directory is on, or undefined for an ordinary one. */
export function kernelFsOf(dirFd: number): string | undefined {
  return KERNEL_FS.get(Number(fs.statfsSync(at(dirFd)).type));
}

/** Refuses a directory on a kernel filesystem. */
export function refuseKernelFs(dirFd: number, what: string): void {
  const fsName = kernelFsOf(dirFd);
  if (fsName) throw new TsrunError('INVALID_ARGUMENT', `${what} is on a ${fsName} filesystem: cp does not copy kernel files`);
}
