// User namespaces without a kernel: /etc/subuid parsing, Podman's and
// Docker's flags, --userns=auto allocation (non-overlapping, recorded,
// freed), the spec applyUserns writes, and what toNativeConfig makes of it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NativeSystemError } from '../../src/errors.js';
import { CLONE_FLAGS } from '../../src/native/constants.js';
import { toNativeConfig } from '../../src/runtime/native-config.js';
import { checkMappings, idmapError, ROOTFS_IDMAP_ANNOTATION } from '../../src/runtime/native-userns.js';
import type { OciSpec } from '../../src/spec/oci.js';
import {
  allocateRange, applyUserns, AUTO_USER, freeRanges, parseIdMapFlag, parseSubIds, parseUsernsMode, rangesOf, releaseUserns,
  type UsernsContext,
} from '../../src/spec/userns.js';
import { rejection, thrown } from '../helpers/expect-error.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-userns-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function spec(over: Partial<OciSpec['linux']> = {}, annotations?: Record<string, string>): OciSpec {
  return {
    ociVersion: '1.2.0',
    root: { path: '/rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'network' }], ...over },
    ...(annotations ? { annotations } : {}),
  };
}

// Allocations run under a lock; in-process tests serialise on a promise chain.
function chainLocker(): UsernsContext['locker'] {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(_p: string, fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

async function ctxWith(subuid: string | null, subgid = subuid, over: Partial<UsernsContext> = {}): Promise<UsernsContext> {
  const hostEnv: Record<string, string> = {
    TSRUN_SUBUID_FILE: path.join(tmp, 'subuid'),
    TSRUN_SUBGID_FILE: path.join(tmp, 'subgid'),
  };
  if (subuid !== null) await writeFile(hostEnv.TSRUN_SUBUID_FILE, subuid);
  if (subgid !== null) await writeFile(hostEnv.TSRUN_SUBGID_FILE, subgid);
  await writeFile(path.join(tmp, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\ntsrun:x:998:998::/nonexistent:/usr/sbin/nologin\n');
  return { root: path.join(tmp, 'root'), id: 'c1', locker: chainLocker(), hostEnv, passwdFile: path.join(tmp, 'passwd'), ...over };
}

describe('/etc/subuid', () => {
  it('parses name and uid lines, several ranges, and skips comments and malformed lines', () => {
    const text = [
      '# comment',
      'tsrun:100000:65536',
      '',
      '998:300000:1000',
      'alice:165536:65536',
      'broken:line',
      'bad:x:10',
      'zero:1:0',
      'tsrun:500000:10 ',
    ].join('\n');
    const entries = parseSubIds(text);
    expect(entries).toEqual([
      { owner: 'tsrun', start: 100000, count: 65536 },
      { owner: '998', start: 300000, count: 1000 },
      { owner: 'alice', start: 165536, count: 65536 },
      { owner: 'tsrun', start: 500000, count: 10 },
    ]);
    expect(rangesOf(entries, { name: 'tsrun', uid: 998 })).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 1000 },
      { start: 500000, count: 10 },
    ]);
    expect(rangesOf(entries, { name: 'tsrun' })).toHaveLength(2);
    expect(rangesOf(entries, { name: 'nobody' })).toEqual([]);
  });
});

describe('flags', () => {
  it('parses --uidmap CONTAINER:HOST:SIZE', () => {
    expect(parseIdMapFlag('0:100000:5000', '--uidmap')).toEqual({ containerID: 0, hostID: 100000, size: 5000 });
    expect(thrown(() => parseIdMapFlag('0:100000', '--uidmap')).message).toBe('--uidmap "0:100000": expected CONTAINER_ID:HOST_ID:SIZE');
    expect(thrown(() => parseIdMapFlag('0:1:0', '--gidmap')).message).toContain('at least 1');
    expect(thrown(() => parseIdMapFlag('0:4294967290:100', '--gidmap')).message).toContain('past the largest id');
  });

  it('parses --userns host and auto[:size=N]', () => {
    expect(parseUsernsMode(undefined)).toEqual({ kind: 'host' });
    expect(parseUsernsMode('host')).toEqual({ kind: 'host' });
    expect(parseUsernsMode('auto')).toEqual({ kind: 'auto', size: 65536 });
    expect(parseUsernsMode('auto:size=2048')).toEqual({ kind: 'auto', size: 2048 });
    expect(thrown(() => parseUsernsMode('auto:size=0')).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => parseUsernsMode('auto:uidmapping=0:1:2')).message).toContain('unsupported option');
    expect(thrown(() => parseUsernsMode('keep-id')).message).toBe('--userns "keep-id": unsupported mode (use host or auto[:size=N], or --uidmap/--gidmap)');
  });
});

describe('ranges', () => {
  it('subtracts used ranges and merges overlapping lines', () => {
    const ranges = [{ start: 100, count: 100 }, { start: 150, count: 100 }, { start: 1000, count: 10 }];
    expect(freeRanges(ranges, [])).toEqual([{ start: 100, count: 150 }, { start: 1000, count: 10 }]);
    expect(freeRanges(ranges, [{ start: 120, count: 10 }, { start: 1000, count: 10 }])).toEqual([
      { start: 100, count: 20 },
      { start: 130, count: 120 },
    ]);
  });

  it('takes the first free block that fits', () => {
    const ranges = [{ start: 100000, count: 65536 * 2 }];
    expect(allocateRange(ranges, [], 65536)).toEqual({ start: 100000, count: 65536 });
    expect(allocateRange(ranges, [{ start: 100000, count: 65536 }], 65536)).toEqual({ start: 165536, count: 65536 });
    expect(allocateRange(ranges, [{ start: 100000, count: 1 }], 65536 * 2)).toBeNull();
  });
});

describe('applyUserns', () => {
  it('leaves the spec alone for the host (the default)', async () => {
    const s = spec();
    expect(await applyUserns(s, {}, await ctxWith(null))).toBeNull();
    expect(await applyUserns(s, { userns: 'host' }, await ctxWith(null))).toBeNull();
    expect(s).toEqual(spec());
  });

  it('--uidmap alone serves for gids too, and asks for an idmapped rootfs', async () => {
    const s = spec();
    const r = await applyUserns(s, { uidmap: ['0:100000:1000', '1000:300000:10'] }, await ctxWith(null));
    const maps = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 1000, hostID: 300000, size: 10 }];
    expect(r).toEqual({ mode: '', uidMappings: maps, gidMappings: maps });
    expect(s.linux!.namespaces!.map((n) => n.type)).toEqual(['mount', 'pid', 'network', 'user']);
    expect(s.linux!.uidMappings).toEqual(maps);
    expect(s.annotations![ROOTFS_IDMAP_ANNOTATION]).toBe('true');
  });

  it('names the overlay layers when the caller gives them', async () => {
    const s = spec();
    const rootfsLayers = { lower: ['/l/a', '/l/b'], upper: '/c/upper', work: '/c/idmap-work' };
    await applyUserns(s, { uidmap: ['0:100000:65536'], gidmap: ['0:200000:65536'] }, { ...(await ctxWith(null)), rootfsLayers });
    expect(JSON.parse(s.annotations![ROOTFS_IDMAP_ANNOTATION])).toEqual(rootfsLayers);
    expect(s.linux!.gidMappings).toEqual([{ containerID: 0, hostID: 200000, size: 65536 }]);
  });

  it('refuses bad combinations before allocating anything', async () => {
    const ctx = await ctxWith('tsrun:100000:65536\n');
    expect((await rejection(applyUserns(spec(), { userns: 'auto', uidmap: ['0:1:1'] }, ctx))).message)
      .toBe('--userns and --uidmap/--gidmap cannot be used together');
    expect((await rejection(applyUserns(spec(), { uidmap: ['1:100000:10'] }, ctx))).message)
      .toBe("--uidmap: container id 0 (the container's root) must be mapped");
    expect((await rejection(applyUserns(spec(), { uidmap: ['0:100000:10', '5:200000:10'] }, ctx))).message).toContain('overlap');
    const hostPid = spec({ namespaces: [{ type: 'mount' }] });
    expect((await rejection(applyUserns(hostPid, { userns: 'auto' }, ctx))).message).toContain('host PID namespace');
    const joined = spec({ namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'network', path: '/proc/9/ns/net' }] });
    expect((await rejection(applyUserns(joined, { userns: 'auto' }, ctx))).message)
      .toBe('cannot join the network namespace of another container when user namespaces are enabled (use --userns=host)');
    await expect(readFile(path.join(ctx.root, 'userns', 'allocations.json'), 'utf8')).rejects.toThrow();
  });

  it('--userns=auto without subordinate ids: one clear error, nothing recorded', async () => {
    const ctx = await ctxWith(null);
    const err = await rejection(applyUserns(spec(), { userns: 'auto' }, ctx));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(`--userns=auto: no subordinate ids for "${AUTO_USER}" in ${path.join(tmp, 'subuid')} (add a line such as "tsrun:100000:65536")`);
    const other = await ctxWith('alice:100000:65536\n', 'tsrun:100000:65536\n');
    expect((await rejection(applyUserns(spec(), { userns: 'auto' }, other))).message).toContain(path.join(tmp, 'subuid'));
    const noGid = await ctxWith('tsrun:100000:65536\n', '');
    expect((await rejection(applyUserns(spec(), { userns: 'auto' }, noGid))).message).toContain(path.join(tmp, 'subgid'));
  });

  it('--userns=auto gives containers non-overlapping ranges, recorded under the root and freed on release', async () => {
    // The uid ranges: one line by name, one by the user's uid (998 in the passwd file).
    const base = await ctxWith('tsrun:100000:100000\n998:400000:30000\n', 'tsrun:200000:120000\n');
    const ids = ['a', 'b', 'c', 'd'];
    // Concurrent creates: the lock decides.
    const results = await Promise.all(ids.map((id) => applyUserns(spec(), { userns: 'auto:size=30000' }, { ...base, id })));
    const uidStarts = results.map((r) => r!.uidMappings[0].hostID).sort((x, y) => x - y);
    expect(uidStarts).toEqual([100000, 130000, 160000, 400000]);
    const gidStarts = results.map((r) => r!.gidMappings[0].hostID).sort((x, y) => x - y);
    expect(gidStarts).toEqual([200000, 230000, 260000, 290000]);
    expect(results.every((r) => r!.uidMappings.length === 1 && r!.uidMappings[0].containerID === 0 && r!.uidMappings[0].size === 30000)).toBe(true);
    const record = JSON.parse(await readFile(path.join(base.root, 'userns', 'allocations.json'), 'utf8'));
    expect(Object.keys(record.containers).sort()).toEqual(ids);
    // Full: a fifth one does not fit...
    const err = await rejection(applyUserns(spec(), { userns: 'auto:size=30000' }, { ...base, id: 'e' }));
    expect(err.message).toContain('no free range of 30000 ids left');
    // ...until one is removed.
    await releaseUserns(base.root, 'b', base.locker);
    const e = await applyUserns(spec(), { userns: 'auto:size=30000' }, { ...base, id: 'e' });
    const b = results[1]!;
    expect(e!.uidMappings[0].hostID).toBe(b.uidMappings[0].hostID);
    expect(e!.gidMappings[0].hostID).toBe(b.gidMappings[0].hostID);
    // The same container asking again keeps its range.
    const again = await applyUserns(spec(), { userns: 'auto:size=30000' }, { ...base, id: 'e' });
    expect(again).toEqual(e);
  });

  it('drops the records of containers that no longer exist when it allocates', async () => {
    const base = await ctxWith('tsrun:100000:65536\n');
    await applyUserns(spec(), { userns: 'auto' }, { ...base, id: 'gone' });
    const live = new Set(['kept']);
    const r = await applyUserns(spec(), { userns: 'auto' }, { ...base, id: 'kept', isLive: async (id) => live.has(id) });
    expect(r!.uidMappings[0].hostID).toBe(100000);
  });

  it("Docker's remap: all of the user's ranges, container ids 0.. in order; --userns=host opts out", async () => {
    const ctx = await ctxWith('tsrun:100000:65536\ntsrun:300000:1000\n', 'tsrun:500000:65536\n', { remap: 'default' });
    const s = spec();
    const r = await applyUserns(s, {}, ctx);
    expect(r!.uidMappings).toEqual([
      { containerID: 0, hostID: 100000, size: 65536 },
      { containerID: 65536, hostID: 300000, size: 1000 },
    ]);
    expect(r!.gidMappings).toEqual([{ containerID: 0, hostID: 500000, size: 65536 }]);
    expect(await applyUserns(spec(), { userns: 'host' }, ctx)).toBeNull();
    const named = await ctxWith('alice:700000:65536\n', 'staff:800000:65536\n', { remap: 'alice:staff' });
    const n = await applyUserns(spec(), {}, named);
    expect(n!.uidMappings[0].hostID).toBe(700000);
    expect(n!.gidMappings[0].hostID).toBe(800000);
    const missing = await ctxWith('', '', { remap: 'bob' });
    expect((await rejection(applyUserns(spec(), {}, missing))).message).toContain('--userns-remap: no subordinate ids for "bob"');
  });
});

describe('toNativeConfig with a user namespace', () => {
  const uid = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const gid = [{ containerID: 0, hostID: 200000, size: 65536 }];

  it('creates it with the others and writes the maps as the kernel reads them', () => {
    const s = spec({ namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: uid, gidMappings: [...gid, { containerID: 65536, hostID: 9, size: 1 }] });
    const c = toNativeConfig(s, { stdio: [0, 1, 2] });
    expect(c.cloneFlags).toBe(CLONE_FLAGS.mount | CLONE_FLAGS.user);
    expect(c.userns).toEqual({ uidMap: '0 100000 65536\n', gidMap: '0 200000 65536\n65536 9 1\n', idmapRootfs: null });
  });

  it('idmaps the rootfs only when the annotation asks (runc leaves it as it is)', () => {
    const tree = toNativeConfig(spec({ namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: uid, gidMappings: gid }, { [ROOTFS_IDMAP_ANNOTATION]: 'true' }), { stdio: [0, 1, 2] });
    expect(tree.userns!.idmapRootfs).toEqual({ lower: [], upperBase: '', upper: '', work: '', mounterUid: 100000, mounterGid: 200000 });
    const layers = JSON.stringify({ lower: ['/s/l/A', '/s/l/B'], upper: '/s/c1/upper', work: '/s/c1/idmap-work' });
    const ov = toNativeConfig(spec({ namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: uid, gidMappings: gid }, { [ROOTFS_IDMAP_ANNOTATION]: layers }), { stdio: [0, 1, 2] });
    expect(ov.userns!.idmapRootfs).toEqual({
      lower: ['/s/l/A', '/s/l/B'], upperBase: '/s/c1', upper: 'upper', work: 'idmap-work', mounterUid: 100000, mounterGid: 200000,
    });
    const bad = JSON.stringify({ lower: ['/s/l/A'], upper: '/s/c1/upper', work: '/elsewhere/work' });
    expect(thrown(() => toNativeConfig(spec({ namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: uid, gidMappings: gid }, { [ROOTFS_IDMAP_ANNOTATION]: bad }), { stdio: [0, 1, 2] })).message)
      .toContain('upper and work must be in one directory');
  });

  it('joins a user namespace first, and writes no maps for it', () => {
    const s = spec({ namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/9/ns/net' }, { type: 'user', path: '/proc/9/ns/user' }] });
    const c = toNativeConfig(s, { stdio: [0, 1, 2] });
    expect(c.joinNamespaces).toEqual([
      { flag: CLONE_FLAGS.user, path: '/proc/9/ns/user' },
      { flag: CLONE_FLAGS.network, path: '/proc/9/ns/net' },
    ]);
    expect(c.cloneFlags).toBe(CLONE_FLAGS.mount);
    expect(c.userns).toBeNull();
    const idmapped = { ...s, annotations: { [ROOTFS_IDMAP_ANNOTATION]: 'true' } };
    expect(thrown(() => toNativeConfig(idmapped, { stdio: [0, 1, 2] })).message).toContain('needs a new user namespace');
  });

  it('refuses what the kernel or runc would', () => {
    const ns = [{ type: 'mount' as const }, { type: 'user' as const }];
    expect(thrown(() => toNativeConfig(spec({ namespaces: ns, uidMappings: uid }), { stdio: [0, 1, 2] })).message)
      .toBe('user namespaces enabled, but no gid mappings found (linux.gidMappings)');
    expect(thrown(() => toNativeConfig(spec({ uidMappings: uid, gidMappings: gid }), { stdio: [0, 1, 2] })).message)
      .toBe("user namespace mappings specified, but user namespace isn't enabled in the config");
    expect(thrown(() => toNativeConfig(spec({ namespaces: ns, uidMappings: [{ containerID: 1, hostID: 5, size: 5 }], gidMappings: gid }), { stdio: [0, 1, 2] })).message)
      .toContain('must map container uid and gid 0');
    // A new user namespace with a namespace joined by path: the addon joins first (runc's order).
    const joined = [...ns, { type: 'ipc' as const, path: '/proc/9/ns/ipc' }];
    const c = toNativeConfig(spec({ namespaces: joined, uidMappings: uid, gidMappings: gid }), { stdio: [0, 1, 2] });
    expect(c.cloneFlags).toBe(CLONE_FLAGS.mount | CLONE_FLAGS.user);
    expect(c.userns!.uidMap).toBe('0 100000 65536\n');
  });

  it('checks mappings as the kernel does', () => {
    expect(checkMappings([{ containerID: 0, hostID: 1, size: 10 }, { containerID: 10, hostID: 11, size: 1 }], 'uidMappings')).toHaveLength(2);
    expect(thrown(() => checkMappings([{ containerID: 0, hostID: 1, size: 10 }, { containerID: 20, hostID: 5, size: 1 }], 'uidMappings')).message)
      .toContain('host ranges');
    expect(thrown(() => checkMappings([{ containerID: 0, hostID: 1, size: 0 }], 'gidMappings')).message).toContain('size at least 1');
    expect(thrown(() => checkMappings(Array.from({ length: 341 }, (_, i) => ({ containerID: i, hostID: i, size: 1 })), 'gidMappings')).message)
      .toContain('at most 340');
    expect(thrown(() => checkMappings([{ containerID: 4294967000, hostID: 1, size: 1000 }], 'gidMappings')).message).toContain('largest id');
  });

  it('turns a refused idmapped mount into one line naming the kernel requirement', () => {
    const native = (syscall: string, code: string, p: string) =>
      new NativeSystemError({ message: `${syscall} ${p}: x`, code, errno: -22, syscall, path: p, step: 'idmap' });
    const a = idmapError(native('mount_setattr', 'EINVAL', '/var/lib/tsrun/overlay/c1/merged'));
    expect(a.code).toBe('UNSUPPORTED');
    expect(a.message).toMatch(/^cannot present the root filesystem through an idmapped mount: the filesystem of \/var\/lib\/tsrun\/overlay\/c1\/merged cannot be idmapped on this kernel \(idmapped mounts need Linux 5\.12/);
    expect(a.message).toContain('tsrun never chowns image layers');
    expect(idmapError(native('fsconfig', 'EINVAL', '/l/A')).message).toContain('needs Linux 6.15 or later');
  });
});
