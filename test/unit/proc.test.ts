import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSameProcess, pidStartTime } from '../../src/runtime/proc.js';

const dir = mkdtempSync(join(tmpdir(), 'tsrun-proc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Field 22 of /proc/PID/stat the plain way: split after the command name's last ')'. */
const startOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};

describe('pidStartTime', () => {
  it('reads the start time past a command name holding spaces and parentheses', async () => {
    const exe = join(dir, 'a) b (c) 2');
    copyFileSync('/bin/sleep', exe);
    const child = spawn(exe, ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      expect(readFileSync(`/proc/${child.pid}/stat`, 'utf8')).toContain('(a) b (c) 2)');
      expect(pidStartTime(child.pid!)).toBe(startOf(child.pid!));
      expect(pidStartTime(child.pid!)).toMatch(/^\d+$/);
      expect(isSameProcess(child.pid, startOf(child.pid!))).toBe(true);
      expect(isSameProcess(child.pid, '1')).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is null for a zombie, a pid that does not exist and no pid at all', async () => {
    // sh starts `true` and becomes sleep, which never reaps it: a zombie that stays.
    const parent = spawn('/bin/sh', ['-c', '/bin/true & exec /bin/sleep 30'], { stdio: 'ignore' });
    try {
      let zombie = 0;
      for (let i = 0; i < 500 && !zombie; i++) {
        await new Promise((r) => setTimeout(r, 5));
        const kids = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
        zombie = kids.find((k) => / Z /.test(readFileSync(`/proc/${k}/stat`, 'utf8'))) ?? 0;
      }
      expect(zombie).toBeGreaterThan(0);
      expect(pidStartTime(zombie)).toBeNull();
    } finally {
      parent.kill('SIGKILL');
    }
    expect(pidStartTime(2 ** 22 + 1)).toBeNull();
    expect(pidStartTime(0)).toBeNull();
    expect(pidStartTime(process.pid)).toBe(startOf(process.pid));
  });
});
