// Cgroup.update (runc update) on fake v1 and v2 trees (test/helpers/fake-cgroupfs.ts):
// what it writes, what it refuses before writing, and that a write the
// kernel refuses halfway leaves the cgroup as it was.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCgroup, FIELD_PATHS, openCgroup, runcStats, type CgroupDeps } from '../../src/cgroups/index.js';
import { NativeSystemError } from '../../src/errors.js';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs.js';
import { rejection } from '../helpers/expect-error.js';


const MiB = 1024 * 1024;
const V1_UNLIMITED = '9223372036854771712';
let fake: FakeCgroupFs;
afterEach(() => fake?.cleanup());

/** deps whose cgroupWrite fails with `code` for files ending in `suffix` (a kernel refusing one value). */
function failingOn(suffix: string, code = 'EINVAL'): CgroupDeps {
  const deps = fake.deps();
  return {
    ...deps,
    native: {
      ...deps.native,
      cgroupWrite: (p, v) => {
        if (p.endsWith(suffix)) throw new NativeSystemError({ message: `write ${p}: ${code}`, code, errno: -22, syscall: 'write', path: p, step: 'cgroup' });
        deps.native.cgroupWrite(p, v);
      },
    },
  };
}

describe('cgroup v1 update', () => {
  it('writes memory (swap order from the current limit), swappiness, the OOM switch, cpu and pids; leaves the device rules', async () => {
    fake = new FakeCgroupFs('v1');
    await createCgroup(fake.deps(), 'tsrun/u1', { memory: { limit: 16 * MiB, swap: 32 * MiB } });
    const cg = openCgroup(fake.deps(), 'tsrun/u1');
    const before = fake.writes.length;
    const warnings = await cg.update({
      memory: { limit: 64 * MiB, swap: 128 * MiB, reservation: 32 * MiB, swappiness: 10, disableOOMKiller: true, kernel: 5 },
      cpu: { shares: 256, period: 50_000, quota: 25_000, cpus: '1' },
      pids: { limit: 42 },
      devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
    });
    expect(warnings).toEqual(['memory.kernel ignored: Linux 6 has no kernel memory limits (runc ignores them too)']);
    expect(fake.writes.slice(before)).toEqual([
      // 16M now < 128M: memory+swap goes up first, or the memory write would exceed it.
      { path: 'memory/tsrun/u1/memory.memsw.limit_in_bytes', value: String(128 * MiB) },
      { path: 'memory/tsrun/u1/memory.limit_in_bytes', value: String(64 * MiB) },
      { path: 'memory/tsrun/u1/memory.soft_limit_in_bytes', value: String(32 * MiB) },
      { path: 'memory/tsrun/u1/memory.oom_control', value: '1' },
      { path: 'memory/tsrun/u1/memory.swappiness', value: '10' },
      { path: 'cpu,cpuacct/tsrun/u1/cpu.shares', value: '256' },
      { path: 'cpu,cpuacct/tsrun/u1/cpu.cfs_period_us', value: '50000' },
      { path: 'cpu,cpuacct/tsrun/u1/cpu.cfs_quota_us', value: '25000' },
      { path: 'cpuset/tsrun/u1/cpuset.cpus', value: '1' },
      { path: 'pids/tsrun/u1/pids.max', value: '42' },
    ]);
    expect(fake.read('memory/tsrun/u1/memory.oom_control')).toMatch(/^oom_kill_disable 1$/m);
    expect(fake.read('memory/tsrun/u1/memory.swappiness')).toBe('10\n');

    // Going down: memory first, then memory+swap.
    const mark = fake.writes.length;
    await cg.update({ memory: { limit: 8 * MiB, swap: 8 * MiB } });
    expect(fake.writes.slice(mark).map((w) => path.basename(w.path))).toEqual(['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
  });

  it('refuses a bad or unknown value before writing anything, naming it with the names given', async () => {
    fake = new FakeCgroupFs('v1');
    const cg = await createCgroup(fake.deps(), 'tsrun/u2');
    const before = fake.writes.length;
    let err = await rejection(cg.update({ memory: { limit: 64 * MiB, swappiness: 150 } }));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'invalid memory.swappiness: 150 is not in 0-100 (-1 leaves the kernel\'s value)' });
    err = await rejection(cg.update({ memory: { limit: -7 }, pids: { limit: 3 } }, { ...FIELD_PATHS, memory: 'memory.limit (--memory)' }));
    expect(err.message).toBe('invalid memory.limit (--memory): -7 is not an integer >= -1');
    err = await rejection(cg.update({ pids: { limit: 3 }, cpu: { realtimeRuntime: 950 } }));
    expect(err).toMatchObject({ code: 'UNSUPPORTED', message: 'tsrun cannot change cpu.realtimeRuntime of a container' });
    err = await rejection(cg.update({ pids: { limit: 3, max: 4 } } as never));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'unknown field linux.resources.pids.max' });
    expect(fake.writes.length).toBe(before);
  });

  it('a value the kernel refuses after others were written puts those back, and names the field', async () => {
    fake = new FakeCgroupFs('v1');
    await createCgroup(fake.deps(), 'tsrun/u3', { memory: { limit: 32 * MiB }, pids: { limit: 10 } });
    const cg = openCgroup(failingOn('pids.max'), 'tsrun/u3');
    const err = await rejection(cg.update({ memory: { limit: 64 * MiB, swappiness: 5, disableOOMKiller: true }, cpu: { shares: 100 }, pids: { limit: 20 } }));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(err.message).toMatch(/^cannot apply pids\.limit: the kernel refused the value/);
    expect(fake.read('memory/tsrun/u3/memory.limit_in_bytes')).toBe(`${32 * MiB}\n`);
    expect(fake.read('memory/tsrun/u3/memory.swappiness')).toBe('60\n');
    expect(fake.read('memory/tsrun/u3/memory.oom_control')).toMatch(/^oom_kill_disable 0$/m);
    expect(fake.read('cpu,cpuacct/tsrun/u3/cpu.shares')).toBe('1024\n');
    expect(fake.read('pids/tsrun/u3/pids.max')).toBe('10\n');
  });

  it('an unlimited memory limit is put back as -1 (unlimited again)', async () => {
    fake = new FakeCgroupFs('v1');
    await createCgroup(fake.deps(), 'tsrun/u4');
    const cg = openCgroup(failingOn('cpu.shares'), 'tsrun/u4');
    await rejection(cg.update({ memory: { limit: 64 * MiB }, cpu: { shares: 100 } }));
    expect(fake.read('memory/tsrun/u4/memory.limit_in_bytes')).toBe(`${V1_UNLIMITED}\n`);
  });

  it('a memory limit below what the container uses: says so (v1 answers EBUSY)', async () => {
    fake = new FakeCgroupFs('v1');
    const cg = await createCgroup(fake.deps(), 'tsrun/u5');
    writeFileSync(path.join(fake.root, 'memory/tsrun/u5/memory.usage_in_bytes'), `${8 * MiB}\n`);
    const err = await rejection(cg.update({ memory: { limit: 4 * MiB } }));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: `cannot apply memory.limit: ${4 * MiB} bytes is below what the container uses now (${8 * MiB} bytes)` });
  });

  it('a controller the host lacks: CGROUP_UNAVAILABLE before any write', async () => {
    fake = new FakeCgroupFs('v1', { controllers: ['memory', 'cpu,cpuacct', 'freezer', 'devices'] });
    const cg = await createCgroup(fake.deps(), 'tsrun/u6');
    const before = fake.writes.length;
    const err = await rejection(cg.update({ memory: { limit: 64 * MiB }, pids: { limit: 5 } }));
    expect(err).toMatchObject({ code: 'CGROUP_UNAVAILABLE', message: 'cannot apply pids.limit: the pids controller has no pids.max here' });
    expect(fake.writes.length).toBe(before);
  });
});

describe('cgroup v2 update', () => {
  it('writes swap, memory, cpu and pids; leaves the device program alone', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = await createCgroup(fake.deps(), 'tsrun/u1', { memory: { limit: 16 * MiB } });
    const before = fake.writes.length;
    const filters = fake.filters.length;
    expect(await cg.update({ memory: { limit: 64 * MiB, swap: 96 * MiB, swappiness: -1 }, cpu: { quota: 20_000, period: 100_000 }, pids: { limit: -1 }, devices: [] })).toEqual([]);
    expect(fake.writes.slice(before)).toEqual([
      { path: 'tsrun/u1/memory.swap.max', value: String(32 * MiB) },
      { path: 'tsrun/u1/memory.max', value: String(64 * MiB) },
      { path: 'tsrun/u1/cpu.max', value: '20000 100000' },
      { path: 'tsrun/u1/pids.max', value: 'max' },
    ]);
    expect(fake.filters.length).toBe(filters);
  });

  it('refuses swappiness and disableOOMKiller (no v2 files for them) before writing anything', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = await createCgroup(fake.deps(), 'tsrun/u2');
    const before = fake.writes.length;
    let err = await rejection(cg.update({ memory: { limit: 64 * MiB, swappiness: 30 } }));
    expect(err).toMatchObject({ code: 'CGROUP_UNAVAILABLE', message: expect.stringMatching(/^cannot apply memory\.swappiness: cgroup v2 has no per-cgroup swappiness/) });
    err = await rejection(cg.update({ pids: { limit: 9 }, memory: { disableOOMKiller: true } }));
    expect(err.message).toMatch(/^cannot apply memory\.disableOOMKiller: cgroup v2 cannot turn the OOM killer off/);
    expect(fake.writes.length).toBe(before);
  });

  it('rolls back what was written when the kernel refuses a later value', async () => {
    fake = new FakeCgroupFs('v2');
    await createCgroup(fake.deps(), 'tsrun/u3', { memory: { limit: 16 * MiB }, cpu: { cpus: '0' } });
    const cg = openCgroup(failingOn('pids.max'), 'tsrun/u3');
    await rejection(cg.update({ memory: { limit: 32 * MiB, swap: 32 * MiB }, cpu: { shares: 512, cpus: '1' }, pids: { limit: 3 } }));
    expect(fake.read('tsrun/u3/memory.max')).toBe(`${16 * MiB}\n`);
    expect(fake.read('tsrun/u3/memory.swap.max')).toBe('max\n');
    expect(fake.read('tsrun/u3/cpu.weight')).toBe('100\n');
    expect(fake.read('tsrun/u3/cpuset.cpus')).toBe('0\n');
    expect(fake.read('tsrun/u3/pids.max')).toBe('max\n');
  });
});

describe('runcStats', () => {
  it('v2: runc\'s shape, ns from µs, unlimited as the exact 2^64-1', async () => {
    fake = new FakeCgroupFs('v2');
    const cg = await createCgroup(fake.deps(), 'tsrun/s1', { pids: { limit: 20 } });
    const dir = path.join(fake.root, 'tsrun/s1');
    writeFileSync(path.join(dir, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 900\n');
    writeFileSync(path.join(dir, 'memory.current'), '4096\n');
    writeFileSync(path.join(dir, 'pids.current'), '2\n');
    expect(await runcStats(cg)).toEqual({
      cpu: { usage: { total: 1_500_000, kernel: 500_000, user: 1_000_000 }, throttling: { periods: 10, throttled_periods: 3, throttled_time: 900_000 } },
      cpuset: {},
      memory: {
        usage: { limit: 18446744073709551615n, usage: 4096, failcnt: 0 },
        swap: { limit: 0, failcnt: 0 },
        kernel: { limit: 0, failcnt: 0 },
        kernelTCP: { limit: 0, failcnt: 0 },
      },
      pids: { current: 2, limit: 20 },
      blkio: {},
      hugetlb: {},
      intel_rdt: {},
      network_interfaces: null,
    });
  });

  it('v1: cpuacct.stat ticks as ns, throttled time as is, zeros left out, unlimited as v1\'s largest value', async () => {
    fake = new FakeCgroupFs('v1');
    const cg = await createCgroup(fake.deps(), 'tsrun/s2', { memory: { limit: 32 * MiB } });
    writeFileSync(path.join(fake.root, 'cpu,cpuacct/tsrun/s2/cpuacct.stat'), 'user 3\nsystem 1\n');
    writeFileSync(path.join(fake.root, 'cpu,cpuacct/tsrun/s2/cpu.stat'), 'nr_periods 4\nnr_throttled 0\nthrottled_time 77\n');
    const s = await runcStats(cg);
    expect(s.cpu).toEqual({ usage: { kernel: 10_000_000, user: 30_000_000 }, throttling: { periods: 4, throttled_time: 77 } });
    expect(s.memory.usage).toEqual({ limit: 32 * MiB, failcnt: 0 });
    expect(s.pids).toEqual({});
    const unlimited = await runcStats(await createCgroup(fake.deps(), 'tsrun/s3'));
    expect(unlimited.memory.usage.limit).toBe(9223372036854771712n);
  });
});
