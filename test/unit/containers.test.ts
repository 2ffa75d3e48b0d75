// Containers (Docker's verbs over the engine) with the fake kernel facade
// (test/helpers/fake-native.ts) and a fake cgroup tree. No root needed.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Containers, type CreateRequest } from '../../src/runtime/containers.js';
import { ContainerStore } from '../../src/runtime/store.js';
import type { OciSpec } from '../../src/spec/oci.js';
import { fileLocker } from '../../src/util/lock.js';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs.js';
import { FakeNative } from '../helpers/fake-native.js';
import { rejection } from '../helpers/expect-error.js';


const SELF = ['/usr/local/bin/tsrun'];

let tmp: string;
let rootfs: string;
let root: string;
let runroot: string;
let cg: FakeCgroupFs;
let fake: FakeNative;
let store: ContainerStore;
let containers: Containers;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-containers-'));
  rootfs = path.join(tmp, 'rootfs');
  root = path.join(tmp, 'root');
  runroot = path.join(tmp, 'run');
  await mkdir(path.join(rootfs, 'etc'), { recursive: true });
  await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
  cg = new FakeCgroupFs('v2');
  fake = new FakeNative(cg);
  store = new ContainerStore(root, fileLocker(fake));
  containers = new Containers({
    native: fake,
    store,
    root,
    runroot,
    hostEnv: { FROM_HOST: 'yes' },
    selfCommand: SELF,
    cgroups: { mountRoot: cg.root, mountinfo: cg.mountinfo, dirs: cg.deps().dirs },
  });
});

afterEach(async () => {
  await fake.cleanup();
  cg.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

function create(req: Partial<CreateRequest> = {}) {
  return containers.create({ rootfs, command: ['/bin/echo', 'hi'], ...req });
}

async function started(req: Partial<CreateRequest> = {}, opts: { owner?: boolean } = {}) {
  const state = await create(req);
  await containers.start(state.id, opts);
  const rec = await containers.engine.load(state.id);
  return { id: state.id, name: state.name, pid: rec.pid, monitorPid: rec.monitorPid! };
}

describe('Containers.create', () => {
  it('writes a record with the request fields and the spec, and claims the name; no process yet', async () => {
    const state = await create({
      name: 'web',
      openStdin: true,
      autoRemove: true,
      init: true,
      cgroupParent: '/my/parent/',
      limits: { memory: '32m' },
      env: ['FOO=bar', 'FROM_HOST'],
    });
    expect(state.id).toMatch(/^[0-9a-f]{64}$/);
    expect(state).toEqual({
      id: state.id,
      name: 'web',
      status: 'created',
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      command: ['/bin/echo', 'hi'],
      request: {
        image: rootfs, openStdin: true, autoRemove: true, init: true, cgroupParent: '/my/parent/', limits: { memory: '32m' },
        network: { mode: 'none', extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] },
      },
    });
    expect(await store.read(state.id)).toEqual(state);
    expect(await readFile(path.join(root, 'names', 'web'), 'utf8')).toBe(state.id);

    const spec = await store.readSpec(state.id);
    expect(spec.hostname).toBe(state.id.slice(0, 12));
    expect(spec.linux?.cgroupsPath).toBe(`/my/parent/${state.id}`);
    expect(spec.annotations).toEqual({ 'org.tsrun.init': 'true' });
    expect(spec.process.env).toContain('FOO=bar');
    expect(spec.process.env).toContain('FROM_HOST=yes');

    expect(fake.calls).toEqual([]);
    expect(await containers.engine.exists(state.id)).toBe(false);
  });

  it('leaves the request flags false and out what was not given', async () => {
    const state = await create();
    expect(state.request).toEqual({
      image: rootfs, openStdin: false, autoRemove: false, init: false,
      network: { mode: 'none', extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] },
    });
    expect(state.name).toMatch(/^[a-z]+_[a-z]+$/);
    expect((await store.readSpec(state.id)).linux?.cgroupsPath).toBeUndefined();
  });

  it('refuses a name in use, leaving no second container', async () => {
    const first = await create({ name: 'web' });
    const err = await rejection(create({ name: 'web' }));
    expect(err.code).toBe('NAME_IN_USE');
    expect(err.message).toContain(`in use by container "${first.id}"`);
    expect(await store.ids()).toEqual([first.id]);
  });
});

describe('Containers.view', () => {
  it('without an instance: created from a fresh record, exited from one that says running or exited', async () => {
    const { id } = await create();
    expect(await containers.view(id)).toMatchObject({ status: 'created', pid: 0, exitCode: 0, oomKilled: false });

    // A record that says running but has no instance (the runroot is gone: a reboot).
    const rec = await store.read(id);
    await store.update({ ...rec, status: 'running', pid: 12345, startedAt: '2024-01-01T00:00:00.000Z' });
    expect(await containers.view(id)).toMatchObject({ status: 'exited', pid: 0, exitCode: 0, startedAt: '2024-01-01T00:00:00.000Z' });

    await store.update({ ...rec, status: 'exited', exitCode: 3, oomKilled: true, finishedAt: '2024-01-01T00:01:00.000Z' });
    expect(await containers.view(id)).toMatchObject({ status: 'exited', exitCode: 3, oomKilled: true, finishedAt: '2024-01-01T00:01:00.000Z' });
  });

  it('with an instance, takes the engine status: running with its pid, paused', async () => {
    const { id, pid } = await started();
    const v = await containers.view(id);
    expect(v).toMatchObject({ status: 'running', pid, exitCode: 0, oomKilled: false, finishedAt: undefined });
    expect(v.record).toMatchObject({ status: 'running', pid, restartCount: 0 });
    expect(typeof v.startedAt).toBe('string');

    await containers.pause(id);
    expect(await containers.view(id)).toMatchObject({ status: 'paused', pid });
    await containers.unpause(id);
    expect((await containers.view(id)).status).toBe('running');
  });

  it('a stopped instance with exit.json: exited with its code and OOM flag; reading never writes the record', async () => {
    fake.recordExits = false;
    const { id, pid } = await started();
    process.kill(pid, 'SIGKILL');
    await fake.exited(pid);
    const exit = { exitCode: 137, signal: 9, finishedAt: '2024-05-06T07:08:09.123456789Z', oomKilled: true };
    await writeFile(path.join(containers.engine.dir(id), 'exit.json'), JSON.stringify(exit));

    const v = await containers.view(id);
    expect(v).toMatchObject({ status: 'exited', pid: 0, exitCode: 137, oomKilled: true, finishedAt: exit.finishedAt });
    expect(v.error).toBeUndefined();
    // A view that wrote back could put an old record over a concurrent start's.
    expect((await store.read(id)).status).toBe('running');
  });

  it('the monitor records a signal death as 128+N', async () => {
    const { id, pid } = await started();
    process.kill(pid, 'SIGTERM');
    await fake.exited(pid);
    expect(await containers.view(id)).toMatchObject({ status: 'exited', exitCode: 143, oomKilled: false });
  });

  it('waitStopped takes the exit the monitor records just before it goes, between the view and the look at the monitor', async () => {
    fake.recordExits = false;
    const { id, pid } = await started();
    process.kill(pid, 'SIGKILL');
    await fake.exited(pid);
    const real = containers.engine.state.bind(containers.engine);
    // view() passes the instance it read; waitStopped's own look at the monitor does not.
    vi.spyOn(containers.engine, 'state').mockImplementation(async (ref, instance) => {
      if (instance) return real(ref, instance);
      const exit = { exitCode: 137, signal: 9, finishedAt: '2024-05-06T07:08:09.123456789Z', oomKilled: false };
      await writeFile(path.join(containers.engine.dir(id), 'exit.json'), JSON.stringify(exit));
      return { ...(await real(ref)), monitorAlive: false };
    });
    expect(await containers.waitStopped(id)).toMatchObject({ status: 'exited', exitCode: 137 });
  });

  it('a stopped instance without exit.json: exit code 255 and an error, the record untouched', async () => {
    fake.recordExits = false;
    const { id, pid } = await started();
    process.kill(pid, 'SIGKILL');
    await fake.exited(pid);
    const v = await containers.view(id);
    expect(v).toMatchObject({ status: 'exited', exitCode: 255, oomKilled: false });
    expect(v.error).toBe('the container monitor exited before recording the exit status');
    expect((await store.read(id)).status).toBe('running');
  });
});

describe('Containers.start', () => {
  it('runs the spec under a monitor logging to the container dir; the record says running', async () => {
    const { id, pid, monitorPid } = await started({ user: 'app' });
    expect(fake.calls).toHaveLength(1);
    const { config, options } = fake.calls[0];
    expect(config.args).toEqual(['/bin/echo', 'hi']);
    expect([config.uid, config.gid, config.additionalGids]).toEqual([1000, 1000, [1000, 50]]);
    expect(config.rootfs).toBe(rootfs);
    expect(config.killOnParentDeath).toBe(false);
    expect(options.keepSync).toBe(true);
    expect(options.cgroupProcs).toEqual([path.join(cg.root, 'tsrun', id, 'cgroup.procs')]);
    const argv = options.monitor!.argv;
    expect(argv.slice(1, 7)).toEqual(['--dir', path.join(runroot, 'containers', id), '--pid', '0', '--log', containers.logPath(id)]);
    expect(containers.logPath(id)).toBe(path.join(root, 'containers', id, 'container.log'));
    expect(argv).not.toContain('--stdin');
    // No network to leave, no restart policy: no exit command; the monitor journals the die itself.
    expect(argv).not.toContain('--');
    const events = argv.indexOf('--events');
    expect(argv[events + 1]).toBe(path.join(root, 'events', 'events.jsonl'));
    expect(JSON.parse(argv[events + 2].replace('%TIME%', '1').replace('%NANO%', '1000000000'))).toMatchObject({
      Type: 'container', Action: 'die', Actor: { ID: id, Attributes: { exitCode: '%EXIT%' } }, time: 1, timeNano: 1e9,
    });
    expect(monitorPid).toBeGreaterThan(0);
    expect(await store.read(id)).toMatchObject({ status: 'running', pid, restartCount: 0 });
  });

  it('--rm detached: the monitor runs `tsrun rm -f ID` with our --root/--runroot; -i keeps stdin', async () => {
    const { id } = await started({ autoRemove: true, openStdin: true });
    const argv = fake.calls[0].options.monitor!.argv;
    expect(argv).toContain('--stdin');
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual([...SELF, '--root', root, '--runroot', runroot, 'rm', '-f', id]);
  });

  it('an attached owner: --owner-attach and no exit command (the caller removes)', async () => {
    await started({ autoRemove: true }, { owner: true });
    const argv = fake.calls[0].options.monitor!.argv;
    expect(argv).toContain('--owner-attach');
    expect(argv).not.toContain('--');
  });

  it('starting again after an exit replaces the old instance and counts a restart', async () => {
    const { id, pid } = await started();
    process.kill(pid, 'SIGTERM');
    await fake.exited(pid);
    await containers.start(id);
    const v = await containers.view(id);
    expect(v.status).toBe('running');
    expect(v.pid).not.toBe(pid);
    expect(v.record.restartCount).toBe(1);
    expect(fake.calls).toHaveLength(2);
  });

  it('an exec error after the fifo fails the start and leaves no instance', async () => {
    fake.giveSyncFd = true;
    const { NativeSystemError } = await import('../../src/errors.js');
    fake.execError = new NativeSystemError({ message: 'ENOENT', code: 'ENOENT', errno: 2, syscall: 'execve', step: 'exec' });
    const { id } = await create();
    const err = await rejection(containers.start(id));
    expect(err.code).toBe('COMMAND_NOT_FOUND');
    expect(await containers.engine.exists(id)).toBe(false);
    expect(cg.exists(`tsrun/${id}`)).toBe(false);
    expect((await containers.view(id)).status).toBe('created');
  });
});

describe('Containers.stop, kill and list', () => {
  it('stop sends SIGTERM and waits for the exit', async () => {
    const { id, pid } = await started();
    expect(await containers.stop(id, 10)).toBe(true);
    expect((await fake.exited(pid)).signal).toBe('SIGTERM');
    expect(await containers.view(id)).toMatchObject({ status: 'exited', exitCode: 143 });
    expect(await containers.stop(id)).toBe(false);
  });

  it('kill of a container that is not running → INVALID_STATE naming it', async () => {
    const { id, name } = await create();
    const err = await rejection(containers.kill(id, 'SIGKILL'));
    expect(err.code).toBe('INVALID_STATE');
    expect(err.message).toBe(`cannot kill container: ${name}: container ${id} is not running`);
  });

  it('list shows running containers, or all of them newest first', async () => {
    const a = await create({ name: 'aa' });
    await new Promise((r) => setTimeout(r, 5));
    const b = await started({ name: 'bb' });
    expect((await containers.list(false)).map((v) => v.record.name)).toEqual(['bb']);
    expect((await containers.list(true)).map((v) => v.record.id)).toEqual([b.id, a.id]);
  });
});

describe('Containers.summaries', () => {
  it("gives ps's fields without the spec: the command and image from the record, the status from the engine", async () => {
    const a = await create({ name: 'aa' });
    await new Promise((r) => setTimeout(r, 5));
    const b = await started({ name: 'bb' });
    const all = await containers.summaries(true);
    expect(all.map((s) => [s.record.name, s.status, s.command, s.image])).toEqual([
      ['bb', 'running', ['/bin/echo', 'hi'], rootfs],
      ['aa', 'created', ['/bin/echo', 'hi'], rootfs],
    ]);
    expect(all[0].pid).toBe(b.pid);
    expect(all[1]).not.toHaveProperty('spec');
    expect((await containers.summaries(false)).map((s) => s.record.id)).toEqual([b.id]);
    // Each summary holds what view() says, less the spec.
    const { spec: _spec, ...view } = await containers.view(a.id);
    expect(all[1]).toEqual({ ...view, command: ['/bin/echo', 'hi'], image: rootfs });
  });

  it('reads the spec of a record made before records kept the command', async () => {
    const { id } = await create({ name: 'old' });
    const file = path.join(store.dir(id), 'state.json');
    const { command: _command, request: _request, ...older } = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify(older));
    const [s] = await containers.summaries(true);
    expect([s.command, s.image]).toEqual([['/bin/echo', 'hi'], (await store.readSpec(id)).root.path]);
  });

  it('reads every container in two batches of files (records and instances, then what their states need) and agrees with view() in each state', async () => {
    const created = await create({ name: 'created' });
    const running = await started({ name: 'running' });
    const paused = await started({ name: 'paused' });
    await containers.pause(paused.id);
    const signalled = await started({ name: 'signalled' });
    process.kill(signalled.pid, 'SIGTERM');
    await fake.exited(signalled.pid);
    fake.recordExits = false;
    const unrecorded = await started({ name: 'unrecorded' });
    process.kill(unrecorded.pid, 'SIGKILL');
    await fake.exited(unrecorded.pid);

    fake.textReads.length = 0;
    const all = await containers.summaries(true);
    expect(fake.textReads).toHaveLength(2);
    const [first, second] = fake.textReads;
    const ids = [created, running, paused, signalled, unrecorded].map((c) => c.id);
    for (const id of ids) {
      expect(first).toContain(path.join(store.dir(id), 'state.json'));
      expect(first).toContain(path.join(containers.engine.dir(id), 'state.json'));
    }
    // The created one has no instance: nothing more is read for it.
    expect(second.filter((p) => p.includes(created.id))).toEqual([]);
    expect(second).toContain(path.join(containers.engine.dir(running.id), 'exit.json'));
    expect(second).toContain(`/proc/${running.pid}/stat`);
    expect(second.filter((p) => p.includes(running.id) && p.endsWith('cgroup.events'))).toHaveLength(1);

    expect(all.map((s) => [s.record.name, s.status, s.exitCode])).toEqual([
      ['unrecorded', 'exited', 255], ['signalled', 'exited', 143], ['paused', 'paused', 0], ['running', 'running', 0], ['created', 'created', 0],
    ]);
    for (const s of all) {
      const { spec: _spec, ...view } = await containers.view(s.record.id);
      expect(s).toEqual({ ...view, command: ['/bin/echo', 'hi'], image: rootfs });
    }
  });

  it('tells a paused container from an instance record older than its frozen file, through the cgroup layout', async () => {
    const { id } = await started({ name: 'old-instance' });
    await containers.pause(id);
    const file = path.join(containers.engine.dir(id), 'state.json');
    const { frozenFile, ...older } = JSON.parse(await readFile(file, 'utf8'));
    expect(frozenFile).toBe(path.join(cg.root, `tsrun/${id}/cgroup.events`));
    await writeFile(file, JSON.stringify(older));
    fake.textReads.length = 0;
    expect((await containers.summaries(true)).map((s) => s.status)).toEqual(['paused']);
    expect(fake.textReads[1]).toContain(frozenFile);
    expect((await containers.view(id)).status).toBe('paused');
  });

  it('a record that is not JSON is left out; an instance record that is not is read as none (the record says the status)', async () => {
    const bad = await create({ name: 'bad-record' });
    const lost = await started({ name: 'lost-instance' });
    const fine = await create({ name: 'fine' });
    await writeFile(path.join(store.dir(bad.id), 'state.json'), '{"id": "cut');
    await writeFile(path.join(containers.engine.dir(lost.id), 'state.json'), 'not json');
    const all = await containers.summaries(true);
    expect(all.map((s) => [s.record.name, s.status, s.pid])).toEqual([['fine', 'created', 0], ['lost-instance', 'exited', 0]]);
    expect(all.map((s) => s.record.id)).not.toContain(bad.id);
    expect(fine.id).toBe(all[0]!.record.id);
  });

  it('leaves out a directory without a record (a create in progress)', async () => {
    const { id } = await create({ name: 'real' });
    await mkdir(store.dir('f'.repeat(64)));
    expect((await containers.summaries(true)).map((s) => s.record.id)).toEqual([id]);
    expect((await containers.list(true)).map((s) => s.record.id)).toEqual([id]);
  });
});

describe('Containers.remove', () => {
  it('refuses a running container without force', async () => {
    const { id, name, pid } = await started({ name: 'web' });
    const err = await rejection(containers.remove(id));
    expect(err.code).toBe('INVALID_STATE');
    expect(err.message).toBe(`cannot remove container "/${name}": container is running: stop the container before removing or force remove`);
    expect(fake.alive(pid)).toBe(true);
    expect(await store.ids()).toEqual([id]);
  });

  it('with force, kills it and removes the instance, cgroup, record and name', async () => {
    const { id, pid, monitorPid } = await started({ name: 'web' });
    await containers.remove(id, true);
    expect((await fake.exited(pid)).signal).toBe('SIGKILL');
    // The monitor goes with it (the fake's ends on the container's exit, a moment later).
    await fake.exited(monitorPid);
    expect(await store.ids()).toEqual([]);
    expect(await readdir(path.join(root, 'names'))).toEqual([]);
    expect(existsSync(containers.engine.dir(id))).toBe(false);
    expect(cg.exists(`tsrun/${id}`)).toBe(false);
    expect((await rejection(containers.resolve('web'))).code).toBe('CONTAINER_NOT_FOUND');
  });

  it('removes a created or exited container without force', async () => {
    const created = await create();
    await containers.remove(created.id);
    const { id, pid } = await started();
    process.kill(pid, 'SIGTERM');
    await fake.exited(pid);
    await containers.remove(id);
    expect(await store.ids()).toEqual([]);
    expect(existsSync(containers.engine.dir(id))).toBe(false);
  });
});

describe('Containers.resolve and rename', () => {
  const spec = { ociVersion: '1.2.0' } as OciSpec;
  const A1 = `ab${'1'.repeat(62)}`;
  const A2 = `ab${'2'.repeat(62)}`;
  const C = `cd${'3'.repeat(62)}`;

  beforeEach(async () => {
    await store.create(A1, spec, 'alpha');
    await store.create(A2, spec, 'beta');
    await store.create(C, spec, 'gamma');
  });

  it('takes a full id, a name, or a unique id prefix', async () => {
    expect(await containers.resolve(A1)).toBe(A1);
    expect(await containers.resolve('beta')).toBe(A2);
    expect(await containers.resolve('cd')).toBe(C);
    expect(await containers.resolve('ab1')).toBe(A1);
  });

  it('an ambiguous prefix is an error', async () => {
    const err = await rejection(containers.resolve('ab'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('multiple containers found with provided prefix: ab');
  });

  it('an unknown reference → CONTAINER_NOT_FOUND "No such container"', async () => {
    for (const ref of ['nope', 'ef', `ef${'0'.repeat(62)}`]) {
      const err = await rejection(containers.resolve(ref));
      expect(err.code).toBe('CONTAINER_NOT_FOUND');
      expect(err.message).toBe(`No such container: ${ref}`);
    }
  });

  it('a name wins over an id prefix', async () => {
    await store.create(`ee${'4'.repeat(62)}`, spec, 'cd');
    expect(await containers.resolve('cd')).toBe(`ee${'4'.repeat(62)}`);
  });

  it('rename moves the name; the old one is free, a taken or unchanged one refused', async () => {
    const renamed = await containers.store.rename(A1, 'delta');
    expect(renamed).toMatchObject({ id: A1, name: 'delta' });
    expect(await containers.resolve('delta')).toBe(A1);
    expect((await rejection(containers.resolve('alpha'))).code).toBe('CONTAINER_NOT_FOUND');
    expect((await store.read(A1)).name).toBe('delta');

    expect((await rejection(containers.store.rename(A1, 'beta'))).code).toBe('NAME_IN_USE');
    expect((await rejection(containers.store.rename(A1, 'delta'))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(containers.store.rename(A1, 'bad/name'))).code).toBe('INVALID_ARGUMENT');
    expect(await containers.resolve('delta')).toBe(A1);
  });
});

describe('Containers.execProcess', () => {
  it("starts from the container's process: env merged (later wins, in place), -u resolved in the rootfs", async () => {
    const { id } = await create({ env: ['FOO=bar', 'KEEP=1'], user: 'root' });
    const base = (await store.readSpec(id)).process;
    const p = await containers.execProcess(id, { args: ['env'], env: ['FOO=baz', 'NEW=1', 'FROM_HOST'], user: 'app', workdir: '/tmp', tty: true });
    expect(p.args).toEqual(['env']);
    expect(p.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `HOSTNAME=${id.slice(0, 12)}`,
      'FOO=baz',
      'KEEP=1',
      'HOME=/root',
      'NEW=1',
      'FROM_HOST=yes',
    ]);
    expect(p.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 50], username: 'app' });
    expect(p.cwd).toBe('/tmp');
    expect(p.terminal).toBe(true);
    expect(p.consoleSize).toBeUndefined();
    expect(p.capabilities).toEqual(base.capabilities);
    expect(p.noNewPrivileges).toBe(true);
  });

  it("keeps the container's user, cwd and env when nothing is given", async () => {
    const { id } = await create({ user: 'app', workdir: '/srv' });
    const base = (await store.readSpec(id)).process;
    const p = await containers.execProcess(id, { args: ['sh'] });
    expect(p.user).toEqual(base.user);
    expect(p.cwd).toBe('/srv');
    expect(p.env).toEqual(base.env);
    expect(p.terminal).toBe(false);
  });

  it('-u with a group and numeric ids', async () => {
    const { id } = await create();
    expect((await containers.execProcess(id, { args: ['id'], user: 'app:staff' })).user).toEqual({ uid: 1000, gid: 50, additionalGids: [50], username: 'app' });
    expect((await containers.execProcess(id, { args: ['id'], user: '4242' })).user).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
  });

  it('refuses an unknown user, a relative workdir and an empty command', async () => {
    const { id } = await create();
    expect((await rejection(containers.execProcess(id, { args: ['id'], user: 'nobody' }))).code).toBe('USER_NOT_FOUND');
    expect((await rejection(containers.execProcess(id, { args: ['id'], workdir: 'tmp' }))).message).toBe(
      "the working directory 'tmp' is invalid, it needs to be an absolute path",
    );
    expect((await rejection(containers.execProcess(id, { args: [] }))).code).toBe('INVALID_ARGUMENT');
  });
});
