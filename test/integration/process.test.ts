// The container's process as a user drives it: exit codes, signals, stdin,
// user and environment, working directory, --rm and the kept record.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { busybox, containerPid, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('process');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skip)('process', () => {
  const sb = sandbox();
  afterAll(() => sb.cleanup());

  it.each([
    [['true'], 0],
    [['sh', '-c', 'exit 42'], 42],
    [['--init', 'sh', '-c', 'kill -KILL $$'], 137],
  ])('exits with the container code: %j → %i', async (args, code) => {
    const r = await sb.run(args as string[]);
    expect(r.exitCode).toBe(code);
  });

  it('exits 128+N when the container is killed by signal N', async () => {
    const sb2 = sandbox();
    const c = sb2.run(['sh', '-c', 'exec sleep 30']);
    process.kill(await containerPid(sb2), 'SIGKILL');
    expect((await c).exitCode).toBe(137);
    sb2.cleanup();
  });

  it('forwards SIGTERM to the container (a shell that traps it)', async () => {
    const c = sb.run(['sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done']);
    await new Promise<void>((res) => c.stdout!.once('data', () => res()));
    c.kill('SIGTERM');
    const r = await c;
    expect(r.stdout).toBe('ready\ngot-term');
    expect(r.exitCode).toBe(7);
  });

  it('forwards SIGTERM through --init to a command that does not trap it', async () => {
    const c = sb.run(['--init', 'sh', '-c', 'echo ready; exec sleep 30']);
    await new Promise<void>((res) => c.stdout!.once('data', () => res()));
    c.kill('SIGTERM');
    expect((await c).exitCode).toBe(143);
  });

  it('kills the container when tsrun itself is SIGKILLed', async () => {
    const sb2 = sandbox();
    try {
      const c = sb2.run(['sh', '-c', 'exec sleep 30']);
      const pid = await containerPid(sb2);
      expect(alive(pid)).toBe(true);
      c.kill('SIGKILL');
      await c;
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      expect(alive(pid)).toBe(false);
    } finally {
      sb2.cleanup();
    }
  });

  it('pipes stdin through with -i, and gives /dev/null without it', async () => {
    const r = await sb.run(['-i', 'sh', '-c', 'cat; echo done'], { input: 'hello\nworld\n' });
    expect(r.stdout).toBe('hello\nworld\ndone');
    const r2 = await sb.run(['sh', '-c', 'cat; readlink /proc/self/fd/0'], { input: 'ignored\n' });
    expect(r2.stdout).toBe('/dev/null');
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await sb.run(['sh', '-c', 'echo out; echo err >&2']);
    expect(r.stdout).toBe('out');
    expect(r.stderr).toBe('err');
  });

  it('resolves -u by name, uid and uid:gid from the rootfs, with supplementary groups', async () => {
    expect((await sb.run(['-u', 'tsuser', 'id'])).stdout).toBe('uid=1000(tsuser) gid=1000(tsuser) groups=10(wheel),1000(tsuser),1100(extra)');
    expect((await sb.run(['-u', '1000:1100', 'sh', '-c', 'id -u; id -g'])).stdout).toBe('1000\n1100');
    expect((await sb.run(['-u', '4242', 'id', '-u'])).stdout).toBe('4242');
    expect((await sb.run(['-u', 'tsuser', 'sh', '-c', 'echo $HOME; touch /root/x 2>/dev/null || echo denied'])).stdout).toBe('/home/tsuser\ndenied');
  });

  it('sets the environment from -e, --env-file and defaults', async () => {
    const envFile = join(sb.root, '..', 'env.list');
    writeFileSync(envFile, '# comment\nFROM_FILE=file value\nOVERRIDE=file\n');
    const r = await sb.run(
      ['-e', 'A=1', '--env-file', envFile, '-e', 'OVERRIDE=flag', '-e', 'FROM_HOST', 'sh', '-c', 'echo "$A|$FROM_FILE|$OVERRIDE|$FROM_HOST|$PATH|$HOME"'],
      { env: { FROM_HOST: 'host value' } },
    );
    expect(r.stdout).toBe('1|file value|flag|host value|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root');
  });

  it('runs in -w, creating it when missing', async () => {
    expect((await sb.run(['-w', '/srv/app', 'pwd'])).stdout).toBe('/srv/app');
  });

  it('--entrypoint replaces the program and keeps the arguments', async () => {
    expect((await sb.run(['--entrypoint', 'echo', 'a', 'b'])).stdout).toBe('a b');
  });

  it('--read-only makes the root read-only but leaves /dev writable', async () => {
    const r = await sb.run(['--read-only', 'sh', '-c', 'touch /x 2>&1; echo ok > /dev/shm/y && cat /dev/shm/y']);
    expect(r.stdout).toContain('Read-only file system');
    expect(r.stdout).toContain('ok');
  });

  it('keeps an exited container record without --rm and removes it with --rm', async () => {
    const sb2 = sandbox();
    try {
      await sb2.tsrun(['run', '--name', 'kept', '--rootfs', busybox(), 'sh', '-c', 'exit 3']);
      const dirs = readdirSync(join(sb2.root, 'containers'));
      expect(dirs).toHaveLength(1);
      const [doc] = JSON.parse((await sb2.tsrun(['inspect', 'kept'])).stdout as string);
      expect(doc).toMatchObject({ Name: '/kept', State: { Status: 'exited', ExitCode: 3 } });
      const again = await sb2.tsrun(['run', '--name', 'kept', '--rootfs', busybox(), 'true']);
      expect(again.exitCode).toBe(125);
      expect(again.stderr).toMatch(/^tsrun: the container name "kept" is already in use/);
      await sb2.tsrun(['run', '--rm', '--name', 'gone', '--rootfs', busybox(), 'true']);
      expect(readdirSync(join(sb2.root, 'containers'))).toEqual(dirs);
      expect(readdirSync(join(sb2.root, 'names'))).toEqual(['kept']);
    } finally {
      sb2.cleanup();
    }
  });
});
