// A throwaway containerd 1.6 for the interop tests (oci-containerd,
// oci-cri): its own --config with root, state, gRPC/ttrpc sockets and the
// opt plugin's directory under one temp dir, and its own mount namespace.
//
// Why a mount namespace: containerd 1.6 puts the shims' sockets in
// /run/containerd/s/ and ctr its stdio FIFOs in /run/containerd/fifo/, with
// no setting to move them. containerd runs under
// `unshare --mount --propagation private` with a tmpfs over /run, so those
// (and the CRI plugin's network-namespace and shm mounts, the snapshots'
// overlay mounts) exist only in its namespace: the host's /run/containerd
// and mount table never see them, and they all vanish with the namespace.
// Every shim, runtime and container process starts from that namespace;
// ctr runs in it too (nsenter), so its FIFOs are where the shims look.
//
// Runtimes are reached through a wrapper script per runtime (runc as the
// reference, tsrun-oci as the subject) that records every argv the shim
// hands it and keeps a copy of each bundle's config.json and each exec's
// process.json under BASE/<name>-configs/.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type Options, type Result } from 'execa';
import { ociCli, removeCgroupDirs } from './oci-bundle.js';
import { repo } from './tsrun.js';

/** crictl's source (see ../shared/third_party/README.md); TSRUN_CRI_TOOLS_TARBALL points at another copy. */
export const CRI_TOOLS_TARBALL =
  process.env.TSRUN_CRI_TOOLS_TARBALL ?? resolve(repo, '../shared/third_party/cri-tools-v1.26.1.tar.gz');

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

/** Empty when a private containerd can be run here; otherwise what is missing and how to get it. */
export function containerdMissing(): string {
  const tools = ['containerd', 'ctr', 'containerd-shim-runc-v2', 'runc', 'unshare', 'nsenter'];
  const missing = tools.filter((t) => !has(t));
  return missing.length ? `missing tools: ${missing.join(', ')} (apt-get install containerd runc util-linux)` : '';
}

export interface RuntimeWrapper {
  name: string;
  /** The script to hand containerd (--runc-binary, options.BinaryName). */
  path: string;
  /** argv of every call so far, one string each (global options included). */
  calls(): string[];
  /** The verbs and their arguments, global options (--root, --log, --log-format, --systemd-cgroup) left out. */
  verbs(): string[];
  /** Each bundle's config.json by container id (exec's process.json as "<id>.process"). */
  configs(): Record<string, any>;
  /**
   * Every "error" line the runtime wrote to the shim's --log files, by
   * container id, as far as later calls saw them (a container's last call
   * is only seen through containerd's log: see Containerd.runtimeFailures).
   */
  errors(): Array<{ id: string; msg: string }>;
}

/**
 * A wrapper script BASE/<name> that records its argv and copies what the
 * shim hands over, then execs `command` with the same arguments.
 */
export function runtimeWrapper(base: string, name: string, command: string[]): RuntimeWrapper {
  const path = join(base, name);
  const log = join(base, `${name}-argv.log`);
  const configs = join(base, `${name}-configs`);
  mkdirSync(configs, { recursive: true });
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const logs = join(base, `${name}-logs`);
  mkdirSync(logs, { recursive: true });
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >> ${q(log)}`,
      // The last argument is the container id; --bundle DIR, --process FILE and --log FILE are kept.
      'b=; x=; l=; p=; for a in "$@"; do case "$p" in --bundle|-b) b=$a ;; --process|-p) x=$a ;; --log) l=$a ;; esac; p=$a; done',
      `[ -n "$b" ] && cp "$b/config.json" ${q(configs)}/"$p.json" 2>/dev/null`,
      `[ -n "$x" ] && cp "$x" ${q(configs)}/"$p.process.json" 2>/dev/null`,
      // The shim's --log file lives in the bundle and goes with it: keep
      // what earlier calls wrote to it. (exec, not a child: with a shell
      // waiting in between, the shim's cleanup sees exit status 255.)
      `[ -n "$l" ] && [ -f "$l" ] && cp "$l" ${q(logs)}/"$p.log.json" 2>/dev/null`,
      `exec ${command.map(q).join(' ')} "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  return {
    name,
    path,
    calls,
    verbs: () =>
      calls().map((c) =>
        c
          .replace(/--(root|log|log-format) \S+ /g, '')
          .replace(/--systemd-cgroup /g, '')
          .trim(),
      ),
    errors: () =>
      readdirSync(logs).flatMap((f) =>
        readFileSync(join(logs, f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            try {
              return JSON.parse(l) as { level?: string; msg?: string };
            } catch {
              return { level: 'error', msg: l };
            }
          })
          .filter((l) => l.level === 'error')
          .map((l) => ({ id: f.replace(/\.log\.json$/, ''), msg: String(l.msg) })),
      ),
    configs: () =>
      Object.fromEntries(
        readdirSync(configs).map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(configs, f), 'utf8'))]),
      ),
  };
}

/** runc itself, through a recording wrapper. */
export const runcWrapper = (base: string) => runtimeWrapper(base, 'runc', ['runc']);

/** tsrun-oci (bin/tsrun-oci under this Node), through a recording wrapper. */
export const tsrunOciWrapper = (base: string) => runtimeWrapper(base, 'tsrun-oci', [process.execPath, '--', ociCli]);

export interface ContainerdOptions {
  /** TOML appended to the config (plugin sections); the CRI plugin stays disabled unless `cri` is set. */
  extraConfig?: string;
  /** Load containerd's CRI plugin (its configuration goes in extraConfig). */
  cri?: boolean;
  /**
   * Host directories containerd's namespace sees as empty directories of
   * BASE instead (bind mounts there): for paths containerd 1.6 cannot be
   * told to move, e.g. libcni's cache /var/lib/cni. A directory missing on
   * the host is made for the mount point and removed again by stop().
   */
  shadow?: string[];
}

export interface Containerd {
  base: string;
  /** The gRPC socket (also the CRI endpoint when the plugin is on). */
  address: string;
  /** containerd's pid (the unshare'd process execs it). */
  pid: number;
  /** `ctr --address ADDRESS ...args` in containerd's mount namespace; never throws on exit codes. */
  ctr(args: string[], opts?: Options): Promise<Result>;
  /** Any command in containerd's mount namespace. */
  inNamespace(command: string, args: string[], opts?: Options): Promise<Result>;
  /** Mount points in containerd's namespace below BASE (snapshots, netns, shm), minus those it started with. */
  mounts(): string[];
  /** Pids of shims serving this containerd (identified by its socket on their command line). */
  shimPids(): number[];
  /** containerd's own log so far. */
  log(): string;
  /**
   * Lines of containerd's log where a runtime call failed. Left out: the
   * "cleanup warnings" a dead shim's cleanup reports, where containerd
   * 1.6's `shim delete` now and then sees exit status 255 from a runtime
   * call that succeeded (seen with runc as well).
   */
  runtimeFailures(): string[];
  /**
   * Stops containerd and its shims (SIGTERM, then SIGKILL), then, for every
   * runtime root given, `delete --force` of each container the runtime
   * still knows, then removes the cgroup parents given. Safe to call twice.
   */
  stop(cleanup?: { runtimes?: Array<{ binary: string; root: string }>; cgroupParents?: string[] }): Promise<void>;
}

function mountPoints(pid: number | 'self'): string[] {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m)
      .map((m) => m.replace(/\\040/g, ' '));
  } catch {
    return [];
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    // A zombie (our own child not yet reaped) counts as gone.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

async function terminate(pids: number[], graceMs: number): Promise<void> {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  for (const deadline = Date.now() + graceMs; pids.some(alive) && Date.now() < deadline; ) await sleep(50);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const deadline = Date.now() + 5000; pids.some(alive) && Date.now() < deadline; ) await sleep(50);
}

/** Starts containerd on BASE (a fresh temp dir the caller owns) and waits until it serves. */
export async function startContainerd(base: string, opts: ContainerdOptions = {}): Promise<Containerd> {
  const address = join(base, 'containerd.sock');
  const disabled = [
    'io.containerd.snapshotter.v1.aufs',
    'io.containerd.snapshotter.v1.btrfs',
    'io.containerd.snapshotter.v1.devmapper',
    'io.containerd.snapshotter.v1.zfs',
    ...(opts.cri ? [] : ['io.containerd.grpc.v1.cri']),
  ];
  const config = join(base, 'containerd.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${base}/root"`,
      `state = "${base}/state"`,
      `disabled_plugins = ${JSON.stringify(disabled)}`,
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '  level = "info"',
      '[metrics]',
      '  address = ""',
      // Its default, /opt/containerd, would be made on the host.
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${base}/opt"`,
      opts.extraConfig ?? '',
      '',
    ].join('\n'),
  );
  const logFile = join(base, 'containerd.log');
  const madeForShadow: string[] = [];
  const shadows = (opts.shadow ?? []).map((dir, i) => {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      madeForShadow.push(dir);
    }
    const own = join(base, 'shadow', String(i));
    mkdirSync(own, { recursive: true });
    return `mount --bind '${own}' '${dir}' && `;
  });
  const fd = openSync(logFile, 'a');
  const child = spawn(
    'unshare',
    [
      '--mount', '--propagation', 'private', 'sh', '-c',
      `mount -t tmpfs -o mode=755,size=64m tsrun-containerd-run /run && ${shadows.join('')}exec containerd --config "$0"`,
      config,
    ],
    { stdio: ['ignore', fd, fd], detached: true },
  );
  closeSync(fd);
  child.unref();
  const pid = child.pid!;
  const mntns = `/proc/${pid}/ns/mnt`;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  const inNamespace = (command: string, args: string[], o: Options = {}) =>
    execa('nsenter', [`--mount=${mntns}`, '--', command, ...args], { reject: false, stdin: 'ignore', ...o }) as unknown as Promise<Result>;
  const ctr = (args: string[], o: Options = {}) => inNamespace('ctr', ['--address', address, ...args], o);

  let baseline: Set<string> | null = null;
  const ownMounts = () => mountPoints(pid).filter((m) => m === base || m.startsWith(`${base}/`));
  let stopped = false;
  const shimPids = () =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => {
        const argv = cmdline(p);
        return argv.some((a, i) => a === '-address' && argv[i + 1] === address);
      });

  const handle: Containerd = {
    base,
    address,
    pid,
    ctr,
    inNamespace,
    mounts: () => ownMounts().filter((m) => !baseline?.has(m)),
    shimPids,
    log,
    runtimeFailures: () =>
      log()
        .split('\n')
        .filter((l) => /did not terminate successfully|unknown error after kill|failed to (remove|delete|kill|stop|start|create)/.test(l))
        .filter((l) => !l.includes('msg="cleanup warnings')),
    async stop(cleanup = {}) {
      if (!stopped) {
        stopped = true;
        await terminate([pid], 5000);
        await terminate(shimPids(), 2000);
      }
      for (const { binary, root } of cleanup.runtimes ?? []) {
        const ids = existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith('.')) : [];
        for (const id of ids) await execa(binary, ['--root', root, 'delete', '--force', id], { reject: false, stdin: 'ignore' });
      }
      for (const parent of cleanup.cgroupParents ?? []) await removeCgroupDirs(parent);
      for (const dir of madeForShadow.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };

  // Serving once `ctr version` answers (the socket appears a little before).
  for (const deadline = Date.now() + 20_000; ; await sleep(100)) {
    if (!alive(pid)) throw new Error(`containerd exited at start:\n${log().slice(-3000)}`);
    if (existsSync(address) && (await ctr(['version'])).exitCode === 0) break;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`containerd did not start serving in 20 s:\n${log().slice(-3000)}`);
    }
  }
  baseline = new Set(ownMounts());
  return handle;
}

/** Pids whose command line contains `needle` as one argument (this test's own paths only). */
export function pidsWithArg(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => p !== process.pid && cmdline(p).some((a) => a.includes(needle)));
}

/** Removes BASE, whatever a failed run left in it. */
export function removeBase(base: string): void {
  // Nothing under BASE is mounted in our namespace (containerd's mounts are
  // in its own); should a test have mounted something, take it away first.
  for (const m of mountPoints('self').filter((m) => m === base || m.startsWith(`${base}/`)).sort((a, b) => b.length - a.length)) {
    spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  }
  rmSync(base, { recursive: true, force: true });
}
