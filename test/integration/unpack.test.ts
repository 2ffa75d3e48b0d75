// Layer unpacking on the real filesystem (root: owners, device nodes,
// trusted.* xattrs, overlay mounts): a normal layer keeps every piece of
// metadata, its whiteouts work as OverlayFS lowerdirs, and every breakout a
// crafted tarball can try leaves the world outside the layer directory
// exactly as it was (snapshotted down to ctime, link counts and xattrs).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { unpackLayer, unpackTarStream } from '../../src/image/unpack/layer.js';
import { native } from '../../src/native/binding.js';
import { MNT_DETACH } from '../../src/native/constants.js';
import { tarArchive, tarGz, tarHeader, type TarWriterEntry } from '../helpers/tar-writer.js';
import { integrationSkipReason } from '../helpers/tsrun.js';

const skip = integrationSkipReason('unpack');

// ping's file capability: VFS_CAP_REVISION_2 | effective, permitted = CAP_NET_RAW (13).
const CAP_NET_RAW = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

let base: string;
let layer: string;
let host: string;
/** Blobs live outside base, so writing them does not show in the snapshot. */
let blobs: string;

/** Everything under base except the layer directory, with enough detail that any change shows. */
function snapshot(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (p: string) => {
    if (p === layer) return;
    const st = fs.lstatSync(p);
    let xattrs: Record<string, string> = {};
    try {
      xattrs = Object.fromEntries(native.llistxattr(p).map((n) => [n, native.lgetxattr(p, n)?.toString('hex') ?? '']));
    } catch {
      xattrs = {};
    }
    out[p] = {
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      nlink: st.nlink,
      ino: st.ino,
      rdev: st.rdev,
      mtime: st.mtimeMs,
      ctime: st.ctimeMs,
      xattrs,
      link: st.isSymbolicLink() ? fs.readlinkSync(p) : undefined,
      content: st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : undefined,
    };
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) walk(join(p, name));
  };
  walk(base);
  return out;
}

/** Unpacks a tar (as a gzip blob, the way pulls do) into the layer directory. */
async function unpack(entries: TarWriterEntry[] | Buffer): Promise<{ diffId: string; size: number }> {
  const blob = join(blobs, `blob-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(blob, Buffer.isBuffer(entries) ? zlib.gzipSync(entries) : tarGz(entries));
  try {
    return await unpackLayer({ blobPath: blob, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', dir: layer, native });
  } finally {
    fs.rmSync(blob);
  }
}

/**
 * Unpacks a crafted layer and checks that it failed with LAYER_INVALID
 * naming the entry (or, with `neutralised`, that it succeeded), and that
 * nothing outside the layer directory changed.
 */
async function breakout(entries: TarWriterEntry[] | Buffer, expectFailure: RegExp | 'neutralised'): Promise<void> {
  const before = snapshot();
  let error: unknown = null;
  try {
    await unpack(entries);
  } catch (err) {
    error = err;
  }
  if (expectFailure === 'neutralised') {
    expect(error).toBeNull();
  } else {
    expect(error).toBeInstanceOf(TsrunError);
    expect((error as TsrunError).code).toBe('LAYER_INVALID');
    expect((error as TsrunError).message).toMatch(expectFailure);
  }
  expect(snapshot()).toEqual(before);
}

describe.skipIf(skip)('layer unpack', () => {
  beforeEach(() => {
    base = fs.mkdtempSync(join(tmpdir(), 'tsrun-unpack-'));
    blobs = fs.mkdtempSync(join(tmpdir(), 'tsrun-unpack-blobs-'));
    // layer at base/x/layer: `../` reaches base/x, `../../` reaches base.
    fs.mkdirSync(join(base, 'x'));
    layer = join(base, 'x', 'layer');
    fs.mkdirSync(layer);
    host = join(base, 'host');
    fs.mkdirSync(join(host, 'dir'), { recursive: true });
    fs.writeFileSync(join(host, 'file'), 'host secret\n', { mode: 0o640 });
    fs.chmodSync(join(host, 'file'), 0o640);
    fs.chownSync(join(host, 'file'), 1234, 1234);
    fs.writeFileSync(join(host, 'dir', 'inner'), 'inner\n');
    fs.chmodSync(join(host, 'dir'), 0o750);
    fs.utimesSync(join(host, 'dir'), 1_000_000, 1_000_000);
    fs.utimesSync(host, 1_000_000, 1_000_000);
  });

  afterEach(() => {
    fs.rmSync(base, { recursive: true, force: true });
    fs.rmSync(blobs, { recursive: true, force: true });
  });

  it('keeps owners, modes (setuid, setgid, sticky), mtimes, xattrs, hard links, symlinks, devices, fifos; whiteouts in overlay form', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i * 2654435761 >>> 0, i);
    const tar = tarArchive([
      { name: './', type: 'dir', mode: 0o755, mtime: 1_500_000_000 },
      { name: 'usr/', type: 'dir', mode: 0o755, mtime: 1_600_000_000 },
      { name: 'usr/bin/', type: 'dir', mode: 0o755, mtime: 1_600_000_001 },
      { name: 'usr/bin/su', body: '#!/bin/su\n', mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_002 },
      { name: 'usr/bin/wall', body: 'wall', mode: 0o2755, uid: 0, gid: 5 },
      { name: 'usr/bin/ping', body: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': CAP_NET_RAW.toString('latin1') } },
      { name: 'usr/bin/su-again', type: 'hardlink', linkname: 'usr/bin/su' },
      { name: 'tmp/', type: 'dir', mode: 0o1777 },
      { name: 'home/user/', type: 'dir', mode: 0o700, uid: 1000, gid: 1001, mtime: 1_234_567_890 },
      { name: 'home/user/notes', body: 'private', mode: 0o600, uid: 1000, gid: 1001, pax: { 'SCHILY.xattr.user.note': 'hello', mtime: '1600000000.5' } },
      { name: 'home/user/big', body: big, mode: 0o644 },
      { name: 'bin', type: 'symlink', linkname: 'usr/bin', uid: 1000, gid: 1001, mtime: 1_400_000_000 },
      { name: 'etc/abs-link', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'dev/null2', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop200', type: 'block', devmajor: 7, devminor: 200, mode: 0o660, gid: 6 },
      { name: 'run/fifo', type: 'fifo', mode: 0o620, uid: 7 },
      { name: 'etc/.wh.removed', body: '' },
      { name: 'opq/.wh..wh..opq', body: '' },
      { name: 'opq/new', body: 'new' },
      { name: '.wh..wh.plnk/12345.678', body: 'aufs' },
    ]);
    const { diffId, size } = await unpack(tar);
    expect(diffId).toBe(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    expect(size).toBe(tar.length);

    const L = (p: string) => fs.lstatSync(join(layer, p));
    expect(L('usr/bin/su').mode & 0o7777).toBe(0o4755);
    expect(L('usr/bin/wall')).toMatchObject({ gid: 5 });
    expect(L('usr/bin/wall').mode & 0o7777).toBe(0o2755);
    expect(native.lgetxattr(join(layer, 'usr/bin/ping'), 'security.capability')).toEqual(CAP_NET_RAW);
    expect(L('usr/bin/su-again').ino).toBe(L('usr/bin/su').ino);
    expect(L('usr/bin/su').nlink).toBe(2);
    expect(L('tmp').mode & 0o7777).toBe(0o1777);
    expect(L('home/user')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(L('home/user').mode & 0o7777).toBe(0o700);
    expect(L('home/user').mtimeMs).toBe(1_234_567_890_000);
    expect(L('home/user/notes')).toMatchObject({ uid: 1000, gid: 1001, mtimeMs: 1_600_000_000_500 });
    expect(native.lgetxattr(join(layer, 'home/user/notes'), 'user.note')?.toString()).toBe('hello');
    expect(fs.readFileSync(join(layer, 'home/user/big')).equals(big)).toBe(true);
    // Directory times are set after their children were written.
    expect(L('usr').mtimeMs).toBe(1_600_000_000_000);
    expect(L('usr/bin').mtimeMs).toBe(1_600_000_001_000);
    expect(L('usr/bin/su').mtimeMs).toBe(1_600_000_002_000);
    expect(L('.').mtimeMs).toBe(1_500_000_000_000);
    expect(L('bin').isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(join(layer, 'bin'))).toBe('usr/bin');
    expect(L('bin')).toMatchObject({ uid: 1000, gid: 1001, mtimeMs: 1_400_000_000_000 });
    expect(fs.readlinkSync(join(layer, 'etc/abs-link'))).toBe('/etc/passwd');
    expect(L('dev/null2').isCharacterDevice()).toBe(true);
    expect(L('dev/null2').rdev).toBe(0x103);
    expect(L('dev/null2').mode & 0o7777).toBe(0o666);
    expect(L('dev/loop200').isBlockDevice()).toBe(true);
    expect(L('dev/loop200')).toMatchObject({ rdev: (7 << 8) | 200, gid: 6 });
    expect(L('run/fifo').isFIFO()).toBe(true);
    expect(L('run/fifo')).toMatchObject({ uid: 7 });
    expect(L('run/fifo').mode & 0o7777).toBe(0o620);
    // Whiteouts: a 0/0 character device, and the opaque xattr.
    expect(L('etc/removed').isCharacterDevice()).toBe(true);
    expect(L('etc/removed').rdev).toBe(0);
    expect(fs.existsSync(join(layer, 'etc/.wh.removed'))).toBe(false);
    expect(native.lgetxattr(join(layer, 'opq'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(fs.readdirSync(join(layer, 'opq'))).toEqual(['new']);
    expect(fs.existsSync(join(layer, '.wh..wh.plnk'))).toBe(false);
  });

  it('unpacks what GNU tar writes (pax, xattrs, numeric owners) into the same tree', async (ctx) => {
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
    } catch {
      process.stderr.write('[skip] unpack: GNU tar is not installed\n');
      ctx.skip();
    }
    const src = join(blobs, 'src');
    fs.mkdirSync(join(src, 'usr/bin'), { recursive: true });
    fs.writeFileSync(join(src, 'usr/bin/ping'), 'ping');
    native.lsetxattr(join(src, 'usr/bin/ping'), 'security.capability', CAP_NET_RAW);
    fs.writeFileSync(join(src, 'usr/bin/su'), 'su');
    fs.chmodSync(join(src, 'usr/bin/su'), 0o4750);
    fs.chownSync(join(src, 'usr/bin/su'), 0, 42);
    fs.linkSync(join(src, 'usr/bin/su'), join(src, 'usr/bin/su-link'));
    fs.mkdirSync(join(src, `deep/${'n'.repeat(120)}/${'m'.repeat(120)}`), { recursive: true });
    fs.writeFileSync(join(src, `deep/${'n'.repeat(120)}/${'m'.repeat(120)}/file`), Buffer.alloc(70_000, 3));
    native.lsetxattr(join(src, 'deep'), 'user.origin', Buffer.from('gnu tar'));
    fs.symlinkSync('../../etc/shadow', join(src, 'usr/bin/shadow-link'));
    fs.lchownSync(join(src, 'usr/bin/shadow-link'), 5, 6);
    native.mknod(join(src, 'usr/null'), 0o020666, { major: 1, minor: 3 });
    native.mknod(join(src, 'usr/fifo'), 0o010640, { major: 0, minor: 0 });
    fs.chownSync(join(src, 'usr/fifo'), 1000, 1000);
    fs.mkdirSync(join(src, 'tmp'));
    fs.chmodSync(join(src, 'tmp'), 0o1777);
    const tar = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '--format=pax', '--sort=name', '-C', src, '-cf', '-', '.'], {
      maxBuffer: 1 << 26,
    });
    await unpack(tar);
    const describeTree = (root: string) => {
      const out: Record<string, unknown> = {};
      const walk = (rel: string) => {
        const p = rel ? join(root, rel) : root;
        const st = fs.lstatSync(p);
        out[rel || '.'] = {
          mode: st.mode,
          uid: st.uid,
          gid: st.gid,
          mtime: Math.floor(st.mtimeMs / 1000),
          rdev: st.rdev,
          nlink: st.nlink,
          link: st.isSymbolicLink() ? fs.readlinkSync(p) : undefined,
          content: st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : undefined,
          xattrs: st.isSymbolicLink() ? {} : Object.fromEntries(native.llistxattr(p).sort().map((n) => [n, native.lgetxattr(p, n)?.toString('hex')])),
        };
        if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${name}` : name);
      };
      walk('');
      return out;
    };
    const want = describeTree(src);
    const got = describeTree(layer);
    // The layer root's own times are the tar's '.' entry: compare everything below it.
    delete want['.'];
    delete got['.'];
    expect(got).toEqual(want);
    expect(fs.lstatSync(join(layer, 'usr/bin/su-link')).ino).toBe(fs.lstatSync(join(layer, 'usr/bin/su')).ino);
  });

  it('produces whiteouts and opaque directories that OverlayFS honours as lowerdirs', async () => {
    const lower = layer;
    await unpack([
      { name: 'etc/', type: 'dir' },
      { name: 'etc/removed', body: 'gone' },
      { name: 'etc/kept', body: 'kept' },
      { name: 'opq/', type: 'dir' },
      { name: 'opq/old', body: 'old' },
      { name: 'opq/sub/deep', body: 'deep' },
    ]);
    layer = join(base, 'x', 'upper-layer');
    fs.mkdirSync(layer);
    await unpack([
      { name: 'etc/.wh.removed' },
      { name: 'opq/', type: 'dir' },
      { name: 'opq/.wh..wh..opq' },
      { name: 'opq/new', body: 'new' },
    ]);
    const merged = join(base, 'merged');
    fs.mkdirSync(merged);
    native.mount('overlay', merged, 'overlay', 0, `lowerdir=${layer}:${lower}`);
    try {
      expect(fs.readdirSync(join(merged, 'etc'))).toEqual(['kept']);
      expect(fs.existsSync(join(merged, 'etc/removed'))).toBe(false);
      expect(fs.readdirSync(join(merged, 'opq'))).toEqual(['new']);
      expect(fs.readFileSync(join(merged, 'opq/new'), 'utf8')).toBe('new');
    } finally {
      native.umount(merged, MNT_DETACH);
    }
  });

  it('unpacks plain tar blobs and tar streams, and reports progress', async () => {
    const tar = tarArchive([{ name: 'a', body: 'A'.repeat(10_000) }]);
    const blob = join(base, 'plain.tar');
    fs.writeFileSync(blob, tar);
    let seen = 0;
    const r = await unpackLayer({ blobPath: blob, mediaType: 'application/vnd.oci.image.layer.v1.tar', dir: layer, native, onBytes: (n) => (seen += n) });
    expect(r).toEqual({ diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}`, size: tar.length });
    expect(seen).toBe(tar.length);
    const gz = join(base, 'l.tgz');
    fs.writeFileSync(gz, zlib.gzipSync(tar));
    seen = 0;
    const dir2 = join(base, 'x', 'two');
    fs.mkdirSync(dir2);
    expect(await unpackLayer({ blobPath: gz, mediaType: 'application/vnd.oci.image.layer.v1.tar', dir: dir2, native, onBytes: (n) => (seen += n) })).toEqual(r);
    expect(seen).toBe(fs.statSync(gz).size);
    const dir3 = join(base, 'x', 'three');
    fs.mkdirSync(dir3);
    expect(await unpackTarStream(Readable.from([tar.subarray(0, 777), tar.subarray(777)]), dir3, native)).toEqual(r);
    expect(fs.readFileSync(join(dir3, 'a'), 'utf8')).toBe('A'.repeat(10_000));
  });

  it('rejects corrupt and truncated compressed blobs, and zstd without Node support', async () => {
    const gz = zlib.gzipSync(tarArchive([{ name: 'a', body: 'x'.repeat(100_000) }]));
    const blob = join(base, 'bad.tgz');
    fs.writeFileSync(blob, gz.subarray(0, gz.length >> 1));
    await expect(unpackLayer({ blobPath: blob, mediaType: 'x', dir: layer, native })).rejects.toMatchObject({ code: 'LAYER_INVALID' });
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 20, 60);
    fs.writeFileSync(blob, corrupt);
    await expect(unpackLayer({ blobPath: blob, mediaType: 'x', dir: layer, native })).rejects.toMatchObject({ code: 'LAYER_INVALID' });
    if (!(zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress) {
      fs.writeFileSync(blob, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
      await expect(unpackLayer({ blobPath: blob, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', dir: layer, native })).rejects.toMatchObject({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: expect.stringMatching(/Node 22\.15/),
      });
    }
  });

  it('a dir entry over an existing dir keeps its children; a file over a dir replaces it', async () => {
    await unpack([
      { name: 'd/', type: 'dir', mode: 0o700 },
      { name: 'd/child', body: 'c' },
      { name: 'd/', type: 'dir', mode: 0o755 },
      { name: 'e/sub/f', body: 'f' },
      { name: 'e', body: 'now a file' },
      { name: 'e2', body: 'file first' },
      { name: 'e2/', type: 'dir' },
      { name: 'e2/ok', body: 'ok' },
    ]);
    expect(fs.readFileSync(join(layer, 'd/child'), 'utf8')).toBe('c');
    expect(fs.statSync(join(layer, 'd')).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(join(layer, 'e'), 'utf8')).toBe('now a file');
    expect(fs.readFileSync(join(layer, 'e2/ok'), 'utf8')).toBe('ok');
  });

  describe('breakouts', () => {
    // Absolute paths are neutralised: they land inside the layer.
    it('absolute entry paths are taken relative to the layer root', async () => {
      await breakout(
        [
          { name: `${host}/pwned`, body: 'x' },
          { name: `/${host}/dir/`, type: 'dir', mode: 0o777 },
          { name: `${host}/file`, body: 'overwritten', mode: 0o777 },
        ],
        'neutralised',
      );
      expect(fs.readFileSync(join(layer, host, 'pwned'), 'utf8')).toBe('x');
      expect(fs.readFileSync(join(layer, host, 'file'), 'utf8')).toBe('overwritten');
    });

    for (const name of ['../host/pwned', '../../host/pwned', 'a/../../host/pwned', '..', '../', './../x', 'a/b/../../../pwned']) {
      it(`entry path ${JSON.stringify(name)} fails`, async () => {
        await breakout([{ name: 'a/', type: 'dir' }, { name, body: 'x' }], /leads outside the layer root/);
      });
    }

    for (const type of ['dir', 'symlink', 'hardlink', 'char', 'fifo'] as const) {
      it(`a ${type} entry with a .. path fails`, async () => {
        await breakout([{ name: 'f', body: 'f' }, { name: '../../host/new', type, linkname: 'f', devmajor: 1, devminor: 3 }], /leads outside the layer root/);
      });
    }

    const outside = () => [host, `${host}/`, '../../host', '../../../../../../..' + host, '../../'];
    for (const i of [0, 1, 2, 3, 4]) {
      for (const type of ['file', 'dir', 'symlink', 'hardlink', 'char', 'fifo'] as const) {
        it(`a ${type} written through a symlink to outside (target #${i}) fails`, async () => {
          const target = outside()[i];
          await breakout(
            [
              { name: 'real', body: 'r' },
              { name: 'link', type: 'symlink', linkname: target },
              { name: i === 4 ? 'link/host/pwned' : 'link/pwned', type, body: 'x', linkname: 'real', devmajor: 1, devminor: 3, mode: 0o4777 },
            ],
            /parent "link" is a symlink, not a directory/,
          );
        });
      }
      it(`a deep path through a symlink to outside (target #${i}) fails, and so does an existing name there`, async () => {
        const target = outside()[i];
        await breakout([{ name: 'link', type: 'symlink', linkname: target }, { name: 'link/dir/inner', body: 'x' }], /parent "link" is a symlink/);
        await breakout([{ name: 'l2', type: 'symlink', linkname: target }, { name: 'l2/file', body: 'x', mode: 0o777 }], /parent "l2" is a symlink/);
      });
    }

    it('a symlink to a directory inside the layer is not followed either', async () => {
      await breakout([{ name: 'd/', type: 'dir' }, { name: 'link', type: 'symlink', linkname: 'd' }, { name: 'link/x', body: 'x' }], /parent "link" is a symlink/);
    });

    it('entries at the name of a symlink to outside replace the symlink, never write, chmod or chown through it', async () => {
      for (const type of ['file', 'dir', 'symlink', 'char', 'fifo'] as const) {
        fs.rmSync(layer, { recursive: true });
        fs.mkdirSync(layer);
        await breakout(
          [
            { name: 'f', type: 'symlink', linkname: `${host}/file` },
            { name: 'f', type, body: 'replaced', linkname: 'elsewhere', mode: 0o777, uid: 99, gid: 99 },
            { name: 'd', type: 'symlink', linkname: '../../host/dir' },
            { name: 'd', type, body: 'replaced', linkname: 'elsewhere', mode: 0o777, uid: 99, gid: 99 },
          ],
          'neutralised',
        );
        const st = fs.lstatSync(join(layer, 'f'));
        expect(type === 'symlink' ? fs.readlinkSync(join(layer, 'f')) : st.isSymbolicLink()).toBe(type === 'symlink' ? 'elsewhere' : false);
        expect(st.uid).toBe(99);
      }
    });

    it('a hard link to a path outside the layer fails (relative and absolute)', async () => {
      await breakout([{ name: 'hl', type: 'hardlink', linkname: '../../host/file' }], /hard link target .* leads outside the layer root/);
      await breakout([{ name: 'hl', type: 'hardlink', linkname: `${host}/file` }], /is not in this layer/);
      await breakout([{ name: 'hl', type: 'hardlink', linkname: '../../host/file', pax: { linkpath: '../../host/file' } }], /leads outside/);
    });

    it('a hard link through a symlink fails', async () => {
      await breakout([{ name: 'link', type: 'symlink', linkname: host }, { name: 'hl', type: 'hardlink', linkname: 'link/file' }], /parent "link" is a symlink/);
      await breakout([{ name: 'link', type: 'symlink', linkname: '../../host' }, { name: 'hl', type: 'hardlink', linkname: 'link/file' }], /parent "link" is a symlink/);
    });

    it('a hard link to a symlink links the symlink itself', async () => {
      await breakout([{ name: 's', type: 'symlink', linkname: `${host}/file` }, { name: 'hl', type: 'hardlink', linkname: 's', mode: 0o777 }], 'neutralised');
      const st = fs.lstatSync(join(layer, 'hl'));
      expect(st.isSymbolicLink()).toBe(true);
      expect(st.ino).toBe(fs.lstatSync(join(layer, 's')).ino);
    });

    it('a hard link to something not yet in the layer, or to a directory, fails', async () => {
      await breakout([{ name: 'hl', type: 'hardlink', linkname: 'later' }, { name: 'later', body: 'x' }], /is not in this layer/);
      await breakout([{ name: 'd/', type: 'dir' }, { name: 'hl2', type: 'hardlink', linkname: 'd' }], /is a directory/);
      await breakout([{ name: 'hl3', type: 'hardlink', linkname: '.' }], /hard link to the layer root/);
    });

    it('whiteouts and opaque markers through a symlink fail', async () => {
      for (const target of [host, '../../host']) {
        await breakout([{ name: 'wl', type: 'symlink', linkname: target }, { name: 'wl/.wh.file' }], /parent "wl" is a symlink/);
        await breakout([{ name: 'ol', type: 'symlink', linkname: target }, { name: 'ol/dir/.wh..wh..opq' }], /parent "ol" is a symlink/);
        await breakout([{ name: 'ol2', type: 'symlink', linkname: `${target}/dir` }, { name: 'ol2/.wh..wh..opq' }], /parent "ol2" is a symlink/);
      }
      await breakout([{ name: '../../host/.wh.file' }], /leads outside/);
      await breakout([{ name: '../../host/.wh..wh..opq' }], /leads outside/);
      await breakout([{ name: 'a/.wh...' }], /leads outside|invalid name/);
    });

    it('a whiteout replaces a symlink of its name instead of following it', async () => {
      await breakout([{ name: 'file', type: 'symlink', linkname: `${host}/file` }, { name: '.wh.file' }], 'neutralised');
      expect(fs.lstatSync(join(layer, 'file')).isCharacterDevice()).toBe(true);
    });

    for (const name of ['.', './', '/', '', 'a/..']) {
      it(`the layer root ${JSON.stringify(name)} as a symlink (or file, or link) fails`, async () => {
        await breakout([{ name, type: 'symlink', linkname: host }, { name: 'pwned', body: 'x' }], /the layer root can only be a directory/);
        await breakout([{ name, type: 'symlink', linkname: '../../host' }, { name: 'dir/inner', body: 'x' }], /the layer root can only be a directory/);
        await breakout([{ name, body: 'x' }], /the layer root can only be a directory/);
        await breakout([{ name: 'f', body: 'f' }, { name, type: 'hardlink', linkname: 'f' }], /the layer root can only be a directory/);
      });
    }

    it('PAX and GNU path overrides carrying .. fail', async () => {
      await breakout([{ name: 'innocent', body: 'x', pax: { path: '../../host/pwned' } }], /"..\/..\/host\/pwned": path "..\/..\/host\/pwned" leads outside/);
      await breakout([{ name: 'innocent', type: 'dir', pax: { path: 'a/../../../host' } }], /leads outside/);
      await breakout([{ name: `${'a/'.repeat(60)}${'../'.repeat(62)}host/pwned`, body: 'x', longNames: 'gnu' }], /leads outside/);
      await breakout([{ name: 'g', type: 'dir', globalPax: { path: '../../host/dir' } }, { name: 'whatever', body: 'x' }], /leads outside/);
      await breakout([{ name: 's', type: 'symlink', linkname: 'ok' }, { name: 'hl', type: 'hardlink', linkname: 's', pax: { linkpath: '../../host/file' } }], /leads outside/);
    });

    it('a directory replaced by a symlink later in the same tar is not trusted afterwards', async () => {
      await breakout(
        [
          { name: 'd/', type: 'dir' },
          { name: 'd/first', body: 'cached d as verified' },
          { name: 'd', type: 'symlink', linkname: host },
          { name: 'd/pwned', body: 'x' },
        ],
        /parent "d" is a symlink/,
      );
      await breakout(
        [
          { name: 'e/', type: 'dir' },
          { name: 'e/sub/', type: 'dir' },
          { name: 'e/sub/file', body: 'x' },
          { name: 'e', type: 'symlink', linkname: '../../host' },
          { name: 'e/sub/.wh.x' },
        ],
        /parent "e" is a symlink/,
      );
    });

    it('deferred directory times never follow a later symlink', async () => {
      // host/dir has an old mtime; if the final pass set e/dir's times through
      // the symlink `e`, host/dir's mtime and ctime would change.
      await breakout(
        [
          { name: 'e/', type: 'dir', mtime: 5 },
          { name: 'e/dir/', type: 'dir', mtime: 5, mode: 0o777 },
          { name: 'e', type: 'symlink', linkname: host },
        ],
        'neutralised',
      );
      await breakout(
        [
          { name: 'f/', type: 'dir', mtime: 5 },
          { name: 'f/dir/', type: 'dir', mtime: 5 },
          { name: 'f', body: 'now a file' },
          { name: 'f2', type: 'symlink', linkname: '../../host' },
        ],
        'neutralised',
      );
    });

    it('an entry below a regular file or device fails', async () => {
      await breakout([{ name: 'f', body: 'f' }, { name: 'f/x', body: 'x' }], /parent "f" is a regular file, not a directory/);
      await breakout([{ name: 'c', type: 'char', devmajor: 1, devminor: 3 }, { name: 'c/x', body: 'x' }], /parent "c" is a special file/);
    });

    it('device nodes and fifos stay inside the layer; unsupported entry types fail', async () => {
      await breakout([{ name: `${host}/null`, type: 'char', devmajor: 1, devminor: 3 }, { name: '/fifo', type: 'fifo' }], 'neutralised');
      expect(fs.lstatSync(join(layer, host, 'null')).isCharacterDevice()).toBe(true);
      await breakout([{ name: 'sparse', body: 'x', typeflag: 'S' }], /unsupported tar entry type "S"/);
      await breakout([{ name: 'vol', typeflag: 'V' }], /unsupported tar entry type "V"/);
      await breakout([{ name: 'pax-sparse', body: 'x', pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' } }], /unsupported tar entry type "S"/);
    });

    it('trusted.overlay.* xattrs in the tarball are dropped', async () => {
      await breakout([{ name: 'd/', type: 'dir', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.user.ok': '1' } }], 'neutralised');
      expect(native.llistxattr(join(layer, 'd'))).toEqual(['user.ok']);
    });

    it('a NUL byte in a PAX path fails', async () => {
      await breakout([{ name: 'x', body: 'x', pax: { path: 'ok\0../../host/pwned' } }], /NUL byte/);
    });

    it('a corrupt header in the middle fails with nothing outside touched', async () => {
      const tar = tarArchive([{ name: 'a', body: 'a' }, { name: 'b', body: 'b' }]);
      tar[1024 + 100] ^= 0xff;
      await breakout(tar, /checksum mismatch/);
      await breakout(Buffer.concat([tarHeader({ name: 'x', typeflag: '0', size: 5000 }), Buffer.alloc(600)]), /truncated tar archive/);
    });
  });
});
