// --device, --device-cgroup-rule and --privileged's host devices → OCI
// linux.devices (nodes made in the container) and linux.resources.devices
// (device-cgroup rules), with Docker's syntax and rules (docker/cli
// parseDevice, moby oci/devices_linux.go DevicesFromPath and
// oci.ParseDeviceCgroupRule, runc's HostDevices walk of /dev).

import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { TsrunError } from '../errors.js';
import type { LinuxDeviceCgroup, OciLinux } from './oci.js';
import { devMajorMinor } from './resources.js';

export type OciDevice = NonNullable<OciLinux['devices']>[number];

/** One --device value as Docker keeps it (HostConfig.Devices). */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/** Docker's validDeviceMode: 1-3 of r, w, m, none twice. */
function isDeviceMode(mode: string): boolean {
  return mode.length > 0 && mode.length <= 3 && /^[rwm]+$/.test(mode) && new Set(mode).size === mode.length;
}

/** `HOST[:CONTAINER][:PERMISSIONS]`; the middle part is the permissions when it reads like them. */
export function parseDevice(value: string): DeviceMapping {
  const bad = (why: string) => new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "--device" flag: ${why}`);
  const parts = value.split(':');
  if (parts.length > 3 || parts[0] === '') throw bad('invalid device specification (use HOST[:CONTAINER[:rwm]])');
  const [host, second, third] = parts as [string, string?, string?];
  let container = host;
  let permissions = 'rwm';
  if (second !== undefined) {
    if (third === undefined && isDeviceMode(second)) permissions = second;
    else container = second;
  }
  if (third !== undefined) permissions = third;
  if (!isDeviceMode(permissions)) throw bad(`bad mode specified: ${permissions} (use some of r, w and m)`);
  if (!path.posix.isAbsolute(host)) throw bad(`${host} is not an absolute path`);
  if (!path.posix.isAbsolute(container)) throw bad(`${container} is not an absolute path`);
  return { PathOnHost: host, PathInContainer: path.posix.normalize(container), CgroupPermissions: permissions };
}

/**
 * A device node on the host → its OCI description at `containerPath`, or
 * null when it is not a character or block device (runc skips those, and
 * nodes with major 0). lstat, so a symlink is never taken for its target.
 */
export async function deviceFromPath(hostPath: string, containerPath: string): Promise<OciDevice | null> {
  const st = await lstat(hostPath, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return null;
  const { major, minor } = devMajorMinor(st.rdev);
  if (major === 0) return null;
  return { path: containerPath, type, major, minor, fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

export function allowRule(d: OciDevice, access: string): LinuxDeviceCgroup {
  return { allow: true, type: d.type as 'c' | 'b', major: d.major, minor: d.minor, access };
}

// What runc's HostDevices walk leaves out: pseudo-filesystems and
// bookkeeping directories, and the console (the container gets its own).
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

async function walkDevices(dir: string, containerDir: string, out: OciDevice[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed meanwhile
    throw err;
  }
  for (const e of entries) {
    const host = path.join(dir, e.name);
    const inContainer = path.posix.join(containerDir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) await walkDevices(host, inContainer, out);
      continue;
    }
    if (e.name === 'console') continue;
    const dev = await deviceFromPath(host, inContainer).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null; // hot-unplugged while we looked
      throw err;
    });
    if (dev) out.push(dev);
  }
}

/**
 * Every device node under the host's /dev, as --privileged gives them
 * (moby uses runc's devices.HostDevices). /dev/ptmx is left out: the
 * container's /dev/ptmx is the link to its own devpts instance.
 */
export async function hostDevices(devDir = '/dev'): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  await walkDevices(devDir, '/dev', out);
  return out.filter((d) => d.path !== '/dev/ptmx');
}

/**
 * One --device: the node (or, for a directory, every node under it, as
 * Docker does) and an allow rule for each. Symlinks on the host are
 * followed (a /dev/disk/by-id/... name gives that disk). A path that is
 * missing or holds no device is an error.
 */
export async function devicesFromMapping(m: DeviceMapping): Promise<{ devices: OciDevice[]; rules: LinuxDeviceCgroup[] }> {
  const fail = (why: string, cause?: unknown) =>
    new TsrunError('INVALID_ARGUMENT', `error gathering device information while adding custom device ${JSON.stringify(m.PathOnHost)}: ${why}`, { cause });
  let resolved: string;
  try {
    resolved = await realpath(m.PathOnHost);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(code === 'ENOENT' ? 'no such file or directory' : ((err as Error).message), err);
  }
  const devices: OciDevice[] = [];
  const one = await deviceFromPath(resolved, m.PathInContainer);
  if (one) devices.push(one);
  else if ((await stat(resolved)).isDirectory()) await walkDevices(resolved, m.PathInContainer, devices);
  if (!devices.length) throw fail('not a device node');
  return { devices, rules: devices.map((d) => allowRule(d, m.CgroupPermissions)) };
}

// The largest numbers the device cgroup takes (moby's maxMajor/maxMinor, dev_t's 12 and 20 bits).
const MAX_MAJOR = 2 ** 12 - 1;
const MAX_MINOR = 2 ** 20 - 1;

/**
 * --device-cgroup-rule: `TYPE MAJOR:MINOR ACCESS` with TYPE a, b or c, a
 * number or * for each of MAJOR and MINOR, ACCESS some of r, w, m; or `a`
 * alone. An `a` rule covers every device, so anything but `a` or
 * `a *:* rwm` would mean less than it says and is refused, as Docker does.
 */
export function parseDeviceCgroupRule(value: string): LinuxDeviceCgroup {
  const bad = (why: string) => new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "--device-cgroup-rule" flag: ${why}`);
  if (value === 'a') return { allow: true, type: 'a', access: 'rwm' };
  const m = /^([abc]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(value);
  if (!m) throw bad("invalid device cgroup rule format (use 'TYPE MAJOR:MINOR ACCESS', e.g. 'c 1:3 rwm' or 'b 7:* rw')");
  const [, type, majorText, minorText, access] = m as unknown as [string, 'a' | 'b' | 'c', string, string, string];
  if (new Set(access).size !== access.length) throw bad(`access ${access} names a permission twice`);
  if (type === 'a') {
    if (majorText !== '*' || minorText !== '*' || new Set(access).size !== 3) {
      throw bad("an 'a' rule covers every device: write it as 'a' or 'a *:* rwm'");
    }
    return { allow: true, type: 'a', access: 'rwm' };
  }
  const num = (text: string, max: number) => {
    if (text === '*') return -1;
    const n = Number(text);
    if (n > max) throw bad(`${text} is out of range, it should be between 0 and ${max}`);
    return n;
  };
  return { allow: true, type, major: num(majorText, MAX_MAJOR), minor: num(minorText, MAX_MINOR), access };
}
