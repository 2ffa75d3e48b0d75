// The Engine (create/start/state/kill/delete/exec) against a fake kernel
// facade (test/helpers/fake-native.ts: real child processes stand in for
// containers) and a fake cgroup tree in a temp dir. No root needed.
import { fstatSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NativeSystemError } from '../../src/errors.js';
import { monitorPath } from '../../src/native/binding.js';
import { CLONE_FLAGS } from '../../src/native/constants.js';
import { Engine, type CreateOptions, type EngineRecord } from '../../src/runtime/engine.js';
import { pidStartTime } from '../../src/runtime/proc.js';
import { buildSpec } from '../../src/spec/build.js';
import type { OciSpec } from '../../src/spec/oci.js';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs.js';
import { FakeNative } from '../helpers/fake-native.js';
import { rejection } from '../helpers/expect-error.js';


const V1_HIERARCHIES = ['blkio', 'cpu,cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'];

let tmp: string;
let bundle: string;
let rootfs: string;
let stateDir: string;
let cg: FakeCgroupFs | undefined;
let fake: FakeNative;
let engine: Engine;

function setup(mode: 'v1' | 'v2' = 'v2', controllers?: string[]): void {
  cg?.cleanup();
  cg = new FakeCgroupFs(mode, controllers ? { controllers } : {});
  fake = new FakeNative(cg);
  engine = new Engine({ native: fake, stateDir, cgroups: { mountRoot: cg.root, mountinfo: cg.mountinfo, dirs: cg.deps().dirs } });
}

/** Writes bundle/config.json (rootfs given relative to the bundle, as bundles do). */
async function writeBundle(change?: (spec: OciSpec) => void): Promise<OciSpec> {
  const spec = await buildSpec({ rootfs, command: ['/bin/echo', 'hi'], user: 'app', env: ['FOO=bar'] }, { id: 'bundle', hostEnv: {} });
  spec.root.path = 'rootfs';
  change?.(spec);
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
  return spec;
}

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-engine-'));
  bundle = path.join(tmp, 'bundle');
  rootfs = path.join(bundle, 'rootfs');
  stateDir = path.join(tmp, 'run', 'containers');
  await mkdir(path.join(rootfs, 'etc'), { recursive: true });
  await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
  await writeBundle();
  setup('v2');
});

afterEach(async () => {
  await fake.cleanup();
  cg?.cleanup();
  cg = undefined;
  await rm(tmp, { recursive: true, force: true });
});

const MONITOR = { logPath: '/logs/c1.log', openStdin: false } as const;

function create(id = 'c1', opts: Partial<CreateOptions> = {}): Promise<EngineRecord> {
  return engine.create(id, { bundle, ...opts });
}

/** A created and started container. */
async function running(id = 'c1', opts: Partial<CreateOptions> = {}): Promise<EngineRecord> {
  const rec = await create(id, opts);
  await engine.start(id);
  return rec;
}

async function stateJson(id = 'c1'): Promise<EngineRecord> {
  return JSON.parse(await readFile(path.join(stateDir, id, 'state.json'), 'utf8')) as EngineRecord;
}

function isDevNull(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isCharacterDevice() && st.rdev === statSync('/dev/null').rdev;
  } catch {
    return false; // EBADF: closed
  }
}

describe('Engine.create', () => {
  it.each(['v2', 'v1'] as const)('(%s) writes state.json with pid, pidStart and monitorPid, hands over the exec fifo and the cgroup procs files', async (mode) => {
    setup(mode);
    const rec = await create('c1', { monitor: MONITOR });
    expect(fake.calls).toHaveLength(1);
    const { options } = fake.calls[0];
    const dir = path.join(stateDir, 'c1');

    const fifo = path.join(dir, 'exec.fifo');
    expect(options.execFifo).toBe(fifo);
    expect(fake.fifos).toEqual([{ path: fifo, mode: 0o622 }]);
    expect(statSync(fifo).isFIFO()).toBe(true);

    const procs =
      mode === 'v2'
        ? [path.join(cg!.root, 'tsrun/c1/cgroup.procs')]
        : V1_HIERARCHIES.map((h) => path.join(cg!.root, h, 'tsrun/c1/cgroup.procs'));
    expect([...options.cgroupProcs!].sort()).toEqual(procs);
    expect(options.keepSync).toBe(false);

    const monitorPid = rec.monitorPid!;
    expect(monitorPid).toBeGreaterThan(0);
    expect(fake.alive(rec.pid)).toBe(true);
    expect(await stateJson()).toEqual({
      id: 'c1',
      bundle,
      rootfs,
      pid: rec.pid,
      pidStart: pidStartTime(rec.pid),
      monitorPid,
      monitorStart: pidStartTime(monitorPid),
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      cgroupPath: 'tsrun/c1',
      // Where ps reads whether it is paused, without detecting the layout.
      frozenFile: mode === 'v2' ? path.join(cg!.root, 'tsrun/c1/cgroup.events') : path.join(cg!.root, 'freezer/tsrun/c1/freezer.state'),
      annotations: {},
    });
    expect(rec).toEqual(await stateJson());
    // The "kernel" put the process in its cgroup, in every hierarchy.
    for (const f of procs) expect((await readFile(f, 'utf8')).trim()).toBe(String(rec.pid));
    expect(await engine.pids('c1')).toEqual([rec.pid]);
    expect((await engine.state('c1')).status).toBe('created');
  });

  it('without a monitor records no monitorPid and passes stdio as given (ours by default)', async () => {
    const rec = await create('c1');
    expect(rec.monitorPid).toBeUndefined();
    expect(await stateJson()).not.toHaveProperty('monitorPid');
    expect(fake.calls[0].options.monitor).toBeUndefined();
    expect(fake.calls[0].config.stdio).toEqual([0, 1, 2]);

    await create('c2', { stdio: [7, 8, 9] });
    expect(fake.calls[1].config.stdio).toEqual([7, 8, 9]);
  });

  it('builds the monitor argv from what was asked: --dir/--pid/--log/--oom-file/--terminal/--stdin/--owner-attach/-- exit command', async () => {
    await writeBundle((s) => {
      s.process.terminal = true;
    });
    await create('c1', { monitor: { logPath: '/logs/c1.log', openStdin: true, owner: true, exitCommand: ['/usr/bin/tsrun', 'rm', '-f', 'c1'] } });
    const dir = path.join(stateDir, 'c1');
    expect(fake.calls[0].options.monitor).toEqual({
      argv: [
        monitorPath(), '--dir', dir, '--pid', '0',
        '--log', '/logs/c1.log',
        '--oom-file', path.join(cg!.root, 'tsrun/c1/memory.events'),
        '--terminal', '--stdin', '--owner-attach',
        '--', '/usr/bin/tsrun', 'rm', '-f', 'c1',
      ],
      stdin: true,
    });
  });

  it('leaves out what was not asked for, and --oom-file when the cgroup has no memory controller', async () => {
    setup('v2', ['pids']);
    await create('c1', { monitor: { openStdin: false, exitCommand: [] } });
    expect(fake.calls[0].options.monitor).toEqual({ argv: [monitorPath(), '--dir', path.join(stateDir, 'c1'), '--pid', '0'], stdin: false });
  });

  it('v1: the oom file is memory.oom_control', async () => {
    setup('v1');
    await create('c1', { monitor: MONITOR });
    const argv = fake.calls[0].options.monitor!.argv;
    expect(argv.slice(argv.indexOf('--oom-file'), argv.indexOf('--oom-file') + 2)).toEqual([
      '--oom-file',
      path.join(cg!.root, 'memory/tsrun/c1/memory.oom_control'),
    ]);
  });

  it('carries the spec into the native config: args, env, cwd, user, rootfs resolved against the bundle; never killOnParentDeath', async () => {
    await create('c1', { monitor: MONITOR, noPivot: true });
    const cfg = fake.calls[0].config;
    expect(cfg.args).toEqual(['/bin/echo', 'hi']);
    expect(cfg.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=bundle', 'FOO=bar', 'HOME=/home/app']);
    expect(cfg.cwd).toBe('/');
    expect([cfg.uid, cfg.gid, cfg.additionalGids]).toEqual([1000, 1000, [1000, 50]]);
    expect(cfg.rootfs).toBe(rootfs);
    expect(cfg.hostname).toBe('bundle');
    expect(cfg.noPivot).toBe(true);
    expect(cfg.terminal).toBe(false);
    expect(cfg.init).toBe(false);
    // A detached container must outlive the CLI that created it.
    expect(cfg.killOnParentDeath).toBe(false);
  });

  it('marks --init (the spec annotation) in the config', async () => {
    await writeBundle((s) => {
      s.annotations = { 'org.tsrun.init': 'true' };
    });
    await create('c1');
    expect(fake.calls[0].config.init).toBe(true);
    expect((await stateJson()).annotations).toEqual({ 'org.tsrun.init': 'true' });
  });

  it('under a monitor without -i, gives the container /dev/null on an fd above 2 and closes it after spawn', async () => {
    await create('c1', { monitor: MONITOR });
    const { config, stdin } = fake.calls[0];
    expect(config.stdio[0]).toBeGreaterThan(2);
    expect(config.stdio.slice(1)).toEqual([1, 2]);
    expect(stdin).toEqual({ isCharDevice: true, rdev: statSync('/dev/null').rdev });
    expect(isDevNull(config.stdio[0])).toBe(false);
  });

  it('keeps stdin for the monitor with -i, and with a terminal', async () => {
    await create('c1', { monitor: { openStdin: true } });
    expect(fake.calls[0].config.stdio).toEqual([0, 1, 2]);
    expect(fake.calls[0].options.monitor!.stdin).toBe(true);

    await writeBundle((s) => {
      s.process.terminal = true;
    });
    await create('c2', { monitor: MONITOR });
    expect(fake.calls[1].config.stdio).toEqual([0, 1, 2]);
  });

  it('re-roots a mount whose destination is a symlink inside the rootfs', async () => {
    // A hostile image: /proc -> /etc must mount over the rootfs's /etc, never the host's.
    await symlink('/etc', path.join(rootfs, 'proc'));
    await symlink('../../../../../../../../tmp/escape', path.join(rootfs, 'sys'));
    await create('c1');
    const targets = fake.calls[0].config.mounts.map((m) => m.target);
    expect(targets).toEqual(['/etc', '/dev', '/dev/pts', '/tmp/escape', '/dev/mqueue', '/dev/shm']);
    expect(fake.calls[0].config.mounts[0].fstype).toBe('proc');
  });

  it('writes --pid-file and asks for the sync channel with reportExecErrors', async () => {
    const pidFile = path.join(tmp, 'c1.pid');
    const rec = await create('c1', { pidFile, reportExecErrors: true });
    expect(await readFile(pidFile, 'utf8')).toBe(String(rec.pid));
    expect(fake.calls[0].options.keepSync).toBe(true);
  });

  it('refuses a second container with the same id (NAME_IN_USE) and leaves the first alone', async () => {
    const first = await create('c1', { monitor: MONITOR });
    const err = await rejection(create('c1', { monitor: MONITOR }));
    expect(err.code).toBe('NAME_IN_USE');
    expect(err.message).toBe('container with id "c1" already exists');
    expect(fake.calls).toHaveLength(1);
    expect(await stateJson()).toEqual(first);
    expect(cg!.exists('tsrun/c1')).toBe(true);
    expect((await engine.state('c1')).status).toBe('created');
  });

  it('refuses an id that is not a valid name', async () => {
    for (const id of ['', '../x', '-x', 'a/b', 'x'.repeat(129)]) {
      expect((await rejection(create(id))).code).toBe('INVALID_ARGUMENT');
    }
    expect(fake.calls).toEqual([]);
  });
});

describe('Engine.create: spawn failures leave nothing behind', () => {
  const nativeError = (step: string, code: string, errno: number, message = `${code}: failed`) =>
    new NativeSystemError({ message, code, errno, syscall: step === 'exec' ? 'execve' : step, step });

  async function expectNothingLeft(id = 'c1') {
    expect(await readdir(stateDir)).not.toContain(id);
    expect(cg!.exists(`tsrun/${id}`)).toBe(false);
    expect(await engine.exists(id)).toBe(false);
    expect(await engine.list()).toEqual([]);
  }

  it.each([
    ['exec ENOENT of a name', ['cmd', 'arg'], nativeError('exec', 'ENOENT', 2), 'COMMAND_NOT_FOUND', 'exec: "cmd": executable file not found in $PATH'],
    ['exec ENOENT of a path', ['/bin/nope'], nativeError('exec', 'ENOENT', 2), 'COMMAND_NOT_FOUND', 'exec: "/bin/nope": no such file or directory'],
    ['exec EACCES', ['cmd'], nativeError('exec', 'EACCES', 13), 'COMMAND_NOT_EXECUTABLE', 'exec: "cmd": permission denied'],
    [
      'mount EPERM',
      ['sh'],
      nativeError('mount', 'EPERM', 1, "EPERM: operation not permitted, mount '/proc'"),
      'CONTAINER_SETUP_FAILED',
      `container set-up failed at step "mount": EPERM: operation not permitted, mount '/proc'`,
    ],
  ])('%s → %s', async (_what, args, error, code, message) => {
    await writeBundle((s) => {
      s.process.args = args;
    });
    fake.spawnError = error;
    const err = await rejection(create('c1', { monitor: MONITOR }));
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
    expect(err.cause).toBe(error);
    await expectNothingLeft();
    // The /dev/null given as stdin was closed on the way out too.
    expect(fake.calls[0].stdin?.isCharDevice).toBe(true);
    expect(isDevNull(fake.calls[0].config.stdio[0])).toBe(false);
  });

  it.each(['v1', 'v2'] as const)('(%s) a non-native error from spawn is passed through, and still cleaned up', async (mode) => {
    setup(mode);
    fake.spawnError = new RangeError('bad config');
    const err = await create('c1').then(() => undefined, (e: unknown) => e);
    expect(err).toBe(fake.spawnError);
    await expectNothingLeft();
    expect(cg!.dirs().filter((d) => d.endsWith('/c1'))).toEqual([]);
  });

  it('the id is free again afterwards', async () => {
    fake.spawnError = new RangeError('bad config');
    await create('c1').catch(() => {});
    fake.spawnError = null;
    const rec = await create('c1');
    expect(rec.pid).toBeGreaterThan(0);
  });
});

describe('Engine.start and state', () => {
  it('is created while exec.fifo exists and running once start() has read it', async () => {
    const rec = await create('c1', { monitor: MONITOR });
    const created = await engine.state('c1');
    expect(created).toMatchObject({ ociVersion: '1.2.0', id: 'c1', status: 'created', pid: rec.pid, bundle, rootfs, annotations: {}, monitorAlive: true });
    expect(created.exit).toBeUndefined();

    await engine.start('c1');
    expect(await readdir(path.join(stateDir, 'c1'))).not.toContain('exec.fifo');
    expect(await engine.state('c1')).toMatchObject({ status: 'running', pid: rec.pid });
    expect(fake.alive(rec.pid)).toBe(true);
  });

  it('find() gives the record, or null for a missing or invalid id; load() then throws CONTAINER_NOT_FOUND', async () => {
    const rec = await create('c1', { monitor: MONITOR });
    expect(await engine.find('c1')).toEqual(rec);
    expect(await engine.find('c2')).toBeNull();
    expect(await engine.find('../c1')).toBeNull();
    expect((await rejection(engine.load('c2'))).code).toBe('CONTAINER_NOT_FOUND');
    // state() of the record found is the state of the id.
    expect(await engine.state('c1', (await engine.find('c1'))!)).toEqual(await engine.state('c1'));
  });

  it('start() of a container that is not created → INVALID_STATE', async () => {
    const rec = await running();
    const err = await rejection(engine.start('c1'));
    expect(err.code).toBe('INVALID_STATE');
    expect(err.message).toBe('cannot start container c1: it is running, not created');

    process.kill(rec.pid, 'SIGKILL');
    await fake.exited(rec.pid);
    expect((await rejection(engine.start('c1'))).message).toBe('cannot start container c1: it is stopped, not created');
  });

  it('start() hands errors after the fifo (user, cwd, exec) back through the sync channel', async () => {
    fake.giveSyncFd = true;
    fake.execError = new NativeSystemError({ message: 'ENOENT', code: 'ENOENT', errno: 2, syscall: 'execve', step: 'exec' });
    await create('c1', { reportExecErrors: true });
    const err = await rejection(engine.start('c1'));
    expect(err.code).toBe('COMMAND_NOT_FOUND');
    expect(err.message).toBe('exec: "/bin/echo": no such file or directory');
    expect(fake.waitedExec).toHaveLength(1);
  });

  it('start() waits for the exec to succeed when the sync channel was kept', async () => {
    fake.giveSyncFd = true;
    await create('c1', { reportExecErrors: true });
    await engine.start('c1');
    expect(fake.waitedExec).toHaveLength(1);
    expect((await engine.state('c1')).status).toBe('running');
  });

  it.each([
    ['v1', 'freezer/tsrun/c1/freezer.state', 'FROZEN\n', 'THAWED\n'],
    ['v2', 'tsrun/c1/cgroup.freeze', '1\n', '0\n'],
  ] as const)('(%s) is paused while the cgroup freezer says frozen', async (mode, file, frozen, thawed) => {
    setup(mode);
    await running();
    await engine.pause('c1');
    expect(cg!.read(file)).toBe(frozen);
    expect((await engine.state('c1')).status).toBe('paused');
    expect((await rejection(engine.pause('c1'))).code).toBe('INVALID_STATE');

    await engine.resume('c1');
    expect(cg!.read(file)).toBe(thawed);
    expect((await engine.state('c1')).status).toBe('running');
    expect((await rejection(engine.resume('c1'))).message).toBe('container c1 is not paused');
  });

  it('(v1) state reads the freezer, not a record: a cgroup frozen behind its back is paused', async () => {
    setup('v1');
    await running();
    writeFileSync(path.join(cg!.root, 'freezer/tsrun/c1/freezer.state'), 'FROZEN\n');
    expect((await engine.state('c1')).status).toBe('paused');
  });

  it('is stopped once the pid is dead, with pid 0', async () => {
    const rec = await running();
    process.kill(rec.pid, 'SIGKILL');
    await fake.exited(rec.pid);
    const st = await engine.state('c1');
    expect(st).toMatchObject({ status: 'stopped', pid: 0, monitorAlive: false });
    expect(st.exit).toBeUndefined();
  });

  it('surfaces the exit the monitor recorded in exit.json', async () => {
    const rec = await running('c1', { monitor: MONITOR });
    process.kill(rec.pid, 'SIGTERM');
    await fake.exited(rec.pid);
    await fake.exited(rec.monitorPid!);
    const st = await engine.state('c1');
    expect(st.status).toBe('stopped');
    expect(st.exit).toEqual({ exitCode: 143, signal: 15, finishedAt: expect.any(String), oomKilled: false });
    expect(st.monitorAlive).toBe(false);
  });

  it('believes exit.json over a pid that still looks alive', async () => {
    const rec = await running();
    const exit = { exitCode: 3, signal: 0, finishedAt: '2024-01-02T03:04:05.123456789Z', oomKilled: true };
    await writeFile(path.join(stateDir, 'c1', 'exit.json'), JSON.stringify(exit));
    expect(fake.alive(rec.pid)).toBe(true);
    expect(await engine.state('c1')).toMatchObject({ status: 'stopped', pid: 0, exit });
  });

  it('a pid reused by another process does not count', async () => {
    const rec = await running();
    const recorded = await stateJson();
    await writeFile(path.join(stateDir, 'c1', 'state.json'), JSON.stringify({ ...recorded, pidStart: '1' }));
    expect(fake.alive(rec.pid)).toBe(true);
    expect((await engine.state('c1')).status).toBe('stopped');
  });

  it('a record without a pid (CLI killed after spawn) takes the pids the monitor wrote', async () => {
    const rec = await running('c1', { monitor: MONITOR });
    const recorded = await stateJson();
    await writeFile(path.join(stateDir, 'c1', 'state.json'), JSON.stringify({ ...recorded, pid: 0, pidStart: undefined, monitorPid: undefined }));
    await writeFile(path.join(stateDir, 'c1', 'pids'), `${rec.monitorPid} ${rec.pid}\n`);
    expect(await engine.state('c1')).toMatchObject({ status: 'running', pid: rec.pid, monitorAlive: true });
  });

  it('a record without a pid and no one holding its lock is stopped', async () => {
    await mkdir(path.join(stateDir, 'c9'), { recursive: true });
    const rec: EngineRecord = { id: 'c9', bundle, rootfs, pid: 0, created: new Date().toISOString(), cgroupPath: 'tsrun/c9', annotations: {} };
    await writeFile(path.join(stateDir, 'c9', 'state.json'), JSON.stringify(rec));
    expect(await engine.state('c9')).toMatchObject({ status: 'stopped', pid: 0 });
  });

  it('an unknown container → CONTAINER_NOT_FOUND', async () => {
    expect((await rejection(engine.state('nope'))).code).toBe('CONTAINER_NOT_FOUND');
    expect((await rejection(engine.state('../etc'))).code).toBe('CONTAINER_NOT_FOUND');
  });
});

describe('Engine.kill', () => {
  it('signals the container process only', async () => {
    const rec = await running();
    const child = fake.extraProcess(engine.cgroup(rec).procsFiles());
    await engine.kill('c1', 'SIGTERM');
    expect(await fake.exited(rec.pid)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(fake.alive(child)).toBe(true);
  });

  it.each(['v1', 'v2'] as const)('(%s) with all, signals every pid in cgroup.procs', async (mode) => {
    setup(mode);
    const rec = await running();
    const procs = engine.cgroup(rec).procsFiles();
    const others = [fake.extraProcess(procs), fake.extraProcess(procs)];
    expect(await engine.pids('c1')).toEqual([rec.pid, ...others].sort((a, b) => a - b));
    await engine.kill('c1', 15, true);
    for (const pid of [rec.pid, ...others]) expect(await fake.exited(pid)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await engine.pids('c1')).toEqual([]);
  });

  it('a stopped container → INVALID_STATE', async () => {
    const rec = await running();
    process.kill(rec.pid, 'SIGKILL');
    await fake.exited(rec.pid);
    const err = await rejection(engine.kill('c1', 'SIGTERM'));
    expect(err.code).toBe('INVALID_STATE');
    expect(err.message).toBe('container c1 is not running');
  });
});

describe('Engine.delete', () => {
  it('refuses a running container without force, and changes nothing', async () => {
    const rec = await running();
    const err = await rejection(engine.delete('c1'));
    expect(err.code).toBe('INVALID_STATE');
    expect(err.message).toBe('cannot delete container c1 that is not stopped: running');
    expect(fake.alive(rec.pid)).toBe(true);
    expect(await engine.exists('c1')).toBe(true);
    expect(cg!.exists('tsrun/c1')).toBe(true);
  });

  it('refuses a paused container without force', async () => {
    await running();
    await engine.pause('c1');
    expect((await rejection(engine.delete('c1'))).message).toBe('cannot delete container c1 that is not stopped: paused');
  });

  it.each(['v1', 'v2'] as const)('(%s) with force, kills everything in the cgroup and the monitor, then removes the state dir and the cgroup', async (mode) => {
    setup(mode);
    const rec = await running('c1', { monitor: MONITOR });
    const other = fake.extraProcess(engine.cgroup(rec).procsFiles());
    await engine.delete('c1', true);
    expect(await fake.exited(rec.pid)).toEqual({ code: null, signal: 'SIGKILL' });
    expect((await fake.exited(other)).signal).toBe('SIGKILL');
    // Killed by the time delete returns; its exit reaches this process a turn of the event loop later.
    const gone = await Promise.race([fake.exited(rec.monitorPid!).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
    expect(gone).toBe(true);
    expect((await readdir(stateDir)).filter((n) => n !== '.seccomp')).toEqual([]); // the compiled-profile cache stays
    expect(cg!.dirs().filter((d) => d.endsWith('/c1'))).toEqual([]);
    expect((await rejection(engine.state('c1'))).code).toBe('CONTAINER_NOT_FOUND');
  });

  it('removes a stopped container without force', async () => {
    const rec = await running();
    process.kill(rec.pid, 'SIGKILL');
    await fake.exited(rec.pid);
    await engine.delete('c1');
    expect(await engine.exists('c1')).toBe(false);
    expect(cg!.exists('tsrun/c1')).toBe(false);
  });

  it("run as its monitor's exit command (rm -f of a detached --rm container, in the monitor's process), neither waits for nor kills itself", async () => {
    const rec = await running();
    process.kill(rec.pid, 'SIGKILL');
    await fake.exited(rec.pid);
    const file = path.join(stateDir, 'c1', 'state.json');
    const state = JSON.parse(await readFile(file, 'utf8')) as EngineRecord;
    await writeFile(file, JSON.stringify({ ...state, monitorPid: process.pid, monitorStart: pidStartTime(process.pid) }));
    await engine.delete('c1'); // a SIGKILL of our own pid would end this test run here
    expect(await engine.exists('c1')).toBe(false);
  });

  it('removes a created container (its waiting process too) without force', async () => {
    const rec = await create('c1');
    await engine.delete('c1');
    expect((await fake.exited(rec.pid)).signal).toBe('SIGKILL');
    expect(await engine.exists('c1')).toBe(false);
    expect(cg!.exists('tsrun/c1')).toBe(false);
  });
});

describe('Engine.exec', () => {
  const proc = (args = ['ps', 'aux']) => ({ user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' });

  it('builds an exec config: execMode, no new namespaces, joins ipc, uts, net, pid, cgroup, mnt in that order, no mounts', async () => {
    const rec = await running();
    const out = await engine.exec('c1', proc(), { stdio: [3, 4, 5], killOnParentDeath: true });
    expect(fake.calls).toHaveLength(2);
    const { config, options } = fake.calls[1];
    expect(config.execMode).toBe(true);
    expect(config.cloneFlags).toBe(0);
    expect(config.joinNamespaces).toEqual([
      { flag: CLONE_FLAGS.ipc, path: `/proc/${rec.pid}/ns/ipc` },
      { flag: CLONE_FLAGS.uts, path: `/proc/${rec.pid}/ns/uts` },
      { flag: CLONE_FLAGS.network, path: `/proc/${rec.pid}/ns/net` },
      { flag: CLONE_FLAGS.pid, path: `/proc/${rec.pid}/ns/pid` },
      { flag: CLONE_FLAGS.cgroup, path: `/proc/${rec.pid}/ns/cgroup` },
      { flag: CLONE_FLAGS.mount, path: `/proc/${rec.pid}/ns/mnt` },
    ]);
    expect(config.mounts).toEqual([]);
    expect(config.devices).toEqual([]);
    expect(config.init).toBe(false);
    expect(config.args).toEqual(['ps', 'aux']);
    expect(config.env).toEqual(['PATH=/bin']);
    expect(config.rootfs).toBe(rootfs);
    expect(config.stdio).toEqual([3, 4, 5]);
    expect(config.killOnParentDeath).toBe(true);
    expect(options).toEqual({ cgroupProcs: [path.join(cg!.root, 'tsrun/c1/cgroup.procs')] });
    expect(out).toEqual({ pid: expect.any(Number), ptyMaster: null });
    expect(out.pid).not.toBe(rec.pid);
    expect(await engine.pids('c1')).toContain(out.pid);
  });

  it('joins only the namespaces the spec has, in the same order', async () => {
    await writeBundle((s) => {
      s.linux!.namespaces = [{ type: 'mount' }, { type: 'uts' }, { type: 'pid' }];
    });
    const rec = await running();
    await engine.exec('c1', proc(), { stdio: [0, 1, 2], killOnParentDeath: false });
    expect(fake.calls[1].config.joinNamespaces).toEqual([
      { flag: CLONE_FLAGS.uts, path: `/proc/${rec.pid}/ns/uts` },
      { flag: CLONE_FLAGS.pid, path: `/proc/${rec.pid}/ns/pid` },
      { flag: CLONE_FLAGS.mount, path: `/proc/${rec.pid}/ns/mnt` },
    ]);
    expect(fake.calls[1].config.killOnParentDeath).toBe(false);
  });

  it('writes --pid-file with the exec process pid', async () => {
    await running();
    const pidFile = path.join(tmp, 'exec.pid');
    const out = await engine.exec('c1', proc(), { stdio: [0, 1, 2], killOnParentDeath: false, pidFile });
    expect(await readFile(pidFile, 'utf8')).toBe(String(out.pid));
  });

  it('maps a native exec failure like create does', async () => {
    await running();
    fake.spawnError = new NativeSystemError({ message: 'ENOENT', code: 'ENOENT', errno: 2, syscall: 'execve', step: 'exec' });
    const err = await rejection(engine.exec('c1', proc(['nope']), { stdio: [0, 1, 2], killOnParentDeath: false }));
    expect(err.code).toBe('COMMAND_NOT_FOUND');
    expect(err.message).toBe('exec: "nope": executable file not found in $PATH');
  });

  it('a created, paused or stopped container → INVALID_STATE', async () => {
    const opts = { stdio: [0, 1, 2] as [number, number, number], killOnParentDeath: false };
    const rec = await create();
    expect((await rejection(engine.exec('c1', proc(), opts))).message).toBe('container c1 is not running');

    await engine.start('c1');
    await engine.pause('c1');
    expect((await rejection(engine.exec('c1', proc(), opts))).message).toBe('container c1 is not running (it is paused; unpause it first)');

    await engine.resume('c1');
    process.kill(rec.pid, 'SIGKILL');
    await fake.exited(rec.pid);
    expect((await rejection(engine.exec('c1', proc(), opts))).code).toBe('INVALID_STATE');
    expect(fake.calls).toHaveLength(1);
  });
});

describe('Engine.list', () => {
  it('lists the ids with a state.json', async () => {
    await create('a1');
    await create('b2');
    await mkdir(path.join(stateDir, 'half'));
    expect((await engine.list()).sort()).toEqual(['a1', 'b2']);
  });
});
