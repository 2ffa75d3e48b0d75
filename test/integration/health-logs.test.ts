// Log rotation and health checks, both driven by the container's monitor:
// --log-opt max-size/max-file/compress keep the log bounded while `logs`
// reads across the files; --health-* (or the image's HEALTHCHECK) run on
// the monitor's schedule through `tsrun healthcheck run`, whose results ps,
// inspect and `ps --filter health=` show; the monitor stays under 1 MiB.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inspect, recordedPids, runDetached, Sandboxes, timeout, waitFor } from '../helpers/lifecycle.js';
import { busybox, integrationSkipReason, type Sandbox, fixtureTar } from '../helpers/tsrun.js';

const skip = integrationSkipReason('health-logs');

// 400 numbered lines, then (with `then`) something more.
const print400 = (then = '') => `i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "line $i"; done${then}`;

function logFiles(sb: Sandbox, id: string): string[] {
  const dir = join(sb.root, 'containers', id);
  return readdirSync(dir).filter((f) => f.startsWith('container.log')).sort();
}

function logBytes(sb: Sandbox, id: string): number {
  return logFiles(sb, id).reduce((n, f) => n + statSync(join(sb.root, 'containers', id, f)).size, 0);
}

async function logsOf(sb: Sandbox, args: string[]): Promise<string[]> {
  const r = await sb.tsrun(['logs', ...args]);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  return String(r.stdout).split('\n').filter(Boolean);
}

// The checks' files go in a private /tmp (--tmpfs): a --rootfs container
// writes straight into the shared busybox fixture.

const numbered = (lines: string[]) => lines.map((l) => Number(/^line (\d+)$/.exec(l)?.[1] ?? NaN));

/** Consecutive numbers ending at `last`. */
function expectRun(nums: number[], last: number): void {
  expect(nums.length).toBeGreaterThan(0);
  expect(nums.at(-1)).toBe(last);
  expect(nums).toEqual(nums.map((_, i) => last - nums.length + 1 + i));
}

async function healthOf(sb: Sandbox, ref: string): Promise<string | undefined> {
  return (await inspect(sb, ref)).State.Health?.Status;
}

function vmRssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

describe.skipIf(skip)('log rotation and health checks', () => {
  const sandboxes = new Sandboxes();
  afterEach(() => sandboxes.cleanup(), timeout(60_000));

  it('max-size/max-file bound the log on disk; logs reads the files in order (also compressed, and -f across rotations)', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--network', 'none', '--log-opt', 'max-size=2k', '--log-opt', 'max-file=2', 'sh', '-c', print400()]);
    const zipped = await runDetached(sb, [
      '--network', 'none', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=4', '--log-opt', 'compress=true', 'sh', '-c', print400(),
    ]);
    // A line every 20+ ms into 300-byte files (3 entries each): a rotation
    // every 60 ms or so while `logs -f` follows. The five files hold some
    // 300 ms of output, the margin a follower looking every 100 ms has on a
    // busy host (what is rotated out before it looks is gone, as in Docker).
    const slow = await runDetached(sb, [
      '--network', 'none', '--log-opt', 'max-size=300', '--log-opt', 'max-file=5', 'sh', '-c',
      'i=0; while [ $i -lt 100 ]; do i=$((i+1)); echo "line $i"; usleep 20000; done',
    ]);
    const following = sb.tsrun(['logs', '-f', slow]);
    expect(String((await sb.tsrun(['wait', id, zipped])).stdout).split('\n')).toEqual(['0', '0']);

    expect(logFiles(sb, id)).toEqual(['container.log', 'container.log.1']);
    expect(logBytes(sb, id)).toBeLessThanOrEqual(4096);
    expect(await logsOf(sb, ['--tail', '1', id])).toEqual(['line 400']);
    const all = numbered(await logsOf(sb, [id]));
    expectRun(all, 400);
    expect(all.length).toBeGreaterThan(30); // more than the current file holds

    // compress=true: the rotated files are gzipped (the monitor waits for its compressor before it exits).
    expect(logFiles(sb, zipped)).toEqual(['container.log', 'container.log.1.gz', 'container.log.2.gz', 'container.log.3.gz']);
    expect(logBytes(sb, zipped)).toBeLessThan(4096);
    expectRun(numbered(await logsOf(sb, [zipped])), 400);
    expect(await logsOf(sb, ['--tail', '3', zipped])).toEqual(['line 398', 'line 399', 'line 400']);

    // The follower saw every line from where it started (it may start late on a busy host).
    const followed = await following;
    expect(followed.exitCode).toBe(0);
    const seen = numbered(String(followed.stdout).split('\n').filter(Boolean));
    expectRun(seen, 100);
    // More than the 15 entries the files hold at once: it followed across rotations.
    expect(seen.length).toBeGreaterThan(15);
  }, timeout(60_000));

  it('a check turns healthy when its file appears and unhealthy when it goes; ps, filters and inspect show it; monitor RSS < 1 MiB', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, [
      '--network', 'none', '--name', 'web', '--tmpfs', '/tmp', '--health-cmd', 'echo probing; test -e /tmp/ok', '--health-interval', '0.2s', '--health-retries', '1',
      // In the start period failures do not count: it stays `starting` until the first pass.
      '--health-start-period', '60s', '--health-start-interval', '0.2s',
      '--log-opt', 'max-size=1k', '--log-opt', 'max-file=3', '--log-opt', 'compress=true',
      'sh', '-c', print400('; sleep 1000'),
    ]);
    const plain = await runDetached(sb, ['--network', 'none', '--name', 'plain', 'sleep', '1000']);
    const ps = async (...args: string[]) => String((await sb.tsrun(['ps', '--format', '{{.Names}} {{.Status}}', ...args])).stdout).split('\n').filter(Boolean);

    expect(await ps('--filter', 'name=web')).toEqual([expect.stringMatching(/^web Up .* \(health: starting\)$/)]);
    expect(await ps('--filter', 'health=starting')).toEqual([expect.stringMatching(/^web /)]);
    expect(await ps('--filter', 'health=none')).toEqual([expect.stringMatching(/^plain Up [^()]*$/)]);
    // Checks run (and fail) meanwhile, without counting.
    await waitFor(async () => (await inspect(sb, 'web')).State.Health?.Log.length >= 2, 'two failed checks');
    expect((await inspect(sb, 'web')).State.Health).toMatchObject({ Status: 'starting', FailingStreak: 0 });

    expect((await sb.tsrun(['exec', 'web', 'touch', '/tmp/ok'])).exitCode).toBe(0);
    await waitFor(async () => (await healthOf(sb, 'web')) === 'healthy', 'healthy');
    expect(await ps('--filter', 'health=healthy')).toEqual([expect.stringMatching(/^web Up .* \(healthy\)$/)]);

    // The monitor with health checks and log rotation (and compression) on.
    const monitor = recordedPids(sb, id)!.monitor;
    expect(logFiles(sb, id).some((f) => f.endsWith('.gz'))).toBe(true);
    const rss = vmRssKiB(monitor);
    process.stderr.write(`[health-logs] monitor VmRSS with health checks and log rotation: ${rss} kB\n`);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(1024);

    expect((await sb.tsrun(['exec', 'web', 'rm', '/tmp/ok'])).exitCode).toBe(0);
    await waitFor(async () => (await healthOf(sb, 'web')) === 'unhealthy', 'unhealthy');
    expect(await ps('--filter', 'health=unhealthy')).toEqual([expect.stringMatching(/^web Up .* \(unhealthy\)$/)]);

    const doc = await inspect(sb, 'web');
    expect(doc.Config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'echo probing; test -e /tmp/ok'], Interval: 200_000_000, StartPeriod: 60_000_000_000, StartInterval: 200_000_000, Retries: 1,
    });
    expect(doc.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '3', compress: 'true' } });
    const h = doc.State.Health;
    expect(h.FailingStreak).toBeGreaterThanOrEqual(1);
    expect(h.Log.length).toBeLessThanOrEqual(5);
    expect(h.Log.at(-1)).toMatchObject({ ExitCode: 1, Output: 'probing\n' });
    expect(h.Log.at(-1).Start).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await inspect(sb, plain)).State.Health).toBeUndefined();

    // The health_status events (the journal of `tsrun events`).
    const events = await sb.tsrun(['events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'container=web', '--format', '{{.Action}}']);
    if (events.exitCode === 0) {
      const actions = String(events.stdout).split('\n').filter((a) => a.startsWith('health_status'));
      expect(actions).toEqual(['health_status: healthy', 'health_status: unhealthy']);
    }

    // Stopped: the check's process is gone with the monitor; the last health stays readable.
    expect((await sb.tsrun(['stop', '-t', '0', 'web'])).exitCode).toBe(0);
    expect(await ps('-a', '--filter', 'name=web')).toEqual([expect.stringMatching(/^web Exited \(137\) /)]);
  }, timeout(60_000));

  it('healthcheck run by hand: records the result, prints the health, exits 0/1; a timeout kills the check', async () => {
    const sb = sandboxes.make();
    await runDetached(sb, ['--network', 'none', '--name', 'hc', '--tmpfs', '/tmp', '--health-cmd', 'echo out; echo err >&2; test -e /tmp/ok', '--health-interval', '1h', 'sleep', '1000']);
    await runDetached(sb, ['--network', 'none', '--name', 'slowcheck', '--health-cmd', 'sleep 5', '--health-timeout', '0.3s', '--health-interval', '1h', 'sleep', '1000']);
    await runDetached(sb, ['--network', 'none', '--name', 'nocheck', 'sleep', '1000']);

    // Three retries (the default): one failure leaves it starting.
    expect(await sb.tsrun(['healthcheck', 'run', 'hc'])).toMatchObject({ exitCode: 1, stdout: 'starting', stderr: '' });
    expect(await sb.tsrun(['exec', 'hc', 'touch', '/tmp/ok'])).toMatchObject({ exitCode: 0 });
    expect(await sb.tsrun(['healthcheck', 'run', 'hc'])).toMatchObject({ exitCode: 0, stdout: 'healthy', stderr: '' });
    const h = (await inspect(sb, 'hc')).State.Health;
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    expect(h.Log.map((r: { ExitCode: number; Output: string }) => [r.ExitCode, r.Output])).toEqual([[1, 'out\nerr\n'], [0, 'out\nerr\n']]);

    const started = Date.now();
    expect(await sb.tsrun(['healthcheck', 'run', 'slowcheck'])).toMatchObject({ exitCode: 1, stdout: 'starting' });
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await inspect(sb, 'slowcheck')).State.Health.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (300ms)' });

    const none = await sb.tsrun(['healthcheck', 'run', 'nocheck']);
    expect(none).toMatchObject({ exitCode: 125, stdout: '', stderr: 'tsrun: container nocheck has no health check' });
    expect(await sb.tsrun(['stop', '-t', '0', 'hc'])).toMatchObject({ exitCode: 0 });
    expect(await sb.tsrun(['healthcheck', 'run', 'hc'])).toMatchObject({ exitCode: 125, stderr: 'tsrun: container hc is not running' });
  }, timeout(60_000));

  it("an image's HEALTHCHECK runs; --no-healthcheck disables it; the flags override its settings", async () => {
    const sb = sandboxes.make();
    const tar = fixtureTar(busybox(), ['--exclude=./.tsrun-fixture']);
    expect((await sb.tsrun(['import', '-c', 'CMD ["sleep", "1000"]', '-', 'localhost/bb:latest'], { input: tar })).exitCode).toBe(0);
    // The build context in the sandbox's dir, which goes with it.
    const ctx = join(dirname(sb.root), 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM localhost/bb\nHEALTHCHECK --interval=0.2s --retries=1 CMD test -e /etc/passwd\n');
    const built = await sb.tsrun(['build', '-q', '-t', 'localhost/checked', ctx]);
    expect(built.exitCode).toBe(0);

    const run = (...args: string[]) => sb.tsrun(['run', '-d', '--network', 'none', ...args, 'localhost/checked']);
    expect((await run('--name', 'img')).exitCode).toBe(0);
    expect((await run('--name', 'off', '--no-healthcheck')).exitCode).toBe(0);
    expect((await run('--name', 'over', '--health-cmd', 'false', '--health-interval', '0.3s')).exitCode).toBe(0);

    await waitFor(async () => (await healthOf(sb, 'img')) === 'healthy', "the image's check passing");
    await waitFor(async () => (await healthOf(sb, 'over')) === 'unhealthy', 'the overriding check failing');
    const off = await inspect(sb, 'off');
    expect(off.State.Health).toBeUndefined();
    expect(off.Config.Healthcheck).toEqual({ Test: ['NONE'], Interval: 200_000_000, Retries: 1 });
    expect((await inspect(sb, 'over')).Config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'false'], Interval: 300_000_000, Retries: 1 });
    expect(String((await sb.tsrun(['ps', '--filter', 'health=none', '--format', '{{.Names}}'])).stdout)).toBe('off');
  }, timeout(60_000));

  it('--log-driver none keeps no log: logs refuses, the attached run still shows the output', async () => {
    const sb = sandboxes.make();
    const r = await sb.tsrun(['run', '--name', 'quiet', '--network', 'none', '--log-driver', 'none', '--rootfs', busybox(), 'echo', 'hello']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'hello' });
    expect(logFiles(sb, String((await sb.tsrun(['ps', '-aq', '--no-trunc'])).stdout))).toEqual([]);
    expect(await sb.tsrun(['logs', 'quiet'])).toMatchObject({ exitCode: 1, stdout: '', stderr: 'tsrun: configured logging driver does not support reading' });
    const doc = await inspect(sb, 'quiet');
    expect(doc.LogPath).toBe('');
    expect(doc.HostConfig.LogConfig).toEqual({ Type: 'none', Config: {} });
  }, timeout(60_000));

  it('bad input for every new flag: one line, exit 125, nothing created', async () => {
    const sb = sandboxes.make();
    const cases: Array<[string[], string]> = [
      [['--log-driver', 'k8s-file'], "unknown log driver 'k8s-file'"],
      [['--log-driver', 'none', '--log-opt', 'max-size=1k'], 'invalid logging opts for driver none'],
      [['--log-opt', 'max-size=lots'], 'invalid log opt max-size=lots'],
      [['--log-opt', 'max-size=1k', '--log-opt', 'max-file=0'], 'max-file cannot be less than 1'],
      [['--log-opt', 'max-size=1k', '--log-opt', 'max-file=3', '--log-opt', 'compress=yes'], 'invalid log opt compress=yes'],
      [['--log-opt', 'max-size=1k', '--log-opt', 'compress=true'], 'compress cannot be true when max-file is less than 2'],
      [['--log-opt', 'labels=a'], "unknown log opt 'labels'"],
      [['--log-opt', 'max-size'], "invalid log opt 'max-size'"],
      [['--health-cmd', ''], '--health-cmd must not be empty'],
      [['--health-interval', 'soon'], 'invalid argument "soon" for "--health-interval" flag'],
      [['--health-interval', '10'], 'missing unit in duration "10"'],
      [['--health-timeout', '-1s'], '--health-timeout cannot be negative'],
      [['--health-timeout', '10us'], 'Timeout in Healthcheck cannot be less than 1ms'],
      [['--health-retries', 'three'], 'invalid argument "three" for "--health-retries" flag'],
      [['--health-retries', '-2'], '--health-retries cannot be negative'],
      [['--health-start-period', '1d'], 'unknown unit "d"'],
      [['--health-start-interval', '-5s'], '--health-start-interval cannot be negative'],
      [['--no-healthcheck', '--health-cmd', 'true'], '--no-healthcheck conflicts with --health-* options'],
    ];
    const results = await Promise.all(cases.map(([flags], i) => sb.tsrun([i % 2 ? 'create' : 'run', '--network', 'none', ...flags, '--rootfs', busybox(), 'true'])));
    results.forEach((r, i) => {
      const [flags, message] = cases[i];
      expect({ flags, exitCode: r.exitCode, stdout: r.stdout }).toEqual({ flags, exitCode: 125, stdout: '' });
      expect(String(r.stderr).split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toMatch(/^tsrun: /);
    });
    expect(await sb.tsrun(['ps', '-aq'])).toMatchObject({ exitCode: 0, stdout: '' });
  }, timeout(60_000));
});
