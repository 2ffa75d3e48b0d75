import { fstatSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NativeSystemError } from '../../src/errors.js';
import type { ExitStatus, NativeBinding, NativeContainerConfig, SpawnResult } from '../../src/native/binding.js';
import { runForeground, type RunRequest, type RunStdio } from '../../src/runtime/run.js';
import { ContainerStore, type ContainerState } from '../../src/runtime/store.js';
import type { Locker } from '../../src/util/lock.js';
import { rejection } from '../helpers/expect-error.js';

const FAKE_PID = 31337;

/** A kernel facade that records what it was asked and answers as told. */
class FakeNative implements NativeBinding {
  configs: NativeContainerConfig[] = [];
  /** fstat of config.stdio[0] taken during spawn (the fd is closed afterwards). */
  stdinStat: { isCharDevice: boolean; rdev: number } | null = null;
  waited: number[] = [];
  spawnError: unknown = null;
  ptyMaster = -1;
  private release!: (st: ExitStatus) => void;
  private readonly exit = new Promise<ExitStatus>((resolve) => {
    this.release = resolve;
  });

  spawn(config: NativeContainerConfig): SpawnResult {
    this.configs.push(structuredClone(config));
    if (config.stdio[0] >= 0) {
      const st = fstatSync(config.stdio[0]);
      this.stdinStat = { isCharDevice: st.isCharacterDevice(), rdev: st.rdev };
    }
    if (this.spawnError) throw this.spawnError;
    return { pid: FAKE_PID, ptyMaster: this.ptyMaster };
  }

  waitExit(pid: number): Promise<ExitStatus> {
    this.waited.push(pid);
    return this.exit;
  }

  probeNamespace(): number {
    return 0;
  }

  setWinsize(): void {}

  flock(): boolean {
    throw new Error('unit tests lock the store with an in-process locker, not flock');
  }

  /** Makes the container's process exit. */
  finish(st: ExitStatus): void {
    this.release(st);
  }

  get config(): NativeContainerConfig {
    expect(this.configs).toHaveLength(1);
    return this.configs[0];
  }
}

let tmp: string;
let rootfs: string;
let store: ContainerStore;
let fake: FakeNative;

const NULL_STDIO: RunStdio = { stdin: null, stdout: 1, stderr: 2 };

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-run-'));
  rootfs = path.join(tmp, 'rootfs');
  await mkdir(path.join(rootfs, 'etc'), { recursive: true });
  await mkdir(path.join(rootfs, 'bin'), { recursive: true });
  await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
  store = new ContainerStore(path.join(tmp, 'state'), serialLocker());
  fake = new FakeNative();
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function run(req: Partial<RunRequest> = {}, stdio: RunStdio = NULL_STDIO) {
  return runForeground({ native: fake, store, hostEnv: { FROM_HOST: 'yes' } }, { rootfs, command: ['sh'], ...req }, stdio);
}

async function containerDirs(): Promise<string[]> {
  return readdir(store.containersDir).catch(() => []);
}

async function nameFiles(): Promise<string[]> {
  return readdir(store.namesDir).catch(() => []);
}

async function stateOf(id: string): Promise<ContainerState> {
  return JSON.parse(await readFile(path.join(store.dir(id), 'state.json'), 'utf8')) as ContainerState;
}


describe('runForeground: the config handed to the native side', () => {
  it('carries the process: args, env, cwd, user, hostname', async () => {
    const c = await run({ command: ['/bin/echo', 'hi'], env: ['FOO=bar', 'FROM_HOST'], workdir: '/tmp', user: 'app', name: 'web' });
    const cfg = fake.config;
    expect(cfg.args).toEqual(['/bin/echo', 'hi']);
    expect(cfg.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `HOSTNAME=${c.id.slice(0, 12)}`,
      'FOO=bar',
      'FROM_HOST=yes',
      'HOME=/home/app',
    ]);
    expect(cfg.cwd).toBe('/tmp');
    expect(cfg.uid).toBe(1000);
    expect(cfg.gid).toBe(1000);
    expect(cfg.additionalGids).toEqual([1000, 50]);
    expect(cfg.rootfs).toBe(rootfs);
    expect(cfg.killOnParentDeath).toBe(true);
    expect(cfg.terminal).toBe(false);
    expect(cfg.init).toBe(false);
    expect(c).toMatchObject({ name: 'web', pid: FAKE_PID, ptyMaster: null });
    fake.finish({ exitCode: 0, signal: null });
    await c.exited;
  });

  it('uses the first 12 characters of the container id (the store directory name) as hostname', async () => {
    const c = await run();
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    expect(await containerDirs()).toEqual([c.id]);
    expect(fake.config.hostname).toBe(c.id.slice(0, 12));
    expect(fake.config.env).toContain(`HOSTNAME=${c.id.slice(0, 12)}`);
    expect(fake.config.uid).toBe(0);
    expect(fake.config.env).toContain('HOME=/root');
    fake.finish({ exitCode: 0, signal: null });
    await c.exited;
  });

  it('gives the container /dev/null on an fd other than 0 when stdin is null', async () => {
    const c = await run({}, { stdin: null, stdout: 1, stderr: 2 });
    const [stdin, stdout, stderr] = fake.config.stdio;
    expect(stdin).not.toBe(-1);
    expect(stdin).not.toBe(0);
    expect(stdin).toBeGreaterThan(2);
    expect([stdout, stderr]).toEqual([1, 2]);
    // What the fd was while spawn ran: /dev/null is character device 1:3.
    expect(fake.stdinStat).toEqual({ isCharDevice: true, rdev: statSync('/dev/null').rdev });
    expect(fake.stdinStat!.rdev).toBe(makedev(1, 3));
    fake.finish({ exitCode: 0, signal: null });
    await c.exited;
  });

  it('closes its /dev/null fd once spawn has returned, and after a failed spawn', async () => {
    const isDevNull = (fd: number) => {
      try {
        const st = fstatSync(fd);
        return st.isCharacterDevice() && st.rdev === makedev(1, 3);
      } catch {
        return false; // EBADF: closed
      }
    };
    const c = await run();
    expect(isDevNull(fake.config.stdio[0])).toBe(false);
    fake.finish({ exitCode: 0, signal: null });
    await c.exited;

    const failing = new FakeNative();
    failing.spawnError = new NativeSystemError({ message: 'ENOENT', code: 'ENOENT', errno: 2, syscall: 'execve', step: 'exec' });
    await rejection(runForeground({ native: failing, store, hostEnv: {} }, { rootfs, command: ['sh'] }, NULL_STDIO));
    expect(failing.stdinStat?.isCharDevice).toBe(true);
    expect(isDevNull(failing.config.stdio[0])).toBe(false);
  });

  it('passes a given stdin fd through unchanged', async () => {
    const c = await run({}, { stdin: 0, stdout: 5, stderr: 6 });
    expect(fake.config.stdio).toEqual([0, 5, 6]);
    fake.finish({ exitCode: 0, signal: null });
    await c.exited;
  });

  it('marks --init in the config', async () => {
    const c = await run({ init: true });
    expect(fake.config.init).toBe(true);
    fake.finish({ exitCode: 0, signal: null });
    await c.exited;
  });

  it('re-roots a mount whose destination is an absolute symlink inside the rootfs', async () => {
    // A hostile image: /proc -> /etc must mount over the rootfs's /etc, never the host's.
    await symlink('/etc', path.join(rootfs, 'proc'));
    await symlink('../../../../../../../../tmp/escape', path.join(rootfs, 'sys'));
    const c = await run();
    const targets = fake.config.mounts.map((m) => m.target);
    expect(targets).toEqual(['/etc', '/dev', '/dev/pts', '/tmp/escape', '/dev/mqueue', '/dev/shm']);
    const proc = fake.config.mounts[0];
    expect(proc.fstype).toBe('proc');
    expect(proc.target).toBe('/etc');
    for (const t of targets) {
      expect(t.startsWith('/')).toBe(true);
      expect(t.split('/')).not.toContain('..');
      expect(t.startsWith(rootfs)).toBe(false);
    }
    fake.finish({ exitCode: 0, signal: null });
    await c.exited;
  });
});

describe('runForeground: exit', () => {
  it('resolves exited with the exit code and records it in state.json', async () => {
    const c = await run({ name: 'job' });
    expect(fake.waited).toEqual([FAKE_PID]);
    const running = await stateOf(c.id);
    expect(running).toMatchObject({ id: c.id, name: 'job', status: 'running', pid: FAKE_PID });
    expect(typeof running.startedAt).toBe('string');

    fake.finish({ exitCode: 3, signal: null });
    expect(await c.exited).toBe(3);
    const done = await stateOf(c.id);
    expect(done).toMatchObject({ id: c.id, name: 'job', status: 'exited', exitCode: 3 });
    expect(done).not.toHaveProperty('pid');
    expect(typeof done.finishedAt).toBe('string');
    expect(await nameFiles()).toEqual(['job']);
  });

  it('a zero exit code stays 0', async () => {
    const c = await run();
    fake.finish({ exitCode: 0, signal: null });
    expect(await c.exited).toBe(0);
    expect((await stateOf(c.id)).exitCode).toBe(0);
  });

  it('resolves 128+signal when the process was killed', async () => {
    const c = await run();
    fake.finish({ exitCode: null, signal: 9 });
    expect(await c.exited).toBe(137);
    expect(await stateOf(c.id)).toMatchObject({ status: 'exited', exitCode: 137 });
  });

  it('with remove, deletes the container and frees its name after exit', async () => {
    const c = await run({ name: 'tmp1', remove: true });
    expect(await containerDirs()).toEqual([c.id]);
    expect(await nameFiles()).toEqual(['tmp1']);
    fake.finish({ exitCode: null, signal: 15 });
    expect(await c.exited).toBe(143);
    expect(await containerDirs()).toEqual([]);
    expect(await nameFiles()).toEqual([]);
  });
});

describe('runForeground: spawn failures', () => {
  function fail(step: string, code: string, errno: number, message = `${code}: failed`) {
    fake.spawnError = new NativeSystemError({ message, code, errno, syscall: step === 'exec' ? 'execve' : step, step });
  }

  async function expectNothingLeft() {
    expect(await containerDirs()).toEqual([]);
    expect(await nameFiles()).toEqual([]);
  }

  it('exec ENOENT → COMMAND_NOT_FOUND with Docker\'s message', async () => {
    fail('exec', 'ENOENT', 2);
    const err = await rejection(run({ command: ['cmd', 'arg'], name: 'nf' }));
    expect(err.code).toBe('COMMAND_NOT_FOUND');
    expect(err.message).toBe('exec: "cmd": executable file not found in $PATH');
    expect(err.cause).toBe(fake.spawnError);
    await expectNothingLeft();
  });

  it('exec ENOENT of a path → COMMAND_NOT_FOUND, no such file or directory', async () => {
    fail('exec', 'ENOENT', 2);
    const err = await rejection(run({ command: ['/bin/nope'] }));
    expect(err.code).toBe('COMMAND_NOT_FOUND');
    expect(err.message).toBe('exec: "/bin/nope": no such file or directory');
    await expectNothingLeft();
  });

  it('exec EACCES → COMMAND_NOT_EXECUTABLE', async () => {
    fail('exec', 'EACCES', 13);
    const err = await rejection(run({ command: ['cmd'], name: 'na' }));
    expect(err.code).toBe('COMMAND_NOT_EXECUTABLE');
    expect(err.message).toBe('exec: "cmd": permission denied');
    await expectNothingLeft();
  });

  it('mount EPERM → CONTAINER_SETUP_FAILED naming the step', async () => {
    fail('mount', 'EPERM', 1, "EPERM: operation not permitted, mount '/proc'");
    const err = await rejection(run({ name: 'mnt' }));
    expect(err.code).toBe('CONTAINER_SETUP_FAILED');
    expect(err.message).toContain('"mount"');
    expect(err.message).toContain('operation not permitted');
    await expectNothingLeft();
  });

  it('a non-native error from spawn is passed through, and still cleaned up', async () => {
    fake.spawnError = new RangeError('bad config');
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBe(fake.spawnError);
    await expectNothingLeft();
  });

  it('never waits for a process that did not start', async () => {
    fail('exec', 'ENOENT', 2);
    await rejection(run());
    expect(fake.waited).toEqual([]);
  });
});

/** An in-process stand-in for the store's flock: critical sections run one at a time. */
function serialLocker(): Locker {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(_lockPath: string, fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(fn, fn);
    tail = result.catch(() => undefined);
    return result;
  };
}

/** Linux's makedev for small major/minor numbers. */
function makedev(major: number, minor: number): number {
  return (major << 8) | minor;
}
