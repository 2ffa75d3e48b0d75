// Real cgroup v1 on this host: limits land in the kernel's files, a process
// joins every hierarchy, freezes and thaws, the memory limit OOM-kills, and
// nothing is left behind. Skipped (with the reason) on a pure v2 host; the
// VM tier covers v2.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupMode, createCgroup, openCgroup, resolveCgroupPath } from '../../src/cgroups/index.js';
import { detectLayout } from '../../src/cgroups/detect.js';
import { native } from '../../src/native/binding.js';
import { parseResourceFlags } from '../../src/spec/resources.js';
import { rejection } from '../helpers/expect-error.js';
import { integrationSkipReason } from '../helpers/tsrun.js';

const deps = { native };
let skip = integrationSkipReason('cgroups-v1');
if (!skip && cgroupMode(deps) !== 'v1') {
  skip = 'the host runs cgroup v2 (covered by the VM tier)';
  process.stderr.write(`[skip] cgroups-v1: ${skip}\n`);
}

const parent = `tsrun-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const MiB = 1024 * 1024;

function mounts(): string[] {
  const layout = detectLayout(deps);
  return layout.mode === 'v1' ? [...new Set(Object.values(layout.hierarchies))] : [];
}

const read = (file: string) => readFileSync(file, 'utf8').trim();

/** A shell that waits for a line on stdin before running `script`, so it can be put in a cgroup first. */
function gated(script: string): ChildProcess {
  return spawn('sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null; out: string }> {
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out })));
}

describe.skipIf(skip)('cgroups v1 (real kernel)', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    for (const rel of ['c1', 'oom', 'bad'].map((n) => `${parent}/${n}`)) await openCgroup(deps, rel).destroy().catch(() => undefined);
    for (const m of mounts()) {
      try {
        rmdirSync(path.join(m, parent));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  });

  it('applies --memory 32m --pids-limit 16 --cpus 0.5 --cpuset-cpus 0, holds a process, freezes, thaws and is destroyed', async () => {
    const layout = detectLayout(deps);
    if (layout.mode !== 'v1') throw new Error('not v1');
    const h = layout.hierarchies;
    const rel = resolveCgroupPath(undefined, 'c1', parent);
    const cg = await createCgroup(deps, rel, parseResourceFlags({ memory: '32m', pidsLimit: '16', cpus: '0.5', cpusetCpus: '0' }));

    expect(read(path.join(h.memory!, rel, 'memory.limit_in_bytes'))).toBe(String(32 * MiB));
    expect(read(path.join(h.pids!, rel, 'pids.max'))).toBe('16');
    expect(read(path.join(h.cpu!, rel, 'cpu.cfs_quota_us'))).toBe('50000');
    expect(read(path.join(h.cpu!, rel, 'cpu.cfs_period_us'))).toBe('100000');
    expect(read(path.join(h.cpuset!, rel, 'cpuset.cpus'))).toBe('0');
    expect(read(path.join(h.cpuset!, rel, 'cpuset.mems'))).not.toBe('');
    const devices = read(path.join(h.devices!, rel, 'devices.list')).split('\n');
    expect(devices).toContain('c 1:3 rwm');
    expect(devices).toContain('c 136:* rwm');
    expect(devices).not.toContain('a *:* rwm');

    // v1 does not move a process's existing memory charges with it: exec
    // sleep only once inside, so its pages are charged to this cgroup.
    const child = gated('exec sleep 30');
    children.push(child);
    const done = exited(child);
    for (const f of cg.procsFiles()) native.cgroupWrite(f, String(child.pid));
    child.stdin!.end('go\n');
    for (let i = 0; i < 100 && !read(`/proc/${child.pid}/cmdline`).startsWith('sleep'); i++) await new Promise((r) => setTimeout(r, 10));
    const lines = read(`/proc/${child.pid}/cgroup`).split('\n');
    for (const c of ['memory', 'cpu', 'cpuset', 'pids', 'freezer', 'devices', 'blkio']) {
      expect(lines.find((l) => l.split(':')[1]!.split(',').includes(c))).toMatch(new RegExp(`:/${rel}$`));
    }
    expect(await cg.pids()).toEqual([child.pid]);

    await cg.freeze();
    expect(read(path.join(h.freezer!, rel, 'freezer.state'))).toBe('FROZEN');
    expect(await cg.frozen()).toBe(true);
    await cg.thaw();
    expect(read(path.join(h.freezer!, rel, 'freezer.state'))).toBe('THAWED');
    expect(read(`/proc/${child.pid}/status`)).toMatch(/^State:\s+S/m);

    const stats = await cg.stats();
    expect(stats).toMatchObject({ memoryLimit: 32 * MiB, pids: 1, pidsLimit: 16 });
    expect(stats.memoryUsage).toBeGreaterThan(0);
    expect(await cg.cpuStat()).toHaveProperty('nr_throttled');

    child.kill('SIGKILL');
    await done;
    await cg.destroy();
    for (const m of mounts()) {
      expect(existsSync(path.join(m, rel))).toBe(false);
      expect(existsSync(path.join(m, parent))).toBe(true); // the parent stays
    }
  });

  it('OOM-kills a process over the memory limit and counts it', async () => {
    const rel = `${parent}/oom`;
    const cg = await createCgroup(deps, rel, parseResourceFlags({ memory: '16m', memorySwap: '16m' }));
    expect(cg.oomFile()).not.toBeNull();
    const child = gated('head -c 200000000 /dev/zero | tail > /dev/null');
    children.push(child);
    const done = exited(child);
    for (const f of cg.procsFiles()) native.cgroupWrite(f, String(child.pid));
    child.stdin!.end('go\n');
    await done;
    expect(await cg.oomKillCount()).toBeGreaterThanOrEqual(1);
    await cg.destroy();
  });

  it('a value the kernel refuses fails the create and leaves no directory, not even the parent it made', async () => {
    const fresh = `${parent}-bad`;
    const err = await rejection(createCgroup(deps, `${fresh}/bad`, { cpu: { cpus: '4000' } }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/^cannot apply --cpuset-cpus: the kernel refused the value/);
    for (const m of mounts()) expect(existsSync(path.join(m, fresh))).toBe(false);
  });
});
