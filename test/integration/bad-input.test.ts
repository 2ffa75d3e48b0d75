// Bad input gets one clear line, Docker's exit code, and leaves nothing
// behind: no mounts, no container records, no processes.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { busybox, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('bad-input');

describe.skipIf(skip)('bad input', () => {
  const sb = sandbox();
  const scratch = mkdtempSync(join(tmpdir(), 'tsrun-bad-'));
  afterAll(() => {
    sb.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  const containers = (): string[] => {
    try {
      return readdirSync(join(sb.root, 'containers'));
    } catch {
      return [];
    }
  };

  // Other test files run containers at the same time: only mounts under this sandbox or the scratch dir count.
  const ourMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(sb.root) || l.includes(scratch)).join('\n');

  async function expectCleanFailure(args: string[], code: number, message: RegExp): Promise<void> {
    const mountsBefore = ourMounts();
    const r = await sb.tsrun(['run', '--rm', ...args]);
    expect(r.exitCode).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(ourMounts()).toBe(mountsBefore);
    expect(containers()).toEqual([]);
  }

  it('a missing rootfs → 125', async () => {
    await expectCleanFailure(['--rootfs', join(scratch, 'nope'), 'true'], 125, /^tsrun: rootfs .*nope does not exist$/);
  });

  it('a rootfs that is a file → 125', async () => {
    writeFileSync(join(scratch, 'file'), '');
    await expectCleanFailure(['--rootfs', join(scratch, 'file'), 'true'], 125, /is not a directory/);
  });

  it('a command the rootfs does not have → 127', async () => {
    await expectCleanFailure(['--rootfs', busybox(), 'no-such-command'], 127, /^tsrun: exec: "no-such-command": executable file not found in \$PATH$/);
    await expectCleanFailure(['--rootfs', busybox(), '/bin/nope'], 127, /^tsrun: exec: "\/bin\/nope": no such file or directory$/);
  });

  it('a command that is not executable → 126', async () => {
    await expectCleanFailure(['--rootfs', busybox(), '/etc/passwd'], 126, /^tsrun: exec: "\/etc\/passwd": permission denied$/);
    await expectCleanFailure(['--rootfs', busybox(), '/etc'], 126, /^tsrun: exec: "\/etc": permission denied$/);
  });

  it('a missing command with --init → 127, and nothing left running', async () => {
    await expectCleanFailure(['--init', '--rootfs', busybox(), 'no-such-command'], 127, /executable file not found/);
  });

  it('an unknown user or group → 125', async () => {
    await expectCleanFailure(['--rootfs', busybox(), '-u', 'nobody-here', 'true'], 125, /^tsrun: unable to find user nobody-here/);
    await expectCleanFailure(['--rootfs', busybox(), '-u', 'tsuser:nogrp', 'true'], 125, /nogrp/);
  });

  it('an invalid or missing env file → 125', async () => {
    const bad = join(scratch, 'bad.env');
    writeFileSync(bad, 'GOOD=1\nBAD KEY=2\n');
    await expectCleanFailure(['--rootfs', busybox(), '--env-file', bad, 'true'], 125, /bad\.env.*line 2/);
    await expectCleanFailure(['--rootfs', busybox(), '--env-file', join(scratch, 'none.env'), 'true'], 125, /none\.env/);
  });

  it('a relative working directory, a bad name, an unknown flag → 125', async () => {
    await expectCleanFailure(['--rootfs', busybox(), '-w', 'rel', 'true'], 125, /absolute/);
    await expectCleanFailure(['--rootfs', busybox(), '--name', '-x', 'true'], 125, /name/);
    const r = await sb.tsrun(['run', '--rootfs', busybox(), '--no-such-flag', 'true']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/unknown option/);
  });

  it('a working directory the user may not enter → 125, set-up step named', async () => {
    const rootfs = join(scratch, 'locked');
    cpSync(busybox(), rootfs, { recursive: true, verbatimSymlinks: true });
    chmodSync(join(rootfs, 'root'), 0o700);
    await expectCleanFailure(['--rootfs', rootfs, '-u', 'tsuser', '-w', '/root', 'true'], 125, /set-up failed at step "cwd": chdir \/root: Permission denied/);
  });

  it('an image whose /proc is a symlink to a host path cannot mount over the host', async () => {
    const rootfs = join(scratch, 'evil');
    cpSync(busybox(), rootfs, { recursive: true, verbatimSymlinks: true });
    const target = mkdtempSync(join(tmpdir(), 'tsrun-host-target-'));
    rmSync(join(rootfs, 'proc'), { recursive: true });
    symlinkSync(target, join(rootfs, 'proc'));
    try {
      const r2 = await sb.tsrun(['run', '--rm', '--rootfs', rootfs, 'sh', '-c', 'ls /proc/self >/dev/null && echo proc-mounted; readlink /proc']);
      // The symlink resolves inside the rootfs: proc is mounted at <rootfs><target>, not on the host directory.
      expect(r2.stdout).toBe(`proc-mounted\n${target}`);
      expect(readdirSync(target)).toEqual([]);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(target);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('a full disk under --root: run -d fails clearly and leaves no record, monitor or instance', async () => {
    const { execa } = await import('execa');
    const { cli } = await import('../helpers/tsrun.js');
    const base = mkdtempSync(join(tmpdir(), 'tsrun-full-'));
    const root = join(base, 'root');
    const runroot = join(base, 'run');
    // A full 64 KiB tmpfs as --root, mounted in a mount namespace of its own
    // so the host's mount table (which other tests compare) never sees it.
    const script = `
      set -u
      mkdir -p "$ROOT" && mount -t tmpfs -o size=64k tsrun-full "$ROOT" || exit 99
      dd if=/dev/zero of="$ROOT/fill" bs=4k 2>/dev/null
      node -- "$CLI" --root "$ROOT" --runroot "$RUNROOT" run -d --name full --rootfs "$FIXTURE" sleep 100 2>"$BASE/stderr"
      echo "exit=$?"
      echo "records=$(ls -A "$ROOT/containers" "$ROOT/names" 2>/dev/null | grep -v '^\\.' | grep -v ':$' | grep -c .)"
      echo "instances=$(ls -A "$RUNROOT/containers" 2>/dev/null | grep -c .)"
      echo "monitors=$(pgrep -fc "tsrun-monitor --dir $RUNROOT")"`;
    try {
      const r = await execa('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
        env: { ROOT: root, RUNROOT: runroot, BASE: base, CLI: cli, FIXTURE: busybox() },
        reject: false,
      });
      expect(r.stdout.split('\n')).toEqual(['exit=125', 'records=0', 'instances=0', 'monitors=0']);
      expect(readFileSync(join(base, 'stderr'), 'utf8')).toMatch(/^tsrun: .*ENOSPC/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
