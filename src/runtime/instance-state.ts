// An engine instance's status as the kernel tells it, never as last
// recorded: from its record (state.json) and a few small files — the
// monitor's exit record, /proc/PID/stat (a pid is ours only while its start
// time matches), the exec fifo of a created container, the cgroup's
// freezer state. Kept apart from the engine, which creates and starts
// containers, so that `ps` reads every container's state without loading
// any of that.
import { closeSync, existsSync, openSync } from 'node:fs';
import { cgroupFrozenFile, frozenIn } from '../cgroups/frozen.js';
import { readTextSync } from '../cgroups/fsutil.js';
import type { CgroupDeps } from '../cgroups/types.js';
import type { NativeBinding } from '../native/binding.js';
import { parseOr, readText } from '../util/small-files.js';
import type { EngineRecord, EngineState, MonitorExit, OciStatus } from './engine.js';
import { isSameProcess, procStatFile } from './proc.js';

/** Where an instance lives and how its cgroup and lock are reached. */
export interface InstancePlace {
  /** The instance's directory (RUNROOT/containers/ID). */
  dir: string;
  cgroups: CgroupDeps;
  native: Pick<NativeBinding, 'flock'>;
}

/** The small files instanceState reads (exec.fifo is only looked for, never read): their paths (none: nothing to read), or their texts (null: not there). */
export interface StateFiles<T> {
  exit: T;
  procStat: T;
  frozen: T;
}

/** The files instanceState reads for this record, for a caller that reads many instances' at once (ps). */
export function instanceStateFiles(rec: EngineRecord, at: Omit<InstancePlace, 'native'>): StateFiles<string | undefined> {
  return { exit: `${at.dir}/exit.json`, procStat: rec.pid ? procStatFile(rec.pid) : undefined, frozen: frozenFile(at.cgroups, rec) };
}

/**
 * The instance's state. `texts`: what instanceStateFiles names, read
 * already by the caller (null: not there); without them, each file is
 * read when needed.
 */
export function instanceState(id: string, rec: EngineRecord, at: InstancePlace, texts?: StateFiles<string | null>): EngineState {
  const exit = parseOr<MonitorExit, null>(texts ? texts.exit : readIfThere(`${at.dir}/exit.json`), null);
  let pid = rec.pid;
  let monitorPid = rec.monitorPid;
  if (!pid) {
    // A CLI killed between spawn and its state write: the monitor knows.
    const pids = monitorPids(at.dir);
    if (pids) ({ monitor: monitorPid, container: pid } = pids);
  }
  // The stat read with the others is the recorded pid's.
  const alive = !exit && (pid === rec.pid ? isSameProcess(pid, rec.pidStart, texts?.procStat) : isSameProcess(pid, undefined));
  let status: OciStatus;
  if (!alive) status = pid || exit || lockFree(at) ? 'stopped' : 'creating';
  else if (existsSync(`${at.dir}/exec.fifo`)) status = 'created';
  else if (texts ? frozenIn(texts.frozen) : frozen(at.cgroups, rec)) status = 'paused';
  else status = 'running';
  const state = {
    ociVersion: '1.2.0',
    id,
    status,
    pid: alive ? pid : 0,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    annotations: rec.annotations,
    exit: exit ?? undefined,
  } as EngineState;
  // Asked of the kernel when read (ps reads every container's state, and
  // never this): the monitor's /proc entry, as the container's above.
  let monitorAlive: boolean | undefined;
  return Object.defineProperty(state, 'monitorAlive', {
    enumerable: true,
    get: () => (monitorAlive ??= !!monitorPid && isSameProcess(monitorPid, monitorPid === rec.monitorPid ? rec.monitorStart : undefined)),
  });
}

/** The monitor's `pids` file ("MONITOR CONTAINER"), written when it starts. */
export function monitorPids(dir: string): { monitor: number; container: number } | null {
  const [monitor, container] = (readText(`${dir}/pids`) ?? '').trim().split(' ').map(Number);
  return monitor! > 0 && container! > 0 ? { monitor: monitor!, container: container! } : null;
}

// A record without a pid is "creating" only while some CLI holds its lock.
function lockFree(at: InstancePlace): boolean {
  let fd: number;
  try {
    fd = openSync(`${at.dir}/lock`, 'a');
  } catch {
    return true;
  }
  try {
    return at.native.flock(fd, false);
  } finally {
    closeSync(fd);
  }
}

// The record's frozen file, or (a record older than that field) the one
// the cgroup layout gives; none for a bad path.
function frozenFile(deps: CgroupDeps, rec: EngineRecord): string | undefined {
  try {
    return rec.frozenFile ?? cgroupFrozenFile(deps, rec.cgroupPath);
  } catch {
    return undefined;
  }
}

/** The cgroup frozen; false when it cannot be told (a bad path, a read refused). */
function frozen(deps: CgroupDeps, rec: EngineRecord): boolean {
  const file = frozenFile(deps, rec);
  try {
    return !!file && frozenIn(readTextSync(file));
  } catch {
    return false;
  }
}

// Mostly absent (exit.json of a running container): a failed read costs an
// exception, a look does not.
const readIfThere = (path: string): string | null => (existsSync(path) ? readText(path) : null);
