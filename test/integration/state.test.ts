// State stays true under races and crashes: parallel CLIs claiming one
// name, a monitor SIGKILLed mid-run, a CLI SIGKILLed at random moments of
// `run -d`, and what `rm` leaves behind (nothing). Runs on the host and in
// the cgroup v2 VM (TSRUN_VM=1, fewer and slower attempts there).
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import {
  alive, cgroupPids, inspect, leftovers, lockHolders, NOTHING, psAll, recordedPids, runDetached, Sandboxes, slow, sleep, timeout, VM,
  waitFor, type InspectDoc,
} from '../helpers/lifecycle.js';
import { busybox, integrationSkipReason } from '../helpers/tsrun.js';

const skip = integrationSkipReason('state');

describe.skipIf(skip)('container state', () => {
  const sandboxes = new Sandboxes();
  afterEach(() => sandboxes.cleanup(), timeout(120_000));

  it('parallel runs with one name: exactly one container, the others exit 125 "already in use"', async () => {
    const sb = sandboxes.make();
    const n = VM ? 8 : 50;
    const results = await Promise.all(
      Array.from({ length: n }, () => sb.tsrun(['run', '-d', '--name', 'same', '--rootfs', busybox(), 'sleep', '1000'])),
    );
    const won = results.filter((r) => r.exitCode === 0);
    const lost = results.filter((r) => r.exitCode !== 0);
    expect(won).toHaveLength(1);
    expect(String(won[0].stdout)).toMatch(/^[0-9a-f]{64}$/);
    expect(lost.map((r) => r.exitCode)).toEqual(Array(n - 1).fill(125));
    for (const r of lost) expect(r.stderr).toMatch(/^tsrun: the container name "same" is already in use by container "[0-9a-f]{64}"/);

    const ps = await psAll(sb);
    expect(ps.map((d) => [d.ID, d.Names, d.State])).toEqual([[String(won[0].stdout), 'same', 'running']]);
    // The losers left nothing: one record, one instance, one monitor.
    const left = leftovers(sb, []);
    expect(left.recordDirs).toEqual([String(won[0].stdout)]);
    expect(left.stateDirs).toEqual([String(won[0].stdout)]);
    expect(left.names).toEqual(['same']);
    expect(left.monitors).toHaveLength(1);
  }, timeout(180_000));

  it('a SIGKILLed monitor: ps and inspect tell the truth, and rm -f removes everything', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'orphan', 'sleep', '1000']);
    const pids = recordedPids(sb, id)!;
    expect(alive(pids.monitor)).toBe(true);
    expect(alive(pids.container)).toBe(true);

    process.kill(pids.monitor, 'SIGKILL');
    await waitFor(() => !alive(pids.monitor), 'the monitor to die');
    // The container process outlives its monitor: still running.
    let d = await inspect(sb, 'orphan');
    expect(d.State).toMatchObject({ Status: 'running', Running: true, Pid: pids.container });
    expect(alive(pids.container)).toBe(true);

    // Now it dies with nobody to record how: exited, with an unknown code and a reason.
    process.kill(pids.container, 'SIGKILL');
    await waitFor(() => !alive(pids.container), 'the container to die');
    const ps = await psAll(sb);
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatchObject({ ID: id, State: 'exited' });
    d = await inspect(sb, 'orphan');
    expect(d.State).toMatchObject({ Status: 'exited', Running: false, Pid: 0 });
    expect(d.State.Error).not.toBe('');

    expect(await sb.tsrun(['rm', '-f', 'orphan'])).toMatchObject({ exitCode: 0, stdout: 'orphan' });
    expect(leftovers(sb, [id])).toEqual(NOTHING);
  }, timeout(60_000));

  it('a CLI SIGKILLed at random moments of run -d: ps never lies, and rm -f leaves nothing', async () => {
    const sb = sandboxes.make();
    // Calibrate on one whole run -d, then kill the others at points spread
    // over that time (most of the early part is Node starting up).
    const t0 = Date.now();
    await runDetached(sb, ['--name', 'reference', 'sleep', '1000']);
    const full = Date.now() - t0;
    const delays = [0.35, 0.5, 0.6, 0.7, 0.8, 0.9].map((f) => Math.round(f * full));
    for (const [i, ms] of delays.entries()) {
      // stdio ignored: a process the dead CLI left could hold its pipes open.
      const p = sb.tsrun(['run', '-d', '--name', `victim${i}`, '--rootfs', busybox(), 'sleep', '1000'], { stdio: 'ignore' });
      const timer = setTimeout(() => p.kill('SIGKILL'), ms + Math.floor(Math.random() * 0.1 * full));
      await p;
      clearTimeout(timer);
    }
    // Settle: a container whose CLI died may still be on its way up or down.
    await sleep(slow(300));
    // No process may outlive its CLI while holding that CLI's lock.
    await waitFor(() => lockHolders(sb.runroot).length === 0, 'processes holding a dead CLI\'s lock to go');

    const ps = await psAll(sb);
    const ids = ps.map((d) => d.ID);
    const docs: InspectDoc[] = ids.length ? [await inspect(sb, ...ids)].flat() : [];
    for (const [i, d] of docs.entries()) {
      // inspect and ps agree, and a running container has a live process in its cgroup.
      expect(d.State.Status).toBe(ps[i].State);
      if (d.State.Running) {
        expect(alive(d.State.Pid)).toBe(true);
        expect(cgroupPids(d.Id)).toContain(d.State.Pid);
      } else {
        expect(d.State.Pid).toBe(0);
      }
    }
    // No instance (so no process, monitor or cgroup) exists for a container ps does not show.
    const before = leftovers(sb, []);
    for (const dir of before.stateDirs) expect(ids).toContain(dir);

    if (ids.length) expect((await sb.tsrun(['rm', '-f', ...ids])).exitCode).toBe(0);
    const left = leftovers(sb, [...new Set([...ids, ...before.stateDirs, ...before.recordDirs])]);
    expect({ ...left, recordDirs: [] }).toEqual(NOTHING);
    // What may stay: the directory of a CLI killed before it took the store
    // lock, with no state.json and no name: invisible to every verb.
    for (const dir of left.recordDirs) expect(existsSync(join(sb.root, 'containers', dir, 'state.json'))).toBe(false);
  }, timeout(120_000));

  // The launcher and the monitor must not hold the addon's end of the
  // set-up socketpair (sp[0]; the launcher closes it, monitor_launch.cc):
  // else a container whose CLI died before it was started would never see
  // EOF and would hold every fd of the dead Node process, among them the
  // container's flock (`rm -f` would time out on the lock) and the caller's
  // stdout (`$(tsrun run -d ...)` would hang). The CLI is stopped while it
  // waits for the monitor, every time: the container's log is a FIFO, which
  // the monitor blocks opening before MON_READY. (The CLI sends SYNC_GO as
  // soon as the monitor has cloned the container, so the container may be
  // set up and waiting for `start` by then.)
  it('a CLI SIGKILLed while it waits for the monitor to start: rm -f still cleans up', async () => {
    const sb = sandboxes.make();
    const create = await sb.tsrun(['create', '--name', 'frozen', '--rootfs', busybox(), 'sleep', '1000']);
    const id = String(create.stdout);
    const log = join(sb.root, 'containers', id, 'container.log');
    await execa('mkfifo', [log]);
    const start = sb.tsrun(['start', 'frozen'], { stdio: 'ignore' });
    let stuck = 0;
    try {
      // The monitor writes its pids file, then blocks opening the log.
      const pids = await waitFor(() => recordedPids(sb, id), 'the monitor to start');
      stuck = pids.container;
      start.kill('SIGKILL');
      await start;
      // Let the monitor go on, as if nothing had stopped it.
      const reader = openSync(log, constants.O_RDONLY | constants.O_NONBLOCK);
      await sleep(slow(200));
      closeSync(reader);

      const rm = await sb.tsrun(['rm', '-f', 'frozen'], { timeout: slow(8000) });
      expect(rm).toMatchObject({ exitCode: 0, stdout: 'frozen' });
      expect(alive(stuck)).toBe(false);
      expect(leftovers(sb, [id])).toEqual(NOTHING);
    } finally {
      if (alive(stuck)) process.kill(stuck, 'SIGKILL');
      start.kill('SIGKILL');
    }
  }, timeout(60_000));

  it('stop + rm of a detached container leaves nothing behind', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'tidy', 'sleep', '1000']);
    const pids = recordedPids(sb, id)!;
    expect(await sb.tsrun(['stop', '-t', '0', 'tidy'])).toMatchObject({ exitCode: 0, stdout: 'tidy' });
    expect(await sb.tsrun(['rm', 'tidy'])).toMatchObject({ exitCode: 0, stdout: 'tidy', stderr: '' });
    expect(leftovers(sb, [id])).toEqual(NOTHING);
    expect(alive(pids.monitor)).toBe(false);
    expect(alive(pids.container)).toBe(false);
  }, timeout(60_000));

  // The monitor of a detached --rm container execs `tsrun rm -f ID`, which
  // runs in the monitor's own process: it must not wait for, and then kill,
  // the monitor it is.
  it('run -d --rm: once the container exits, its monitor removes it all', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--rm', '--name', 'gone', 'true']);
    await waitFor(() => leftovers(sb, [id]).recordDirs.length === 0 && leftovers(sb, [id]).monitors.length === 0, 'the container to be removed');
    expect(leftovers(sb, [id])).toEqual(NOTHING);
    expect(await psAll(sb)).toEqual([]);
  }, timeout(60_000));
});
