// The one engine both front ends drive: create/start/state/kill/delete/exec
// of an OCI bundle, as runc does. `tsrun` (Docker-like verbs) runs it with a
// monitor per container; `tsrun-oci` runs it bare, under the caller's own
// monitor (conmon, containerd's shim).
//
// State per container in <stateDir>/<id>/:
//   state.json  EngineRecord, written atomically
//   lock        flock held by every state-changing call
//   exec.fifo   exists from create until start (runc's exec.fifo)
//   pids        "MONITOR CONTAINER", written by the monitor at its start
//   exit.json   written by the monitor when the container has exited
//   attach      the monitor's attach socket
import { closeSync, constants as fsc, existsSync, mkdirSync, openSync, readFileSync, readSync, unlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupFrozenFile, createCgroup, openCgroup, resolveCgroupPath, type Cgroup, type CgroupDeps } from '../cgroups/index.js';
import { TsrunError } from '../errors.js';
import { isoTime } from '../util/iso-time.js';
import { monitorPath, type NativeBinding, type SpawnResult } from '../native/binding.js';
import { CLONE_FLAGS } from '../native/constants.js';
import type { OciHooks, OciProcess, OciSpec } from '../spec/oci.js';
import { atomicWriteFile, jsonText, replaceFileSync } from '../util/atomic-write.js';
import { fileLocker, type Locker } from '../util/lock.js';
import { setupError } from './exit-error.js';
import { hostMountsBefore, removeHostMounts } from './host-mounts.js';
import { resolveMountTargets } from './mount-targets.js';
import { toNativeConfig } from './native-config.js';
import { nativeHooks, runAfterHooks } from './hooks.js';
import { compileSeccomp } from './seccomp-filter.js';
import { isSameProcess, pidStartTime, signalPid } from './proc.js';
import { instanceState, monitorPids } from './instance-state.js';
import type { MonitorHealth } from '../health/config.js';
import type { LogRotation } from './log-config.js';
import { removeDir } from '../util/small-files.js';

export type OciStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface EngineRecord {
  id: string;
  bundle: string;
  rootfs: string;
  /** 0 until the process exists. */
  pid: number;
  pidStart?: string;
  monitorPid?: number;
  monitorStart?: string;
  created: string;
  cgroupPath: string;
  /**
   * The file that says whether the cgroup is frozen (v1 freezer.state, v2
   * cgroup.events), found when it was made: ps reads it without detecting
   * the cgroup layout (a read of /proc/self/mountinfo, ~1 ms a hundred
   * mounts). Absent from older records and without a freezer hierarchy.
   */
  frozenFile?: string;
  annotations: Record<string, string>;
  /** The spec's poststart/poststop hooks, kept so start and delete need not read the bundle. */
  hooks?: Pick<OciHooks, 'poststart' | 'poststop'>;
  /** No mount namespace of its own: the ids of the mounts under the rootfs before create, kept at delete (host-mounts.ts). */
  hostMountsKept?: number[];
}

/** The runtime-spec `state` document, plus what tsrun's verbs need. */
export interface EngineState {
  ociVersion: string;
  id: string;
  status: OciStatus;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
  /** From the monitor, once the container has exited. */
  exit?: MonitorExit;
  /** The monitor is still alive (detached containers only). */
  monitorAlive: boolean;
}

export interface MonitorExit {
  exitCode: number;
  signal: number;
  finishedAt: string;
  oomKilled: boolean;
}

export interface MonitorOptions {
  /** json-file log path. */
  logPath?: string;
  /** --log-opt max-size/max-file/compress: the monitor rotates the log (native/src/monitor/log.cc). */
  logRotation?: LogRotation;
  /** The health check's schedule and command (native/src/monitor/health.cc). */
  health?: MonitorHealth;
  /** Keep a stdin pipe open for attach (-i). */
  openStdin: boolean;
  /** Run by the monitor after the exit is recorded (conmon's --exit-command). */
  exitCommand?: string[];
  /** The first attach client owns the container: if it vanishes mid-run, the container is killed (a foreground run whose CLI was killed). */
  owner?: boolean;
  /** The journal and the die/oom lines the monitor appends when the container exits (events/emit.ts exitEventTemplates). */
  exitEvents?: { journal: string; die: string; oom: string };
}

export interface CreateOptions {
  /** Directory holding config.json. */
  bundle: string;
  /** The spec, when the caller already has it parsed (else read from the bundle). */
  spec?: OciSpec;
  pidFile?: string;
  /** runc's --console-socket: the pty master is sent there. */
  consoleSocket?: string;
  noPivot?: boolean;
  /** Host fds for the container's stdio without a monitor (default: ours). */
  stdio?: [number, number, number];
  monitor?: MonitorOptions;
  /** runc --preserve-fds: this process's fds 3 .. 3+N-1 pass into the container. */
  preserveFds?: number;
  /** This process will also call start(): keep the set-up channel so start() reports errors after the fifo (user, cwd, exec). */
  reportExecErrors?: boolean;
}

export interface ExecOptions {
  /** Foreground: host fds for stdio (a pty replaces them when terminal is set). */
  stdio: [number, number, number];
  consoleSocket?: string;
  pidFile?: string;
  /** Kill the process if the caller dies (foreground `tsrun exec`). */
  killOnParentDeath: boolean;
  /** runc --preserve-fds. */
  preserveFds?: number;
}

export interface EngineDeps {
  native: NativeBinding;
  /** Where per-container state lives (runroot/containers, or tsrun-oci's --root). */
  stateDir: string;
  cgroups?: Partial<CgroupDeps>;
  cgroupParent?: string;
  locker?: Locker;
  /** Compiled seccomp programs (default: STATEDIR/.seccomp). */
  seccompCacheDir?: string;
}

// Namespaces `exec` joins; user first (it owns the others), mount last,
// since the /proc paths of the others are host paths that the container's
// mount namespace cannot see.
const EXEC_NAMESPACES: Array<[string, keyof typeof CLONE_FLAGS]> = [
  ['user', 'user'], ['ipc', 'ipc'], ['uts', 'uts'], ['net', 'network'], ['pid', 'pid'], ['cgroup', 'cgroup'], ['mnt', 'mount'],
];
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class Engine {
  private readonly lock: Locker;
  private readonly cgroupDeps: CgroupDeps;
  // Set-up channels of containers this process created and will start.
  private readonly pendingExec = new Map<string, { fd: number; args: string[] }>();

  // stateDir normalised once, without a trailing slash ('' for '/').
  private readonly base: string;

  constructor(private readonly deps: EngineDeps) {
    this.lock = deps.locker ?? fileLocker(deps.native);
    this.cgroupDeps = { native: deps.native, ...deps.cgroups };
    this.base = join(deps.stateDir).replace(/\/$/, '');
  }

  // A valid id is one path component (no '/', never '.' or '..'), so
  // concatenation gives what path.join would: `ps` asks once per
  // container, and a cold path.join costs ~50 µs. Anything else is joined.
  dir(id: string): string {
    return ID_RE.test(id) ? `${this.base}/${id}` : join(this.deps.stateDir, id);
  }

  /** Runs fn holding the container's lock. */
  async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    // Checked first: the lock file lives in the container's directory, and
    // an id such as ".." must never place one elsewhere.
    // Looked at synchronously: fs/promises' stat cost a start ~5 ms (its
    // module, and the thread pool's start for one call).
    if (!ID_RE.test(id) || !existsSync(this.dir(id))) {
      throw new TsrunError('CONTAINER_NOT_FOUND', `container "${id}" does not exist`);
    }
    return this.lock(join(this.dir(id), 'lock'), fn);
  }

  async load(id: string): Promise<EngineRecord> {
    const rec = await this.find(id);
    if (!rec) throw new TsrunError('CONTAINER_NOT_FOUND', `container "${id}" does not exist`);
    return rec;
  }

  /**
   * The instance's record, or null when there is none: one read where
   * exists() then load() would take two (pass it on to state()).
   */
  async find(id: string): Promise<EngineRecord | null> {
    if (!ID_RE.test(id)) return null;
    try {
      // Small state files are read synchronously: ~20 µs each, where
      // fs/promises takes ~0.3 ms of CPU in thread-pool round trips (ps
      // reads a few per container). The file is looked for first: most
      // containers `ps` lists have no instance, and a read that throws
      // ENOENT costs ~90 µs cold (the error and its stack) where existsSync
      // costs ~5. One removed in between still throws ENOENT: none.
      const file = `${this.dir(id)}/state.json`;
      if (!existsSync(file)) return null;
      return JSON.parse(readFileSync(file, 'utf8')) as EngineRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async exists(id: string): Promise<boolean> {
    return ID_RE.test(id) && existsSync(`${this.dir(id)}/state.json`);
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.deps.stateDir).catch(() => [] as string[]);
    const ids: string[] = [];
    for (const n of names) if (await this.exists(n)) ids.push(n);
    return ids;
  }

  /** Sets the container up and leaves its process waiting for `start`. */
  async create(id: string, opts: CreateOptions): Promise<EngineRecord> {
    if (!ID_RE.test(id)) throw new TsrunError('INVALID_ARGUMENT', `invalid container id ${JSON.stringify(id)}`);
    const bundle = resolve(opts.bundle);
    const spec = opts.spec ?? (await readSpec(bundle));
    const rootfs = resolve(bundle, spec.root.path);
    const config = toNativeConfig({ ...spec, root: { ...spec.root, path: rootfs } }, {
      stdio: opts.stdio ?? [0, 1, 2],
      killOnParentDeath: false,
    });
    config.noPivot ||= !!opts.noPivot;
    config.preserveFds = opts.preserveFds ?? 0;
    Object.assign(config, nativeHooks(spec.hooks, { id, bundle, annotations: spec.annotations }));
    // Independent reads, side by side; their errors in this order.
    const seccomp = spec.linux?.seccomp ? compileSeccomp(this.deps.native, spec.linux.seccomp, this.seccompCache()) : undefined;
    const targets = resolveMountTargets(config);
    await Promise.allSettled([seccomp, targets]);
    if (seccomp) config.seccomp = await seccomp;
    await targets;
    // The idmapped overlay's own work dir (the host's overlay keeps its own).
    const idmap = config.userns?.idmapRootfs;
    if (idmap?.lower.length) await mkdir(join(idmap.upperBase, idmap.work), { recursive: true, mode: 0o700 });
    const cgroupPath = resolveCgroupPath(spec.linux?.cgroupsPath, id, this.deps.cgroupParent);

    mkdirSync(this.deps.stateDir, { recursive: true, mode: 0o711 });
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new TsrunError('NAME_IN_USE', `container with id "${id}" already exists`);
      }
      throw err;
    }
    const record: EngineRecord = {
      id, bundle, rootfs, pid: 0, created: isoTime(), cgroupPath, annotations: spec.annotations ?? {},
    };
    if (spec.hooks?.poststart?.length || spec.hooks?.poststop?.length) {
      record.hooks = { poststart: spec.hooks.poststart, poststop: spec.hooks.poststop };
    }
    if (config.hostMountNs) record.hostMountsKept = await hostMountsBefore(rootfs);
    let cgroup: Cgroup | undefined;
    let started: SpawnResult | undefined;
    try {
      await this.withLock(id, async () => {
        // Written before any process exists, so a CLI killed from here on
        // leaves a record that `delete --force` can find and clean up.
        replaceFileSync(join(dir, 'state.json'), jsonText(record));
        cgroup = await createCgroup(this.cgroupDeps, cgroupPath, spec.linux?.resources);
        record.frozenFile = cgroupFrozenFile(this.cgroupDeps, cgroupPath);
        const fifo = join(dir, 'exec.fifo');
        this.deps.native.mkfifo(fifo, 0o622);
        let nullFd: number | undefined;
        try {
          if (opts.monitor && !opts.monitor.openStdin && !config.terminal) {
            config.stdio[0] = nullFd = openSync('/dev/null', 'r');
          }
          started = this.deps.native.spawn(config, {
            cgroupProcs: cgroup.procsFiles(),
            execFifo: fifo,
            keepSync: !!opts.reportExecErrors,
            monitor: opts.monitor ? { argv: this.monitorArgv(dir, cgroup, config.terminal, opts.monitor), stdin: opts.monitor.openStdin } : undefined,
          });
        } catch (err) {
          throw setupError(err, spec.process.args);
        } finally {
          if (nullFd !== undefined) closeSync(nullFd);
        }
        if (started.syncFd >= 0) this.pendingExec.set(id, { fd: started.syncFd, args: spec.process.args });
        record.pid = started.pid;
        record.pidStart = pidStartTime(started.pid) ?? undefined;
        if (started.monitorPid) {
          record.monitorPid = started.monitorPid;
          record.monitorStart = pidStartTime(started.monitorPid) ?? undefined;
        }
        replaceFileSync(join(dir, 'state.json'), jsonText(record));
        if (opts.pidFile) await atomicWriteFile(resolve(opts.pidFile), String(started.pid), 0o644);
        if (started.ptyMaster >= 0) {
          try {
            if (!opts.consoleSocket) throw new TsrunError('INVALID_ARGUMENT', 'a terminal was requested but no --console-socket was given');
            this.deps.native.sendFd(opts.consoleSocket, started.ptyMaster, '/dev/ptmx');
          } finally {
            closeSync(started.ptyMaster);
          }
        }
      });
      return record;
    } catch (err) {
      this.dropPending(id);
      if (started) signalPid(started.pid, 'SIGKILL');
      if (started?.monitorPid) signalPid(started.monitorPid, 'SIGKILL');
      await cgroup?.destroy().catch(() => {});
      if (record.hostMountsKept) await removeHostMounts(this.deps.native, rootfs, record.hostMountsKept);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  // Compiled filters, by profile digest (see seccomp-filter.ts).
  private seccompCache(): string {
    return this.deps.seccompCacheDir ?? join(this.deps.stateDir, '.seccomp');
  }

  private monitorArgv(dir: string, cgroup: Cgroup, terminal: boolean, m: MonitorOptions): string[] {
    const argv = [monitorPath(), '--dir', dir, '--pid', '0'];
    if (m.logPath) argv.push('--log', m.logPath);
    if (m.logPath && m.logRotation) {
      argv.push('--log-max-size', String(m.logRotation.maxSize), '--log-max-file', String(m.logRotation.maxFile));
      if (m.logRotation.compress) argv.push('--log-compress');
    }
    const h = m.health;
    if (h?.argv.length) {
      argv.push('--health-interval', String(h.intervalMs), '--health-timeout', String(h.timeoutMs));
      argv.push('--health-start-period', String(h.startPeriodMs), '--health-start-interval', String(h.startIntervalMs));
      argv.push('--health-cmd', String(h.argv.length), ...h.argv);
    }
    const oom = cgroup.oomFile();
    if (oom) argv.push('--oom-file', oom);
    if (m.exitEvents) argv.push('--events', m.exitEvents.journal, m.exitEvents.die, m.exitEvents.oom);
    if (terminal) argv.push('--terminal');
    if (m.openStdin) argv.push('--stdin');
    if (m.owner) argv.push('--owner-attach');
    if (m.exitCommand?.length) argv.push('--', ...m.exitCommand);
    return argv;
  }

  /** Lets a created container's process exec its command; returns warnings (a failed poststart hook). */
  async start(id: string): Promise<string[]> {
    return this.withLock(id, async () => {
      const rec = await this.load(id);
      const st = await this.state(id, rec);
      if (st.status !== 'created') {
        throw new TsrunError('INVALID_STATE', `cannot start container ${id}: it is ${st.status}, not created`);
      }
      const fifo = join(this.dir(id), 'exec.fifo');
      // Non-blocking: if the process died meanwhile, nobody would ever write.
      // Small synchronous calls: each is a few µs, a thread-pool round trip more.
      const fd = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
      const pending = this.pendingExec.get(id);
      try {
        if (pending) {
          // We created it and hold its set-up channel, which ends when the
          // process has exec'd (or says why it could not): wait on that
          // rather than poll the fifo; the byte it wrote on its way there
          // is in the fifo by then, unless it died before.
          this.pendingExec.delete(id);
          try {
            this.deps.native.waitExec(pending.fd);
          } catch (err) {
            throw setupError(err, pending.args);
          }
        }
        // Else poll, from 1 ms up: the writer is woken by our open and
        // writes at once.
        for (let i = 0; ; i++) {
          const n = readByte(fd);
          if (n === 1) break;
          if (!isSameProcess(rec.pid, rec.pidStart)) {
            throw new TsrunError('INVALID_STATE', `cannot start container ${id}: its process exited before it was started`);
          }
          await sleep(Math.min(5, 1 + i));
        }
      } finally {
        closeSync(fd);
      }
      unlinkSync(fifo);
      const warning = runAfterHooks(this.deps.native, 'poststart', rec.hooks?.poststart, rec.pid, rec);
      return warning ? [warning] : [];
    });
  }

  private dropPending(id: string): void {
    const p = this.pendingExec.get(id);
    if (p) closeSync(p.fd);
    this.pendingExec.delete(id);
  }

  /** The status as the kernel tells it, never as last recorded (instance-state.ts). */
  async state(id: string, known?: EngineRecord): Promise<EngineState> {
    return instanceState(id, known ?? (await this.load(id)), { dir: this.dir(id), cgroups: this.cgroupDeps, native: this.deps.native });
  }

  async kill(id: string, signal: NodeJS.Signals | number, all = false): Promise<void> {
    const rec = await this.load(id);
    const st = await this.state(id, rec);
    if (st.status === 'stopped' || st.status === 'creating') {
      throw new TsrunError('INVALID_STATE', `container ${id} is not running`);
    }
    const cg = openCgroup(this.cgroupDeps, rec.cgroupPath);
    const targets = all ? await cg.pids().catch(() => [st.pid]) : [st.pid];
    for (const pid of targets) signalPid(pid, signal);
    // Signals to a frozen cgroup wait for the thaw; SIGKILL must not.
    if (st.status === 'paused' && (signal === 'SIGKILL' || signal === 9)) await cg.thaw().catch(() => {});
  }

  async pause(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const rec = await this.load(id);
      const st = await this.state(id, rec);
      if (st.status !== 'running') throw new TsrunError('INVALID_STATE', `container ${id} is ${st.status}, not running`);
      await openCgroup(this.cgroupDeps, rec.cgroupPath).freeze();
    });
  }

  async resume(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const rec = await this.load(id);
      const st = await this.state(id, rec);
      if (st.status !== 'paused') throw new TsrunError('INVALID_STATE', `container ${id} is not paused`);
      await openCgroup(this.cgroupDeps, rec.cgroupPath).thaw();
    });
  }

  /** Pids in the container's cgroup. */
  async pids(id: string): Promise<number[]> {
    const rec = await this.load(id);
    return openCgroup(this.cgroupDeps, rec.cgroupPath).pids();
  }

  cgroup(rec: EngineRecord): Cgroup {
    return openCgroup(this.cgroupDeps, rec.cgroupPath);
  }

  // The record of a container whose cgroup holds its processes (created, running or paused).
  private async liveRecord(id: string, notRunning: string): Promise<EngineRecord> {
    const rec = await this.load(id);
    const st = await this.state(id, rec);
    if (st.status === 'stopped' || st.status === 'creating') throw new TsrunError('INVALID_STATE', notRunning);
    return rec;
  }

  /**
   * New cgroup limits for a live container (runc update), checked in full
   * before anything is written; see Cgroup.update. `names` is what error
   * messages call each field (a front end's flags). Returns warnings.
   */
  async update(
    id: string,
    resources: import('../spec/oci.js').LinuxResources,
    names?: import('../cgroups/index.js').FieldNames,
  ): Promise<string[]> {
    return this.withLock(id, async () => {
      const rec = await this.liveRecord(id, `cannot update container ${id}: it is not running`);
      return this.cgroup(rec).update(resources, names);
    });
  }

  /** The container's cgroup usage in runc's shape (`runc events --stats`). */
  async stats(id: string): Promise<import('../cgroups/index.js').RuncStats> {
    const rec = await this.liveRecord(id, `container with id ${id} is not running`);
    const { runcStats } = await import('../cgroups/stats.js');
    return runcStats(this.cgroup(rec));
  }

  /**
   * `runc events`: the container's usage every `intervalMs`, and an 'oom'
   * event each time the OOM killer has struck in its cgroup, until the
   * container stops or `signal` aborts.
   */
  async *events(
    id: string,
    opts: { intervalMs: number; signal?: AbortSignal },
  ): AsyncGenerator<{ type: 'stats'; data: import('../cgroups/index.js').RuncStats } | { type: 'oom' }> {
    const rec = await this.liveRecord(id, `container with id ${id} is not running`);
    const { runcStats } = await import('../cgroups/stats.js');
    const cg = this.cgroup(rec);
    let ooms = await cg.oomKillCount().catch(() => 0);
    for (let next = 0; !opts.signal?.aborted; ) {
      const st = await this.state(id, rec).catch(() => null);
      if (!st || st.status === 'stopped') return;
      const n = await cg.oomKillCount().catch(() => ooms);
      if (n > ooms) yield { type: 'oom' };
      ooms = n;
      if (Date.now() >= next) {
        // A cgroup being removed under us: no line this time.
        const data = await runcStats(cg).catch(() => null);
        if (data) yield { type: 'stats', data };
        next = Date.now() + opts.intervalMs;
      }
      await sleep(Math.min(1000, opts.intervalMs), undefined, { signal: opts.signal }).catch(() => undefined);
    }
  }

  /**
   * Removes the container: refused while it runs unless `force`, which
   * kills every process in its cgroup first. Leaves no cgroup, monitor or
   * state behind.
   */
  /** Removes a stopped container (or any, with force); returns warnings (a failed poststop hook). */
  async delete(id: string, force = false): Promise<string[]> {
    return this.withLock(id, async () => {
      const rec = await this.load(id);
      const st = await this.state(id, rec);
      const cg = openCgroup(this.cgroupDeps, rec.cgroupPath);
      if ((st.status === 'running' || st.status === 'paused') && !force) {
        throw new TsrunError('INVALID_STATE', `cannot delete container ${id} that is not stopped: ${st.status}`);
      }
      this.dropPending(id);
      await this.killEverything(rec, cg);
      await cg.destroy();
      if (rec.hostMountsKept) await removeHostMounts(this.deps.native, rec.rootfs, rec.hostMountsKept);
      const warning = runAfterHooks(this.deps.native, 'poststop', rec.hooks?.poststop, rec.pid, rec);
      // A handful of small files: synchronous, a few µs each.
      removeDir(this.dir(id));
      return warning ? [warning] : [];
    });
  }

  // SIGKILL the container's processes (all of its cgroup, even if its pid 1
  // is gone or unknown) and wait until they are gone, then its monitor.
  // Both waits poll from 1 ms up to 10 ms: a killed process and a monitor
  // whose container is gone take a millisecond or two.
  private async killEverything(rec: EngineRecord, cg: Cgroup): Promise<void> {
    for (let i = 0, deadline = Date.now() + 5000; Date.now() < deadline; i++) {
      const pids = new Set(await cg.pids().catch(() => [] as number[]));
      if (isSameProcess(rec.pid, rec.pidStart)) pids.add(rec.pid);
      if (pids.size === 0) break;
      for (const pid of pids) signalPid(pid, 'SIGKILL');
      await cg.thaw().catch(() => {});
      await sleep(Math.min(10, 1 + i));
    }
    // The monitor exits by itself once its container is gone; give it a
    // moment to record the exit, then make sure. Unless we are it: its
    // exit command (`rm -f` of a detached --rm container) runs in the
    // monitor's process, which would otherwise wait for and kill itself.
    const recorded = rec.monitorPid ?? monitorPids(this.dir(rec.id))?.monitor ?? 0;
    const monitor = recorded === process.pid ? 0 : recorded;
    const start = rec.monitorPid ? rec.monitorStart : undefined;
    for (let i = 0, deadline = Date.now() + 1000; monitor && Date.now() < deadline && isSameProcess(monitor, start); i++) {
      await sleep(Math.min(10, 1 + i));
    }
    // Only while the pid is still our monitor: a reused pid is someone else.
    if (isSameProcess(monitor, start)) signalPid(monitor, 'SIGKILL');
  }

  /** Starts a process inside a running container; returns its pid (and pty master when it has a terminal and no console socket). */
  async exec(id: string, proc: OciProcess, opts: ExecOptions): Promise<{ pid: number; ptyMaster: number | null }> {
    const rec = await this.load(id);
    const st = await this.state(id, rec);
    if (st.status !== 'running') {
      throw new TsrunError('INVALID_STATE', `container ${id} is not running${st.status === 'paused' ? ' (it is paused; unpause it first)' : ''}`);
    }
    const spec = await readSpec(rec.bundle);
    const own = new Set<string>((spec.linux?.namespaces ?? []).map((n) => n.type));
    const config = toNativeConfig({ ...spec, root: { ...spec.root, path: rec.rootfs }, process: proc }, {
      stdio: opts.stdio,
      killOnParentDeath: opts.killOnParentDeath,
    });
    config.execMode = true;
    config.preserveFds = opts.preserveFds ?? 0;
    if (spec.linux?.seccomp) config.seccomp = await compileSeccomp(this.deps.native, spec.linux.seccomp, this.seccompCache());
    config.cloneFlags = 0;
    config.userns = null;
    config.mounts = [];
    config.devices = [];
    config.init = false;
    // Without a mount namespace of its own, the container's root is a chroot.
    if (config.hostMountNs) {
      own.delete('mount');
      config.execChroot = rec.rootfs;
    }
    config.joinNamespaces = EXEC_NAMESPACES.filter(([, type]) => own.has(type)).map(([file, type]) => ({
      flag: CLONE_FLAGS[type],
      path: `/proc/${st.pid}/ns/${file}`,
    }));
    const cg = openCgroup(this.cgroupDeps, rec.cgroupPath);
    let started: SpawnResult;
    try {
      started = this.deps.native.spawn(config, { cgroupProcs: cg.procsFiles() });
    } catch (err) {
      throw setupError(err, proc.args);
    }
    if (opts.pidFile) await atomicWriteFile(resolve(opts.pidFile), String(started.pid), 0o644);
    let ptyMaster: number | null = started.ptyMaster >= 0 ? started.ptyMaster : null;
    if (ptyMaster !== null && opts.consoleSocket) {
      try {
        this.deps.native.sendFd(opts.consoleSocket, ptyMaster, '/dev/ptmx');
      } finally {
        closeSync(ptyMaster);
        ptyMaster = null;
      }
    }
    return { pid: started.pid, ptyMaster };
  }
}

export async function readSpec(bundle: string): Promise<OciSpec> {
  let text: string;
  try {
    text = await readFile(join(bundle, 'config.json'), 'utf8');
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `cannot read ${join(bundle, 'config.json')}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text) as OciSpec;
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `${join(bundle, 'config.json')} is not valid JSON`, { cause });
  }
}

/** One non-blocking read of a byte: 1, 0 at EOF (no writer), -1 when none is there yet (EAGAIN). */
function readByte(fd: number): number {
  try {
    return readSync(fd, Buffer.alloc(1), 0, 1, null);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return -1;
    throw err;
  }
}

