// Real cgroup v2 pieces that work on any cgroup2 tree, even the
// controller-less one a hybrid host mounts at /sys/fs/cgroup/unified: the
// eBPF device filter (native attachDeviceFilter), cgroup.freeze, and
// create/destroy. On a pure v2 host (the VM tier) the same tests use
// /sys/fs/cgroup itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMountInfo } from '../../src/util/mountinfo.js';
import { cgroupMode, createCgroup, openCgroup, type CgroupDeps } from '../../src/cgroups/index.js';
import { native } from '../../src/native/binding.js';
import { rejection } from '../helpers/expect-error.js';
import { integrationSkipReason } from '../helpers/tsrun.js';

/** The cgroup2 mount: /sys/fs/cgroup on a v2 host, else the hybrid's unified tree. */
function cgroup2Root(): string | null {
  const v2 = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.fstype === 'cgroup2');
  return (v2.find((m) => m.mountPoint === '/sys/fs/cgroup') ?? v2[0])?.mountPoint ?? null;
}

let skip = integrationSkipReason('cgroups-v2');
const root = skip ? null : cgroup2Root();
if (!skip && !root) {
  skip = 'no cgroup2 filesystem is mounted';
  process.stderr.write(`[skip] cgroups-v2: ${skip}\n`);
}
const deps: CgroupDeps = { native, mountRoot: root ?? '/sys/fs/cgroup' };
const parent = `tsrun-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

function gated(script: string): ChildProcess {
  return spawn('sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

describe.skipIf(skip)('cgroups v2 (real kernel)', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    for (const n of ['dev', 'defaults', 'freeze']) await openCgroup(deps, `${parent}/${n}`).destroy().catch(() => undefined);
    try {
      rmdirSync(path.join(root!, parent));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  });

  it('detects the tree as v2', () => {
    expect(cgroupMode(deps)).toBe('v2');
  });

  it('native cgroupWrite failures are SystemError-shaped', () => {
    const file = path.join(root!, `${parent}-missing`, 'cgroup.procs');
    expect(() => native.cgroupWrite(file, '1')).toThrow(
      expect.objectContaining({ name: 'NativeSystemError', code: 'ENOENT', syscall: 'open', path: file, step: 'cgroup' }),
    );
    expect(() => native.cgroupWrite(path.join(root!, 'cgroup.subtree_control'), '+no-such-controller')).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'write', step: 'cgroup' }),
    );
  });

  it('the eBPF device filter allows /dev/null and denies /dev/zero (deny all, allow c 1:3)', async () => {
    const cg = await createCgroup(deps, `${parent}/dev`, {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 7, access: 'r' },
      ],
    });
    const child = gated(
      'echo x > /dev/null && echo null-ok; head -c1 /dev/zero > /dev/null && echo zero-ok; ' +
        'head -c1 /dev/full > /dev/null && echo full-read-ok; (echo x > /dev/full) 2>/dev/null && echo full-write-ok; true',
    );
    children.push(child);
    const done = exited(child);
    for (const f of cg.procsFiles()) native.cgroupWrite(f, String(child.pid));
    child.stdin!.end('go\n');
    const { out } = await done;
    expect(out).toContain('null-ok');
    expect(out).toMatch(/\/dev\/zero.*Operation not permitted/);
    expect(out).not.toContain('zero-ok');
    expect(out).toContain('full-read-ok'); // r granted...
    expect(out).not.toContain('full-write-ok'); // ...w not
    await cg.destroy();
  });

  it("Docker's default rules: /dev/zero and /dev/urandom yes, /dev/kmsg (c 1:11) no", async () => {
    expect(existsSync('/dev/kmsg')).toBe(true); // else "denied" would prove nothing
    const cg = await createCgroup(deps, `${parent}/defaults`);
    const child = gated('for d in zero urandom kmsg; do if e=$(head -c1 /dev/$d 2>&1 >/dev/null); then echo "$d:ok"; else echo "$d:$e"; fi; done');
    children.push(child);
    const done = exited(child);
    for (const f of cg.procsFiles()) native.cgroupWrite(f, String(child.pid));
    child.stdin!.end('go\n');
    const lines = (await done).out.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['zero:ok', 'urandom:ok']);
    expect(lines[2]).toMatch(/^kmsg:.*Operation not permitted/);
    await cg.destroy();
  });

  it('freezes and thaws through cgroup.freeze', async () => {
    const cg = await createCgroup(deps, `${parent}/freeze`);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    const done = exited(child);
    for (const f of cg.procsFiles()) native.cgroupWrite(f, String(child.pid));
    expect(await cg.pids()).toEqual([child.pid]);
    await cg.freeze();
    expect(await cg.frozen()).toBe(true);
    expect(readFileSync(path.join(root!, parent, 'freeze', 'cgroup.events'), 'utf8')).toMatch(/^frozen 1$/m);
    await cg.thaw();
    expect(await cg.frozen()).toBe(false);
    child.kill('SIGKILL');
    await done;
    await cg.destroy();
    expect(existsSync(path.join(root!, parent, 'freeze'))).toBe(false);
    expect(existsSync(path.join(root!, parent))).toBe(true);
  });

  it('a limit whose controller the tree lacks fails and leaves nothing (hybrid unified tree only)', async (ctx) => {
    const offered = readFileSync(path.join(root!, 'cgroup.controllers'), 'utf8');
    if (offered.includes('memory')) {
      process.stderr.write('[skip] cgroups-v2: this cgroup2 tree has the memory controller\n');
      ctx.skip();
      return;
    }
    const fresh = `${parent}-nomem`;
    const err = await rejection(createCgroup(deps, `${fresh}/x`, { memory: { limit: 32 * 1024 * 1024 } }));
    expect(err.code).toBe('CGROUP_UNAVAILABLE');
    expect(err.message).toMatch(/^cannot apply --memory: the memory controller is not available in cgroup v2/);
    expect(existsSync(path.join(root!, fresh))).toBe(false);
  });
});
