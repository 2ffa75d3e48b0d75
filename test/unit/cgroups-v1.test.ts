// createCgroup & co. on a fake cgroup v1 (hybrid) tree (test/helpers/fake-cgroupfs.ts).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupMode, createCgroup, openCgroup } from '../../src/cgroups/index.js';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs.js';
import { rejection } from '../helpers/expect-error.js';


const MiB = 1024 * 1024;
const ALL = ['blkio', 'cpu,cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'];
let fake: FakeCgroupFs;
afterEach(() => fake?.cleanup());

describe('cgroup v1 create', () => {
  it('makes a directory in every hierarchy, copies the cpuset, writes the limits and the device rules', async () => {
    fake = new FakeCgroupFs('v1', { cpus: '0-3' });
    const deps = fake.deps();
    expect(cgroupMode(deps)).toBe('v1');
    const cg = await createCgroup(deps, 'tsrun/c1', {
      memory: { limit: 32 * MiB, swap: 64 * MiB },
      cpu: { quota: 50_000, period: 100_000, shares: 512, cpus: '0' },
      pids: { limit: 16 },
      blockIO: { throttleWriteBpsDevice: [{ major: 254, minor: 0, rate: MiB }] },
      devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
    });
    expect(cg.mode).toBe('v1');
    expect(fake.dirs()).toEqual([...ALL, 'systemd', 'unified'].sort().flatMap((h) => (ALL.includes(h) ? [h, `${h}/tsrun`, `${h}/tsrun/c1`] : [h])).sort());
    expect(fake.writes).toEqual([
      // An empty v1 cpuset cannot take a process: parent values first, at each level.
      { path: 'cpuset/tsrun/cpuset.cpus', value: '0-3' },
      { path: 'cpuset/tsrun/cpuset.mems', value: '0' },
      { path: 'cpuset/tsrun/c1/cpuset.cpus', value: '0-3' },
      { path: 'cpuset/tsrun/c1/cpuset.mems', value: '0' },
      { path: 'memory/tsrun/c1/memory.limit_in_bytes', value: String(32 * MiB) },
      { path: 'memory/tsrun/c1/memory.memsw.limit_in_bytes', value: String(64 * MiB) },
      { path: 'cpu,cpuacct/tsrun/c1/cpu.shares', value: '512' },
      { path: 'cpu,cpuacct/tsrun/c1/cpu.cfs_period_us', value: '100000' },
      { path: 'cpu,cpuacct/tsrun/c1/cpu.cfs_quota_us', value: '50000' },
      { path: 'cpuset/tsrun/c1/cpuset.cpus', value: '0' },
      { path: 'pids/tsrun/c1/pids.max', value: '16' },
      { path: 'blkio/tsrun/c1/blkio.throttle.write_bps_device', value: `254:0 ${MiB}` },
      { path: 'devices/tsrun/c1/devices.deny', value: 'a' },
      { path: 'devices/tsrun/c1/devices.allow', value: 'c 1:3 rwm' },
    ]);
    expect(fake.filters).toEqual([]);
    expect(cg.procsFiles().map((f) => path.relative(fake.root, f)).sort()).toEqual(ALL.map((h) => `${h}/tsrun/c1/cgroup.procs`));
    expect(cg.oomFile()).toBe(path.join(fake.root, 'memory/tsrun/c1/memory.oom_control'));
  });

  it('installs Docker\'s default device rules when the spec has none', async () => {
    fake = new FakeCgroupFs('v1');
    await createCgroup(fake.deps(), 'tsrun/c2');
    const lines = fake.read('devices/tsrun/c2/devices.allow').trim().split('\n');
    expect(fake.read('devices/tsrun/c2/devices.deny')).toBe('a\n');
    expect(lines).toEqual(['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm']);
  });

  it('a second cgroup under an existing parent does not copy the cpuset again', async () => {
    fake = new FakeCgroupFs('v1');
    await createCgroup(fake.deps(), 'tsrun/a');
    fake.writes.length = 0;
    await createCgroup(fake.deps(), 'tsrun/b', { pids: { limit: 5 } });
    expect(fake.writes.filter((w) => w.path.startsWith('cpuset/'))).toEqual([
      { path: 'cpuset/tsrun/b/cpuset.cpus', value: '0-3' },
      { path: 'cpuset/tsrun/b/cpuset.mems', value: '0' },
    ]);
  });

  it('fails before creating anything when a needed hierarchy is not mounted', async () => {
    fake = new FakeCgroupFs('v1', { controllers: ['memory', 'cpu,cpuacct', 'freezer'] });
    const err = await rejection(createCgroup(fake.deps(), 'tsrun/c3', { memory: { limit: 32 * MiB }, pids: { limit: 10 } }));
    expect(err).toMatchObject({
      code: 'CGROUP_UNAVAILABLE',
      message: `cannot apply --pids-limit: the pids controller is not mounted (no cgroup v1 hierarchy carries it under ${fake.root})`,
    });
    expect(fake.dirs()).toEqual(['cpu,cpuacct', 'freezer', 'memory', 'systemd', 'unified']);
  });

  it('fails without swap accounting and leaves nothing in any hierarchy', async () => {
    fake = new FakeCgroupFs('v1', { missingFiles: ['memory.memsw.limit_in_bytes'] });
    const err = await rejection(createCgroup(fake.deps(), 'tsrun/c4', { memory: { limit: 32 * MiB, swap: 64 * MiB } }));
    expect(err).toMatchObject({
      code: 'CGROUP_UNAVAILABLE',
      message: 'cannot apply --memory-swap: the memory controller has no swap accounting (memory.memsw.limit_in_bytes missing)',
    });
    expect(fake.dirs()).toEqual([...ALL, 'systemd', 'unified'].sort());
    // Nothing was written except the cpuset copies into directories now gone.
    expect(fake.writes.every((w) => w.path.startsWith('cpuset/'))).toBe(true);
  });

  it('raises memory+swap before memory when growing an existing cgroup past its memsw limit', async () => {
    fake = new FakeCgroupFs('v1');
    await createCgroup(fake.deps(), 'tsrun/c5', { memory: { limit: 16 * MiB, swap: 16 * MiB } });
    fake.writes.length = 0;
    // Same path again (createCgroup reuses an existing leaf, as runc does).
    await createCgroup(fake.deps(), 'tsrun/c5', { memory: { limit: 32 * MiB, swap: 64 * MiB } });
    expect(fake.writes.filter((w) => w.path.startsWith('memory/'))).toEqual([
      { path: 'memory/tsrun/c5/memory.memsw.limit_in_bytes', value: String(64 * MiB) },
      { path: 'memory/tsrun/c5/memory.limit_in_bytes', value: String(32 * MiB) },
    ]);
  });

  it('goes on without a devices hierarchy (the rules cannot be enforced there)', async () => {
    fake = new FakeCgroupFs('v1', { controllers: ['memory', 'freezer'] });
    const cg = await createCgroup(fake.deps(), 'tsrun/c6', { memory: { limit: 8 * MiB } });
    expect(cg.procsFiles()).toHaveLength(2);
    expect(fake.writes).toEqual([{ path: 'memory/tsrun/c6/memory.limit_in_bytes', value: String(8 * MiB) }]);
  });

  it('skips an unlimited swap when there is no memory hierarchy at all', async () => {
    fake = new FakeCgroupFs('v1', { controllers: ['pids'] });
    await createCgroup(fake.deps(), 'tsrun/c8', { memory: { swap: -1 } });
    expect(fake.writes).toEqual([]);
  });

  it('fails with CGROUP_UNAVAILABLE when nothing is mounted', async () => {
    fake = new FakeCgroupFs('v1', { controllers: [] });
    expect(await rejection(createCgroup(fake.deps(), 'tsrun/c7'))).toMatchObject({ code: 'CGROUP_UNAVAILABLE', message: `no cgroup filesystem is mounted under ${fake.root}` });
  });
});

describe('cgroup v1 handle', () => {
  it('freezes by writing FROZEN until freezer.state says FROZEN, then thaws', async () => {
    fake = new FakeCgroupFs('v1');
    const cg = await createCgroup(fake.deps(), 'tsrun/f1');
    fake.freezeAfterWrites = 3; // FREEZING twice first
    await cg.freeze();
    expect(await cg.frozen()).toBe(true);
    expect(fake.writes.filter((w) => w.path.endsWith('freezer.state')).map((w) => w.value)).toEqual(['FROZEN', 'FROZEN', 'FROZEN']);
    await cg.thaw();
    expect(await cg.frozen()).toBe(false);
    expect(fake.read('freezer/tsrun/f1/freezer.state')).toBe('THAWED\n');
  });

  it('gives up with CGROUP_BUSY and leaves the cgroup thawed when it stays FREEZING', async () => {
    fake = new FakeCgroupFs('v1');
    const cg = await createCgroup(fake.deps(), 'tsrun/f2');
    fake.freezeAfterWrites = Infinity;
    const err = await rejection(cg.freeze({ timeoutMs: 60 }));
    expect(err.code).toBe('CGROUP_BUSY');
    expect(fake.read('freezer/tsrun/f2/freezer.state')).toBe('THAWED\n');
  });

  it('freeze without a freezer hierarchy is CGROUP_UNAVAILABLE', async () => {
    fake = new FakeCgroupFs('v1', { controllers: ['memory'] });
    const cg = await createCgroup(fake.deps(), 'tsrun/f3');
    expect((await rejection(cg.freeze())).code).toBe('CGROUP_UNAVAILABLE');
    expect(await cg.frozen()).toBe(false);
  });

  it('reads pids from every hierarchy, stats, cpu.stat and the OOM kill count', async () => {
    fake = new FakeCgroupFs('v1');
    await createCgroup(fake.deps(), 'tsrun/s1', { memory: { limit: 32 * MiB }, pids: { limit: 16 } });
    const cg = openCgroup(fake.deps(), 'tsrun/s1');
    const put = (rel: string, text: string) => writeFileSync(path.join(fake.root, rel), text);
    put('memory/tsrun/s1/cgroup.procs', '10\n11\n');
    put('pids/tsrun/s1/cgroup.procs', '10\n12\n');
    put('cpu,cpuacct/tsrun/s1/cpuacct.usage', '987654321\n');
    put('cpu,cpuacct/tsrun/s1/cpuacct.stat', 'user 60\nsystem 38\n');
    put('cpu,cpuacct/tsrun/s1/cpu.stat', 'nr_periods 20\nnr_throttled 5\nthrottled_time 123456\n');
    put('memory/tsrun/s1/memory.usage_in_bytes', '4096\n');
    put('memory/tsrun/s1/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    put('pids/tsrun/s1/pids.current', '2\n');
    put('blkio/tsrun/s1/blkio.throttle.io_service_bytes_recursive', '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\n8:16 Read 100\n8:16 Write 0\nTotal 12388\n');
    expect(await cg.pids()).toEqual([10, 11, 12]);
    expect(await cg.stats()).toEqual({
      cpuUsageNs: 987654321, cpuUserNs: 600_000_000, cpuSystemNs: 380_000_000, memoryUsage: 4096, memoryLimit: 32 * MiB, pids: 2, pidsLimit: 16,
      blockRead: 4196, blockWrite: 8192,
    });
    expect(await cg.cpuStat()).toEqual({ nr_periods: 20, nr_throttled: 5, throttled_time: 123456 });
    expect(await cg.oomKillCount()).toBe(1);
  });

  it('reports the v1 "unlimited" memory value as null', async () => {
    fake = new FakeCgroupFs('v1');
    const cg = await createCgroup(fake.deps(), 'tsrun/s2');
    expect(await cg.stats()).toMatchObject({ memoryLimit: null, pidsLimit: null });
  });

  it('destroy removes the cgroup from every hierarchy, and the tsrun parent with the last one', async () => {
    fake = new FakeCgroupFs('v1');
    const cg = await createCgroup(fake.deps(), 'tsrun/d1');
    const other = await createCgroup(fake.deps(), 'tsrun/d2');
    await cg.destroy();
    expect(fake.dirs()).toEqual([...ALL.flatMap((h) => [h, `${h}/tsrun`, `${h}/tsrun/d2`]), 'systemd', 'unified'].sort());
    await other.destroy();
    expect(fake.dirs()).toEqual([...ALL, 'systemd', 'unified'].sort());
    await openCgroup(fake.deps(), 'tsrun/d1').destroy();
  });

  it('destroy leaves a parent the user chose', async () => {
    fake = new FakeCgroupFs('v1');
    await (await createCgroup(fake.deps(), 'mine/d1')).destroy();
    expect(fake.dirs()).toEqual([...ALL.flatMap((h) => [h, `${h}/mine`]), 'systemd', 'unified'].sort());
  });

  it('a parent pruned by another removal between two levels is made again', async () => {
    fake = new FakeCgroupFs('v1');
    const { makeCgroupPath } = await import('../../src/cgroups/fsutil.js');
    const root = path.join(fake.root, 'pids');
    let pruned = false;
    const made = await makeCgroupPath(fake.deps().dirs!, root, 'tsrun/d3', {
      after: async (dir) => {
        if (!pruned && dir.endsWith('/tsrun')) {
          pruned = true;
          fake.rmdir(dir); // another container's destroy emptied and removed it
        }
      },
    });
    expect(made).toContain(path.join(root, 'tsrun/d3'));
    expect(fake.dirs()).toContain('pids/tsrun/d3');
  });
});
