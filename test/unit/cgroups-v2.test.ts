// createCgroup & co. on a fake cgroup v2 tree (test/helpers/fake-cgroupfs.ts).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupMode, createCgroup, openCgroup } from '../../src/cgroups/index.js';
import { NativeSystemError } from '../../src/errors.js';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs.js';
import { rejection } from '../helpers/expect-error.js';


const MiB = 1024 * 1024;
let fake: FakeCgroupFs;
afterEach(() => fake?.cleanup());

const nonControl = (w: { path: string }) => !w.path.endsWith('cgroup.subtree_control');

describe('cgroup v2 create', () => {
  it('enables controllers in every ancestor, creates the cgroup and writes exactly the limits', async () => {
    fake = new FakeCgroupFs('v2');
    const deps = fake.deps();
    expect(cgroupMode(deps)).toBe('v2');
    const cg = await createCgroup(deps, 'tsrun/c1', {
      memory: { limit: 32 * MiB, swap: 48 * MiB },
      cpu: { quota: 50_000, period: 100_000, shares: 1024, cpus: '0' },
      pids: { limit: 16 },
      blockIO: { throttleReadBpsDevice: [{ major: 254, minor: 0, rate: MiB }] },
    });
    expect(cg.mode).toBe('v2');
    expect(cg.relPath).toBe('tsrun/c1');
    // Each controller enabled one write at a time, at the root and in tsrun/.
    const enables = fake.writes.filter((w) => !nonControl(w));
    expect(enables.map((w) => `${w.path} ${w.value}`)).toEqual(
      ['', 'tsrun/'].flatMap((d) => ['+memory', '+cpu', '+cpuset', '+pids', '+io'].map((v) => `${d}cgroup.subtree_control ${v}`)),
    );
    expect(fake.read('tsrun/cgroup.subtree_control').trim().split(' ').sort()).toEqual(['cpu', 'cpuset', 'io', 'memory', 'pids']);
    expect(fake.writes.filter(nonControl)).toEqual([
      { path: 'tsrun/c1/memory.swap.max', value: String(16 * MiB) },
      { path: 'tsrun/c1/memory.max', value: String(32 * MiB) },
      { path: 'tsrun/c1/cpu.weight', value: '39' },
      { path: 'tsrun/c1/cpu.max', value: '50000 100000' },
      { path: 'tsrun/c1/cpuset.cpus', value: '0' },
      { path: 'tsrun/c1/pids.max', value: '16' },
      { path: 'tsrun/c1/io.max', value: `254:0 rbps=${MiB}` },
    ]);
    expect(fake.filters).toHaveLength(1);
    expect(fake.filters[0]!.dir).toBe('tsrun/c1');
    expect(fake.filters[0]!.rules[0]).toEqual({ allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' });
    expect(fake.filters[0]!.rules).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(cg.procsFiles()).toEqual([path.join(fake.root, 'tsrun/c1/cgroup.procs')]);
    expect(cg.oomFile()).toBe(path.join(fake.root, 'tsrun/c1/memory.events'));
  });

  it('only enables what is on offer when no limit needs more', async () => {
    fake = new FakeCgroupFs('v2', { controllers: ['pids'] });
    const cg = await createCgroup(fake.deps(), 'tsrun/c2');
    expect(fake.writes).toEqual([
      { path: 'cgroup.subtree_control', value: '+pids' },
      { path: 'tsrun/cgroup.subtree_control', value: '+pids' },
    ]);
    expect(cg.oomFile()).toBeNull();
    expect(await cg.oomKillCount()).toBe(0);
  });

  it('fails with CGROUP_UNAVAILABLE naming the flag and controller, before creating anything', async () => {
    fake = new FakeCgroupFs('v2', { controllers: ['cpu', 'pids'] });
    const err = await rejection(createCgroup(fake.deps(), 'tsrun/c3', { memory: { limit: 32 * MiB } }));
    expect(err.code).toBe('CGROUP_UNAVAILABLE');
    expect(err.message).toMatch(/^cannot apply --memory: the memory controller is not available in cgroup v2 \(.*cgroup.controllers lists: cpu pids\)$/);
    expect(fake.dirs()).toEqual([]);
    expect(fake.writes).toEqual([]);
  });

  it('fails when swap accounting is missing and removes every directory it made', async () => {
    fake = new FakeCgroupFs('v2', { missingFiles: ['memory.swap.max'] });
    const err = await rejection(createCgroup(fake.deps(), 'a/b/c4', { memory: { limit: 32 * MiB, swap: 64 * MiB } }));
    expect(err).toMatchObject({
      code: 'CGROUP_UNAVAILABLE',
      message: 'cannot apply --memory-swap: the memory controller has no swap accounting (memory.swap.max missing)',
    });
    expect(fake.dirs()).toEqual([]);
    expect(fake.writes.filter(nonControl)).toEqual([]);
  });

  it('skips an unlimited swap without swap accounting', async () => {
    fake = new FakeCgroupFs('v2', { missingFiles: ['memory.swap.max'] });
    await createCgroup(fake.deps(), 'tsrun/c5', { memory: { limit: 32 * MiB, swap: -1 } });
    expect(fake.writes.filter(nonControl)).toEqual([{ path: 'tsrun/c5/memory.max', value: String(32 * MiB) }]);
  });

  it('keeps a parent that already existed when it cleans up', async () => {
    fake = new FakeCgroupFs('v2');
    await createCgroup(fake.deps(), 'tsrun/other');
    fake.filterError = new NativeSystemError({ message: 'bpf: EPERM', code: 'EPERM', errno: -1, syscall: 'bpf(BPF_PROG_LOAD)', step: 'cgroup' });
    const err = await rejection(createCgroup(fake.deps(), 'tsrun/c6'));
    expect(err).toMatchObject({ code: 'CGROUP_UNAVAILABLE', message: expect.stringContaining('cannot install the device rules') });
    expect(fake.dirs()).toEqual(['tsrun', 'tsrun/other']);
  });

  it('turns a value the kernel refuses into INVALID_ARGUMENT and cleans up', async () => {
    fake = new FakeCgroupFs('v2');
    const native = fake.deps().native;
    const deps = {
      ...fake.deps(),
      native: {
        ...native,
        cgroupWrite: (p: string, v: string) => {
          if (p.endsWith('cpuset.cpus')) throw new NativeSystemError({ message: `write ${p}: Invalid argument`, code: 'EINVAL', errno: -22, syscall: 'write', path: p, step: 'cgroup' });
          native.cgroupWrite(p, v);
        },
      },
    };
    const err = await rejection(createCgroup(deps, 'tsrun/c7', { cpu: { cpus: '7' } }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/^cannot apply --cpuset-cpus: the kernel refused the value \(writing "7" to .*cpuset.cpus failed: write .*Invalid argument\)$/);
    expect(fake.dirs()).toEqual([]);
  });

  it('rejects a relative path that escapes', async () => {
    fake = new FakeCgroupFs('v2');
    expect((await rejection(createCgroup(fake.deps(), '../x'))).code).toBe('INVALID_ARGUMENT');
    expect(() => openCgroup(fake.deps(), '/abs')).toThrow(/invalid cgroup path/);
  });
});

describe('cgroup v2 handle', () => {
  it('freezes by writing cgroup.freeze and polling cgroup.events until frozen', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = await createCgroup(fake.deps(), 'tsrun/f1');
    fake.freezeDelayMs = 40;
    const start = Date.now();
    await cg.freeze();
    expect(Date.now() - start).toBeGreaterThanOrEqual(35);
    expect(await cg.frozen()).toBe(true);
    await cg.thaw();
    expect(await cg.frozen()).toBe(false);
    expect(fake.writes.filter((w) => w.path.endsWith('cgroup.freeze')).map((w) => w.value)).toEqual(['1', '0']);
  });

  it('thaws again and throws CGROUP_BUSY when the cgroup never freezes', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = await createCgroup(fake.deps(), 'tsrun/f2');
    fake.freezeDelayMs = Infinity;
    const err = await rejection(cg.freeze({ timeoutMs: 50 }));
    expect(err.code).toBe('CGROUP_BUSY');
    expect(fake.read('tsrun/f2/cgroup.freeze').trim()).toBe('0');
  });

  it('reads pids (including sub-cgroups), stats, cpu.stat and the OOM kill count', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = openCgroup(fake.deps(), 'tsrun/s1');
    await createCgroup(fake.deps(), 'tsrun/s1', { memory: { limit: 64 * MiB }, pids: { limit: 20 } });
    const dir = path.join(fake.root, 'tsrun/s1');
    writeFileSync(path.join(dir, 'cgroup.procs'), '42\n7\n');
    fake.mkdir(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'cgroup.procs'), '99\n');
    writeFileSync(path.join(dir, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 900\n');
    writeFileSync(path.join(dir, 'memory.current'), '1234567\n');
    writeFileSync(path.join(dir, 'pids.current'), '3\n');
    writeFileSync(path.join(dir, 'io.stat'), '8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=5 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n');
    writeFileSync(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n');
    expect(await cg.pids()).toEqual([7, 42, 99]);
    expect(await cg.stats()).toEqual({
      cpuUsageNs: 1_500_000, cpuUserNs: 1_000_000, cpuSystemNs: 500_000, memoryUsage: 1234567, memoryLimit: 64 * MiB, pids: 3, pidsLimit: 20, blockRead: 1005, blockWrite: 2000,
    });
    expect(await cg.cpuStat()).toMatchObject({ nr_periods: 10, nr_throttled: 3, throttled_usec: 900 });
    expect(await cg.oomKillCount()).toBe(2);
  });

  it('reports unlimited limits as null', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = await createCgroup(fake.deps(), 'tsrun/s2');
    expect(await cg.stats()).toEqual({ cpuUsageNs: 0, cpuUserNs: 0, cpuSystemNs: 0, memoryUsage: 0, memoryLimit: null, pids: 0, pidsLimit: null, blockRead: 0, blockWrite: 0 });
  });

  it('destroy removes sub-cgroups first, then the emptied tsrun parent, ignores a missing cgroup and retries EBUSY', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = await createCgroup(fake.deps(), 'tsrun/d1');
    fake.mkdir(path.join(fake.root, 'tsrun/d1/inner'));
    const procs = path.join(fake.root, 'tsrun/d1/cgroup.procs');
    writeFileSync(procs, '123\n');
    setTimeout(() => writeFileSync(procs, ''), 50); // the process exits a moment later
    await cg.destroy();
    expect(fake.dirs()).toEqual([]);
    await cg.destroy(); // already gone: fine
  });

  it('destroy gives up with CGROUP_BUSY while processes stay', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = await createCgroup(fake.deps(), 'tsrun/d2');
    writeFileSync(path.join(fake.root, 'tsrun/d2/cgroup.procs'), '123\n');
    const { removeCgroupDir } = await import('../../src/cgroups/fsutil.js');
    const err = await rejection(removeCgroupDir(fake.deps().dirs!, path.join(fake.root, 'tsrun/d2'), 30));
    expect(err.code).toBe('CGROUP_BUSY');
    expect(cg.relPath).toBe('tsrun/d2');
  });
});
