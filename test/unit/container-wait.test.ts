// The API's wait conditions (src/api/container-wait.ts) over Containers with
// the fake kernel facade (test/helpers/fake-native.ts), as in
// containers.test.ts. The docker CLI's `run` asks for the wait before it
// starts the container, and a quick exit is often first seen by the wait
// only once it is over: these tests hold the wait's looks back until the
// run has ended, so that is what it sees.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { waitCondition } from '../../src/api/container-wait.js';
import { Containers, type ContainerView } from '../../src/runtime/containers.js';
import { ContainerStore } from '../../src/runtime/store.js';
import { fileLocker } from '../../src/util/lock.js';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs.js';
import { FakeNative } from '../helpers/fake-native.js';


let tmp: string;
let rootfs: string;
let root: string;
let cg: FakeCgroupFs;
let fake: FakeNative;
let containers: Containers;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-wait-'));
  rootfs = path.join(tmp, 'rootfs');
  root = path.join(tmp, 'root');
  await mkdir(path.join(rootfs, 'etc'), { recursive: true });
  await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\n');
  cg = new FakeCgroupFs('v2');
  fake = new FakeNative(cg);
  containers = new Containers({
    native: fake,
    store: new ContainerStore(root, fileLocker(fake)),
    root,
    runroot: path.join(tmp, 'run'),
    hostEnv: {},
    selfCommand: ['/usr/local/bin/tsrun'],
    cgroups: { mountRoot: cg.root, mountinfo: cg.mountinfo, dirs: cg.deps().dirs },
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await fake.cleanup();
  cg.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

/**
 * The containers as the wait sees them: its first look (at the call) goes
 * through; every later one waits until `release()`. What each look saw is
 * kept in `seen`.
 */
function heldViews(): { watched: Containers; release: () => void; seen: ContainerView[] } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let calls = 0;
  const seen: ContainerView[] = [];
  const watched = new Proxy(containers, {
    get(target, prop) {
      if (prop === 'view') {
        return async (id: string) => {
          if (calls++ > 0) await gate;
          const v = await target.view(id);
          seen.push(v);
          return v;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { watched, release, seen };
}

const exitFile = (id: string) => path.join(containers.engine.dir(id), 'exit.json');

describe('waitCondition next-exit and removed', () => {
  it('a run that ended before the wait looked again: the exit its monitor records a moment later, never the placeholder 255', async () => {
    // This run's monitor writes exit.json a moment after the process has
    // gone (the fake's would at once): it is alive until then, and writes
    // it just after it is first looked at (a look at the monitor alone,
    // which view() never makes: it passes the instance it read).
    fake.recordExits = false;
    const realState = containers.engine.state.bind(containers.engine);
    let monitorLooks = 0;
    vi.spyOn(containers.engine, 'state').mockImplementation(async (ref, instance) => {
      const st = await realState(ref, instance);
      const alive = !existsSync(exitFile(ref));
      if (!instance && alive && monitorLooks++ === 0) {
        setTimeout(() => {
          // Replaced whole, as tsrun-monitor writes it.
          writeFileSync(`${exitFile(ref)}.tmp`, JSON.stringify({ exitCode: 3, signal: 0, finishedAt: new Date().toISOString(), oomKilled: false }));
          renameSync(`${exitFile(ref)}.tmp`, exitFile(ref));
        }, 20);
      }
      return { ...st, monitorAlive: alive };
    });
    const { id } = await containers.create({ rootfs, command: ['/bin/true'] });
    const { watched, release, seen } = heldViews();
    const waiting = waitCondition(watched, root, id, 'next-exit', new AbortController().signal);

    await containers.start(id);
    const { pid } = await containers.engine.load(id);
    process.kill(pid, 'SIGKILL');
    await fake.exited(pid);
    release();
    expect(await waiting).toBe(3);
    // It saw the run over before its exit was recorded, and waited for the monitor.
    expect(seen[1]).toMatchObject({ status: 'exited', exitCode: 255, error: expect.any(String) });
    expect(monitorLooks).toBeGreaterThan(0);
  });

  it('a monitor that died without recording the exit: 255', async () => {
    fake.recordExits = false; // and the fake's monitor goes when its container does
    const { id } = await containers.create({ rootfs, command: ['/bin/true'] });
    const { watched, release } = heldViews();
    const waiting = waitCondition(watched, root, id, 'next-exit', new AbortController().signal);
    await containers.start(id);
    const { pid, monitorPid } = await containers.engine.load(id);
    process.kill(pid, 'SIGKILL');
    await fake.exited(pid);
    await fake.exited(monitorPid!);
    release();
    expect(await waiting).toBe(255);
  });

  it("removed: a run first seen while its rm is under way (instance gone, record left) answers its die event's code, not the record's", async () => {
    const { id } = await containers.create({ rootfs, command: ['/bin/true'], autoRemove: true });
    const { watched, release, seen } = heldViews();
    const waiting = waitCondition(watched, root, id, 'removed', new AbortController().signal);

    await containers.start(id);
    const { pid } = await containers.engine.load(id);
    process.kill(pid, 'SIGTERM');
    await fake.exited(pid);
    await vi.waitFor(() => expect(existsSync(exitFile(id))).toBe(true));
    // What rm does first (its die event, the instance), and where it is when the wait looks.
    await containers.journalExit(id);
    await containers.engine.delete(id, true);
    release();
    await vi.waitFor(() => expect(seen.at(-1)).toMatchObject({ status: 'exited', finishedAt: undefined }));
    await containers.remove(id, true);
    expect(await waiting).toBe(143);
  });
});
