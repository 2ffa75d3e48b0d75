// `tsrun healthcheck run CONTAINER`: one health check, as Docker's daemon
// runs it (daemon/health.go): the test is exec'd in the container (the
// container's user, env and working directory, as `exec`), killed after the
// timeout, its output kept (4 KiB at most), and the result recorded in the
// container's health under the container's lock. The monitor runs this on
// its schedule (native/src/monitor/health.cc); a user may run it by hand.
import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { TsrunError } from '../errors.js';
import type { NativeBinding } from '../native/binding.js';
import type { Containers } from '../runtime/containers.js';
import { replaceFileSync } from '../util/atomic-write.js';
import { isoTime } from '../util/iso-time.js';
import { effectiveHealth, formatGoDuration, healthActive, healthCommand } from './config.js';
import { HEALTH_FILE, nextHealth, readHealth, type HealthResult, type HealthState, type HealthStatus } from './state.js';

/** Docker's maxOutputLen. */
const MAX_OUTPUT = 4096;

export interface HealthRun {
  /** The container's health after this check. */
  status: HealthStatus;
  /** This check passed (exit code 0). */
  passed: boolean;
  result: HealthResult;
  /** The health changed (a `health_status` event was sent). */
  changed: boolean;
}

/** `root` is tsrun's --root, whose event journal gets the `health_status` events. */
export async function runHealthcheck(c: Containers, native: Pick<NativeBinding, 'waitExit'>, id: string, root: string): Promise<HealthRun> {
  const rec = await c.store.read(id);
  const config = rec.request?.healthcheck;
  if (!healthActive(config)) throw new TsrunError('INVALID_STATE', `container ${rec.name} has no health check`);
  const v = await c.view(id);
  if (v.status !== 'running') throw new TsrunError('INVALID_STATE', `container ${rec.name} is not running${v.status === 'paused' ? ' (it is paused)' : ''}`);
  // The instance checked: a result that arrives after a restart is not the new run's.
  const instance = (await c.engine.load(id)).created;
  const settings = effectiveHealth(config);
  const result = await probe(c, native, id, healthCommand(config), settings.Timeout);

  const recorded = await c.engine.withLock(id, async (): Promise<[HealthState, HealthState] | null> => {
    if ((await c.engine.find(id))?.created !== instance) return null;
    const dir = c.engine.dir(id);
    const prev = readHealth(dir);
    const startedAtMs = Date.parse((await c.store.read(id)).startedAt ?? result.Start);
    const next = nextHealth(prev, result, { retries: settings.Retries, startPeriodMs: settings.StartPeriod / 1e6, startedAtMs });
    replaceFileSync(`${dir}/${HEALTH_FILE}`, `${JSON.stringify(next)}\n`, 0o600);
    return [prev, next];
  }).catch((err) => {
    if (err instanceof TsrunError && err.code === 'CONTAINER_NOT_FOUND') return null; // removed meanwhile
    throw err;
  });
  if (!recorded) throw new TsrunError('INVALID_STATE', `container ${rec.name} stopped during its health check`);
  const [prev, next] = recorded;
  const changed = prev.Status !== next.Status;
  // Docker's `health_status: healthy|unhealthy` event, when the status changes.
  if (changed) {
    const { healthStatusEvent } = await import('../events/emit.js');
    healthStatusEvent(root, { id, name: rec.name, image: rec.request?.image, labels: rec.request?.labels }, next.Status);
  }
  return { status: next.Status, passed: result.ExitCode === 0, result, changed };
}

// Runs the test in the container; its stdout and stderr go to an unlinked
// temp file in the instance directory, read back once it has exited.
async function probe(c: Containers, native: Pick<NativeBinding, 'waitExit'>, id: string, args: string[], timeoutNs: number): Promise<HealthResult> {
  const Start = isoTime();
  const done = (ExitCode: number, Output: string): HealthResult => ({ Start, End: isoTime(), ExitCode, Output });
  const proc = await c.execProcess(id, { args });
  const outPath = `${c.engine.dir(id)}/.health-${process.pid}.out`;
  const out = openSync(outPath, 'w+', 0o600);
  unlinkSync(outPath);
  const devnull = openSync('/dev/null', 'r');
  try {
    let pid: number;
    try {
      ({ pid } = await c.engine.exec(id, proc, { stdio: [devnull, out, out], killOnParentDeath: true }));
    } catch (err) {
      // Docker records a test that cannot start as a failed check.
      if (err instanceof TsrunError && err.code === 'COMMAND_NOT_FOUND') return done(127, err.message);
      if (err instanceof TsrunError && err.code === 'COMMAND_NOT_EXECUTABLE') return done(126, err.message);
      if (err instanceof TsrunError && err.code === 'INVALID_STATE') throw err;
      return done(-1, err instanceof Error ? err.message : String(err));
    }
    const exited = native.waitExit(pid);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), Math.max(1, Math.round(timeoutNs / 1e6))))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await exited.catch(() => {});
      return done(-1, `Health check exceeded timeout (${formatGoDuration(timeoutNs)})`);
    }
    const st = await exited;
    const buf = Buffer.alloc(MAX_OUTPUT + 1);
    const n = readSync(out, buf, 0, buf.length, 0);
    // Docker's limitedBuffer: the first 4 KiB, and "..." when there was more.
    const text = buf.toString('utf8', 0, Math.min(n, MAX_OUTPUT)) + (n > MAX_OUTPUT ? '...' : '');
    return done(st.exitCode ?? 128 + (st.signal ?? 0), text);
  } finally {
    closeSync(out);
    closeSync(devnull);
  }
}
