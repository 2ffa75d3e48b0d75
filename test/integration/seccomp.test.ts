// Seccomp as a user meets it: a static probe (test/fixtures/seccomp-probe.c,
// built here with gcc -static) tries the calls Docker's default profile
// refuses, in a default container, through exec, unconfined, with a profile
// of the user's, and in a build's RUN step.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SECCOMP_PROFILE } from '../../src/spec/seccomp-default.js';
import { integrationSkipReason, missingTools, repo, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('seccomp') || missingTools('seccomp', ['gcc'], 'gcc libc6-dev');

// Refused by Docker's profile for a container with the default capabilities.
const REFUSED = [
  'unshare', 'mount', 'keyctl', 'add_key', 'bpf', 'perf_event_open', 'userfaultfd', 'clock_settime', 'syslog', 'setns',
  'open_by_handle_at', 'kexec_load', 'init_module', 'swapon', 'acct', 'personality',
];

function parse(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
}

describe.skipIf(skip)('seccomp', () => {
  const sb = sandbox();
  let dir: string;
  let probeArgs: string[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-seccomp-'));
    execFileSync('gcc', ['-static', '-O1', '-o', join(dir, 'probe'), join(repo, 'test/fixtures/seccomp-probe.c')]);
    // A private /tmp: the probe's mkdir must not land in the shared rootfs.
    probeArgs = ['--network', 'none', '--tmpfs', '/tmp', '-v', `${dir}:/probe:ro`];
  });
  afterAll(() => {
    sb.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a default container runs under a filter that refuses every call Docker refuses (clone3: ENOSYS)', async () => {
    const r = await sb.run([...probeArgs, 'sh', '-c', 'grep "^Seccomp:" /proc/self/status; /probe/probe']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Seccomp:\s+2$/m);
    const got = parse(r.stdout.replace(/^Seccomp:.*\n/m, ''));
    for (const name of REFUSED) expect([name, got[name]]).toEqual([name, 'EPERM']);
    expect(got.clone3).toBe('ENOSYS');
    expect(got.mkdir).toBe('0');
  });

  it('every exec into it gets the same filter', async () => {
    const c = await sb.tsrun(['run', '-d', ...probeArgs, '--rootfs', join(repo, 'rootfs-fixtures/out/busybox'), 'sleep', '30']);
    expect(c.exitCode).toBe(0);
    const id = String(c.stdout).trim();
    const r = await sb.tsrun(['exec', id, '/probe/probe']);
    const got = parse(String(r.stdout));
    for (const name of REFUSED) expect([name, got[name]]).toEqual([name, 'EPERM']);
    await sb.tsrun(['rm', '-f', id]);
  });

  it('seccomp=unconfined has no filter: calls no capability guards go through to the kernel', async () => {
    const r = await sb.run([...probeArgs, '--security-opt', 'seccomp=unconfined', 'sh', '-c', 'grep "^Seccomp:" /proc/self/status; /probe/probe']);
    expect(r.stdout).toMatch(/^Seccomp:\s+0$/m);
    const got = parse(r.stdout.replace(/^Seccomp:.*\n/m, ''));
    for (const name of ['unshare', 'mount', 'keyctl', 'add_key', 'userfaultfd', 'personality']) expect([name, got[name]]).toEqual([name, '0']);
    // Reached the kernel, which then rejected the arguments.
    expect(got.perf_event_open).toBe('EFAULT');
    expect(got.clock_settime).toBe('EFAULT');
    expect(got.setns).toBe('EBADF');
    expect(got.clone3).not.toBe('ENOSYS');
  });

  it("the default profile's policy itself denies the capability-guarded calls (its errno swapped to tell the filter from the kernel)", async () => {
    const file = join(dir, 'default-eopnotsupp.json');
    writeFileSync(file, JSON.stringify({ ...DEFAULT_SECCOMP_PROFILE, defaultErrnoRet: 95 }));
    const r = await sb.run([...probeArgs, '--security-opt', `seccomp=${file}`, '/probe/probe']);
    const got = parse(r.stdout);
    for (const name of REFUSED) expect([name, got[name]]).toEqual([name, 'EOPNOTSUPP']);
    expect(got.mkdir).toBe('0');
    // A call newer than any table gets the kernel's ENOSYS, not the profile's errno.
    expect(got.nr1000).toBe('ENOSYS');
    expect(got.fchmodat2).toBe('0');
  });

  it('a profile of the user denies exactly the calls it names', async () => {
    const file = join(dir, 'deny-mkdir.json');
    writeFileSync(file, JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat', 'no_such_syscall_tsrun'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    }));
    const r = await sb.run([...probeArgs, '--security-opt', `seccomp=${file}`, '/probe/probe']);
    const got = parse(r.stdout);
    expect(got.mkdir).toBe('EACCES');
    expect(got.keyctl).toBe('0');
    expect(got.unshare).toBe('0');
  });

  it('argument conditions and KILL_PROCESS: kill(pid, 0) is allowed, any other signal kills the caller', async () => {
    const file = join(dir, 'kill-rule.json');
    writeFileSync(file, JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 0, op: 'SCMP_CMP_NE' }] }],
    }));
    const r = await sb.run(['--network', 'none', '--security-opt', `seccomp=${file}`, 'sh', '-c', 'kill -0 $$ && echo probe-ok; kill -TERM $$; echo not-reached']);
    expect(r.stdout).toBe('probe-ok');
    expect(r.exitCode).toBe(128 + 31); // SIGSYS
  });

  it('bad profiles fail create in one line, exit 125, and leave nothing', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_EXPLODE' }] }));
    for (const [path, msg] of [
      [bad, /invalid seccomp profile .*bad\.json: syscalls\[0\]: unknown action "SCMP_ACT_EXPLODE"/],
      [join(dir, 'missing.json'), /cannot read seccomp profile .*missing\.json/],
    ] as const) {
      const r = await sb.run(['--network', 'none', '--security-opt', `seccomp=${path}`, 'true']);
      expect(r.exitCode).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    const ps = await sb.tsrun(['ps', '-aq']);
    expect(String(ps.stdout).trim()).toBe('');
  });

  it("a build's RUN steps run under the default filter too", async () => {
    const tar = execFileSync('tar', ['-C', join(repo, 'rootfs-fixtures/out/busybox'), '--exclude=./.tsrun-fixture', '-c', '.'], { maxBuffer: 1 << 30 });
    expect((await sb.tsrun(['import', '-', 'localhost/busybox:latest'], { input: tar })).exitCode).toBe(0);
    const ctx = mkdtempSync(join(dir, 'ctx-'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM localhost/busybox\nRUN grep "^Seccomp:" /proc/self/status > /seccomp.txt\n');
    const b = await sb.tsrun(['build', '-q', '-t', 'seccomp-probe', ctx]);
    expect(b.exitCode, String(b.stderr)).toBe(0);
    const r = await sb.tsrun(['run', '--rm', '--network', 'none', 'seccomp-probe', 'cat', '/seccomp.txt']);
    expect(String(r.stdout)).toMatch(/^Seccomp:\s+2$/);
  });

  it('compiles each profile once: later starts reuse the program kept under the runroot', async () => {
    await sb.run(['--network', 'none', 'true']);
    const cache = join(sb.runroot, 'seccomp');
    // A recompiled program would be written anew (a new file renamed over the old: a new inode).
    const programs = () => readdirSync(cache).filter((f) => f.endsWith('.bpf')).map((f) => `${f}:${statSync(join(cache, f)).ino}`);
    const before = programs();
    expect(before.length).toBeGreaterThan(0);
    await sb.run(['--network', 'none', 'true']);
    expect(programs()).toEqual(before);
  });
});
