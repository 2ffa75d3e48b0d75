// Resource limits as the kernel enforces them (memory, pids, CPU quota and
// cpuset, swap, the device cgroup), bad limit flags, and the error paths of
// the lifecycle verbs. The cgroup files are looked up per mode: v1 on the
// hybrid host, v2 in the VM (TSRUN_VM=1).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import {
  alive, cgroupDirs, cgroupParentDirs, cgroupPids, cgroupV2, inspect, leftovers, listDir, mountsMentioning, NOTHING, psAll, readCgroup,
  runDetached, Sandboxes, slow, sleep, timeout, waitFor,
} from '../helpers/lifecycle.js';
import { busybox, integrationSkipReason } from '../helpers/tsrun.js';

const skip = integrationSkipReason('limits');
const MiB = 1024 * 1024;

describe.skipIf(skip)('resource limits', () => {
  const sandboxes = new Sandboxes();
  afterEach(() => sandboxes.cleanup(), timeout(60_000));

  it('a memory hog under --memory 32m is OOM-killed: 137 and OOMKilled', async () => {
    const sb = sandboxes.make();
    // The shell itself grows (a string doubling each round) past 32 MiB.
    const r = await sb.tsrun(['run', '--name', 'hog', '-m', '32m', '--rootfs', busybox(), 'sh', '-c', 'x=0123456789; while :; do x="$x$x"; done']);
    expect(r.exitCode).toBe(137);
    const d = await inspect(sb, 'hog');
    expect(d.State).toMatchObject({ Status: 'exited', ExitCode: 137, OOMKilled: true });
    expect(d.HostConfig.Memory).toBe(32 * MiB);
    expect(readCgroup(d.Id, 'memory')).toBe(String(32 * MiB));
  }, timeout(60_000));

  it('a fork bomb under --pids-limit 32 is contained, the host still forks, and rm -f cleans it up', async () => {
    const sb = sandboxes.make();
    // The subshell forks sleepers until the kernel says no (ash then gives
    // up); PID 1 waits for it, then execs, as its own fork would fail too.
    const id = await runDetached(sb, ['--name', 'bomb', '--pids-limit', '32', 'sh', '-c', '(while :; do sleep 1000 & done) 2>/dev/null; exec sleep 1000']);
    expect(readCgroup(id, 'pids.max')).toBe('32');
    // The kernel refused a fork (pids.events "max N" counts them) ...
    await waitFor(() => Number(/^max (\d+)$/m.exec(readCgroup(id, 'pids.events'))?.[1]) > 0, 'a refused fork');
    // ... and the container stays at the limit: PID 1 and the sleepers.
    for (let i = 0; i < 5; i++) {
      const n = Number(readCgroup(id, 'pids.current'));
      expect(n).toBeLessThanOrEqual(32);
      expect(n).toBeGreaterThanOrEqual(30);
      await sleep(slow(50));
    }
    expect((await execa('sh', ['-c', 'sleep 0 & wait; echo forked'])).stdout).toBe('forked');

    const pids = cgroupPids(id);
    expect(pids.length).toBeGreaterThanOrEqual(30);
    expect(await sb.tsrun(['rm', '-f', 'bomb'])).toMatchObject({ exitCode: 0, stdout: 'bomb' });
    expect(leftovers(sb, [id])).toEqual(NOTHING);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, timeout(60_000));

  it('--cpus 0.5 throttles a busy loop; --cpuset-cpus 0 lands in cpuset.cpus', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'spin', '--cpus', '0.5', '--cpuset-cpus', '0', 'sh', '-c', 'while :; do :; done']);
    expect(readCgroup(id, 'cpu.quota')).toBe(cgroupV2 ? '50000 100000' : '50000');
    expect(readCgroup(id, 'cpuset.cpus')).toBe('0');
    const throttled = () => Number(/^nr_throttled (\d+)$/m.exec(readCgroup(id, 'cpu.stat'))?.[1] ?? 0);
    await sleep(slow(1000));
    await waitFor(() => throttled() > 0, 'nr_throttled > 0 in cpu.stat');
    const d = await inspect(sb, 'spin');
    expect(d.HostConfig).toMatchObject({ NanoCpus: 500_000_000, CpuQuota: 50_000, CpuPeriod: 100_000, CpusetCpus: '0' });
  }, timeout(60_000));

  it('--memory-swap sets memory+swap (v1 memsw; v2 swap.max = swap - memory)', async () => {
    const sb = sandboxes.make();
    const r = await sb.tsrun(['run', '-d', '--name', 'swp', '-m', '32m', '--memory-swap', '64m', '--rootfs', busybox(), 'sleep', '1000']);
    if (r.exitCode !== 0) {
      // A kernel without swap accounting: a clear refusal, and nothing created.
      expect(r.exitCode).toBe(125);
      expect(r.stderr).toMatch(/^tsrun: cannot apply --memory-swap: the memory controller has no swap accounting/);
      expect(await psAll(sb)).toEqual([]);
      process.stderr.write('[limits] --memory-swap: this kernel has no swap accounting; checked the refusal only\n');
      return;
    }
    const id = String(r.stdout);
    expect(readCgroup(id, 'memory')).toBe(String(32 * MiB));
    expect(readCgroup(id, 'memsw')).toBe(String(cgroupV2 ? 32 * MiB : 64 * MiB));
    expect((await inspect(sb, 'swp')).HostConfig).toMatchObject({ Memory: 32 * MiB, MemorySwap: 64 * MiB });
  }, timeout(60_000));

  it('the device cgroup denies a block device made with mknod, and allows /dev/null', async () => {
    const sb = sandboxes.make();
    const r = await sb.run([
      'sh', '-c',
      'mknod /dev/sdx b 8 0 && echo made; head -c1 /dev/sdx >/dev/null; echo "read=$?"; echo x > /dev/null && head -c1 /dev/zero >/dev/null && echo null-ok',
    ]);
    expect(r.exitCode).toBe(0);
    // mknod itself is allowed (CAP_MKNOD, the "m" rules); opening is not.
    expect(String(r.stdout).split('\n')).toEqual(['made', 'read=1', 'null-ok']);
    expect(r.stderr).toMatch(/\/dev\/sdx: Operation not permitted/);
  }, timeout(60_000));

  it.each([
    [['--memory', 'abc'], /^tsrun: invalid argument "abc" for "--memory" flag/],
    [['--cpus', '-1'], /^tsrun: invalid --cpus "-1": range of CPUs is from 0\.01 to/],
    [['--pids-limit', 'x'], /^tsrun: invalid argument "x" for "--pids-limit" flag/],
    [['--cpuset-cpus', '99'], /^tsrun: invalid --cpuset-cpus "99": requested CPUs are not available/],
  ])('bad input %j → 125, one clear line naming the flag, nothing created', async (flags, message) => {
    const sb = sandboxes.make();
    // A parent of our own, so "no cgroup was made" can be checked while other tests make theirs.
    const parent = `tsrun-limits-${randomBytes(4).toString('hex')}`;
    const mounts = mountsMentioning(sb.root).length;
    const r = await sb.tsrun(['run', '-d', '--name', 'bad', '--cgroup-parent', parent, ...flags, '--rootfs', busybox(), 'true']);
    expect(r).toMatchObject({ exitCode: 125, stdout: '' });
    expect(r.stderr).toMatch(message);
    expect(String(r.stderr).split('\n')).toHaveLength(1);
    expect(listDir(join(sb.root, 'containers'))).toEqual([]);
    expect(listDir(join(sb.runroot, 'containers'))).toEqual([]);
    expect(cgroupParentDirs(parent)).toEqual([]);
    expect(mountsMentioning(sb.root)).toHaveLength(mounts);
    expect(await psAll(sb)).toEqual([]);
  }, timeout(60_000));

  it('stop, kill, rm, logs and inspect of an unknown container exit 1 with "No such container"', async () => {
    const sb = sandboxes.make();
    for (const verb of [['stop'], ['kill'], ['rm'], ['logs'], ['inspect']]) {
      const r = await sb.tsrun([...verb, 'ghost']);
      expect(r.exitCode, verb[0]).toBe(1);
      expect(r.stderr, verb[0]).toBe('tsrun: No such container: ghost');
    }
  }, timeout(60_000));

  it('stopping a stopped container is not an error: exit 0, its name, a notice on stderr', async () => {
    const sb = sandboxes.make();
    expect((await sb.tsrun(['run', '--name', 'over', '--rootfs', busybox(), 'true'])).exitCode).toBe(0);
    const r = await sb.tsrun(['stop', 'over']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'over' });
    expect(r.stderr).toMatch(/not running/);
  }, timeout(60_000));

  it('rm of a running container without -f fails, says to stop or force, and leaves it running', async () => {
    const sb = sandboxes.make();
    const id = await runDetached(sb, ['--name', 'busy', 'sleep', '1000']);
    const r = await sb.tsrun(['rm', 'busy']);
    expect(r).toMatchObject({ exitCode: 1, stdout: '' });
    expect(r.stderr).toMatch(/stop the container before removing or force remove/);
    const d = await inspect(sb, 'busy');
    expect(d.State).toMatchObject({ Status: 'running', Running: true });
    expect(alive(d.State.Pid)).toBe(true);
    expect(cgroupDirs(id).length).toBeGreaterThan(0);
  }, timeout(60_000));
});
