// The pure translation of OCI linux.resources into control-file writes.
import { describe, expect, it } from 'vitest';
import { deviceRules, v1DeviceWrites } from '../../src/cgroups/devices.js';
import { restoreValue } from '../../src/cgroups/apply.js';
import { checkUpdate, FIELD_PATHS, requiredControllers, sharesToWeight, v1Writes, v2SwapValue, v2Writes } from '../../src/cgroups/resources.js';
import { DEFAULT_DEVICE_RULES } from '../../src/spec/defaults.js';

const MiB = 1024 * 1024;
const pairs = (ws: Array<{ file: string; value: string }>) => ws.map((w) => [w.file, w.value]);

describe('v2 writes', () => {
  it('translates memory, cpu, cpuset, pids and io', () => {
    const writes = v2Writes({
      memory: { limit: 32 * MiB, swap: 64 * MiB, reservation: 16 * MiB },
      cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: '0-1,3', mems: '0' },
      pids: { limit: 16 },
      blockIO: {
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: MiB }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2 * MiB }, { major: 8, minor: 16, rate: 5 }],
      },
    });
    expect(pairs(writes)).toEqual([
      ['memory.swap.max', String(32 * MiB)], // swap alone: (memory+swap) - memory
      ['memory.max', String(32 * MiB)],
      ['memory.low', String(16 * MiB)],
      ['cpu.weight', String(1 + Math.floor((510 * 9999) / 262142))],
      ['cpu.max', '50000 100000'],
      ['cpuset.cpus', '0-1,3'],
      ['cpuset.mems', '0'],
      ['pids.max', '16'],
      ['io.max', `8:0 rbps=${MiB} wbps=${2 * MiB}`],
      ['io.max', '8:16 wbps=5'],
    ]);
    expect([...requiredControllers(writes).keys()]).toEqual(['memory', 'cpu', 'cpuset', 'pids', 'io']);
  });

  it('uses max for unlimited values and leaves unset ones alone', () => {
    expect(pairs(v2Writes({ memory: { limit: -1 }, cpu: { quota: -1, period: 50_000 }, pids: { limit: -1 } }))).toEqual([
      ['memory.swap.max', 'max'],
      ['memory.max', 'max'],
      ['cpu.max', 'max 50000'],
      ['pids.max', 'max'],
    ]);
    expect(v2Writes({ memory: {}, cpu: { shares: 0, quota: 0 }, pids: { limit: 0 } })).toEqual([]);
    expect(v2Writes(undefined)).toEqual([]);
    expect(pairs(v2Writes({ cpu: { quota: 25_000 } }))).toEqual([['cpu.max', '25000']]);
  });

  it('swap equal to memory means no swap; unlimited swap may be skipped without swap accounting', () => {
    expect(v2SwapValue(32 * MiB, 32 * MiB)).toBe('0');
    const [swap] = v2Writes({ memory: { limit: 32 * MiB, swap: -1 } });
    expect(swap).toMatchObject({ file: 'memory.swap.max', value: 'max', optional: true });
    expect(requiredControllers([swap!]).size).toBe(0);
  });

  it('rejects swap without memory, swap below memory, and junk values', () => {
    expect(() => v2Writes({ memory: { swap: 64 * MiB } })).toThrow(/--memory-swap: a swap limit needs a memory limit/);
    expect(() => v2Writes({ memory: { limit: 64 * MiB, swap: 32 * MiB } })).toThrow(/must not be less than the memory limit/);
    expect(() => v2Writes({ cpu: { cpus: '0\n+memory' } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => v2Writes({ memory: { limit: 1.5 } })).toThrow(/--memory/);
    expect(() => v2Writes({ pids: { limit: Number.NaN } })).toThrow(/--pids-limit/);
  });

  it('maps cpu shares onto the weight range like runc', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262_144)).toBe(10_000);
  });
});

describe('v1 writes', () => {
  it('translates every resource to its v1 file', () => {
    const writes = v1Writes({
      memory: { limit: 32 * MiB, swap: 64 * MiB, reservation: 16 * MiB },
      cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: '0', mems: '0' },
      pids: { limit: 16 },
      blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: MiB }], throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 7 }] },
    });
    expect(writes.map((w) => [w.controller, w.file, w.value])).toEqual([
      ['memory', 'memory.limit_in_bytes', String(32 * MiB)],
      ['memory', 'memory.memsw.limit_in_bytes', String(64 * MiB)],
      ['memory', 'memory.soft_limit_in_bytes', String(16 * MiB)],
      ['cpu', 'cpu.shares', '512'],
      ['cpu', 'cpu.cfs_period_us', '100000'],
      ['cpu', 'cpu.cfs_quota_us', '50000'],
      ['cpuset', 'cpuset.cpus', '0'],
      ['cpuset', 'cpuset.mems', '0'],
      ['pids', 'pids.max', '16'],
      ['blkio', 'blkio.throttle.read_bps_device', `8:0 ${MiB}`],
      ['blkio', 'blkio.throttle.write_bps_device', '8:0 7'],
    ]);
  });

  it('raises memory+swap before memory when the new total is above the current memory limit', () => {
    // Current limit 16M, new 32M + swap 64M: memory first would exceed the old memsw.
    expect(pairs(v1Writes({ memory: { limit: 32 * MiB, swap: 64 * MiB } }, 16 * MiB))).toEqual([
      ['memory.memsw.limit_in_bytes', String(64 * MiB)],
      ['memory.limit_in_bytes', String(32 * MiB)],
    ]);
    expect(pairs(v1Writes({ memory: { limit: 32 * MiB, swap: -1 } }))).toEqual([
      ['memory.memsw.limit_in_bytes', '-1'],
      ['memory.limit_in_bytes', String(32 * MiB)],
    ]);
  });

  it('unlimited memory also means unlimited memory+swap; quota -1 and pids <= 0 are unlimited', () => {
    expect(pairs(v1Writes({ memory: { limit: -1 }, cpu: { quota: -1 }, pids: { limit: -5 } }))).toEqual([
      ['memory.memsw.limit_in_bytes', '-1'],
      ['memory.limit_in_bytes', '-1'],
      ['cpu.cfs_quota_us', '-1'],
      ['pids.max', 'max'],
    ]);
  });
});

describe('swappiness and the OOM killer', () => {
  it('v1: memory.oom_control gets 1, memory.swappiness the value, after the limits (runc\'s MemoryGroup.Set)', () => {
    expect(pairs(v1Writes({ memory: { limit: 32 * MiB, reservation: 16 * MiB, swappiness: 10, disableOOMKiller: true } }))).toEqual([
      ['memory.limit_in_bytes', String(32 * MiB)],
      ['memory.soft_limit_in_bytes', String(16 * MiB)],
      ['memory.oom_control', '1'],
      ['memory.swappiness', '10'],
    ]);
    expect(pairs(v1Writes({ memory: { swappiness: 0 } }))).toEqual([['memory.swappiness', '0']]);
    const [w] = v1Writes({ memory: { swappiness: 100 } });
    expect(w).toMatchObject({ controller: 'memory', flag: '--memory-swappiness' });
    expect(requiredControllers([w!]).get('memory')).toBe('--memory-swappiness');
  });

  it('-1 (also as the uint64 2^64-1 a JSON number rounds to 2^64) and false leave the kernel\'s values alone', () => {
    expect(v1Writes({ memory: { swappiness: -1, disableOOMKiller: false } })).toEqual([]);
    expect(v1Writes({ memory: { swappiness: JSON.parse('18446744073709551615') as number } })).toEqual([]);
    expect(v2Writes({ memory: { swappiness: -1, disableOOMKiller: false } })).toEqual([]);
  });

  it('refuses swappiness outside 0-100 and a disableOOMKiller that is not a boolean, naming the field', () => {
    for (const bad of [101, -2, 1.5]) {
      expect(() => v1Writes({ memory: { swappiness: bad } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^invalid --memory-swappiness: .* is not in 0-100/) }));
    }
    expect(() => v1Writes({ memory: { disableOOMKiller: 'yes' as never } })).toThrow(/invalid --oom-kill-disable: "yes" is not true or false/);
    expect(() => v1Writes({ memory: { swappiness: 101 } }, undefined, FIELD_PATHS)).toThrow(/^invalid memory\.swappiness: 101/);
  });

  it('v2 has neither: refused with CGROUP_UNAVAILABLE, saying why', () => {
    expect(() => v2Writes({ memory: { limit: 32 * MiB, swappiness: 10 } })).toThrow(
      expect.objectContaining({ code: 'CGROUP_UNAVAILABLE', message: expect.stringMatching(/--memory-swappiness: cgroup v2 has no per-cgroup swappiness/) }),
    );
    expect(() => v2Writes({ memory: { disableOOMKiller: true } })).toThrow(
      expect.objectContaining({ code: 'CGROUP_UNAVAILABLE', message: expect.stringMatching(/--oom-kill-disable: cgroup v2 cannot turn the OOM killer off/) }),
    );
  });
});

describe('checkUpdate', () => {
  it('accepts every field update writes, and unset (0, null, empty) fields it cannot write', () => {
    expect(
      checkUpdate({
        memory: { limit: 1, reservation: 1, swap: 2, swappiness: 1, disableOOMKiller: false },
        cpu: { shares: 2, quota: 1, period: 1, cpus: '0', mems: '0', realtimePeriod: 0 },
        pids: { limit: 1 },
        blockIO: { weight: 0, throttleReadBpsDevice: [], throttleWriteBpsDevice: [] },
        devices: [{ allow: true }],
        unified: {},
        hugepageLimits: [],
      } as never),
    ).toEqual([]);
  });

  it('refuses fields the spec does not have (INVALID_ARGUMENT) and set fields tsrun cannot change (UNSUPPORTED), by name', () => {
    expect(() => checkUpdate({ memroy: {} } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'unknown field linux.resources.memroy' }));
    expect(() => checkUpdate({ memory: { limt: 5 } } as never)).toThrow(/^unknown field linux\.resources\.memory\.limt$/);
    expect(() => checkUpdate({ cpu: 5 } as never)).toThrow(/invalid linux\.resources\.cpu: 5 is not an object/);
    expect(() => checkUpdate([] as never)).toThrow(/invalid linux\.resources/);
    expect(() => checkUpdate({ cpu: { realtimePeriod: 1000 }, blockIO: { leafWeight: 500 } as never, unified: { 'memory.high': '1' } })).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED', message: 'tsrun cannot change cpu.realtimePeriod, blockIO.leafWeight, unified of a container' }),
    );
    const names = { ...FIELD_PATHS, rtPeriod: '--cpu-rt-period' };
    expect(() => checkUpdate({ cpu: { realtimePeriod: 1000 } }, names)).toThrow(/cannot change --cpu-rt-period of/);
  });

  it('warns that kernel memory limits are ignored', () => {
    expect(checkUpdate({ memory: { kernel: 1, kernelTCP: 2 } })).toEqual([
      'memory.kernel and memory.kernelTCP ignored: Linux 6 has no kernel memory limits (runc ignores them too)',
    ]);
  });
});

describe('restoreValue (undoing a write)', () => {
  const w = (file: string, value: string) => ({ controller: 'x', file, value, flag: 'f' });
  it('puts back the text of a value file, -1 for the v1 unlimited value, an empty line for an empty cpuset', () => {
    expect(restoreValue(w('memory.max', '1'), 'max\n')).toBe('max');
    expect(restoreValue(w('memory.limit_in_bytes', '1'), '9223372036854771712\n')).toBe('-1');
    expect(restoreValue(w('memory.soft_limit_in_bytes', '1'), '4096\n')).toBe('4096');
    expect(restoreValue(w('cpuset.cpus', '0'), '\n')).toBe('\n');
    expect(restoreValue(w('memory.oom_control', '1'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n')).toBe('0');
    expect(restoreValue(w('pids.max', '1'), null)).toBeNull();
  });

  it('puts back the line of the device written, or lifts its limit when it had none', () => {
    expect(restoreValue(w('io.max', '8:0 rbps=5'), '8:0 rbps=1 wbps=max riops=max wiops=max\n8:16 rbps=2 wbps=max riops=max wiops=max\n')).toBe(
      '8:0 rbps=1 wbps=max riops=max wiops=max',
    );
    expect(restoreValue(w('io.max', '8:32 wbps=5'), '8:0 rbps=1 wbps=max\n')).toBe('8:32 rbps=max wbps=max');
    expect(restoreValue(w('blkio.throttle.read_bps_device', '8:0 5'), '8:0 100\n')).toBe('8:0 100');
    expect(restoreValue(w('blkio.throttle.write_bps_device', '8:16 5'), '8:0 100\n')).toBe('8:16 0');
  });
});

describe('device rules', () => {
  it('start from deny-all and use Docker\'s defaults when the spec has none', () => {
    const rules = deviceRules(undefined);
    expect(rules[0]).toEqual({ allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' });
    expect(rules).toHaveLength(DEFAULT_DEVICE_RULES.length); // its own deny-all is the first rule
    expect(rules.filter((r) => r.type === 'a')).toHaveLength(1);
    expect(rules).toContainEqual({ allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' });
    expect(rules).toContainEqual({ allow: true, type: 'b', major: -1, minor: -1, access: 'm' });
  });

  it('normalise spec rules: missing type is a, missing numbers any, missing access rwm', () => {
    expect(deviceRules([{ allow: true, type: 'c', major: 10, access: 'rw' }, { allow: false, type: 'a', major: 3, access: 'r' }]).slice(1)).toEqual([
      { allow: true, type: 'c', major: 10, minor: -1, access: 'rw' },
      { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' },
    ]);
    expect(() => deviceRules([{ allow: true, type: 'x' as 'c' }])).toThrow(/devices\[0\]: device type must be a, c or b/);
    expect(() => deviceRules([{ allow: true, type: 'c', access: 'rwx' }])).toThrow(/access must be made of r, w and m/);
    expect(() => deviceRules([{ allow: true, type: 'c', major: -2 }])).toThrow(/invalid major/);
  });

  it('become v1 devices.deny/devices.allow lines in order', () => {
    expect(v1DeviceWrites(deviceRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', access: 'm' }, { allow: false, type: 'b', major: 8, minor: 0, access: 'w' }]))).toEqual([
      { file: 'devices.deny', value: 'a' },
      { file: 'devices.allow', value: 'c 1:3 rwm' },
      { file: 'devices.allow', value: 'c *:* m' },
      { file: 'devices.deny', value: 'b 8:0 w' },
    ]);
  });
});
