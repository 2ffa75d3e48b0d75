// tsrun-oci update and events --stats against a real container: the flags
// and --resources (a file or stdin) change the cgroup files the kernel
// enforces; bad input exits 1 with one clear line and changes nothing (a
// value the kernel refuses halfway is rolled back). Both cgroup versions:
// this host decides which is checked.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharesToWeight } from '../../src/cgroups/resources.js';
import { cgroupDirs, ociSandbox, waitFor, type OciSandbox } from '../helpers/oci-bundle.js';
import { integrationSkipReason } from '../helpers/tsrun.js';

const skip = integrationSkipReason('oci-update');
const MiB = 1024 * 1024;
const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

// The files each version uses for what the tests change.
const F = v2
  ? { memory: 'memory.max', cpu: 'cpu.weight', pids: 'pids.max', cpus: 'cpuset.cpus' }
  : { memory: 'memory.limit_in_bytes', cpu: 'cpu.shares', pids: 'pids.max', cpus: 'cpuset.cpus' };

describe.skipIf(skip)('tsrun-oci update and events', () => {
  let sb: OciSandbox;
  beforeAll(async () => {
    sb = ociSandbox();
    const bundle = await sb.bundle('upd', ['sleep', '60'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 64 * MiB }, pids: { limit: 100 } };
    });
    const r = await sb.ociDetached(['run', '-d', '--bundle', bundle, 'upd']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
  afterAll(async () => {
    await sb?.cleanup();
  });

  /** A control file of the container's cgroup, from whichever hierarchy has it. */
  const read = (name: string): string => {
    const dir = cgroupDirs(`${sb.cgroupParent}/upd`).find((d) => existsSync(join(d, name)));
    if (!dir) throw new Error(`no ${name} in the cgroup of upd`);
    return readFileSync(join(dir, name), 'utf8').trim();
  };
  const SNAPSHOT = [...Object.values(F), ...(v2 ? ['memory.swap.max', 'memory.low'] : ['memory.swappiness', 'memory.oom_control', 'memory.soft_limit_in_bytes'])];
  const snapshot = () => Object.fromEntries(SNAPSHOT.map((f) => [f, read(f)]));
  const update = (args: string[], input?: string) => sb.oci(['update', ...args], input === undefined ? {} : { stdin: 'pipe', input });

  it('--memory and friends change the cgroup files', async () => {
    expect(read(F.memory)).toBe(String(64 * MiB));
    const r = await update(['--memory', '96m', '--cpu-share', '512', '--pids-limit', '50', 'upd']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(read(F.memory)).toBe(String(96 * MiB));
    expect(read(F.cpu)).toBe(String(v2 ? sharesToWeight(512) : 512));
    expect(read(F.pids)).toBe('50');
  });

  it('--resources - (stdin) and --resources FILE, a flag winning over the file', async () => {
    const memory = v2 ? { limit: 128 * MiB, reservation: 32 * MiB } : { limit: 128 * MiB, reservation: 32 * MiB, swappiness: 20, disableOOMKiller: true };
    const r = await update(['--resources', '-', 'upd'], JSON.stringify({ memory, cpu: { shares: 256 } }));
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(read(F.memory)).toBe(String(128 * MiB));
    expect(read(F.cpu)).toBe(String(v2 ? sharesToWeight(256) : 256));
    expect(read(v2 ? 'memory.low' : 'memory.soft_limit_in_bytes')).toBe(String(32 * MiB));
    if (!v2) {
      expect(read('memory.swappiness')).toBe('20');
      expect(read('memory.oom_control')).toMatch(/^oom_kill_disable 1$/m);
    }

    const file = join(sb.base, 'resources.json');
    writeFileSync(file, JSON.stringify({ pids: { limit: 30 } }));
    const f = await update(['--resources', file, '--pids-limit', '40', 'upd']);
    expect(f.exitCode).toBe(0);
    expect(read(F.pids)).toBe('40');
  });

  it('kernel memory limits are ignored with a warning, as runc does', async () => {
    const r = await update(['--kernel-memory', '10m', 'upd']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/level=warning msg=".*memory\.kernel \(--kernel-memory\) ignored/);
  });

  it('events --stats prints one stats line in runc\'s shape', async () => {
    const r = await sb.oci(['events', '--stats', 'upd']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const lines = String(r.stdout).split('\n');
    expect(lines).toHaveLength(1);
    const e = JSON.parse(lines[0]) as { type: string; id: string; data: Record<string, Record<string, Record<string, number>>> };
    expect(e).toMatchObject({ type: 'stats', id: 'upd' });
    expect(e.data.memory.usage.limit).toBe(128 * MiB);
    expect(e.data.memory.usage.usage).toBeGreaterThan(0);
    expect(e.data.pids).toMatchObject({ current: 1, limit: 40 });
    expect(e.data.cpu.usage.total).toBeGreaterThan(0);
    expect(Object.keys(e.data)).toEqual(['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
  });

  it.each([
    ['an invalid size', ['--memory', 'lots', 'upd'], undefined, /invalid size "lots"/],
    ['an unknown field', ['-r', '-', 'upd'], '{"memory":{"limt":1}}', /unknown field linux\.resources\.memory\.limt/],
    ['a value out of range', ['-r', '-', '--memory', '200m', 'upd'], '{"memory":{"swappiness":101}}', /invalid memory\.swappiness: 101 is not in 0-100/],
    ['a negative limit', ['--pids-limit', '20', '--cpu-quota', '-5', 'upd'], undefined, /invalid cpu\.quota \(--cpu-quota\): -5 is not an integer >= -1/],
    ['a field tsrun cannot change', ['--cpu-rt-period', '1000', '--memory', '200m', 'upd'], undefined, /cannot change cpu\.realtimePeriod \(--cpu-rt-period\)/],
    ['no JSON', ['-r', '-', 'upd'], 'memory=1', /--resources -: not a linux\.resources JSON object/],
    ['a missing file', ['-r', '/nonexistent/r.json', 'upd'], undefined, /cannot read --resources \/nonexistent\/r\.json/],
    // The kernel refuses CPU 999 after the memory limit was written: that write is undone.
    ['a value the kernel refuses', ['--memory', '200m', '--cpuset-cpus', '999', 'upd'], undefined, /cannot apply cpu\.cpus \(--cpuset-cpus\): the kernel refused the value/],
    ['a container that does not exist', ['--memory', '200m', 'nope'], undefined, /container "nope" does not exist/],
  ])('%s: exit 1, one error line, nothing changed', async (_what, args, input, message) => {
    const before = snapshot();
    const r = await update(args as string[], input as string | undefined);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    const lines = String(r.stderr).split('\n');
    expect(lines).toHaveLength(1);
    // logrus text: time="..." level=error msg="<JSON string>"
    const m = /^time="[^"]+" level=error msg=(".*")$/.exec(lines[0]);
    expect(m, lines[0]).not.toBeNull();
    expect(JSON.parse(m![1]) as string).toMatch(message as RegExp);
    expect(snapshot()).toEqual(before);
  });

  it.runIf(v2)('v2: swappiness and disableOOMKiller are refused, saying v2 has no such thing', async () => {
    const before = snapshot();
    const r = await update(['-r', '-', 'upd'], '{"memory":{"limit":209715200,"swappiness":10}}');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot apply memory\.swappiness: cgroup v2 has no per-cgroup swappiness/);
    expect(snapshot()).toEqual(before);
  });

  it('a stopped container: update and events --stats say it is not running', async () => {
    expect((await sb.oci(['kill', 'upd', 'KILL'])).exitCode).toBe(0);
    await waitFor(async () => JSON.parse(String((await sb.oci(['state', 'upd'])).stdout)).status === 'stopped', 5000, 'upd to stop');
    const u = await update(['--memory', '200m', 'upd']);
    expect(u.exitCode).toBe(1);
    expect(u.stderr).toMatch(/cannot update container upd: it is not running/);
    const e = await sb.oci(['events', '--stats', 'upd']);
    expect(e.exitCode).toBe(1);
    expect(e.stderr).toMatch(/container with id upd is not running/);
    expect((await sb.oci(['delete', 'upd'])).exitCode).toBe(0);
  });
});
