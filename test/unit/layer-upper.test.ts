// Reading an overlay upperdir (layer/upper.ts) and writing it as a layer
// (layer/write.ts), on fake upper trees built in a temp dir: whiteouts are
// made with mknod 0/0 and opaque directories with the trusted.overlay.opaque
// xattr, exactly as the kernel leaves them, so these need root (mknod,
// trusted.* xattrs) and are skipped, saying so, without it.
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Images } from '../../src/image/images.js';
import { lowerLookup, mountStubs, upperChanges, upperEntries, type UpperEntry } from '../../src/image/layer/upper.js';
import { parallelGzip } from '../../src/image/layer/gzip.js';
import { writeLayer } from '../../src/image/layer/write.js';
import { storeImage } from '../../src/image/new-image.js';
import type { ImageLayer } from '../../src/image/store/image-index.js';
import { MEDIA_TYPE_DOCKER_LAYER_GZIP } from '../../src/image/media-types.js';
import { readTar, type TarEntry } from '../../src/image/unpack/tar.js';
import { native } from '../../src/native/binding.js';
import { S_IF } from '../../src/native/constants.js';
import { fileLocker } from '../../src/util/lock.js';

const notRoot = process.getuid?.() !== 0 ? 'needs root (mknod of whiteouts, trusted.* xattrs)' : '';
if (notRoot) process.stderr.write(`[skip] layer-upper: ${notRoot}\n`);

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const T0 = 1_700_000_000; // a fixed mtime, so trees built at different moments are equal

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'tsrun-upper-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function whiteout(p: string): void {
  native.mknod(p, S_IF.CHR, { major: 0, minor: 0 });
}

function opaque(p: string): void {
  native.lsetxattr(p, 'trusted.overlay.opaque', Buffer.from('y'));
}

/** Sets every mtime under dir (children first) to T0, as a deterministic build would see it. */
function pinTimes(dir: string): void {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const st = lstatSync(p);
    if (st.isDirectory()) pinTimes(p);
    if (!st.isSymbolicLink()) utimesSync(p, T0, T0);
  }
  utimesSync(dir, T0, T0);
}

/** The upper tree of a container that added, changed, deleted and replaced things. */
function makeUpper(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'new.txt'), 'new\n');
  chmodSync(join(dir, 'new.txt'), 0o4751);
  linkSync(join(dir, 'new.txt'), join(dir, 'the-link'));
  symlinkSync('/new.txt', join(dir, 'sym'));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  whiteout(join(dir, 'etc/group'));
  whiteout(join(dir, 'gone-dir'));
  mkdirSync(join(dir, 'opq'));
  opaque(join(dir, 'opq'));
  writeFileSync(join(dir, 'opq/fresh'), 'fresh');
  mkdirSync(join(dir, 'owned'));
  chownSync(join(dir, 'owned'), 1234, 5678);
  writeFileSync(join(dir, 'caps'), 'x');
  native.lsetxattr(join(dir, 'caps'), 'user.note', Buffer.from('kept'));
  native.lsetxattr(join(dir, 'caps'), 'trusted.overlay.origin', Buffer.from('dropped'));
  native.mknod(join(dir, 'fifo'), S_IF.FIFO | 0o640, { major: 0, minor: 0 });
  pinTimes(dir);
}

async function entries(dir: string): Promise<UpperEntry[]> {
  const out: UpperEntry[] = [];
  for await (const e of upperEntries(dir)) out.push(e);
  return out;
}

async function tarEntries(blob: Buffer): Promise<Array<Omit<TarEntry, 'chunks' | 'skip'> & { body: string }>> {
  const out: Array<Omit<TarEntry, 'chunks' | 'skip'> & { body: string }> = [];
  for await (const e of readTar((async function* () { yield blob; })())) {
    const chunks: Buffer[] = [];
    for await (const c of e.chunks()) chunks.push(c);
    const { chunks: _c, skip: _s, ...rest } = e;
    out.push({ ...rest, body: Buffer.concat(chunks).toString() });
  }
  return out;
}

function images(): Images {
  return new Images({ root: join(base, 'root'), native, lock: fileLocker(native), imagesInUse: async () => new Map() });
}

describe.skipIf(notRoot)('upperEntries', () => {
  it('walks parents before children with siblings in byte order', async () => {
    const up = join(base, 'up');
    for (const d of ['a', 'a/b', 'B', 'z']) mkdirSync(join(up, d), { recursive: true });
    for (const f of ['a-b', 'a/b/c', 'é', 'a/0']) writeFileSync(join(up, f), f);
    // Not content: overlay/aufs metadata and names a tar layer would read as whiteouts.
    writeFileSync(join(up, '.wh..wh..opq'), '');
    writeFileSync(join(up, 'a/.wh.x'), '');
    expect((await entries(up)).map((e) => e.path)).toEqual(['B', 'a', 'a/0', 'a/b', 'a/b/c', 'a-b', 'z', 'é']);
  });

  it('classifies whiteouts, opaque dirs, hard links, symlinks, owners, modes and xattrs', async () => {
    const up = join(base, 'up');
    makeUpper(up);
    // The kernel shares one whiteout inode among names: still two whiteouts, not a hard link.
    linkSync(join(up, 'gone-dir'), join(up, 'gone-too'));
    const byPath = new Map((await entries(up)).map((e) => [e.path, e]));
    expect([...byPath.keys()]).toEqual(['caps', 'etc', 'etc/group', 'etc/passwd', 'fifo', 'gone-dir', 'gone-too', 'new.txt', 'opq', 'opq/fresh', 'owned', 'sym', 'the-link']);
    expect(byPath.get('etc/group')?.kind).toBe('whiteout');
    expect(byPath.get('gone-dir')?.kind).toBe('whiteout');
    expect(byPath.get('gone-too')?.kind).toBe('whiteout');
    expect(byPath.get('gone-too')?.hardlinkTo).toBeUndefined();
    expect(byPath.get('opq')).toMatchObject({ kind: 'opaque', type: 'dir' });
    expect(byPath.get('etc')).toMatchObject({ kind: 'change', type: 'dir' });
    expect(byPath.get('new.txt')).toMatchObject({ kind: 'change', type: 'file', mode: 0o4751, size: 4, mtimeNs: BigInt(T0) * 1_000_000_000n });
    expect(byPath.get('the-link')).toMatchObject({ type: 'file', hardlinkTo: 'new.txt' });
    expect(byPath.get('sym')).toMatchObject({ type: 'symlink', linkTarget: '/new.txt' });
    expect(byPath.get('owned')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(byPath.get('fifo')).toMatchObject({ type: 'fifo', mode: 0o640 });
    expect([...(byPath.get('caps')?.xattrs ?? new Map()).entries()]).toEqual([['user.note', Buffer.from('kept')]]);
    expect(byPath.get('opq')?.xattrs).toBeUndefined(); // trusted.overlay.opaque is bookkeeping, not content
  });

  it('refuses an upperdir that points into lower layers (redirect_dir)', async () => {
    const up = join(base, 'up');
    mkdirSync(join(up, 'moved'), { recursive: true });
    native.lsetxattr(join(up, 'moved'), 'trusted.overlay.redirect', Buffer.from('/old'));
    await expect(entries(up)).rejects.toThrow(/redirect_dir or metacopy/);
  });
});

describe.skipIf(notRoot)('upperChanges (docker diff)', () => {
  it("follows moby's rules against lower layers that honour whiteouts and opaque dirs", async () => {
    const bottom = join(base, 'l1');
    const top = join(base, 'l2');
    for (const d of ['etc', 'usr/lib', 'var/cache', 'same', 'opq/old']) mkdirSync(join(bottom, d), { recursive: true });
    for (const f of ['etc/passwd', 'etc/group', 'usr/lib/a', 'var/cache/x', 'was-deleted']) writeFileSync(join(bottom, f), 'x');
    mkdirSync(join(top, 'var'), { recursive: true });
    whiteout(join(top, 'was-deleted')); // deleted by an upper image layer: re-adding it is A
    mkdirSync(join(top, 'var/cache'));
    opaque(join(top, 'var/cache')); // the image replaced var/cache: its old x is gone
    pinTimes(bottom);

    const up = join(base, 'up');
    mkdirSync(up);
    // Copied up with the lower dir's metadata: an unchanged parent, left out.
    mkdirSync(join(up, 'etc'));
    writeFileSync(join(up, 'etc/passwd'), 'changed');
    utimesSync(join(up, 'etc'), T0, T0);
    whiteout(join(up, 'etc/group'));
    mkdirSync(join(up, 'same'));
    utimesSync(join(up, 'same'), T0, T0);
    mkdirSync(join(up, 'opq'));
    opaque(join(up, 'opq'));
    writeFileSync(join(up, 'opq/new'), 'n');
    writeFileSync(join(up, 'was-deleted'), 'again');
    mkdirSync(join(up, 'var/cache'), { recursive: true });
    writeFileSync(join(up, 'var/cache/x'), 'x');
    // Not the lower dirs' times (ext4's are coarse: two dirs made in one tick compare equal).
    for (const d of ['var/cache', 'var']) utimesSync(join(up, d), T0, T0);
    mkdirSync(join(up, 'brand/new'), { recursive: true });

    // A lower dir's size differs between filesystems: compare against the one on this one.
    const changes = await upperChanges(up, lowerLookup([top, bottom]));
    expect(changes.map((c) => `${c.kind} ${c.path}`)).toEqual([
      'A /brand',
      'A /brand/new',
      'C /etc', // parent of the D below (moby marks it even though its metadata is the same)
      'D /etc/group',
      'C /etc/passwd',
      'D /opq', // an opaque dir that replaced a lower one
      'A /opq/new',
      'C /var',
      'C /var/cache',
      'A /var/cache/x', // hidden below by the image's own opaque var/cache
      'A /was-deleted',
    ]);
  });

  it('lowerLookup: the top-most layer decides; whiteouts and files on the way hide what is below', async () => {
    const bottom = join(base, 'l1');
    const top = join(base, 'l2');
    mkdirSync(join(bottom, 'd/e'), { recursive: true });
    writeFileSync(join(bottom, 'd/e/f'), 'x');
    writeFileSync(join(bottom, 'g'), 'x');
    mkdirSync(join(top, 'd'), { recursive: true });
    whiteout(join(top, 'd/e'));
    writeFileSync(join(top, 'g2'), 'x');
    const look = lowerLookup([top, bottom]);
    expect(await look('/d/e/f')).toBeNull();
    expect(await look('/d/e')).toBeNull();
    expect((await look('/d'))?.isDir).toBe(true);
    expect((await look('/g'))?.isDir).toBe(false);
    expect(await look('/g2/x')).toBeNull();
    expect(await look('/nope')).toBeNull();
  });
});

describe.skipIf(notRoot)('mountStubs', () => {
  it('leaves out the empty mount points the runtime made, and directories made only for them', async () => {
    const lower = join(base, 'lower');
    mkdirSync(join(lower, 'sys'), { recursive: true }); // the image has /sys: its copy-up is content
    const up = join(base, 'up');
    for (const d of ['proc', 'dev', 'sys', 'etc', 'data', 'srv/a/b']) mkdirSync(join(up, d), { recursive: true });
    for (const f of ['etc/hostname', 'etc/hosts']) writeFileSync(join(up, f), '');
    writeFileSync(join(up, 'data/written'), 'x'); // a mount point the container wrote under (before the mount)
    utimesSync(join(up, 'sys'), T0, T0); // changed metadata: C (timestamps are coarse, so set it)
    const look = lowerLookup([lower]);
    const skip = await mountStubs(up, ['/proc', '/dev', '/dev/pts', '/sys', '/etc/hostname', '/etc/hosts', '/data', '/srv/a/b/'], look);
    expect([...skip].sort()).toEqual(['dev', 'etc', 'etc/hostname', 'etc/hosts', 'proc', 'srv', 'srv/a', 'srv/a/b']);
    expect((await upperChanges(up, look, undefined, { skip })).map((c) => `${c.kind} ${c.path}`)).toEqual(['A /data', 'A /data/written', 'C /sys']);
    const layer = await writeLayer(images(), up, { native, skip });
    const es = await tarEntries(gunzipSync(readFileSync(images().content.path(layer!.digest))));
    expect(es.map((e) => e.path)).toEqual(['data/', 'data/written', 'sys/']);
  });
});

describe.skipIf(notRoot)('writeLayer', () => {
  it("writes Docker's layer tar, hashes both sides, stores and unpacks it", async () => {
    const up = join(base, 'up');
    makeUpper(up);
    const imgs = images();
    const layer = await writeLayer(imgs, up, { native });
    expect(layer).not.toBeNull();
    expect(layer!.mediaType).toBe(MEDIA_TYPE_DOCKER_LAYER_GZIP);
    const blob = readFileSync(imgs.content.path(layer!.digest));
    expect(sha256(blob)).toBe(layer!.digest);
    expect(blob.length).toBe(layer!.size);
    const tar = gunzipSync(blob);
    expect(sha256(tar)).toBe(layer!.diffId);

    const es = await tarEntries(tar);
    expect(es.map((e) => `${e.type} ${e.path}`)).toEqual([
      'file caps', 'dir etc/', 'file etc/.wh.group', 'file etc/passwd', 'fifo fifo', 'file .wh.gone-dir',
      'file new.txt', 'dir opq/', 'file opq/.wh..wh..opq', 'file opq/fresh', 'dir owned/', 'symlink sym', 'hardlink the-link',
    ]);
    const e = new Map(es.map((x) => [x.path, x]));
    expect(e.get('etc/.wh.group')).toMatchObject({ size: 0, mode: 0o600 });
    expect(e.get('new.txt')).toMatchObject({ mode: 0o4751, mtime: T0, body: 'new\n' });
    expect(e.get('the-link')).toMatchObject({ linkname: 'new.txt' });
    expect(e.get('sym')).toMatchObject({ linkname: '/new.txt' });
    expect(e.get('owned/')).toMatchObject({ uid: 1234, gid: 5678 });
    expect([...e.get('caps')!.xattrs.keys()]).toEqual(['user.note']);

    // Unpacked the way a pull unpacks: whiteouts and opaque dirs back in overlay form.
    expect(await imgs.layers.has(layer!.diffId)).toBe(true);
    const diff = imgs.layers.diffDir(layer!.diffId);
    const wo = lstatSync(join(diff, 'etc/group'));
    expect(wo.isCharacterDevice() && wo.rdev === 0).toBe(true);
    expect(native.lgetxattr(join(diff, 'opq'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(lstatSync(join(diff, 'the-link')).ino).toBe(lstatSync(join(diff, 'new.txt')).ino);
    expect(lstatSync(join(diff, 'new.txt')).mode & 0o7777).toBe(0o4751);
    expect(readdirSync(join(base, 'root/images/tmp')).filter((n) => n.startsWith('layer-'))).toEqual([]);

    // Named by an image: the manifest lists the layer blob with its media type.
    const { id, manifestDigest } = await storeImage(imgs, {
      config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer!.diffId] } },
      layers: [layer!],
      tags: ['made/here:1'],
    });
    const manifest = JSON.parse(readFileSync(imgs.content.path(manifestDigest), 'utf8'));
    expect(manifest.layers).toEqual([{ mediaType: MEDIA_TYPE_DOCKER_LAYER_GZIP, size: layer!.size, digest: layer!.digest }]);
    expect((await imgs.get('made/here:1')).record.id).toBe(id);
  });

  it('is deterministic: the same tree (same mtimes) gives the same diffID and blob', async () => {
    makeUpper(join(base, 'one'));
    makeUpper(join(base, 'two'));
    const a = await writeLayer(images(), join(base, 'one'), { native });
    const b = await writeLayer(images(), join(base, 'two'), { native });
    expect(b).toEqual(a);
    writeFileSync(join(base, 'two/new.txt'), 'NEW\n');
    utimesSync(join(base, 'two/new.txt'), T0, T0);
    const c = await writeLayer(images(), join(base, 'two'), { native });
    expect(c!.diffId).not.toBe(a!.diffId);
  });

  it('returns null for an upperdir with no change and stores nothing', async () => {
    const up = join(base, 'up');
    mkdirSync(up);
    const imgs = images();
    expect(await writeLayer(imgs, up, { native })).toBeNull();
    expect(await imgs.content.list()).toEqual([]);
    expect(await imgs.layers.list()).toEqual([]);
  });

  it('stores an uncompressed tar blob when asked (digest = diffID)', async () => {
    const up = join(base, 'up');
    makeUpper(up);
    const layer = await writeLayer(images(), up, { native, compression: 'none' });
    expect(layer!.digest).toBe(layer!.diffId);
    expect(layer!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar');
  });

  it('garbage collection keeps pinned layers that no image names', async () => {
    const up = join(base, 'up');
    makeUpper(up);
    let pins: ImageLayer[] = [];
    const imgs = new Images({
      root: join(base, 'root'), native, lock: fileLocker(native), imagesInUse: async () => new Map(),
      pinned: async () => pins,
    });
    const layer = await writeLayer(imgs, up, { native });
    pins = [layer!];
    await imgs.collectGarbage();
    expect(await imgs.layers.has(layer!.diffId)).toBe(true);
    expect(existsSync(imgs.content.path(layer!.digest))).toBe(true);
    pins = [];
    await imgs.collectGarbage();
    expect(await imgs.layers.has(layer!.diffId)).toBe(false);
    expect(existsSync(imgs.content.path(layer!.digest))).toBe(false);
  });
});

describe('parallelGzip', () => {
  async function gz(data: Buffer, chunk: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
    const out: Buffer[] = [];
    for await (const c of Readable.from(parts, { objectMode: false }).pipe(parallelGzip(1))) out.push(c as Buffer);
    return Buffer.concat(out);
  }

  it('writes one gzip member any reader takes, the same bytes however the input is chunked', async () => {
    // ~3.5 MiB: several 1 MiB blocks, compressible text with random runs between.
    const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(40_000));
    const data = Buffer.concat([text, createHash('sha512').update('seed').digest(), text.subarray(0, 1_700_001)]);
    const a = await gz(data, 65_536);
    const b = await gz(data, 1_000_003);
    expect(a.equals(b)).toBe(true);
    expect(gunzipSync(a).equals(data)).toBe(true);
    expect(a.length).toBeLessThan(data.length / 20);
    expect(gunzipSync(await gz(Buffer.alloc(0), 1)).length).toBe(0);
  });
});
