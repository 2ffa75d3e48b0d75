import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { ContainerStore, newContainerId, type ContainerState } from '../../src/runtime/store.js';
import type { Locker } from '../../src/util/lock.js';
import type { OciSpec } from '../../src/spec/oci.js';
import { rejection } from '../helpers/expect-error.js';

// A seam in fs.rm so a test can run another CLI's step at an exact moment.
const fsHooks = vi.hoisted(() => ({ beforeRm: null as null | ((target: string) => Promise<void>) }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:fs/promises')>();
  const rm: typeof orig.rm = async (target, options) => {
    if (fsHooks.beforeRm) await fsHooks.beforeRm(String(target));
    return orig.rm(target, options);
  };
  return { ...orig, rm, default: { ...orig, rm } };
});

let tmp: string;
let store: ContainerStore;
let locks: FakeLocks;

/**
 * An in-process stand-in for the flock on store.lock: one critical section at
 * a time per lock path, recording what was locked and the deepest nesting seen.
 */
class FakeLocks {
  paths: string[] = [];
  active = 0;
  maxActive = 0;
  private tails = new Map<string, Promise<unknown>>();
  /** Runs before each critical section (to check invariants at that moment). */
  beforeSection: (() => Promise<void>) | null = null;

  readonly locker: Locker = <T>(lockPath: string, fn: () => Promise<T>): Promise<T> => {
    this.paths.push(lockPath);
    const run = async (): Promise<T> => {
      this.active += 1;
      this.maxActive = Math.max(this.maxActive, this.active);
      try {
        if (this.beforeSection) await this.beforeSection();
        return await fn();
      } finally {
        this.active -= 1;
      }
    };
    const result = (this.tails.get(lockPath) ?? Promise.resolve()).then(run, run);
    this.tails.set(lockPath, result.catch(() => undefined));
    return result;
  };
}

const SPEC: OciSpec = {
  ociVersion: '1.2.0',
  root: { path: '/rootfs' },
  process: { user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'true'], cwd: '/' },
  hostname: 'box',
};

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-store-'));
  locks = new FakeLocks();
  store = new ContainerStore(tmp, locks.locker);
});

afterEach(async () => {
  fsHooks.beforeRm = null;
  await rm(tmp, { recursive: true, force: true });
});


async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
}

describe('ContainerStore.create', () => {
  it('lays out containers/<id>/{config.json,state.json} and names/<name>', async () => {
    const id = newContainerId();
    const before = Date.now();
    const state = await store.create(id, SPEC, 'web');

    expect(state).toMatchObject({ id, name: 'web', status: 'created' });
    const created = Date.parse(state.created);
    expect(created).toBeGreaterThanOrEqual(before - 1000);
    expect(created).toBeLessThanOrEqual(Date.now() + 1000);

    expect(store.dir(id)).toBe(path.join(tmp, 'containers', id));
    expect(await readJson(path.join(tmp, 'containers', id, 'config.json'))).toEqual(SPEC);
    expect(await readJson(path.join(tmp, 'containers', id, 'state.json'))).toEqual(state);
    expect(await readFile(path.join(tmp, 'names', 'web'), 'utf8')).toBe(id);
    expect((await readdir(path.join(tmp, 'containers', id))).sort()).toEqual(['config.json', 'state.json']);
  });

  it('gives ids of 64 hex characters, all different', () => {
    const ids = Array.from({ length: 50 }, () => newContainerId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(ids).size).toBe(50);
  });

  it('refuses a name in use with NAME_IN_USE naming the owner', async () => {
    const first = newContainerId();
    const second = newContainerId();
    await store.create(first, SPEC, 'web');
    const err = await rejection(store.create(second, SPEC, 'web'));
    expect(err.code).toBe('NAME_IN_USE');
    expect(err.message).toContain('"web"');
    expect(err.message).toContain(first);
    // The loser left nothing behind and did not take the name.
    expect(existsSync(store.dir(second))).toBe(false);
    expect(await readFile(path.join(tmp, 'names', 'web'), 'utf8')).toBe(first);
  });

  it('decides a name race exactly once: 30 parallel creates, one winner', async () => {
    const ids = Array.from({ length: 30 }, () => newContainerId());
    const results = await Promise.allSettled(ids.map((id) => store.create(id, SPEC, 'racer')));

    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [ids[i]] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(29);
    for (const reason of lost) {
      expect(reason).toBeInstanceOf(TsrunError);
      expect((reason as TsrunError).code).toBe('NAME_IN_USE');
    }
    expect(await readFile(path.join(tmp, 'names', 'racer'), 'utf8')).toBe(won[0]);
    expect(await readdir(path.join(tmp, 'containers'))).toEqual(won);
  });

  it('claims names under the store lock, one claim at a time', async () => {
    await Promise.all([store.create(newContainerId(), SPEC, 'n1'), store.create(newContainerId(), SPEC), store.create(newContainerId(), SPEC, 'n2')]);
    expect(locks.paths).toEqual(Array(3).fill(path.join(tmp, 'store.lock')));
    expect(locks.maxActive).toBe(1);
  });

  it("writes the container's directory and config before its name exists", async () => {
    const id = newContainerId();
    locks.beforeSection = async () => {
      expect(await readJson(path.join(store.dir(id), 'config.json'))).toEqual(SPEC);
      expect(existsSync(path.join(tmp, 'names', 'web'))).toBe(false);
    };
    await store.create(id, SPEC, 'web');
    expect(locks.paths).toHaveLength(1);
    expect(await readFile(path.join(tmp, 'names', 'web'), 'utf8')).toBe(id);
  });

  it('leaves nothing behind when the lock cannot be taken', async () => {
    const timeout = new TsrunError('INVALID_STATE', 'timed out waiting for the lock');
    // The first lock attempt times out; any later one (a clean-up) works.
    let attempts = 0;
    const failing = new ContainerStore(tmp, async (_lockPath, fn) => {
      if (attempts++ === 0) throw timeout;
      return fn();
    });
    const id = newContainerId();
    const err = await rejection(failing.create(id, SPEC, 'web'));
    expect(err).toBe(timeout);
    expect(await readdir(path.join(tmp, 'containers'))).toEqual([]);
    expect(await readdir(path.join(tmp, 'names'))).toEqual([]);
  });

  it('reclaims a stale name whose owner has no container', async () => {
    await mkdir(path.join(tmp, 'names'), { recursive: true });
    const ghost = newContainerId();
    await writeFile(path.join(tmp, 'names', 'x1'), ghost);

    const id = newContainerId();
    const state = await store.create(id, SPEC, 'x1');
    expect(state.name).toBe('x1');
    expect(await readFile(path.join(tmp, 'names', 'x1'), 'utf8')).toBe(id);
    // No leftovers of the reclaim (x1.stale.*).
    expect(await readdir(path.join(tmp, 'names'))).toEqual(['x1']);
  });

  it('reclaims an empty name file (a CLI killed between reserving and writing)', async () => {
    await mkdir(path.join(tmp, 'names'), { recursive: true });
    await writeFile(path.join(tmp, 'names', 'half'), '');
    const id = newContainerId();
    await store.create(id, SPEC, 'half');
    expect(await readFile(path.join(tmp, 'names', 'half'), 'utf8')).toBe(id);
  });

  it.each(['-x', 'a', 'a b', '../x', '', '_x', 'x/y', 'ä1'])('refuses the invalid name %j with INVALID_ARGUMENT', async (name) => {
    const id = newContainerId();
    const err = await rejection(store.create(id, SPEC, name));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(JSON.stringify(name));
    expect(existsSync(store.dir(id))).toBe(false);
    // Nothing was reserved, and certainly nothing outside names/.
    const names = await readdir(path.join(tmp, 'names')).catch(() => []);
    expect(names).toEqual([]);
    expect(existsSync(path.join(tmp, 'x'))).toBe(false);
  });

  it.each(['ab', 'A1', 'web-1', 'web_1.prod', '0x'])('accepts the valid name %j', async (name) => {
    const id = newContainerId();
    const state = await store.create(id, SPEC, name);
    expect(state.name).toBe(name);
    expect(await readFile(path.join(tmp, 'names', name), 'utf8')).toBe(id);
  });

  it('gives unique random names across 20 creates, each reserved for its container', async () => {
    const states: ContainerState[] = [];
    for (let i = 0; i < 20; i++) states.push(await store.create(newContainerId(), SPEC));
    const names = states.map((s) => s.name);
    expect(new Set(names).size).toBe(20);
    for (const s of states) {
      expect(s.name).toMatch(/^[a-z]+_[a-z]+(_[0-9a-f]{4})?$/);
      expect(await readFile(path.join(tmp, 'names', s.name), 'utf8')).toBe(s.id);
    }
    expect((await readdir(path.join(tmp, 'names'))).sort()).toEqual([...names].sort());
  });
});

describe('ContainerStore.remove', () => {
  it('deletes the container directory and releases the name', async () => {
    const id = newContainerId();
    const state = await store.create(id, SPEC, 'web');
    await store.remove(state);
    expect(existsSync(store.dir(id))).toBe(false);
    expect(existsSync(path.join(tmp, 'names', 'web'))).toBe(false);
    // The name is free again.
    const again = await store.create(newContainerId(), SPEC, 'web');
    expect(again.name).toBe('web');
  });

  it('does not release a name that another container owns now', async () => {
    const id = newContainerId();
    const other = newContainerId();
    const state = await store.create(id, SPEC, 'web');
    await writeFile(path.join(tmp, 'names', 'web'), other);
    await store.remove(state);
    expect(existsSync(store.dir(id))).toBe(false);
    expect(await readFile(path.join(tmp, 'names', 'web'), 'utf8')).toBe(other);
  });

  // `tsrun run --rm --name web` exiting while `tsrun run --name web` starts:
  // once the old directory is gone the name is free, so a new container may
  // claim it before remove() deletes names/web. That must not drop the new
  // container's claim (else a third container could take the name too).
  it('does not release a name that a new container claimed while the old one was being removed', async () => {
    const old = await store.create(newContainerId(), SPEC, 'web');
    const newId = newContainerId();
    const nameFile = path.join(tmp, 'names', 'web');
    let claim: Promise<ContainerState> | null = null;
    fsHooks.beforeRm = async (target) => {
      if (target !== nameFile || claim) return;
      claim = store.create(newId, SPEC, 'web');
      // If remove() holds the store lock, the claim must wait for it: don't deadlock.
      if (locks.active === 0) await claim.catch(() => undefined);
    };
    await store.remove(old);
    fsHooks.beforeRm = null;
    const result = await (claim ?? store.create(newId, SPEC, 'web')).then(
      (state) => ({ ok: true as const, state }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    if (result.ok) {
      // The new container won the name: it must still hold it.
      expect(result.state.name).toBe('web');
      expect(await readFile(nameFile, 'utf8').catch(() => null)).toBe(newId);
    } else {
      // Or it lost cleanly to the old container.
      expect(result.err).toBeInstanceOf(TsrunError);
      expect((result.err as TsrunError).code).toBe('NAME_IN_USE');
      expect(existsSync(store.dir(newId))).toBe(false);
    }
    expect(existsSync(store.dir(old.id))).toBe(false);
  });

  it('sweeps what a CLI killed mid-create left: its name, temp files and half-made directory; keeps names of others', async () => {
    const keep = await store.create(newContainerId(), SPEC, 'keep');
    const gone = await store.create(newContainerId(), SPEC, 'gone');
    // A create killed after claiming its name, before its state.json.
    const ghost = newContainerId();
    await mkdir(store.dir(ghost));
    await writeFile(path.join(store.dir(ghost), 'config.json'), '{}');
    await writeFile(path.join(tmp, 'names', 'ghost'), ghost);
    await writeFile(path.join(tmp, 'names', '.other.0123456789ab.tmp'), ghost);
    // A name whose container vanished entirely is left (it is free anyway, see owner()).
    await writeFile(path.join(tmp, 'names', 'vanished'), newContainerId());
    await store.remove(gone);
    expect((await readdir(path.join(tmp, 'names'))).sort()).toEqual(['keep', 'vanished']);
    expect(await readdir(path.join(tmp, 'containers'))).toEqual([keep.id]);
  });

  it('leaves the names alone while every container is complete', async () => {
    const keep = await store.create(newContainerId(), SPEC, 'keep');
    const gone = await store.create(newContainerId(), SPEC, 'gone');
    await writeFile(path.join(tmp, 'names', '.left.0123456789ab.tmp'), keep.id);
    await store.remove(gone);
    expect((await readdir(path.join(tmp, 'names'))).sort()).toEqual(['.left.0123456789ab.tmp', 'keep']);
  });

  it('leaves other containers alone', async () => {
    const a = await store.create(newContainerId(), SPEC, 'a1');
    const b = await store.create(newContainerId(), SPEC, 'b1');
    await store.remove(a);
    expect(existsSync(store.dir(b.id))).toBe(true);
    expect(await readFile(path.join(tmp, 'names', 'b1'), 'utf8')).toBe(b.id);
    expect(await readdir(path.join(tmp, 'containers'))).toEqual([b.id]);
  });
});

describe('ContainerStore.update', () => {
  it('replaces state.json by rename and leaves no temp files', async () => {
    const id = newContainerId();
    const state = await store.create(id, SPEC, 'web');
    const file = path.join(store.dir(id), 'state.json');
    const inodeBefore = (await stat(file)).ino;

    const running: ContainerState = { ...state, status: 'running', pid: 4242, startedAt: new Date().toISOString() };
    await store.update(running);
    expect(await readJson(file)).toEqual(running);
    // A new file was renamed over the old one, not rewritten in place.
    expect((await stat(file)).ino).not.toBe(inodeBefore);

    const exited: ContainerState = { ...running, status: 'exited', exitCode: 3, pid: undefined };
    await store.update(exited);
    const onDisk = (await readJson(file)) as ContainerState;
    expect(onDisk).toMatchObject({ status: 'exited', exitCode: 3 });
    expect(onDisk).not.toHaveProperty('pid');

    const entries = await readdir(store.dir(id));
    expect(entries.filter((e) => e.endsWith('.tmp'))).toEqual([]);
    expect(entries.sort()).toEqual(['config.json', 'state.json']);
  });

  it('parallel updates leave one complete, valid state and no temp files', async () => {
    const id = newContainerId();
    const state = await store.create(id, SPEC, 'web');
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.update({ ...state, status: 'exited', exitCode: i })));
    const onDisk = (await readJson(path.join(store.dir(id), 'state.json'))) as ContainerState;
    expect(onDisk.status).toBe('exited');
    expect(onDisk.exitCode).toBeGreaterThanOrEqual(0);
    expect(onDisk.exitCode).toBeLessThan(20);
    expect((await readdir(store.dir(id))).sort()).toEqual(['config.json', 'state.json']);
  });
});
