// A container's life through the CLI, as a Docker user drives it: run -d,
// ps, create/start, attach, logs, exec, inspect, wait, stop, kill, restart,
// pause, top, stats, rename, prune, and how containers are addressed. Every
// test gets its own sandbox, removed (with its containers) even on failure.
// Runs on the hybrid-cgroup host and in the cgroup v2 VM (TSRUN_VM=1).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  alive, argvOf, cgroupPids, inspect, logLines, nsOf, psAll, runDetached, Sandboxes, slow, sleep, timeout, waitFor,
} from '../helpers/lifecycle.js';
import { busybox, integrationSkipReason } from '../helpers/tsrun.js';

const skip = integrationSkipReason('lifecycle');
const ZERO_TIME = '0001-01-01T00:00:00Z';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe.skipIf(skip)('container lifecycle', () => {
  const sandboxes = new Sandboxes();
  afterEach(() => sandboxes.cleanup(), timeout(60_000));

  it('run -d prints a 64-hex id; ps lists, filters and formats containers', async () => {
    const sb = sandboxes.make();
    const web = await runDetached(sb, ['--name', 'web', 'sleep', '1000']);
    const idle = String((await sb.tsrun(['create', '--name', 'idle', '--rootfs', busybox(), 'true'])).stdout);
    expect(idle).toMatch(/^[0-9a-f]{64}$/);
    expect((await sb.tsrun(['run', '--name', 'done', '--rootfs', busybox(), 'sh', '-c', 'exit 3'])).exitCode).toBe(3);

    const ps = await sb.tsrun(['ps']);
    expect(ps.exitCode).toBe(0);
    const [header, ...rows] = String(ps.stdout).split('\n');
    expect(header.split(/\s{3,}/)).toEqual(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`^${web.slice(0, 12)}\\s.*"sleep 1000".*\\sUp .*\\sweb$`));

    const all = String((await sb.tsrun(['ps', '-a'])).stdout).split('\n').slice(1);
    expect(all).toHaveLength(3);
    expect(all.find((l) => l.endsWith(' done'))).toMatch(/\sExited \(3\) .* ago\s/);
    expect(all.find((l) => l.endsWith(' idle'))).toMatch(/\sCreated\s/);

    const quiet = String((await sb.tsrun(['ps', '-aq'])).stdout).split('\n');
    expect(quiet).toHaveLength(3);
    for (const l of quiet) expect(l).toMatch(/^[0-9a-f]{12}$/);
    expect(quiet).toContain(web.slice(0, 12));

    const full = String((await sb.tsrun(['ps', '--no-trunc'])).stdout);
    expect(full).toContain(web);

    const exited = String((await sb.tsrun(['ps', '-q', '--filter', 'status=exited'])).stdout).split('\n');
    expect(exited).toHaveLength(1);
    expect(exited[0]).not.toBe(web.slice(0, 12));
    expect(String((await sb.tsrun(['ps', '-aq', '--no-trunc', '--filter', 'name=idle'])).stdout)).toBe(idle);

    const docs = await psAll(sb);
    expect(docs.map((d) => d.Names).sort()).toEqual(['done', 'idle', 'web']);
    const w = docs.find((d) => d.Names === 'web')!;
    expect(w).toMatchObject({ ID: web, Command: '"sleep 1000"', Image: busybox(), State: 'running' });
    expect(w.Status).toMatch(/^Up /);
    expect(w.CreatedAt).toMatch(RFC3339);
    expect(w.RunningFor).toMatch(/ ago$/);
    for (const k of ['Labels', 'Mounts', 'Networks', 'Ports']) expect(w).toHaveProperty(k);
    expect(docs.find((d) => d.Names === 'done')).toMatchObject({ State: 'exited' });
    expect(docs.find((d) => d.Names === 'idle')).toMatchObject({ State: 'created', Status: 'Created' });
  }, timeout(60_000));

  it('create + start; start -a shows the output and exits with the container code', async () => {
    const sb = sandboxes.make();
    const c = await sb.tsrun(['create', '--name', 'job', '--rootfs', busybox(), 'sh', '-c', 'echo hi; echo oops >&2; exit 3']);
    expect(c.exitCode).toBe(0);
    const before = await inspect(sb, 'job');
    expect(before.State).toMatchObject({ Status: 'created', Running: false, Pid: 0, StartedAt: ZERO_TIME });

    const a = await sb.tsrun(['start', '-a', 'job']);
    expect(a).toMatchObject({ exitCode: 3, stdout: 'hi', stderr: 'oops' });

    // Plain start prints the reference; wait then gives the code.
    expect(await sb.tsrun(['start', 'job'])).toMatchObject({ exitCode: 0, stdout: 'job' });
    expect(await sb.tsrun(['wait', 'job'])).toMatchObject({ exitCode: 0, stdout: '3' });
    // Both runs are in the log (the order of a run's two streams is not defined).
    expect(logLines(sb, String(c.stdout)).sort()).toEqual(['hi', 'hi', 'oops', 'oops']);
  }, timeout(60_000));

  it('attach relays stdin and output of a running -i container and exits with its code', async () => {
    const sb = sandboxes.make();
    await runDetached(sb, ['-i', '--name', 'talk', 'sh', '-c', 'read l; echo got $l; exit 4']);
    const r = await sb.tsrun(['attach', 'talk'], { input: 'hello\n' });
    expect(r).toMatchObject({ exitCode: 4, stdout: 'got hello', stderr: '' });

    const again = await sb.tsrun(['attach', 'talk']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toBe('tsrun: You cannot attach to a stopped container, start it first');
  }, timeout(60_000));

  it('logs: both streams, --tail, --since, -t, and they outlive the container', async () => {
    const sb = sandboxes.make();
    // The pause keeps the last two lines after the first two in the log, whatever order the monitor reads the pipes in.
    const id = await runDetached(sb, ['--name', 'chatty', 'sh', '-c', `echo one; echo two >&2; sleep ${slow(500) / 1000}; echo three; echo four`]);
    expect(await sb.tsrun(['wait', 'chatty'])).toMatchObject({ exitCode: 0, stdout: '0' });

    expect(await sb.tsrun(['logs', 'chatty'])).toMatchObject({ exitCode: 0, stdout: 'one\nthree\nfour', stderr: 'two' });
    expect(await sb.tsrun(['logs', '--tail', '2', id.slice(0, 12)])).toMatchObject({ exitCode: 0, stdout: 'three\nfour', stderr: '' });
    expect(await sb.tsrun(['logs', '--since', '2999-01-01T00:00:00Z', 'chatty'])).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });

    const t = await sb.tsrun(['logs', '-t', 'chatty']);
    const lines = String(t.stdout).split('\n');
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['one', 'three', 'four']);
    for (const l of lines) expect(l.split(' ')[0]).toMatch(RFC3339);
    expect(String(t.stderr)).toMatch(/^\S+Z two$/);
  }, timeout(60_000));

  it('logs -f follows the output until the container exits', async () => {
    const sb = sandboxes.make();
    await runDetached(sb, ['--name', 'ticker', 'sh', '-c', `for i in 1 2 3; do echo line$i; sleep ${slow(300) / 1000}; done`]);
    const f = await sb.tsrun(['logs', '-f', 'ticker']);
    expect(f).toMatchObject({ exitCode: 0, stdout: 'line1\nline2\nline3' });
    // It returned because the container is gone, not on a timer.
    expect((await inspect(sb, 'ticker')).State).toMatchObject({ Status: 'exited', ExitCode: 0 });
  }, timeout(60_000));

  it('exec shares the namespaces and cgroup, takes -e/-w/-u/-d, and fails on a stopped container', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'box', '--hostname', 'boxhost', 'sleep', '1000']);
    expect(await sb.tsrun(['exec', 'box', 'hostname'])).toMatchObject({ exitCode: 0, stdout: 'boxhost' });
    // /proc is the container's: its PID 1 is the container's command.
    expect(await sb.tsrun(['exec', 'box', 'cat', '/proc/1/cmdline'])).toMatchObject({ exitCode: 0, stdout: 'sleep\u00001000\u0000' });
    const opts = await sb.tsrun(['exec', '-e', 'FOO=bar', '-w', '/tmp', '-u', 'tsuser', 'box', 'sh', '-c', 'echo $FOO; pwd; id -u; exit 7']);
    expect(opts).toMatchObject({ exitCode: 7, stdout: 'bar\n/tmp\n1000' });

    // -d returns at once; the process lives in the container's cgroup and pid namespace.
    expect(await sb.tsrun(['exec', '-d', 'box', 'sleep', '999'])).toMatchObject({ exitCode: 0, stdout: '' });
    const { Pid: init } = (await inspect(sb, 'box')).State;
    const execPid = await waitFor(() => cgroupPids(id).find((p) => argvOf(p).join(' ') === 'sleep 999'), 'the exec -d process in the cgroup');
    expect(nsOf(execPid, 'pid')).toBe(nsOf(init, 'pid'));
    expect(nsOf(execPid, 'mnt')).toBe(nsOf(init, 'mnt'));

    expect(await sb.tsrun(['stop', '-t', '0', 'box'])).toMatchObject({ exitCode: 0, stdout: 'box' });
    expect(alive(execPid)).toBe(false);
    const dead = await sb.tsrun(['exec', 'box', 'true']);
    expect(dead.exitCode).toBe(1);
    expect(dead.stderr).toMatch(/^tsrun: container [0-9a-f]{64} is not running$/);
  }, timeout(90_000));

  it('inspect shows state, config and host config, before and after the exit; wait prints the code', async () => {
    const sb = sandboxes.make();
    const script = 'until [ -e /dev/shm/go ]; do sleep 0.05; done; exit 5';
    const id = await runDetached(sb, ['--name', 'insp', '-e', 'X=1', '-m', '64m', '-w', '/tmp', 'sh', '-c', script]);
    const d = await inspect(sb, 'insp');
    expect(d).toMatchObject({ Id: id, Name: '/insp', Path: 'sh', Args: ['-c', script], RestartCount: 0 });
    expect(d.State).toMatchObject({ Status: 'running', Running: true, Paused: false, OOMKilled: false, Dead: false, ExitCode: 0, Error: '', FinishedAt: ZERO_TIME });
    expect(d.State.Pid).toBeGreaterThan(0);
    expect(alive(d.State.Pid)).toBe(true);
    expect(d.State.StartedAt).toMatch(RFC3339);
    expect(d.Config).toMatchObject({ Hostname: id.slice(0, 12), Cmd: ['sh', '-c', script], WorkingDir: '/tmp', Tty: false, OpenStdin: false });
    expect(d.Config.Env).toContain('X=1');
    expect(d.HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, AutoRemove: false, Init: false });

    // Let it exit: /dev/shm is the container's own tmpfs, reached through /proc/PID/root.
    writeFileSync(`/proc/${d.State.Pid}/root/dev/shm/go`, '');
    expect(await sb.tsrun(['wait', 'insp'])).toMatchObject({ exitCode: 0, stdout: '5' });
    const after = await inspect(sb, id);
    expect(after.State).toMatchObject({ Status: 'exited', Running: false, Paused: false, Pid: 0, ExitCode: 5, OOMKilled: false });
    expect(after.State.FinishedAt).toMatch(RFC3339);
    expect(Date.parse(after.State.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(after.State.StartedAt));
    expect(after.State.StartedAt).toBe(d.State.StartedAt);
    expect(alive(d.State.Pid)).toBe(false);
  }, timeout(60_000));

  it('stop: SIGKILL after -t when TERM is ignored (137), TERM through --init (143)', async () => {
    const sb = sandboxes.make();
    await runDetached(sb, ['--name', 'stubborn', 'sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done']);
    await runDetached(sb, ['--name', 'polite', '--init', 'sleep', '1000']);

    const t0 = Date.now();
    expect(await sb.tsrun(['stop', '-t', '1', 'stubborn'])).toMatchObject({ exitCode: 0, stdout: 'stubborn' });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(slow(15_000));

    expect(await sb.tsrun(['stop', 'polite'])).toMatchObject({ exitCode: 0, stdout: 'polite' });
    const [s, p] = await inspect(sb, 'stubborn', 'polite');
    expect(s.State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    // 143 is SIGTERM's: the 10 s SIGKILL fallback would have given 137.
    expect(p.State).toMatchObject({ Status: 'exited', ExitCode: 143 });
  }, timeout(60_000));

  it('kill -s USR1 reaches the process; kill -s 9 ends it; killing a stopped container fails', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'sig', 'sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done']);
    await waitFor(() => logLines(sb, id).includes('ready'), 'the trap to be set');
    expect(await sb.tsrun(['kill', '-s', 'USR1', 'sig'])).toMatchObject({ exitCode: 0, stdout: 'sig' });
    await waitFor(() => logLines(sb, id).includes('got-usr1'), 'the USR1 trap output');
    expect(await sb.tsrun(['kill', '-s', '9', 'sig'])).toMatchObject({ exitCode: 0, stdout: 'sig' });
    expect(await sb.tsrun(['wait', 'sig'])).toMatchObject({ exitCode: 0, stdout: '137' });
    const again = await sb.tsrun(['kill', 'sig']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/is not running/);
  }, timeout(60_000));

  it('restart gives a new process and counts it', async () => {
    const sb = sandboxes.make();
    await runDetached(sb, ['--name', 'rs', 'sleep', '1000']);
    const before = await inspect(sb, 'rs');
    expect(await sb.tsrun(['restart', '-t', '0', 'rs'])).toMatchObject({ exitCode: 0, stdout: 'rs' });
    const after = await inspect(sb, 'rs');
    expect(after.RestartCount).toBe(1);
    expect(after.State).toMatchObject({ Status: 'running', Running: true });
    expect(after.State.Pid).not.toBe(before.State.Pid);
    expect(alive(after.State.Pid)).toBe(true);
    expect(alive(before.State.Pid)).toBe(false);
  }, timeout(60_000));

  it('pause freezes the processes (ps says Paused) and unpause resumes them', async () => {
    const sb = sandboxes.make();
    await runDetached(sb, ['--name', 'counter', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /dev/shm/count; sleep 0.02; done']);
    const { Pid: pid } = (await inspect(sb, 'counter')).State;
    // /dev/shm is the container's own tmpfs; the host sees it through /proc/PID/root.
    const count = () => Number(readFileSync(`/proc/${pid}/root/dev/shm/count`, 'utf8').trim() || 0);
    await waitFor(() => { try { return count() > 0; } catch { return false; } }, 'the counter to start');

    expect(await sb.tsrun(['pause', 'counter'])).toMatchObject({ exitCode: 0, stdout: 'counter' });
    const frozen = count();
    await sleep(slow(500));
    expect(count()).toBe(frozen);
    expect(String((await sb.tsrun(['ps'])).stdout)).toMatch(/\sUp .* \(Paused\)\s+counter$/m);
    expect((await inspect(sb, 'counter')).State).toMatchObject({ Status: 'paused', Running: true, Paused: true });
    const exec = await sb.tsrun(['exec', 'counter', 'true']);
    expect(exec.exitCode).toBe(1);
    expect(exec.stderr).toMatch(/paused/);

    expect(await sb.tsrun(['unpause', 'counter'])).toMatchObject({ exitCode: 0, stdout: 'counter' });
    await waitFor(() => count() > frozen, 'the counter to move again');
    expect((await inspect(sb, 'counter')).State).toMatchObject({ Status: 'running', Paused: false });
  }, timeout(60_000));

  it('top lists the container processes only; stats shows CPU, memory against --memory, and PIDs', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'procs', '-m', '48m', 'sh', '-c', 'sleep 1000 & exec sleep 999']);
    await waitFor(() => cgroupPids(id).length === 2, 'both processes');
    const top = await sb.tsrun(['top', 'procs']);
    expect(top.exitCode).toBe(0);
    const [header, ...rows] = String(top.stdout).split('\n');
    expect(header).toMatch(/\bPID\b.*\bCMD$/);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.replace(/^.*\d\d:\d\d:\d\d /, '')).sort()).toEqual(['sleep 1000', 'sleep 999']);
    // ps options without a PID column cannot be narrowed to the container: a clear error, no host processes.
    const noPid = await sb.tsrun(['top', 'procs', '-o', 'comm']);
    expect(noPid).toMatchObject({ exitCode: 1, stdout: '' });
    expect(noPid.stderr).toMatch(/ps -o comm does not print a PID column/);

    const stats = await sb.tsrun(['stats', '--no-stream', 'procs']);
    expect(stats.exitCode).toBe(0);
    const [h, row, ...rest] = String(stats.stdout).split('\n');
    expect(rest).toEqual([]);
    const cols = h.split(/\s{3,}/);
    expect(cols).toEqual(expect.arrayContaining(['CPU %', 'MEM USAGE / LIMIT', 'PIDS']));
    const cells = row.split(/\s{3,}/);
    expect(cells[0]).toBe(id.slice(0, 12));
    expect(cells[cols.indexOf('CPU %')]).toMatch(/^\d+\.\d\d%$/);
    expect(cells[cols.indexOf('MEM USAGE / LIMIT')]).toMatch(/^[\d.]+(B|KiB|MiB) \/ 48MiB$/);
    expect(cells[cols.indexOf('PIDS')]).toBe('2');
  }, timeout(60_000));

  it('rename: the new name works and the old one is free', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'oldname', 'sleep', '1000']);
    expect(await sb.tsrun(['rename', 'oldname', 'newname'])).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    expect(await inspect(sb, 'newname')).toMatchObject({ Id: id, Name: '/newname' });
    const gone = await sb.tsrun(['inspect', 'oldname']);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toBe('tsrun: No such container: oldname');
    expect((await sb.tsrun(['create', '--name', 'oldname', '--rootfs', busybox(), 'true'])).exitCode).toBe(0);
  }, timeout(60_000));

  it('container prune removes stopped and created containers, not running ones', async () => {
    const sb = sandboxes.make();
    const keep = await runDetached(sb, ['--name', 'keep', 'sleep', '1000']);
    expect((await sb.tsrun(['run', '--name', 'finished', '--rootfs', busybox(), 'true'])).exitCode).toBe(0);
    const fresh = String((await sb.tsrun(['create', '--name', 'fresh', '--rootfs', busybox(), 'true'])).stdout);
    const p = await sb.tsrun(['container', 'prune', '-f']);
    expect(p.exitCode).toBe(0);
    const deleted = String(p.stdout).split('\n');
    expect(deleted[0]).toBe('Deleted Containers:');
    expect(deleted).toContain(fresh);
    expect(deleted).not.toContain(keep);
    expect(deleted.filter((l) => /^[0-9a-f]{64}$/.test(l))).toHaveLength(2);
    expect((await psAll(sb)).map((d) => d.Names)).toEqual(['keep']);
  }, timeout(60_000));

  it('addresses containers by full id, unique prefix and name; unknown and ambiguous references fail clearly', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'addr', 'sleep', '1000']);
    const docs = await inspect(sb, id, id.slice(0, 5), 'addr');
    expect(docs.map((d: { Id: string }) => d.Id)).toEqual([id, id, id]);

    const unknown = await sb.tsrun(['stop', 'nosuch']);
    expect(unknown).toMatchObject({ exitCode: 1, stdout: '' });
    expect(unknown.stderr).toBe('tsrun: No such container: nosuch');

    // A second record whose id shares the first four characters (a copy:
    // random ids rarely collide on purpose).
    const twin = id.slice(0, 4) + [...id.slice(4)].map((ch) => (ch === 'f' ? 'e' : 'f')).join('');
    const twinDir = join(sb.root, 'containers', twin);
    cpSync(join(sb.root, 'containers', id), twinDir, { recursive: true });
    const state = JSON.parse(readFileSync(join(twinDir, 'state.json'), 'utf8'));
    writeFileSync(join(twinDir, 'state.json'), JSON.stringify({ ...state, id: twin, name: 'twin-copy', status: 'created' }));
    const ambiguous = await sb.tsrun(['inspect', id.slice(0, 4)]);
    expect(ambiguous.exitCode).toBe(1);
    expect(ambiguous.stderr).toBe(`tsrun: multiple containers found with provided prefix: ${id.slice(0, 4)}`);
    // A longer prefix is unique again.
    expect((await sb.tsrun(['inspect', id.slice(0, 5)])).exitCode).toBe(0);
  }, timeout(60_000));
});
