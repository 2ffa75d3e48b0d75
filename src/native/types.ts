// The shapes that cross into C++. Everything here is already resolved and
// validated in TypeScript (src/runtime/native-config.ts), so the native side
// copies these into plain C structures and trusts them.

export interface NativeMount {
  source: string | null;
  /** Absolute path inside the container; resolved under the rootfs with openat2(RESOLVE_IN_ROOT). */
  target: string;
  fstype: string | null;
  /** mount(2) flags for the first mount call. */
  flags: number;
  data: string | null;
  /** Propagation flags (MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, maybe |MS_REC) applied after, or 0. */
  propagation: number;
  /** Bind mounts cannot take MS_RDONLY etc. on the first call: when non-zero, remount with MS_BIND|MS_REMOUNT|these. */
  remountFlags: number;
  /** What to create at the target when it is missing: a directory, or an empty file (file bind mounts). */
  targetKind: 'dir' | 'file';
}

export interface NativeDevice {
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

/** An OCI hook, resolved: args never empty (args[0] is the hook's argv[0]); timeout in seconds, 0 for none. */
export interface NativeHook { path: string; args: string[]; env: string[]; timeout: number }

export interface NativeRlimit { resource: number; soft: number; hard: number }

export interface NativeContainerConfig {
  rootfs: string;
  readonlyRoot: boolean;
  /** Use MS_MOVE + chroot instead of pivot_root (runc --no-pivot; also the automatic fallback on ramfs). */
  noPivot: boolean;
  /** No mount namespace of its own: mount under the rootfs in the host's table (made private) and chroot. */
  hostMountNs?: boolean;
  /** runc --preserve-fds: the caller's fds 3 .. 3+N-1 pass into the container. */
  preserveFds?: number;
  /** AppArmor profile to switch to at execve (the host has AppArmor: native-config checks). */
  apparmorProfile?: string | null;
  /** exec into a container without a mount namespace: chroot to its rootfs after joining. */
  execChroot?: string | null;
  /** CLONE_NEW* flags for namespaces to create. */
  cloneFlags: number;
  /** Existing namespaces to join with setns before anything else: [nstype CLONE_NEW* flag, path]. */
  joinNamespaces: Array<{ flag: number; path: string }>;
  hostname: string | null;
  mounts: NativeMount[];
  devices: NativeDevice[];
  maskedPaths: string[];
  readonlyPaths: string[];
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  /** -1 leaves the umask as inherited. */
  umask: number;
  caps: { bounding: number[]; effective: number[]; permitted: number[]; inheritable: number[]; ambient: number[] };
  rlimits: NativeRlimit[];
  noNewPrivs: boolean;
  /** null leaves it unchanged. */
  oomScoreAdj: number | null;
  terminal: boolean;
  consoleSize: { rows: number; cols: number } | null;
  /** Host fds that become the container's 0, 1, 2 when there is no terminal. */
  stdio: [number, number, number];
  /** Run a minimal reaper as PID 1 that forwards signals to the command. */
  init: boolean;
  /** SIGKILL the container when the spawning process dies (foreground runs without a monitor). */
  killOnParentDeath: boolean;
  /** `exec`: join the namespaces in joinNamespaces (pid included) and skip rootfs set-up. */
  execMode?: boolean;
  /** linux.sysctl, written under the container's /proc/sys before the read-only paths. */
  sysctl?: Array<{ key: string; value: string }>;
  /** A compiled seccomp program (src/runtime/seccomp-filter.ts) and SECCOMP_FILTER_FLAG_* bits. */
  seccomp?: { filter: Buffer; flags: number } | null;
  /** Hooks the native side runs: createRuntime (prestart first) in the parent, the others in the container. */
  hooks?: { createRuntime: NativeHook[]; createContainer: NativeHook[]; startContainer: NativeHook[] };
  /** With hooks: the state JSON per phase without its opening '{' (the pid is put in front natively). */
  hookState?: { creating: string; created: string };
  /** A new user namespace's maps and rootfs (src/runtime/native-userns.ts); null or absent without one, or when it is joined. */
  userns?: NativeUserns | null;
}

/** What the parent does for a user namespace between clone and SYNC_GO (native/src/userns.cc). */
export interface NativeUserns {
  /** /proc/PID/uid_map content ("ID HOSTID SIZE" lines) for a new namespace; '' writes none. */
  uidMap: string;
  gidMap: string;
  /** Present the rootfs through an idmapped mount of the namespace; null: as it is on disk (runc's behaviour). */
  idmapRootfs: NativeIdmapRootfs | null;
}

export interface NativeIdmapRootfs {
  /** Overlay lower dirs, top first, to rebuild the rootfs from idmapped layers; empty: idmap rootfs itself (recursively). */
  lower: string[];
  /** With lower dirs: the directory holding upper and work (one idmapped mount), and their names in it. */
  upperBase: string;
  upper: string;
  work: string;
  /** Host ids the namespace maps, used as the overlay's creator credentials. */
  mounterUid: number;
  mounterGid: number;
}

export interface SpawnOptions {
  /** cgroup.procs files the pid is written to before the process may go on (so it execs inside its cgroup). */
  cgroupProcs?: string[];
  /** Exec fifo path (create/start split): spawn returns once set-up is done; the process waits until `start` reads the fifo. */
  execFifo?: string;
  /** Detach under a tsrun-monitor: argv[0] is the monitor binary; the element after "--pid" is filled with the container pid. */
  monitor?: { argv: string[]; stdin: boolean };
  /** With execFifo: return the sync socket as syncFd, for waitExec after start. */
  keepSync?: boolean;
}

export interface SpawnResult {
  /** Host pid of the container's first process. */
  pid: number;
  /** Master side of the container's console when terminal was set (and no monitor took it), else -1. */
  ptyMaster: number;
  /** Host pid of the monitor, 0 without one. */
  monitorPid: number;
  /** The sync socket when keepSync was set, else -1. */
  syncFd: number;
}

export interface ExitStatus {
  /** Exit code when the process exited, else null. */
  exitCode: number | null;
  /** Signal number when it was killed, else null. */
  signal: number | null;
}

/** Errors thrown by the native side, shaped like Node's SystemError. */
export interface NativeErrorFields {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  /** The container set-up step that failed ("mount", "pivot_root", "exec", ...). */
  step: string;
}

/**
 * One cgroup v2 device rule for attachDeviceFilter. Type 'a' covers every
 * device (its numbers are ignored); -1 means any major or minor.
 */
export interface NativeDeviceRule {
  allow: boolean;
  type: 'a' | 'c' | 'b';
  major: number;
  minor: number;
  /** Some of 'r', 'w', 'm'. */
  access: string;
}
