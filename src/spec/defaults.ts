// Docker's defaults for a container, as data. The values mirror moby's
// oci/defaults.go (DefaultLinuxSpec) and oci/caps/defaults.go so a container
// run by tsrun sees the same capabilities, mounts and hidden /proc files as
// one run by `docker run` with no extra flags.
//
// Everything here is frozen: these lists are shared by every spec we build,
// and a caller that pushed onto one would silently change all later
// containers. Use the `default*()` functions to get a fresh, mutable copy.

import type { LinuxDeviceCgroup, NamespaceType, OciMount } from './oci.js';

/** The 14 capabilities Docker grants by default (moby DefaultCapabilities). */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

/**
 * Paths the runtime hides (bind /dev/null over files, an empty read-only
 * tmpfs over directories): they leak host information or kernel addresses.
 */
export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
]);

/** Paths remounted read-only: writing there would reconfigure the host kernel. */
export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
]);

function frozenMount(m: OciMount): Readonly<OciMount> {
  if (m.options) Object.freeze(m.options);
  return Object.freeze(m);
}

/**
 * moby's default mounts, in the order they must be mounted (/dev before
 * /dev/pts, /dev/mqueue and /dev/shm). The /sys/fs/cgroup mount is left out
 * on purpose for now: whether it is cgroup2 or a v1 hierarchy depends on the
 * host, and cgroups/ decides that.
 */
export const DEFAULT_MOUNTS: readonly Readonly<OciMount>[] = Object.freeze([
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  {
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
  },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
].map(frozenMount));

/**
 * Namespaces every container gets. No user namespace: like Docker without
 * userns-remap, root in the container is uid 0 on the host, kept in check by
 * the capability set, masked paths and (later) seccomp.
 */
export const DEFAULT_NAMESPACES: readonly NamespaceType[] = Object.freeze([
  'pid',
  'network',
  'ipc',
  'uts',
  'mount',
  'cgroup',
] as NamespaceType[]);

/** moby's DefaultPathEnv for Linux, used when neither image nor user sets PATH. */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A fresh, mutable deep copy of DEFAULT_MOUNTS for placing into a spec. */
export function defaultMounts(): OciMount[] {
  return DEFAULT_MOUNTS.map((m) => {
    const copy: OciMount = { destination: m.destination };
    if (m.type !== undefined) copy.type = m.type;
    if (m.source !== undefined) copy.source = m.source;
    if (m.options !== undefined) copy.options = [...m.options];
    return copy;
  });
}

/**
 * The device cgroup: deny every device, then allow runc's default list
 * (libcontainer/specconv AllowedDevices, which Docker also uses): the
 * harmless character devices, the terminal devices, and mknod of any
 * device (creating a node is harmless when opening it is still denied).
 */
export const DEFAULT_DEVICE_RULES: readonly Readonly<LinuxDeviceCgroup>[] = Object.freeze([
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }, // /dev/pts/*
].map((r) => Object.freeze(r as LinuxDeviceCgroup)));

/** A fresh, mutable copy of DEFAULT_DEVICE_RULES for placing into a spec. */
export function defaultDeviceRules(): LinuxDeviceCgroup[] {
  return DEFAULT_DEVICE_RULES.map((r) => ({ ...r }));
}
