// Issue 14, "everything else": run/create's --cidfile, --stop-signal,
// --stop-timeout, --expose, -a, --sig-proxy, --detach-keys and the limit
// flags (--memory-reservation, --cpu-period/--cpu-quota, --blkio-weight,
// --oom-kill-disable); `update` on running and stopped containers; `stats`
// with NET I/O and BLOCK I/O, --format, -a and streaming. The cgroup files
// are looked up per mode: v1 on the hybrid host, v2 in the VM.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupV2, inspect, readCgroup, sleep, timeout, VM, waitFor } from '../helpers/lifecycle.js';
import { busybox, cli, hasTool, integrationSkipReason, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('run-flags-update-stats');
const MiB = 1024 * 1024;
const CG = '/sys/fs/cgroup';

/** A control file of container `id`: [v1 controller, v1 file] on the host, the v2 file in the VM. */
function cgFile(id: string, v1: [string, string], v2: string): string {
  return cgroupV2 ? join(CG, 'tsrun', id, v2) : join(CG, v1[0], 'tsrun', id, v1[1]);
}
const readCg = (id: string, v1: [string, string], v2: string) => readFileSync(cgFile(id, v1, v2), 'utf8').trim();

async function ok(sb: Sandbox, args: string[]): Promise<string> {
  const r = await sb.tsrun(args);
  expect({ args, stderr: r.stderr, exitCode: r.exitCode }).toMatchObject({ stderr: '', exitCode: 0 });
  return String(r.stdout);
}

const run = (sb: Sandbox, args: string[]) => sb.tsrun(['run', '-d', '--network', 'none', ...args.slice(0, -1), '--rootfs', busybox(), 'sh', '-c', args.at(-1)!]);

describe.skipIf(skip)('run flags, update, stats', () => {
  const sb = sandbox();
  afterAll(() => sb.cleanup());

  it('the new limit flags land in the cgroup and in inspect', async () => {
    const r = await run(sb, ['--name', 'lim', '-m', '64m', '--memory-reservation', '32m', '--cpu-period', '50000', '--cpu-quota', '25000',
      '--blkio-weight', '300', '--oom-kill-disable', 'sleep 1000']);
    expect(r.exitCode).toBe(0);
    const id = String(r.stdout);
    expect(readCg(id, ['memory', 'memory.soft_limit_in_bytes'], 'memory.low')).toBe(String(32 * MiB));
    if (cgroupV2) expect(readCg(id, ['cpu', ''], 'cpu.max')).toBe('25000 50000');
    else expect([readCg(id, ['cpu', 'cpu.cfs_period_us'], ''), readCg(id, ['cpu', 'cpu.cfs_quota_us'], '')]).toEqual(['50000', '25000']);
    const hc = (await inspect(sb, 'lim')).HostConfig;
    expect(hc).toMatchObject({ Memory: 64 * MiB, MemoryReservation: 32 * MiB, CpuPeriod: 50000, CpuQuota: 25000, NanoCpus: 0 });
    // Docker's rule for what the host lacks: a warning, and the setting discarded.
    if (cgroupV2) {
      expect(r.stderr).toMatch(/^WARNING: Your kernel does not support OomKillDisable\. OomKillDisable discarded\.$/m);
      expect(hc.OomKillDisable).toBe(false);
    } else {
      expect(readCg(id, ['memory', 'memory.oom_control'], '')).toMatch(/^oom_kill_disable 1$/m);
      expect(hc.OomKillDisable).toBe(true);
    }
    const weightFile = cgroupV2 ? ['io.bfq.weight', 'io.weight'].map((f) => join(CG, 'tsrun', id, f)) : ['blkio.weight', 'blkio.bfq.weight'].map((f) => join(CG, 'blkio/tsrun', id, f));
    if (weightFile.some(existsSync)) expect(hc.BlkioWeight).toBe(300);
    else if (!cgroupV2) {
      expect(r.stderr).toMatch(/^WARNING: Your kernel does not support Block I\/O weight or the cgroup is not mounted\. Weight discarded\.$/m);
      expect(hc.BlkioWeight).toBe(0);
    }
    await ok(sb, ['rm', '-f', 'lim']);
  }, timeout(60_000));

  it('update: a running container\'s cgroup and inspect; a stopped one\'s next start; Docker\'s refusals', async () => {
    const id = String((await run(sb, ['--name', 'upd', '-m', '32m', '--pids-limit', '10', '--cpus', '0.5', 'sleep 1000'])).stdout);
    expect(await ok(sb, ['update', '-m', '64m', '--pids-limit', '20', '--cpus', '1', '--memory-reservation', '16m', 'upd'])).toBe('upd');
    expect(readCgroup(id, 'memory')).toBe(String(64 * MiB));
    expect(readCgroup(id, 'pids.max')).toBe('20');
    expect(readCgroup(id, 'cpu.quota')).toBe(cgroupV2 ? '100000 100000' : '100000');
    expect((await inspect(sb, 'upd')).HostConfig).toMatchObject({ Memory: 64 * MiB, MemoryReservation: 16 * MiB, PidsLimit: 20, NanoCpus: 1e9 });
    // `container update`, and -1 lifts the pids limit.
    expect(await ok(sb, ['container', 'update', '--pids-limit', '-1', 'upd'])).toBe('upd');
    expect(readCgroup(id, 'pids.max')).toBe('max');
    expect((await inspect(sb, 'upd')).HostConfig.PidsLimit).toBe(null);

    let r = await sb.tsrun(['update', '--cpu-period', '50000', 'upd']);
    expect([r.exitCode, r.stderr]).toEqual([1, 'tsrun: Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set']);
    r = await sb.tsrun(['update', 'upd']);
    expect([r.exitCode, r.stderr]).toEqual([1, 'tsrun: you must provide one or more flags when using this command']);
    r = await sb.tsrun(['update', '-m', '1k', 'upd']);
    expect([r.exitCode, r.stderr]).toEqual([1, 'tsrun: invalid --memory "1k": Minimum memory limit allowed is 6MB']);
    expect(readCgroup(id, 'memory')).toBe(String(64 * MiB));

    // Stopped: kept for the next start.
    await ok(sb, ['stop', '-t', '0', 'upd']);
    await ok(sb, ['update', '-m', '48m', '--pids-limit', '7', 'upd']);
    expect((await inspect(sb, 'upd')).HostConfig).toMatchObject({ Memory: 48 * MiB, PidsLimit: 7 });
    await ok(sb, ['start', 'upd']);
    expect(readCgroup(id, 'memory')).toBe(String(48 * MiB));
    expect(readCgroup(id, 'pids.max')).toBe('7');
    await ok(sb, ['rm', '-f', 'upd']);

    // Docker's check against the swap limit it has (a created container: no cgroup, no swap accounting needed).
    await ok(sb, ['create', '--name', 'swp', '--network', 'none', '-m', '32m', '--memory-swap', '64m', '--rootfs', busybox(), 'true']);
    r = await sb.tsrun(['update', '-m', '128m', 'swp']);
    expect(r.stderr).toBe('tsrun: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    await ok(sb, ['update', '-m', '128m', '--memory-swap', '256m', 'swp']);
    expect((await inspect(sb, 'swp')).HostConfig).toMatchObject({ Memory: 128 * MiB, MemorySwap: 256 * MiB });
    await ok(sb, ['rm', 'swp']);
  }, timeout(60_000));

  it('update --restart sets the restart policy', async () => {
    await ok(sb, ['create', '--name', 'rp', '--network', 'none', '--rootfs', busybox(), 'true']);
    await ok(sb, ['update', '--restart', 'on-failure:3', 'rp']);
    expect((await inspect(sb, 'rp')).HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    const r = await sb.tsrun(['update', '--restart', 'sometimes', 'rp']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^tsrun: .*sometimes/);
    await ok(sb, ['rm', 'rp']);
  }, timeout(30_000));

  it('--cidfile: the id is written; an existing file is refused and kept, nothing created', async () => {
    const file = join(sb.root, 'cid');
    const id = String((await sb.tsrun(['create', '--cidfile', file, '--network', 'none', '--rootfs', busybox(), 'true'])).stdout);
    expect(readFileSync(file, 'utf8')).toBe(id);
    expect((await inspect(sb, id)).HostConfig.ContainerIDFile).toBe(file);
    const r = await sb.tsrun(['run', '--rm', '--cidfile', file, '--network', 'none', '--rootfs', busybox(), 'true']);
    expect([r.exitCode, r.stderr]).toEqual([125, `tsrun: Container ID file found, make sure the other container isn't running or delete ${file}`]);
    expect(readFileSync(file, 'utf8')).toBe(id);
    await ok(sb, ['rm', id]);
    // A create that fails takes its file away.
    rmSync(file);
    const bad = await sb.tsrun(['run', '--cidfile', file, '--name', 'x!', '--network', 'none', '--rootfs', busybox(), 'true']);
    expect(bad.exitCode).toBe(125);
    expect(existsSync(file)).toBe(false);
  }, timeout(30_000));

  it('--stop-signal is what stop sends; --stop-timeout how long it waits; both in Config', async () => {
    await run(sb, ['--name', 'sig', '--stop-signal', 'USR1', 'trap "echo got-USR1; exit 7" USR1; echo ready; while :; do sleep 0.1; done']);
    await waitFor(async () => String((await sb.tsrun(['logs', 'sig'])).stdout).includes('ready'), 'ready');
    await ok(sb, ['stop', 'sig']);
    const d = await inspect(sb, 'sig');
    expect(d.State.ExitCode).toBe(7);
    expect(d.Config.StopSignal).toBe('USR1');
    expect(String((await sb.tsrun(['logs', 'sig'])).stdout)).toBe('ready\ngot-USR1');

    await run(sb, ['--name', 'slow', '--stop-timeout', '1', 'trap "" TERM; echo ready; while :; do sleep 0.1; done']);
    await waitFor(async () => String((await sb.tsrun(['logs', 'slow'])).stdout).includes('ready'), 'ready');
    const t0 = Date.now();
    await ok(sb, ['stop', 'slow']);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(8000); // not the default 10 s
    expect((await inspect(sb, 'slow')).Config.StopTimeout).toBe(1);
    await ok(sb, ['rm', 'sig', 'slow']);
  }, timeout(60_000));

  it('-a picks the streams run attaches; --sig-proxy=false leaves the container alone', async () => {
    const r = await sb.tsrun(['run', '--rm', '-a', 'stderr', '--network', 'none', '--rootfs', busybox(), 'sh', '-c', 'echo out; echo err >&2']);
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, '', 'err']);

    const script = 'trap "echo got-TERM; exit 5" TERM; echo ready; while :; do sleep 0.1; done';
    for (const proxy of [true, false]) {
      const name = `proxy-${proxy}`;
      const p = sb.tsrun(['run', '--name', name, `--sig-proxy=${proxy}`, '--network', 'none', '--rootfs', busybox(), 'sh', '-c', script]);
      await new Promise<void>((resolve) => p.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
      p.kill('SIGTERM');
      const res = await p;
      if (proxy) {
        // Forwarded: the container's trap ran, and run exits with its code.
        expect([res.exitCode, res.stdout]).toEqual([5, 'ready\ngot-TERM']);
      } else {
        // Not forwarded: tsrun went (128+15, as Docker's client) and the container runs on.
        expect([res.exitCode, res.stdout]).toEqual([143, 'ready']);
        expect((await inspect(sb, name)).State.Status).toBe('running');
      }
      await ok(sb, ['rm', '-f', name]);
    }
    const d = await inspect(sb, String((await sb.tsrun(['create', '-i', '-a', 'stdout', '--network', 'none', '--rootfs', busybox(), 'true'])).stdout));
    expect(d.Config).toMatchObject({ AttachStdin: true, AttachStdout: true, AttachStderr: false });
    await ok(sb, ['rm', d.Id]);
  }, timeout(60_000));

  it.skipIf(!hasTool('tmux'))('--detach-keys: run -it and attach let go, the container runs on', async () => {
    const session = `tsrun-dk-${process.pid}`;
    const tsrun = `node -- ${cli} --root ${sb.root} --runroot ${sb.runroot}`;
    const tmux = (...a: string[]) => execa('tmux', a, { reject: false });
    const screen = async () => (await tmux('capture-pane', '-pt', session)).stdout;
    const waitScreen = async (re: RegExp) => waitFor(async () => re.test(await screen()), `screen ${re}`);
    await tmux('new-session', '-d', '-s', session, '-x', '90', '-y', '25',
      `${tsrun} run -it --name dk --network none --rootfs ${busybox()} sh; echo RUN=$?; ${tsrun} attach --detach-keys ctrl-x,x dk; echo ATTACH=$?; sleep 60`);
    try {
      await waitScreen(/^\/ #/m);
      await tmux('send-keys', '-t', session, 'echo typed-$((6*7))', 'Enter');
      await waitScreen(/typed-42/);
      await tmux('send-keys', '-t', session, 'C-p', 'C-q');
      await waitScreen(/RUN=0/);
      expect((await inspect(sb, 'dk')).State.Status).toBe('running');
      // attached again (the default keys are just input now), then let go with its own keys
      await tmux('send-keys', '-t', session, 'echo again-$((2*3))', 'Enter');
      await waitScreen(/again-6/);
      await tmux('send-keys', '-t', session, 'C-x', 'x');
      await waitScreen(/ATTACH=0/);
      expect((await inspect(sb, 'dk')).State.Status).toBe('running');
    } finally {
      await tmux('kill-session', '-t', session);
      await sb.tsrun(['rm', '-f', 'dk']);
    }
  }, timeout(60_000));

  it('bad input for each new flag: one line, exit 125, nothing created, no cidfile', async () => {
    const bad = sandbox();
    try {
      const cid = join(bad.root, 'cid');
      const cases: Array<[string[], RegExp]> = [
        [['--stop-signal', 'NOPE'], /^tsrun: invalid signal: NOPE$/],
        [['--stop-timeout', 'soon'], /^tsrun: invalid argument "soon" for "--stop-timeout" flag/],
        [['--expose', '80-x'], /^tsrun: invalid range format for --expose: 80-x/],
        [['--expose', '80/sctp'], /^tsrun: invalid range format for --expose: 80\/sctp/],
        [['-a', 'stdfoo'], /^tsrun: invalid argument "stdfoo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR$/],
        [['-d', '-a', 'stdout'], /^tsrun: conflicting options: cannot specify both --attach and --detach$/],
        [['--sig-proxy=maybe'], /^tsrun: invalid argument "maybe" for "--sig-proxy" flag/],
        [['--detach-keys', 'ctrl-1'], /^tsrun: invalid --detach-keys "ctrl-1": Unknown character: 'ctrl-1'/],
        [['--memory-reservation', '1k'], /^tsrun: invalid --memory-reservation "1k": Minimum memory reservation allowed is 6MB$/],
        [['-m', '16m', '--memory-reservation', '32m'], /Minimum memory limit can not be less than memory reservation limit/],
        [['--cpu-period', '100'], /^tsrun: invalid --cpu-period 100: CPU cfs period can not be less than 1ms/],
        [['--cpu-quota', '100'], /^tsrun: invalid --cpu-quota 100: CPU cfs quota can not be less than 1ms/],
        [['--cpus', '1', '--cpu-quota', '50000'], /^tsrun: Conflicting options: Nano CPUs and CPU Quota cannot both be set$/],
        [['--blkio-weight', '5'], /^tsrun: invalid --blkio-weight 5: Range of blkio weight is from 10 to 1000$/],
        [['--blkio-weight', 'heavy'], /^tsrun: invalid argument "heavy" for "--blkio-weight" flag/],
        [['--oom-kill-disable=perhaps'], /^tsrun: invalid argument "perhaps" for "--oom-kill-disable" flag/],
      ];
      for (const [flags, re] of cases) {
        const r = await bad.tsrun(['run', '--cidfile', cid, '--network', 'none', ...flags, '--rootfs', busybox(), 'true']);
        expect({ flags, exitCode: r.exitCode, lines: String(r.stderr).split('\n').length }).toEqual({ flags, exitCode: 125, lines: 1 });
        expect(r.stderr).toMatch(re);
        expect(existsSync(cid)).toBe(false);
      }
      expect(String((await bad.tsrun(['ps', '-aq'])).stdout)).toBe('');
    } finally {
      bad.cleanup();
    }
  }, timeout(60_000));

  // Bridge networking is tested on the host (the VM guest has none).
  it.skipIf(VM)('stats: NET I/O between two containers on a bridge, BLOCK I/O, --format, -a, a stream', async () => {
    // BLOCK I/O: v1 counts block I/O in the throttle policy, which is only on for a device with a limit.
    const dev = blockDeviceOf(dirname(sb.root)); // where -v volumes go
    if (dev) {
      await ok(sb, ['run', '-d', '--name', 'disk', '--network', 'none', '-v', '/data', '--device-write-bps', `${dev}:1gb`, '--rootfs', busybox(), 'sh', '-c',
        'dd if=/dev/zero of=/data/x bs=1M count=4 oflag=direct 2>/dev/null; echo done; exec sleep 1000']);
    } else process.stderr.write('[run-flags-update-stats] BLOCK I/O: no block device under the test root; checked the format only\n');
    await ok(sb, ['network', 'create', '--subnet', '10.183.7.0/24', 'statsnet']);
    const net = ['--network', 'statsnet'];
    await ok(sb, ['run', '-d', '--name', 'srv', ...net, '--ip', '10.183.7.10', '-P', '--expose', '8080', '--rootfs', busybox(), 'sh', '-c',
      'mkdir -p /tmp/www && head -c 65536 /dev/zero > /tmp/www/f && exec httpd -f -p 80 -h /tmp/www']);
    expect((await inspect(sb, 'srv')).Config.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(String((await sb.tsrun(['port', 'srv'])).stdout)).toMatch(/^8080\/tcp -> 0\.0\.0\.0:\d+$/m);
    const fetched = await sb.tsrun(['run', '--rm', ...net, '--rootfs', busybox(), 'sh', '-c', 'wget -q -O - http://10.183.7.10/f | wc -c']);
    expect(fetched.stdout).toBe('65536');
    await ok(sb, ['create', '--name', 'idle', '--network', 'none', '--rootfs', busybox(), 'true']);
    if (dev) await waitFor(async () => String((await sb.tsrun(['logs', 'disk'])).stdout).includes('done'), 'the write');

    // -a: the stopped one too, with zeros; JSON lines.
    const docs = (await ok(sb, ['stats', '-a', '--no-stream', '--format', 'json'])).split('\n').map((l) => JSON.parse(l));
    const byName = Object.fromEntries(docs.map((d) => [d.Name, d]));
    expect(Object.keys(byName).sort()).toEqual(['idle', 'srv', ...(dev ? ['disk'] : [])].sort());
    const bytes = (s: string) => Number(/^([\d.]+)/.exec(s)![1]) * ({ B: 1, kB: 1e3, MB: 1e6, GB: 1e9 } as Record<string, number>)[/[a-zA-Z]+$/.exec(s)![0]];
    const [rx, tx] = byName.srv.NetIO.split(' / ').map(bytes);
    expect(tx).toBeGreaterThan(65536); // the file went out
    expect(rx).toBeGreaterThan(0);
    expect(byName.srv).toMatchObject({ Name: 'srv', ID: expect.stringMatching(/^[0-9a-f]{12}$/), PIDs: '1', BlockIO: expect.stringMatching(/^\S+B \/ \S+B$/) });
    expect(byName.idle).toMatchObject({ CPUPerc: '0.00%', MemUsage: '0B / 0B', NetIO: '0B / 0B', BlockIO: '0B / 0B', PIDs: '0' });
    if (dev) expect(bytes(byName.disk.BlockIO.split(' / ')[1])).toBeGreaterThanOrEqual(4e6); // 4 MiB, as "4.19MB"

    // The table: running containers only.
    const table = (await ok(sb, ['stats', '--no-stream'])).split('\n');
    expect(table[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(table.filter((l) => / srv /.test(l))).toHaveLength(1);
    expect(table.some((l) => / idle /.test(l))).toBe(false);

    // Streaming: a table a second (no screen clearing off a terminal), until stopped; `table TEMPLATE` has a header each time.
    const s = sb.tsrun(['stats', '--format', 'table {{.Name}}\t{{.PIDs}}', 'srv']);
    await sleep(3300);
    s.kill('SIGTERM');
    const streamed = String((await s).stdout);
    expect(streamed).not.toContain('\x1b[2J');
    expect(streamed.split('\n').filter((l) => /^NAME\s+PIDS$/.test(l)).length).toBeGreaterThanOrEqual(2);
    expect(streamed.split('\n').filter((l) => /^srv\s+1$/.test(l)).length).toBeGreaterThanOrEqual(2);
    await ok(sb, ['rm', '-f', 'srv', 'idle', ...(dev ? ['disk'] : [])]);
  }, timeout(90_000));
});

/** The /dev node of the block device holding `dir`, or null (a tmpfs, 9p, overlay...). */
function blockDeviceOf(dir: string): string | null {
  const dev = statSync(dir).dev;
  for (const name of readdirSync('/dev')) {
    try {
      const st = statSync(join('/dev', name));
      if (st.isBlockDevice() && st.rdev === dev) return join('/dev', name);
    } catch {
      // vanished
    }
  }
  return null;
}
