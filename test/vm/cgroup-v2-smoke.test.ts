// The VM tier's smoke test (runs inside the QEMU guest of `npm run test:vm`,
// where TSRUN_VM=1): the guest really is a pure cgroup v2 host, tsrun runs a
// container there, and the cgroup controllers work.
import { existsSync, mkdirSync, readFileSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const CGROUP = '/sys/fs/cgroup';
const CGROUP2_SUPER_MAGIC = 0x63677270;

const skip = process.env.TSRUN_VM ? '' : 'not inside the test VM (TSRUN_VM unset; run `npm run test:vm`)';
if (skip) process.stderr.write(`[skip] cgroup-v2-smoke: ${skip}\n`);

function mounts(): { point: string; fstype: string }[] {
  // mountinfo: ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [left, right] = line.split(' - ');
      return { point: left.split(' ')[4], fstype: right.split(' ')[0] };
    });
}

describe.skipIf(skip)('cgroup v2 smoke (VM)', () => {
  it('has every integration prerequisite (a skip here would hide the whole tier)', () => {
    expect(integrationSkipReason('cgroup-v2-smoke')).toBe('');
  });

  it('runs on a pure cgroup v2 host', () => {
    expect(statfsSync(CGROUP).type).toBe(CGROUP2_SUPER_MAGIC);
    const all = mounts();
    expect(all.filter((m) => m.point === CGROUP).map((m) => m.fstype)).toEqual(['cgroup2']);
    expect(all.filter((m) => m.fstype === 'cgroup')).toEqual([]);
    const controllers = readFileSync(join(CGROUP, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    expect(controllers).toEqual(expect.arrayContaining(['memory', 'cpu', 'pids']));
    expect(readFileSync('/proc/self/cgroup', 'utf8')).toMatch(/^0::\/\S*\n$/);
  });

  it('is seen as unified by `tsrun check`', async () => {
    const sb = sandbox();
    try {
      const r = await sb.tsrun(['check', '--json']);
      expect(r.exitCode).toBe(0);
      const facts = JSON.parse(String(r.stdout)).facts.cgroup;
      expect(facts.mode).toBe('unified');
      expect(facts.usable).toMatchObject({ memory: 'v2', cpu: 'v2', pids: 'v2' });
    } finally {
      sb.cleanup();
    }
  });

  it('runs a container with the CLI', async () => {
    const sb = sandbox();
    try {
      const r = await sb.run(['sh', '-c', 'echo hello; cat /proc/self/cgroup']);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      const [first, ...cgroupLines] = String(r.stdout).split('\n');
      expect(first).toBe('hello');
      // cgroup v2 only: one "0::PATH" line, no v1 "N:controller:PATH" lines.
      expect(cgroupLines).toHaveLength(1);
      expect(cgroupLines[0]).toMatch(/^0::\//);
    } finally {
      sb.cleanup();
    }
  });

  describe('a child cgroup with pids.max=5', () => {
    const cg = join(CGROUP, `tsrun-vm-smoke-${process.pid}`);
    afterAll(async () => {
      if (!existsSync(cg)) return;
      writeFileSync(join(cg, 'cgroup.kill'), '1');
      for (let i = 0; i < 100 && readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim(); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      rmdirSync(cg);
    });

    it('caps a fork loop', async () => {
      writeFileSync(join(CGROUP, 'cgroup.subtree_control'), '+memory +pids');
      const enabled = readFileSync(join(CGROUP, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/);
      expect(enabled).toEqual(expect.arrayContaining(['memory', 'pids']));
      mkdirSync(cg);
      expect(existsSync(join(cg, 'memory.max'))).toBe(true);
      writeFileSync(join(cg, 'pids.max'), '5');

      // The shell joins the cgroup (1 task), then forks sleepers until the
      // kernel refuses: 4 more fit. `echo` and arithmetic are builtins. The
      // sleepers let go of the pipes, or execa would wait for them.
      const script = `echo $$ > ${cg}/cgroup.procs
        i=0; while [ $i -lt 20 ]; do i=$((i+1)); sleep 600 </dev/null >/dev/null 2>&1 & echo started $i; done
        echo not-capped`;
      const r = await execa('/bin/sh', ['-c', script], { reject: false, stdin: 'ignore' });
      const started = String(r.stdout).split('\n').filter((l) => l.startsWith('started'));
      expect(String(r.stdout)).not.toContain('not-capped');
      expect(started).toHaveLength(4);
      expect(r.exitCode).not.toBe(0);
      expect(String(r.stderr)).toMatch(/fork/i);
      expect(readFileSync(join(cg, 'pids.events'), 'utf8')).toMatch(/^max [1-9]/m);
      expect(Number(readFileSync(join(cg, 'pids.current'), 'utf8'))).toBe(4);
    });
  });
});
