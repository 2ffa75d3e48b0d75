// Engine.update / Engine.stats / Engine.events (runc update, events --stats,
// events) against the fake kernel facade and a fake cgroup tree. No root.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine, type EngineRecord } from '../../src/runtime/engine.js';
import { buildSpec } from '../../src/spec/build.js';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs.js';
import { FakeNative } from '../helpers/fake-native.js';
import { rejection } from '../helpers/expect-error.js';


const MiB = 1024 * 1024;
let tmp: string;
let bundle: string;
let cg: FakeCgroupFs | undefined;
let fake: FakeNative;
let engine: Engine;

async function setup(mode: 'v1' | 'v2'): Promise<void> {
  cg = new FakeCgroupFs(mode);
  fake = new FakeNative(cg);
  engine = new Engine({ native: fake, stateDir: path.join(tmp, 'run'), cgroups: { mountRoot: cg.root, mountinfo: cg.mountinfo, dirs: cg.deps().dirs } });
}

async function running(id = 'c1'): Promise<EngineRecord> {
  const rec = await engine.create(id, { bundle });
  await engine.start(id);
  return rec;
}

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-engine-update-'));
  bundle = path.join(tmp, 'bundle');
  await mkdir(path.join(bundle, 'rootfs'), { recursive: true });
  const spec = await buildSpec({ rootfs: path.join(bundle, 'rootfs'), command: ['/bin/true'] }, { id: 'b', hostEnv: {} });
  spec.root.path = 'rootfs';
  spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 32 * MiB } };
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
});

afterEach(async () => {
  await fake?.cleanup();
  cg?.cleanup();
  cg = undefined;
  await rm(tmp, { recursive: true, force: true });
});

describe('Engine.update', () => {
  it('(v1) changes the limits of a running container, swappiness and the OOM switch included', async () => {
    await setup('v1');
    await running();
    expect(await engine.update('c1', { memory: { limit: 64 * MiB, swappiness: 0, disableOOMKiller: true }, pids: { limit: 7 } })).toEqual([]);
    expect(cg!.read('memory/tsrun/c1/memory.limit_in_bytes')).toBe(`${64 * MiB}\n`);
    expect(cg!.read('memory/tsrun/c1/memory.swappiness')).toBe('0\n');
    expect(cg!.read('memory/tsrun/c1/memory.oom_control')).toMatch(/^oom_kill_disable 1$/m);
    expect(cg!.read('pids/tsrun/c1/pids.max')).toBe('7\n');
  });

  it('(v2) changes a created container\'s limits too; refuses what v2 cannot do, changing nothing', async () => {
    await setup('v2');
    await engine.create('c1', { bundle });
    expect(await engine.update('c1', { memory: { limit: 48 * MiB, kernelTCP: 1 } })).toEqual([
      'memory.kernelTCP ignored: Linux 6 has no kernel memory limits (runc ignores them too)',
    ]);
    expect(cg!.read('tsrun/c1/memory.max')).toBe(`${48 * MiB}\n`);
    const err = await rejection(engine.update('c1', { memory: { limit: 16 * MiB, disableOOMKiller: true } }));
    expect(err.code).toBe('CGROUP_UNAVAILABLE');
    expect(cg!.read('tsrun/c1/memory.max')).toBe(`${48 * MiB}\n`);
  });

  it('a stopped container → INVALID_STATE; a missing one → CONTAINER_NOT_FOUND', async () => {
    await setup('v2');
    const rec = await running();
    process.kill(rec.pid, 'SIGKILL');
    await fake.exited(rec.pid);
    expect(await rejection(engine.update('c1', { pids: { limit: 3 } }))).toMatchObject({
      code: 'INVALID_STATE',
      message: 'cannot update container c1: it is not running',
    });
    expect((await rejection(engine.update('nope', {}))).code).toBe('CONTAINER_NOT_FOUND');
  });
});

describe('Engine.stats and Engine.events', () => {
  it('stats: runc\'s shape for a running container; INVALID_STATE once it stopped', async () => {
    await setup('v2');
    const rec = await running();
    writeFileSync(path.join(cg!.root, 'tsrun/c1/memory.current'), '8192\n');
    const s = await engine.stats('c1');
    expect(s.memory.usage).toEqual({ limit: 32 * MiB, usage: 8192, failcnt: 0 });
    expect(s).toHaveProperty('network_interfaces', null);
    process.kill(rec.pid, 'SIGKILL');
    await fake.exited(rec.pid);
    expect(await rejection(engine.stats('c1'))).toMatchObject({ code: 'INVALID_STATE', message: 'container with id c1 is not running' });
  });

  it('events: a stats event every interval and an oom event when the OOM killer struck, until the container stops', async () => {
    await setup('v2');
    const rec = await running();
    const seen: string[] = [];
    for await (const e of engine.events('c1', { intervalMs: 50 })) {
      seen.push(e.type);
      if (seen.length === 2) writeFileSync(path.join(cg!.root, 'tsrun/c1/memory.events'), 'low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n');
      if (seen.includes('oom') && seen.length >= 5) {
        process.kill(rec.pid, 'SIGKILL');
        await fake.exited(rec.pid);
      }
    }
    expect(seen.slice(0, 2)).toEqual(['stats', 'stats']);
    expect(seen.filter((t) => t === 'oom')).toHaveLength(1);
  });

  it('events: stops when the signal aborts', async () => {
    await setup('v1');
    await running();
    const ac = new AbortController();
    let n = 0;
    for await (const e of engine.events('c1', { intervalMs: 10, signal: ac.signal })) {
      expect(e.type).toBe('stats');
      if (++n === 2) ac.abort();
    }
    expect(n).toBe(2);
  });
});
