// Docker's resource flags → OCI linux.resources.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSpec } from '../../src/spec/build.js';
import { DEFAULT_DEVICE_RULES } from '../../src/spec/defaults.js';
import { devMajorMinor, parseResourceFlags, parseSize } from '../../src/spec/resources.js';

const MiB = 1024 * 1024;
const parse = (flags: Parameters<typeof parseResourceFlags>[0]) => parseResourceFlags(flags, 4);
const fails = (flags: Parameters<typeof parseResourceFlags>[0]) => {
  try {
    parse(flags);
  } catch (err) {
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    return (err as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(flags)}`);
};

/** Some block device on this host, or null (containers may have none). */
function someBlockDevice(): { path: string; major: number; minor: number } | null {
  for (const name of readdirSync('/dev')) {
    try {
      const st = statSync(`/dev/${name}`, { bigint: true });
      if (st.isBlockDevice()) return { path: `/dev/${name}`, ...devMajorMinor(st.rdev) };
    } catch {
      // vanished or unreadable
    }
  }
  return null;
}

describe('sizes (go-units RAMInBytes)', () => {
  it.each([
    ['1024', 1024],
    ['100b', 100],
    ['64k', 64 * 1024],
    ['64m', 64 * MiB],
    ['64M', 64 * MiB],
    ['64mb', 64 * MiB],
    ['64MiB', 64 * MiB],
    ['1g', 1024 * MiB],
    ['1.5g', 1536 * MiB],
    ['2 GB', 2048 * MiB],
  ])('%s = %d bytes', (text, bytes) => {
    expect(parseSize(text, '--memory')).toBe(bytes);
  });

  it.each(['abc', '', '-5m', '12x', 'm', '1..5m'])('rejects %j', (text) => {
    expect(() => parseSize(text, '--memory')).toThrow(`invalid argument ${JSON.stringify(text)} for "--memory" flag: invalid size: '${text}'`);
  });
});

describe('parseResourceFlags', () => {
  it('returns undefined when no flag sets a limit', () => {
    expect(parse({})).toBeUndefined();
    expect(parse({ memory: '0', cpus: '0', cpuShares: '0', pidsLimit: '-1', cpusetCpus: '' })).toBeUndefined();
  });

  it('--memory and --memory-swap', () => {
    expect(parse({ memory: '32m' })).toEqual({ memory: { limit: 32 * MiB } });
    expect(parse({ memory: '32m', memorySwap: '64m' })).toEqual({ memory: { limit: 32 * MiB, swap: 64 * MiB } });
    expect(parse({ memory: '32m', memorySwap: '32m' })).toEqual({ memory: { limit: 32 * MiB, swap: 32 * MiB } });
    expect(parse({ memory: '32m', memorySwap: '-1' })).toEqual({ memory: { limit: 32 * MiB, swap: -1 } });
    expect(parse({ memory: '6m' })).toEqual({ memory: { limit: 6 * MiB } });
  });

  it('--memory errors', () => {
    expect(fails({ memory: 'abc' })).toBe(`invalid argument "abc" for "--memory" flag: invalid size: 'abc' (a number with an optional b, k, m or g suffix)`);
    expect(fails({ memory: '4m' })).toBe('invalid --memory "4m": Minimum memory limit allowed is 6MB');
    expect(fails({ memorySwap: '64m' })).toMatch(/^invalid --memory-swap: it needs --memory too/);
    expect(fails({ memory: '64m', memorySwap: '32m' })).toMatch(/^invalid --memory-swap "32m": it is memory plus swap, so it must be at least --memory \(64m\)$/);
    expect(fails({ memory: '64m', memorySwap: 'lots' })).toMatch(/for "--memory-swap" flag: invalid size/);
  });

  it('--cpus becomes a CFS quota over a 100ms period', () => {
    expect(parse({ cpus: '0.5' })).toEqual({ cpu: { quota: 50_000, period: 100_000 } });
    expect(parse({ cpus: '1.5' })).toEqual({ cpu: { quota: 150_000, period: 100_000 } });
    expect(parse({ cpus: '4' })).toEqual({ cpu: { quota: 400_000, period: 100_000 } });
    expect(parse({ cpus: '0.01' })).toEqual({ cpu: { quota: 1000, period: 100_000 } });
    expect(parse({ cpus: '.25' })).toEqual({ cpu: { quota: 25_000, period: 100_000 } });
  });

  it('--cpus errors', () => {
    const range = 'range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available';
    expect(fails({ cpus: '-1' })).toBe(`invalid --cpus "-1": ${range}`);
    expect(fails({ cpus: '5' })).toBe(`invalid --cpus "5": ${range}`);
    expect(fails({ cpus: '0.001' })).toBe(`invalid --cpus "0.001": ${range}`);
    expect(fails({ cpus: 'two' })).toBe(`invalid argument "two" for "--cpus" flag: 'two' is not a number`);
    expect(fails({ cpus: '0.1234567891' })).toMatch(/value is too precise/);
    expect(() => parseResourceFlags({ cpus: '3' }, 2)).toThrow('only 2 CPUs available');
  });

  it('--cpu-shares', () => {
    expect(parse({ cpuShares: '512' })).toEqual({ cpu: { shares: 512 } });
    expect(parse({ cpuShares: '2' })).toEqual({ cpu: { shares: 2 } });
    expect(fails({ cpuShares: '1' })).toBe('invalid --cpu-shares 1: must be between 2 and 262144 (0 keeps the default, 1024)');
    expect(fails({ cpuShares: '-3' })).toMatch(/^invalid --cpu-shares -3/);
    expect(fails({ cpuShares: '300000' })).toMatch(/^invalid --cpu-shares 300000/);
    expect(fails({ cpuShares: '1.5' })).toBe(`invalid argument "1.5" for "--cpu-shares" flag: '1.5' is not an integer`);
  });

  it('--cpuset-cpus', () => {
    expect(parse({ cpusetCpus: '0-1,3' })).toEqual({ cpu: { cpus: '0-1,3' } });
    expect(parse({ cpusetCpus: '2', cpus: '1', cpuShares: '100' })).toEqual({ cpu: { quota: 100_000, period: 100_000, shares: 100, cpus: '2' } });
    expect(fails({ cpusetCpus: '0-5' })).toBe('invalid --cpuset-cpus "0-5": requested CPUs are not available - requested 0-5, available: 0-3');
    expect(fails({ cpusetCpus: '3-1' })).toMatch(/range 3-1 runs backwards/);
    expect(fails({ cpusetCpus: 'a,b' })).toMatch(/for "--cpuset-cpus" flag: invalid list 'a,b'/);
  });

  it('--pids-limit', () => {
    expect(parse({ pidsLimit: '16' })).toEqual({ pids: { limit: 16 } });
    expect(parse({ pidsLimit: '0' })).toBeUndefined();
    expect(parse({ pidsLimit: '-1' })).toBeUndefined();
    expect(fails({ pidsLimit: 'many' })).toMatch(/for "--pids-limit" flag: 'many' is not an integer/);
  });

  it('--device-read-bps / --device-write-bps name a block device and a rate', (ctx) => {
    const dev = someBlockDevice();
    if (!dev) {
      process.stderr.write('[skip] spec-resources: no block device in /dev to test --device-read-bps with\n');
      ctx.skip();
      return;
    }
    expect(parse({ deviceReadBps: [`${dev.path}:1mb`], deviceWriteBps: [`${dev.path}:512k`] })).toEqual({
      blockIO: {
        throttleReadBpsDevice: [{ major: dev.major, minor: dev.minor, rate: MiB }],
        throttleWriteBpsDevice: [{ major: dev.major, minor: dev.minor, rate: 512 * 1024 }],
      },
    });
    expect(fails({ deviceReadBps: [`${dev.path}:0`] })).toMatch(/the rate must be a positive number/);
  });

  it('--device-read-bps errors', () => {
    expect(fails({ deviceReadBps: ['/dev/null:1mb'] })).toBe('invalid argument "/dev/null:1mb" for "--device-read-bps" flag: /dev/null is not a block device');
    expect(fails({ deviceReadBps: ['/dev/does-not-exist:1mb'] })).toMatch(/cannot use \/dev\/does-not-exist: ENOENT$/);
    expect(fails({ deviceWriteBps: ['/dev/sda'] })).toMatch(/for "--device-write-bps" flag: expected <device-path>:<rate>/);
    expect(fails({ deviceWriteBps: ['sda:1mb'] })).toMatch(/sda is not an absolute path/);
    expect(fails({ deviceWriteBps: ['/dev/sda:fast'] })).toMatch(/invalid size: 'fast'/);
  });

  it('splits dev_t like glibc', () => {
    expect(devMajorMinor(0x0801n)).toEqual({ major: 8, minor: 1 });
    expect(devMajorMinor((259n << 8n) | 3n)).toEqual({ major: 259, minor: 3 });
    // A large minor (e.g. nvme partitions beyond 255) lives in the high bits.
    expect(devMajorMinor(0x00100000n | (1n << 8n))).toEqual({ major: 1, minor: 0x100 });
  });
});

describe('buildSpec device rules', () => {
  it('every built spec carries the default device-cgroup list: deny all, then the allow list; each a fresh copy', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'tsrun-specres-'));
    try {
      mkdirSync(path.join(tmp, 'etc'));
      writeFileSync(path.join(tmp, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      const build = () => buildSpec({ rootfs: tmp, command: ['sh'] }, { id: 'a'.repeat(64), hostEnv: {} });
      const a = await build();
      expect(a.linux?.resources?.devices).toEqual(DEFAULT_DEVICE_RULES);
      expect(a.linux?.resources?.devices?.[0]).toEqual({ allow: false, access: 'rwm' });
      a.linux!.resources!.devices!.pop();
      expect((await build()).linux?.resources?.devices).toHaveLength(DEFAULT_DEVICE_RULES.length);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
