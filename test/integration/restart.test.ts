// Restart policies through the CLI, with no tsrun process running between
// exits but the monitor's exit command: on-failure's limit, always until a
// user's stop or kill, the backoff's Restarting state in ps and inspect, a
// restart that keeps name, id, volume, log and address, the races (stop and
// rm during the delay, the waiting process SIGKILLed), a simulated reboot
// with `system boot`, and bad input.
// Subnet of this file: 10.183.21.0/24.
import { mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  alive, cgroupDirs, cgroupPids, inspect, logLines, monitorsFor, recordedPids, runDetached, Sandboxes, sleep, slow, timeout, waitFor,
} from '../helpers/lifecycle.js';
import { busybox, integrationSkipReason, missingTools, type Sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('restart');
const netSkip = skip || missingTools('restart', ['ip', 'nft'], 'iproute2 nftables');
const NONE = ['--network', 'none'];

/** The container record's restart bookkeeping (the pending wait's pid), read as the cleanup process wrote it. */
function record(sb: Sandbox, id: string): { restart?: { count: number; delayMs: number; pending?: { pid: number; delayMs: number } }; manuallyStopped?: boolean } {
  return JSON.parse(readFileSync(join(sb.root, 'containers', id, 'state.json'), 'utf8'));
}

/** `tsrun ARGS` that must succeed (its stderr in the failure); returns stdout. */
async function ok(sb: Sandbox, args: string[]): Promise<string> {
  const r = await sb.tsrun(args);
  if (r.exitCode !== 0 || r.stderr) throw new Error(`tsrun ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
  return String(r.stdout);
}

const state = async (sb: Sandbox, ref: string) => {
  const d = await inspect(sb, ref);
  return { status: d.State.Status as string, restarting: d.State.Restarting as boolean, count: d.RestartCount as number, exitCode: d.State.ExitCode as number, pid: d.State.Pid as number };
};

describe.skipIf(skip)('restart policies', () => {
  const sandboxes = new Sandboxes();
  const dirs: string[] = [];
  afterEach(async () => {
    await sandboxes.cleanup();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }, timeout(60_000));

  it('on-failure:2 restarts a failing container twice, then leaves it exited with its code', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, [...NONE, '--name', 'flaky', '--restart', 'on-failure:2', 'sh', '-c', 'echo try; exit 3']);
    await waitFor(async () => {
      const s = await state(sb, 'flaky');
      return s.status === 'exited' && s.count === 2 && !record(sb, id).restart?.pending;
    }, 'two restarts, then exited');
    // Longer than the next delay would be (400 ms): no third restart.
    await sleep(slow(700));
    const d = await inspect(sb, 'flaky');
    expect(d.State).toMatchObject({ Status: 'exited', Running: false, Restarting: false, ExitCode: 3 });
    expect(d.RestartCount).toBe(2);
    expect(d.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    expect(d.Id).toBe(id);
    expect(logLines(sb, id)).toEqual(['try', 'try', 'try']);
    // A zero exit is no failure: not restarted.
    const ok = await runDetached(sb, [...NONE, '--restart', 'on-failure', 'true']);
    await waitFor(async () => (await state(sb, ok)).status === 'exited', 'the clean exit');
    await sleep(slow(300));
    expect(await state(sb, ok)).toMatchObject({ status: 'exited', count: 0, exitCode: 0 });
    // A container without a policy keeps Docker's default.
    expect((await inspect(sb, ok)).HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 0 });
  }, timeout(60_000));

  it('always restarts on exit 0 with a doubling delay (ps: Restarting), until a stop during the delay ends it for good', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, [...NONE, '--name', 'loop', '--restart', 'always', 'sh', '-c', 'echo up']);
    // Docker's wait returns at an exit the policy follows (with its code), not only when the policy gives up.
    expect(await ok(sb, ['wait', 'loop'])).toBe('0');
    // Caught waiting (the waits grow: 400 ms and more from the third): inspect and ps say restarting, with the last exit's code.
    await waitFor(async () => (await state(sb, 'loop')).count >= 3, 'three restarts');
    let ps = '';
    let filtered = '';
    let running = '';
    const doc = await waitFor(async () => {
      const d = await inspect(sb, 'loop');
      ps = String((await sb.tsrun(['ps', '--format', '{{.Names}}|{{.State}}|{{.Status}}'])).stdout);
      filtered = String((await sb.tsrun(['ps', '-q', '--filter', 'status=restarting'])).stdout);
      // info counts it running, as Docker's does (State.Running is true).
      running = String((await sb.tsrun(['info', '-f', '{{.ContainersRunning}}'])).stdout);
      return d.State.Restarting && ps.startsWith('loop|restarting|') && filtered && running === '1' ? d : undefined;
    }, 'inspect and ps both during a wait', slow(10_000), 10);
    expect(ps).toMatch(/^loop\|restarting\|Restarting \(0\) (Less than a second|\d+ seconds?) ago$/);
    expect(doc.State).toMatchObject({ Status: 'restarting', Running: true, Restarting: true, Pid: 0, ExitCode: 0 });
    expect(filtered).toBe(id.slice(0, 12));
    const book = record(sb, id).restart!;
    expect(book.delayMs).toBeGreaterThanOrEqual(400);
    // Docker's rm refuses a restarting (or running: it may have been started again meanwhile) container without -f.
    const rm = await sb.tsrun(['rm', 'loop']);
    expect(rm.exitCode).toBe(1);
    expect(rm.stderr).toMatch(/container is (restarting|running): stop the container before removing or force remove/);

    const waiting = await waitFor(() => (record(sb, id).restart?.pending?.pid ?? 0), 'a pending restart');
    expect(await ok(sb, ['stop', 'loop'])).toBe('loop');
    const stopped = await state(sb, 'loop');
    expect(stopped).toMatchObject({ status: 'exited', restarting: false });
    expect(alive(waiting)).toBe(false);
    expect(record(sb, id).manuallyStopped).toBe(true);
    // Longer than the cancelled delay: it stays stopped.
    await sleep(Math.min(book.delayMs * 2, 1600) + slow(300));
    expect(await state(sb, 'loop')).toMatchObject({ status: 'exited', count: stopped.count });
    const lines = logLines(sb, id).length;
    expect(lines).toBeGreaterThanOrEqual(4);

    // A user's start clears the stop: it restarts again (from 100 ms), and a kill of the waiting container ends it as well.
    expect(await ok(sb, ['start', 'loop'])).toBe('loop');
    expect(record(sb, id).manuallyStopped).toBeUndefined();
    await waitFor(() => logLines(sb, id).length >= lines + 2, 'a run and a restart after the start');
    await waitFor(async () => (await state(sb, 'loop')).restarting, 'a wait');
    expect(await ok(sb, ['kill', 'loop'])).toBe('loop');
    const killed = await state(sb, 'loop');
    expect(killed.status).toBe('exited');
    await sleep(slow(900));
    expect(await state(sb, 'loop')).toMatchObject({ status: 'exited', count: killed.count });
  }, timeout(60_000));

  it('a user\'s kill or stop of a running always/unless-stopped container is not undone by the policy', async () => {
    const sb = sandboxes.make();
    await runDetached(sb, [...NONE, '--name', 'killed', '--restart', 'always', 'sleep', '1000']);
    await runDetached(sb, [...NONE, '--name', 'stopped', '--restart', 'unless-stopped', 'sleep', '1000']);
    expect(await ok(sb, ['kill', 'killed'])).toBe('killed');
    expect(await ok(sb, ['stop', '-t', '0', 'stopped'])).toBe('stopped');
    await waitFor(async () => (await state(sb, 'killed')).status === 'exited', 'the killed container to exit');
    // The exit commands have run (and decided not to restart) well within this.
    await sleep(slow(1200));
    expect(await state(sb, 'killed')).toMatchObject({ status: 'exited', exitCode: 137, count: 0 });
    expect(await state(sb, 'stopped')).toMatchObject({ status: 'exited', exitCode: 137, count: 0 });
  }, timeout(60_000));

  it('rm -f during the delay removes it for good; a restart keeps name, id, volume data and log', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, [...NONE, '--name', 'gone', '--restart', 'always', '-v', 'keep:/data', 'sh', '-c', 'echo x >> /data/runs; wc -l < /data/runs']);
    await waitFor(() => logLines(sb, id).includes('3'), 'the third run, which saw the first two runs\' lines in the volume');
    expect(logLines(sb, id).slice(0, 3)).toEqual(['1', '2', '3']);
    const d = await inspect(sb, 'gone');
    expect(d.Id).toBe(id);
    expect(d.Name).toBe('/gone');
    await waitFor(async () => (await state(sb, 'gone')).restarting && (record(sb, id).restart?.pending?.delayMs ?? 0) >= 400, 'a wait of 400 ms or more');
    expect(await ok(sb, ['rm', '-f', 'gone'])).toBe('gone');
    await sleep(slow(900));
    expect(String((await sb.tsrun(['ps', '-aq'])).stdout)).toBe('');
    expect(monitorsFor(id)).toEqual([]);
    expect(cgroupDirs(id)).toEqual([]);
  }, timeout(60_000));

  it('the waiting process SIGKILLed: the container is just exited, and a start makes one instance', async () => {
    const sb = sandboxes.make();
    const host = mkdtempSync(join(tmpdir(), 'tsrun-restart-'));
    dirs.push(host);
    const id = await runDetached(sb, [...NONE, '--name', 'solo', '--restart', 'always', '-v', `${host}:/flag`, 'sh', '-c', '[ -e /flag/stay ] && exec sleep 1000; exit 1']);
    const wait = await waitFor(() => {
      const p = record(sb, id).restart?.pending;
      return p && p.delayMs >= 400 && alive(p.pid) ? p : undefined;
    }, 'a wait of 400 ms or more');
    process.kill(wait.pid, 'SIGKILL');
    await waitFor(() => !alive(wait.pid), 'the waiting process to die');
    expect(await state(sb, 'solo')).toMatchObject({ status: 'exited', restarting: false, exitCode: 1 });
    writeFileSync(join(host, 'stay'), '');
    expect(await ok(sb, ['start', 'solo'])).toBe('solo');
    const started = await state(sb, 'solo');
    expect(started.status).toBe('running');
    // Past the delay the killed process would have waited: still one instance, the same process.
    await sleep(wait.delayMs + slow(400));
    const now = await state(sb, 'solo');
    expect(now).toMatchObject({ status: 'running', pid: started.pid });
    expect(monitorsFor(id)).toHaveLength(1);
    expect(cgroupPids(id)).toEqual([started.pid]);
  }, timeout(60_000));

  it('after a reboot, system boot starts always and unless-stopped containers, not those a user stopped (unless-stopped), on-failure or no', async () => {
    const sb = sandboxes.make();
    const run = (name: string, policy: string) => runDetached(sb, [...NONE, '--name', name, '--restart', policy, 'sleep', '1000']);
    const ids: Record<string, string> = {
      always: await run('always', 'always'),
      stoppedAlways: await run('stopped-always', 'always'),
      unless: await run('unless', 'unless-stopped'),
      stoppedUnless: await run('stopped-unless', 'unless-stopped'),
      onFailure: await run('on-failure', 'on-failure:5'),
      no: await run('no', 'no'),
    };
    expect((await sb.tsrun(['create', ...NONE, '--name', 'created-only', '--restart', 'always', '--rootfs', busybox(), 'true'])).exitCode).toBe(0);
    expect((await sb.tsrun(['stop', '-t', '0', 'stopped-always', 'stopped-unless'])).exitCode).toBe(0);

    // The reboot: every process gone at once (monitors first, so no exit command runs; a stopped
    // container's monitor may still be its exit command), cgroups and --runroot gone.
    const pids = Object.values(ids).map((id) => recordedPids(sb, id)).filter((p) => p !== null);
    for (const p of pids) for (const pid of [p.monitor, p.container]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await waitFor(() => pids.every((p) => !alive(p.monitor) && !alive(p.container)), 'the killed processes');
    for (const id of Object.values(ids)) {
      for (const dir of cgroupDirs(id)) await waitFor(() => { try { rmdirSync(dir); return true; } catch { return false; } }, `rmdir ${dir}`);
    }
    rmSync(sb.runroot, { recursive: true, force: true });

    const boot = await sb.tsrun(['system', 'boot']);
    expect(boot.stderr).toBe('');
    expect(boot.exitCode).toBe(0);
    expect(String(boot.stdout).split('\n').sort()).toEqual(['always', 'stopped-always', 'unless']);
    const ps = String((await sb.tsrun(['ps', '--format', '{{.Names}}'])).stdout).split('\n').sort();
    expect(ps).toEqual(['always', 'stopped-always', 'unless']);
    for (const name of ['stopped-unless', 'on-failure', 'no', 'created-only']) expect((await state(sb, name)).status).not.toBe('running');
    const d = await inspect(sb, 'always');
    expect(d.State).toMatchObject({ Status: 'running', Running: true });
    expect(alive(d.State.Pid)).toBe(true);
    // Run again, it finds them running: nothing to do.
    expect(await ok(sb, ['system', 'boot'])).toBe('');
  }, timeout(60_000));

  it('bad --restart values and --restart with --rm: one line, exit 125, nothing created', async () => {
    const sb = sandboxes.make();
    const cases: Array<[string[], string]> = [
      [['--restart', 'sometimes'], "tsrun: invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"],
      [['--restart', 'on-failure:-1'], 'tsrun: invalid restart policy: maximum retry count cannot be negative'],
      [['--restart', 'no:3'], "tsrun: invalid restart policy: maximum retry count can only be used with 'on-failure'"],
      [['--restart', 'on-failure:x'], 'tsrun: invalid restart policy format: maximum retry count must be an integer'],
      [['--restart', 'always', '--rm'], 'tsrun: Conflicting options: --restart and --rm'],
    ];
    for (const verb of [['run', '-d'], ['create']]) {
      for (const [flags, message] of verb[0] === 'run' ? cases : [cases[0], cases[4]]) {
        const r = await sb.tsrun([...verb, ...NONE, ...flags, '--rootfs', busybox(), 'true']);
        expect(r.stderr).toBe(message);
        expect(r.exitCode).toBe(125);
        expect(r.stdout).toBe('');
      }
    }
    expect(String((await sb.tsrun(['ps', '-aq'])).stdout)).toBe('');
    // --restart no with --rm is fine.
    expect((await sb.tsrun(['run', '--rm', ...NONE, '--restart', 'no', '--rootfs', busybox(), 'true'])).exitCode).toBe(0);
  }, timeout(60_000));
});

describe.skipIf(netSkip)('restart policies on a bridge network', () => {
  const sandboxes = new Sandboxes();
  afterEach(() => sandboxes.cleanup(), timeout(60_000));

  it('a restarted container keeps its address', async () => {
    const sb = sandboxes.make();
    const subnet = ['--default-subnet', '10.183.21.0/24'];
    const r = await sb.tsrun([...subnet, 'run', '-d', '--name', 'addr', '--restart', 'on-failure', '-v', 'state:/data', '--rootfs', busybox(), 'sh', '-c',
      'ip -o -4 addr show eth0 | awk \'{print $4}\'; echo x >> /data/n; [ "$(wc -l < /data/n)" -ge 3 ] && exec sleep 1000; exit 1']);
    expect(r.stderr).toBe('');
    const id = String(r.stdout);
    await waitFor(async () => (await state(sb, 'addr')).count === 2 && (await state(sb, 'addr')).status === 'running', 'two restarts, then running');
    const addrs = logLines(sb, id);
    expect(addrs).toHaveLength(3);
    expect(addrs[0]).toMatch(/^10\.183\.21\.\d+\/24$/);
    expect(new Set(addrs).size).toBe(1);
    const d = await inspect(sb, 'addr');
    expect(`${d.NetworkSettings.IPAddress}/24`).toBe(addrs[0]);
    expect(d.Name).toBe('/addr');
  }, timeout(60_000));
});
