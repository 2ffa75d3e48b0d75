// An engine instance's status as the kernel tells it, never as last
// recorded: from its record (state.json) and a few small files — the
// monitor's exit record, /proc/PID/stat (a pid is ours only while its start
// time matches), the exec fifo of a created container, the cgroup's
// freezer state. Kept apart from the engine, which creates and starts
// containers, so that `ps` reads every container's state without loading
// any of that.
import { closeSync, existsSync, openSync } from 'node:fs';
import { cgroupFrozen, cgroupFrozenFile } from '../cgroups/frozen.js';
import type { CgroupDeps } from '../cgroups/types.js';
import type { NativeBinding } from '../native/binding.js';
import { readText, type TextReader } from '../util/small-files.js';
import type { EngineRecord, EngineState, MonitorExit, OciStatus } from './engine.js';
import { isSameProcess, procStatFile } from './proc.js';

/** Where an instance lives and how its cgroup and lock are reached. */
export interface InstancePlace {
  /** The instance's directory (RUNROOT/containers/ID). */
  dir: string;
  cgroups: CgroupDeps;
  native: Pick<NativeBinding, 'flock'>;
}

/**
 * The instance's state. `read`: where the small files come from when the
 * caller has read them already, with many other instances' (ps:
 * instanceStateFiles); anything it lacks is read directly.
 */
export function instanceState(id: string, rec: EngineRecord, at: InstancePlace, read: TextReader = readIfThere): EngineState {
  const exit = readJson<MonitorExit>(`${at.dir}/exit.json`, read);
  let pid = rec.pid;
  let monitorPid = rec.monitorPid;
  if (!pid) {
    // A CLI killed between spawn and its state write: the monitor knows.
    const pids = monitorPids(at.dir);
    if (pids) ({ monitor: monitorPid, container: pid } = pids);
  }
  const alive = !exit && isSameProcess(pid, pid === rec.pid ? rec.pidStart : undefined, read);
  let status: OciStatus;
  if (!alive) status = pid || exit || lockFree(at) ? 'stopped' : 'creating';
  else if (existsSync(`${at.dir}/exec.fifo`)) status = 'created';
  else if (frozen(at.cgroups, rec.cgroupPath, read)) status = 'paused';
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

/** The files instanceState reads for this record (exec.fifo is only looked for: never read), for a caller that reads many at once. */
export function instanceStateFiles(rec: EngineRecord, at: Omit<InstancePlace, 'native'>): string[] {
  const files = [`${at.dir}/exit.json`];
  if (rec.pid) files.push(procStatFile(rec.pid));
  try {
    const freezer = cgroupFrozenFile(at.cgroups, rec.cgroupPath);
    if (freezer) files.push(freezer);
  } catch {} // a bad path: instanceState says not frozen
  return files;
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

/** The cgroup frozen; false when it cannot be told (a bad path, a read refused). */
function frozen(deps: CgroupDeps, relPath: string, read: TextReader): boolean {
  try {
    return cgroupFrozen(deps, relPath, read);
  } catch {
    return false;
  }
}

// Mostly absent (exit.json of a running container): a failed read costs an
// exception, a look does not.
const readIfThere: TextReader = (path) => (existsSync(path) ? readText(path) : null);

function readJson<T>(path: string, read: TextReader): T | null {
  const text = read(path);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
