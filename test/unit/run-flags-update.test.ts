// Issue 14's "everything else", the parts that need no root: the new
// run/create limit flags, --blkio-weight and --oom-kill-disable on hosts
// without them, `update`'s merge and Docker's conflicts, --expose,
// --detach-keys, and the NET I/O and BLOCK I/O readers.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCgroup, openCgroup } from '../../src/cgroups/index.js';
import { v1Writes, v2Writes } from '../../src/cgroups/resources.js';
import { parseIoServiceBytes, parseIoStat } from '../../src/cgroups/stats.js';
import { adaptToHost } from '../../src/cgroups/support.js';
import { takeBackBoolWords } from '../../src/cli/run-flags.js';
import { parseAttach, parseExpose } from '../../src/flags/run-config.js';
import { detachScanner, parseDetachKeys } from '../../src/runtime/detach-keys.js';
import { parseNetDev } from '../../src/runtime/net-stats.js';
import { mergeResourceUpdate } from '../../src/runtime/update.js';
import { parseResourceFlags } from '../../src/spec/resources.js';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs.js';


const MiB = 1024 * 1024;
const parse = (flags: Parameters<typeof parseResourceFlags>[0], update = false) => parseResourceFlags(flags, 4, { update });
const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('no error');
};

describe('run/create limit flags', () => {
  it('map to linux.resources', () => {
    expect(parse({ memory: '64m', memoryReservation: '32m', cpuPeriod: '50000', cpuQuota: '25000', cpusetMems: '0', blkioWeight: '300', oomKillDisable: true })).toEqual({
      memory: { limit: 64 * MiB, reservation: 32 * MiB, disableOOMKiller: true },
      cpu: { period: 50000, quota: 25000, mems: '0' },
      blockIO: { weight: 300 },
    });
    expect(parse({ cpuQuota: '-1' })).toEqual({ cpu: { quota: -1 } });
    expect(parse({ oomKillDisable: 'false' })).toBeUndefined();
  });

  it("refuse bad values with Docker's messages", () => {
    expect(message(() => parse({ memoryReservation: '1m' }))).toMatch(/Minimum memory reservation allowed is 6MB/);
    expect(message(() => parse({ memory: '16m', memoryReservation: '32m' }))).toMatch(/Minimum memory limit can not be less than memory reservation limit/);
    expect(message(() => parse({ cpuPeriod: '999' }))).toMatch(/CPU cfs period can not be less than 1ms/);
    expect(message(() => parse({ cpuQuota: '999' }))).toMatch(/CPU cfs quota can not be less than 1ms/);
    expect(message(() => parse({ cpus: '1', cpuPeriod: '100000' }))).toBe('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    expect(message(() => parse({ blkioWeight: '1001' }))).toMatch(/Range of blkio weight is from 10 to 1000/);
    expect(message(() => parse({ oomKillDisable: 'yes' }))).toMatch(/"--oom-kill-disable" flag: strconv.ParseBool/);
  });

  it('for update: swap alone, and -1 lifts a pids limit', () => {
    expect(parse({ memorySwap: '64m' }, true)).toEqual({ memory: { swap: 64 * MiB } });
    expect(parse({ pidsLimit: '-1' }, true)).toEqual({ pids: { limit: -1 } });
    expect(parse({ pidsLimit: '-1' })).toBeUndefined();
  });
});

describe('--blkio-weight and --oom-kill-disable', () => {
  let fake: FakeCgroupFs | undefined;
  afterEach(() => fake?.cleanup());

  it('write blkio.weight or BFQ, io.bfq.weight or io.weight, and skip with a warning when there is none', async () => {
    expect(v1Writes({ blockIO: { weight: 500 } })).toMatchObject([
      { file: 'blkio.weight', value: '500', optional: true, alternatives: [{ file: 'blkio.bfq.weight', value: '500' }] },
    ]);
    expect(v2Writes({ blockIO: { weight: 500 } })).toMatchObject([
      { file: 'io.bfq.weight', value: '500', alternatives: [{ file: 'io.weight', value: String(1 + Math.floor((490 * 9999) / 990)) }] },
    ]);
    fake = new FakeCgroupFs('v1');
    const cg = await createCgroup(fake.deps(), 'tsrun/w1', { blockIO: { weight: 300 } }); // skipped: no weight file here
    expect(await cg.update({ blockIO: { weight: 400 } })).toEqual([expect.stringMatching(/does not support Block I\/O weight/)]);
    writeFileSync(path.join(fake.root, 'blkio/tsrun/w1/blkio.bfq.weight'), 'default 100\n');
    expect(await openCgroup(fake.deps(), 'tsrun/w1').update({ blockIO: { weight: 400 } })).toEqual([]);
    expect(fake.read('blkio/tsrun/w1/blkio.bfq.weight').trim()).toBe('400');
  });

  it("are dropped with Docker's warnings where the host cannot apply them", () => {
    const r = { memory: { limit: 64 * MiB, disableOOMKiller: true }, blockIO: { weight: 300 } };
    expect(adaptToHost(r, { blkioWeight: true, oomKillDisable: true })).toEqual({ resources: r, warnings: [] });
    expect(adaptToHost(r, { blkioWeight: false, oomKillDisable: false })).toEqual({
      resources: { memory: { limit: 64 * MiB } },
      warnings: [expect.stringMatching(/Weight discarded/), 'Your kernel does not support OomKillDisable. OomKillDisable discarded.'],
    });
    expect(adaptToHost({ memory: { disableOOMKiller: true } }, { blkioWeight: true, oomKillDisable: true }).warnings).toEqual([
      expect.stringMatching(/^OOM killer is disabled for the container, but no memory limit is set/),
    ]);
  });
});

describe('update', () => {
  const change = (flags: Record<string, string>) => ({ resources: parse(flags, true) ?? {}, limits: flags });

  it('merges into what the container has, writing memory and swap together', () => {
    const cur = { memory: { limit: 32 * MiB, swap: 64 * MiB }, pids: { limit: 10 }, devices: [{ allow: false, access: 'rwm' }] };
    const m = mergeResourceUpdate(cur, { memory: '32m' }, change({ memory: '48m', pidsLimit: '-1', cpus: '1' }));
    expect(m.resources).toEqual({ memory: { limit: 48 * MiB, swap: 64 * MiB }, cpu: { quota: 100000, period: 100000 }, devices: cur.devices });
    expect(m.write).toEqual({ memory: { limit: 48 * MiB, swap: 64 * MiB }, cpu: { quota: 100000, period: 100000 }, pids: { limit: -1 } });
    expect(m.limits).toEqual({ memory: '48m', pidsLimit: '-1', cpus: '1' });
  });

  it("refuses what Docker refuses", () => {
    const cur = { memory: { limit: 32 * MiB, swap: 64 * MiB } };
    expect(message(() => mergeResourceUpdate(cur, {}, change({ memory: '128m' })))).toBe(
      'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time',
    );
    expect(message(() => mergeResourceUpdate({}, {}, change({ memorySwap: '64m' })))).toMatch(/always set the Memory limit when using Memoryswap/);
    expect(message(() => mergeResourceUpdate(cur, {}, change({ memoryReservation: '48m' })))).toMatch(/can not be less than memory reservation/);
    expect(message(() => mergeResourceUpdate({}, { cpus: '1' }, change({ cpuQuota: '5000' })))).toBe(
      'Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set',
    );
    expect(message(() => mergeResourceUpdate({}, { cpuPeriod: '50000' }, change({ cpus: '1' })))).toMatch(/^Conflicting options/);
  });
});

describe('run flags', () => {
  it('--expose: ports and ranges, tcp or udp', () => {
    expect(parseExpose('80')).toEqual(['80/tcp']);
    expect(parseExpose('53/UDP')).toEqual(['53/udp']);
    expect(parseExpose('8000-8002/tcp')).toEqual(['8000/tcp', '8001/tcp', '8002/tcp']);
    for (const bad of ['x', '80/sctp', '0', '70000', '9-8', '80-']) expect(() => parseExpose(bad)).toThrow(/^invalid range format for --expose/);
  });

  it('-a: stdout and stderr by default, stdin with -i, nothing with -d (and not with -a)', () => {
    expect(parseAttach({})).toEqual({ stdin: false, stdout: true, stderr: true });
    expect(parseAttach({ attach: ['STDERR'], interactive: true })).toEqual({ stdin: true, stdout: false, stderr: true });
    expect(parseAttach({ detach: true })).toEqual({ stdin: false, stdout: false, stderr: false });
    expect(() => parseAttach({ attach: ['stdout'], detach: true })).toThrow('conflicting options: cannot specify both --attach and --detach');
    expect(() => parseAttach({ attach: ['foo'] })).toThrow(/valid streams are STDIN, STDOUT and STDERR/);
  });

  it('bool flags give back a word commander took as their value', () => {
    const flags: Record<string, unknown> = { sigProxy: 'alpine', oomKillDisable: 'false' };
    expect(takeBackBoolWords(flags, { sigProxy: '--sig-proxy', oomKillDisable: '--oom-kill-disable' }, ['sh'], [])).toEqual(['alpine', 'sh']);
    expect(flags).toEqual({ sigProxy: true, oomKillDisable: 'false' });
    const given: Record<string, unknown> = { sigProxy: 'maybe' };
    expect(takeBackBoolWords(given, { sigProxy: '--sig-proxy' }, ['sh'], ['--sig-proxy=maybe'])).toEqual(['sh']);
    expect(given.sigProxy).toBe('maybe');
  });

  it('--detach-keys: parsed as moby/term does, matched across reads, other input passed on', () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('ctrl-@,ctrl-\\,a,DEL')]).toEqual([0, 28, 97, 127]);
    for (const bad of ['ctrl-1', 'ctrl-P', 'ab', 'a,,b', '']) expect(() => parseDetachKeys(bad)).toThrow(/Unknown character/);
    const scan = detachScanner(Buffer.from([16, 17]));
    expect([...scan(Buffer.from('ab'))!]).toEqual([97, 98]);
    expect([...scan(Buffer.from([16]))!]).toEqual([]); // held
    expect([...scan(Buffer.from([97]))!]).toEqual([16, 97]); // not the sequence: the held byte goes on
    expect([...scan(Buffer.from([16, 16]))!]).toEqual([16]); // the second may start it
    expect(scan(Buffer.from([17]))).toBeNull();
    expect(detachScanner(Buffer.from([16, 17]))(Buffer.from([120, 16, 17, 121]))).toBeNull();
  });
});

describe('stats readers', () => {
  it('NET I/O: every interface but lo', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:    5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0',
      '  eth0:    1234      10    0    0    0     0          0         0      648       8    0    0    0     0       0          0',
      '  eth1:       6       1    0    0    0     0          0         0        2       1    0    0    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(text)).toEqual({ rxBytes: 1240, txBytes: 650 });
  });

  it('BLOCK I/O: v2 io.stat and v1 io_service_bytes', () => {
    expect(parseIoStat('8:0 rbytes=10 wbytes=20 rios=1 wios=1\n8:16 rbytes=1 wbytes=2\n')).toEqual({ read: 11, write: 22 });
    expect(parseIoServiceBytes('8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n')).toEqual({ read: 10, write: 20 });
  });
});
