// The streaming tar reader against hand-built archives (test/helpers/tar-writer.ts)
// and, where GNU tar is installed, against archives it wrote.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { readTar, type TarEntry } from '../../src/image/unpack/tar.js';
import { paxRecords, tarArchive, tarEntry, tarHeader, type TarWriterEntry } from '../helpers/tar-writer.js';

/** An entry as the tests compare it: the header fields, xattrs and body as latin1 text. */
type Read = Pick<TarEntry, 'path' | 'type' | 'linkname' | 'size' | 'mode' | 'uid' | 'gid' | 'uname' | 'gname' | 'mtime' | 'devmajor' | 'devminor'> & {
  xattrs: Record<string, string>;
  body: string;
};

/** Feeds `bytes` in chunks of `chunk` bytes (to cross every boundary) and collects the entries. */
async function readAll(bytes: Buffer, chunk = 4096): Promise<Read[]> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  const out: Read[] = [];
  for await (const e of readTar(Readable.from(pieces))) out.push(await summarize(e));
  return out;
}

async function summarize(e: TarEntry): Promise<Read> {
  const parts: Buffer[] = [];
  for await (const c of e.chunks()) parts.push(Buffer.from(c));
  return {
    path: e.path,
    type: e.type,
    linkname: e.linkname,
    size: e.size,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: e.uname,
    gname: e.gname,
    mtime: e.mtime,
    devmajor: e.devmajor,
    devminor: e.devminor,
    xattrs: Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString('latin1')])),
    body: Buffer.concat(parts).toString('latin1'),
  };
}

async function failure(bytes: Buffer, chunk = 4096): Promise<TsrunError> {
  try {
    await readAll(bytes, chunk);
  } catch (err) {
    expect(err).toBeInstanceOf(TsrunError);
    expect((err as TsrunError).code).toBe('LAYER_INVALID');
    return err as TsrunError;
  }
  throw new Error('expected the archive to be rejected');
}

describe('tar reader', () => {
  it('reads ustar entries of every type with their metadata', async () => {
    const entries: TarWriterEntry[] = [
      { name: 'etc/', type: 'dir', mode: 0o755, mtime: 1_600_000_000 },
      { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root' },
      { name: 'bin/su', body: 'x'.repeat(1000), mode: 0o4755, uid: 1000, gid: 1001 },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/su2', type: 'hardlink', linkname: 'bin/su' },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
      { name: 'empty', body: '' },
    ];
    const read = await readAll(tarArchive(entries), 100);
    expect(read.map((r) => [r.path, r.type])).toEqual([
      ['etc/', 'dir'],
      ['etc/passwd', 'file'],
      ['bin/su', 'file'],
      ['bin/sh', 'symlink'],
      ['bin/su2', 'hardlink'],
      ['dev/null', 'char'],
      ['dev/sda', 'block'],
      ['run/fifo', 'fifo'],
      ['empty', 'file'],
    ]);
    expect(read[0]).toMatchObject({ mode: 0o755, mtime: 1_600_000_000 });
    expect(read[1]).toMatchObject({ body: 'root:x:0:0::/root:/bin/sh\n', size: 26, uname: 'root', gname: 'root' });
    expect(read[2]).toMatchObject({ body: 'x'.repeat(1000), mode: 0o4755, uid: 1000, gid: 1001 });
    expect(read[3].linkname).toBe('/bin/busybox');
    expect(read[4].linkname).toBe('bin/su');
    expect(read[5]).toMatchObject({ devmajor: 1, devminor: 3, mode: 0o666 });
    expect(read[6]).toMatchObject({ devmajor: 8, devminor: 0 });
  });

  it('joins the ustar prefix and the name', async () => {
    const h = tarHeader({ name: 'file.txt', typeflag: '0', size: 0 });
    h.write('some/deep/dir', 345, 'utf8');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    const read = await readAll(Buffer.concat([h, Buffer.alloc(1024)]));
    expect(read[0].path).toBe('some/deep/dir/file.txt');
  });

  it('reads GNU long names and long link targets', async () => {
    const long = `${'a'.repeat(120)}/${'b'.repeat(150)}`;
    const target = `${'c'.repeat(200)}/target`;
    const read = await readAll(
      tarArchive([
        { name: long, body: 'hello', longNames: 'gnu' },
        { name: 'link', type: 'symlink', linkname: target, longNames: 'gnu' },
        { name: 'short', body: 'x' },
      ]),
      333,
    );
    expect(read.map((r) => r.path)).toEqual([long, 'link', 'short']);
    expect(read[0].body).toBe('hello');
    expect(read[1].linkname).toBe(target);
  });

  it('reads PAX records: path, linkpath, size, ids, names, fractional mtime, xattrs', async () => {
    const long = `${'p'.repeat(300)}/file`;
    const read = await readAll(
      tarArchive([
        { name: long, body: 'data' },
        {
          name: 'x',
          type: 'symlink',
          linkname: 'short',
          pax: {
            linkpath: `${'l'.repeat(150)}`,
            uid: '3000000000',
            gid: '70000',
            uname: 'üser',
            gname: 'grøup',
            mtime: '1700000000.123456789',
            'SCHILY.xattr.security.capability': '\x01\x00\x00\x02\x00\x20\x00\x00',
            'SCHILY.xattr.user.note': 'hi',
            'LIBARCHIVE.xattr.user.b64%20name': Buffer.from('bin\x00ary').toString('base64'),
          },
        },
        { name: 'next', body: 'after' },
      ]),
    );
    expect(read[0]).toMatchObject({ path: long, body: 'data' });
    expect(read[1]).toMatchObject({ linkname: 'l'.repeat(150), uid: 3_000_000_000, gid: 70000, uname: 'üser', gname: 'grøup' });
    expect(read[1].mtime).toBeCloseTo(1_700_000_000.123456789, 6);
    expect(read[1].xattrs).toEqual({
      'security.capability': '\x01\x00\x00\x02\x00\x20\x00\x00',
      'user.note': 'hi',
      'user.b64 name': 'bin\x00ary',
    });
    expect(read[2]).toMatchObject({ path: 'next', body: 'after' });
  });

  it('applies PAX size over the header size, and global records to every later entry', async () => {
    const body = Buffer.alloc(700, 0x41);
    // The header says 0 bytes; PAX says 700.
    const bytes = Buffer.concat([
      tarEntry({ name: 'g', type: 'dir', globalPax: { uid: '42', 'SCHILY.xattr.user.g': 'global' } }),
      tarHeader({ name: 'PaxHeaders/big', typeflag: 'x', size: paxRecords({ size: '700' }).length }),
      paxRecords({ size: '700' }),
      Buffer.alloc(512 - paxRecords({ size: '700' }).length),
      tarHeader({ name: 'big', typeflag: '0', size: 0 }),
      body,
      Buffer.alloc(1024 - 700),
      tarEntry({ name: 'after', body: 'z', pax: { uid: '7' } }),
      Buffer.alloc(1024),
    ]);
    const read = await readAll(bytes, 512);
    expect(read.map((r) => [r.path, r.uid, r.size])).toEqual([
      ['g', 42, 0],
      ['big', 42, 700],
      ['after', 7, 1],
    ]);
    expect(read[1].body).toBe('A'.repeat(700));
    expect(read[2].xattrs).toEqual({ 'user.g': 'global' });
  });

  it('reads base-256 numbers (GNU) for ids, size and mtime, negative ones too', async () => {
    const read = await readAll(
      tarArchive([
        { name: 'big-ids', body: 'abc', uid: 0o77777777 + 5, gid: 2 ** 40, base256: true, mtime: 2 ** 35 },
        { name: 'old', body: '', base256: true, mtime: -86400 },
      ]),
    );
    expect(read[0]).toMatchObject({ uid: 0o77777777 + 5, gid: 2 ** 40, mtime: 2 ** 35, body: 'abc', size: 3 });
    expect(read[1].mtime).toBe(-86400);
  });

  it('skips bodies that were not read, and bodies can be read as a Readable', async () => {
    const bytes = tarArchive([
      { name: 'a', body: 'A'.repeat(5000) },
      { name: 'b', body: 'B'.repeat(3000) },
      { name: 'c', body: 'C'.repeat(10) },
    ]);
    const seen: string[] = [];
    for await (const e of readTar(Readable.from([bytes.subarray(0, 700), bytes.subarray(700)]))) {
      if (e.path === 'b') {
        const parts: Buffer[] = [];
        for await (const c of e.body) parts.push(c as Buffer);
        seen.push(`${e.path}:${Buffer.concat(parts).toString()}`);
      } else if (e.path === 'c') {
        await e.skip();
        seen.push('c');
      } else {
        seen.push(e.path);
      }
    }
    expect(seen).toEqual(['a', `b:${'B'.repeat(3000)}`, 'c']);
  });

  it('ends at two zero blocks and ignores what follows; a clean end of stream ends it too', async () => {
    const garbage = Buffer.from('this is not a tar header, just trailing junk'.repeat(40));
    expect((await readAll(Buffer.concat([tarArchive([{ name: 'a', body: '1' }]), garbage]))).map((r) => r.path)).toEqual(['a']);
    const noTrailer = tarEntry({ name: 'a', body: '1' });
    expect((await readAll(noTrailer)).map((r) => r.path)).toEqual(['a']);
    expect(await readAll(Buffer.alloc(0))).toEqual([]);
  });

  it('treats a pre-POSIX regular entry whose name ends in a slash as a directory', async () => {
    const read = await readAll(Buffer.concat([tarHeader({ name: 'olddir/', typeflag: '\0' }), Buffer.alloc(1024)]));
    expect(read[0].type).toBe('dir');
  });

  it('rejects a header with a wrong checksum', async () => {
    const bytes = tarArchive([{ name: 'a', body: 'hello' }, { name: 'b', body: 'x' }]);
    bytes[1024 + 5] ^= 0x01; // the name of 'b'
    const err = await failure(bytes);
    expect(err.message).toMatch(/checksum mismatch at offset 1024/);
  });

  it('rejects truncated archives: in a header, in a body, in an extended header', async () => {
    const bytes = tarArchive([{ name: 'a', body: 'A'.repeat(2000) }, { name: 'b', body: 'B' }]);
    expect((await failure(bytes.subarray(0, 300))).message).toMatch(/truncated tar archive: the header at offset 0/);
    expect((await failure(bytes.subarray(0, 1500))).message).toMatch(/truncated tar archive: the body of a is cut short/);
    const pax = tarEntry({ name: 'x', body: 'y', pax: { path: 'long/name' } });
    expect((await failure(pax.subarray(0, 700))).message).toMatch(/truncated tar archive/);
    expect((await failure(pax.subarray(0, 1024))).message).toMatch(/truncated tar archive: ends after an extended header/);
  });

  it('rejects a body cut short while it is being read', async () => {
    const bytes = tarArchive([{ name: 'a', body: 'A'.repeat(20000) }]).subarray(0, 9000);
    await expect(
      (async () => {
        for await (const e of readTar(Readable.from([bytes]))) for await (const _ of e.chunks()) void _;
      })(),
    ).rejects.toMatchObject({ code: 'LAYER_INVALID', message: expect.stringMatching(/body of a is cut short/) });
  });

  it('rejects malformed numbers and PAX records', async () => {
    const h = tarHeader({ name: 'a', typeflag: '0', size: 0 });
    h.write('12345678', 108, 8, 'latin1'); // '8' is no octal digit
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    expect((await failure(Buffer.concat([h, Buffer.alloc(1024)]))).message).toMatch(/bad uid field/);
    const bad = Buffer.from('99 path=x\n');
    const bytes = Buffer.concat([tarHeader({ name: 'p', typeflag: 'x', size: bad.length }), bad, Buffer.alloc(512 - bad.length), tarEntry({ name: 'a' }), Buffer.alloc(1024)]);
    expect((await failure(bytes)).message).toMatch(/malformed PAX record/);
    expect((await failure(tarArchive([{ name: 'a', pax: { size: '-1' } }]))).message).toMatch(/PAX size/);
  });

  it('rejects a lone zero block followed by a header', async () => {
    const bytes = Buffer.concat([Buffer.alloc(512), tarEntry({ name: 'a' }), Buffer.alloc(1024)]);
    expect((await failure(bytes)).message).toMatch(/lone zero block/);
  });

  it('reads what GNU tar writes (gnu and pax formats, long names, hard links, symlinks)', async (ctx) => {
    let hasTar = true;
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
    } catch {
      hasTar = false;
    }
    if (!hasTar) {
      process.stderr.write('[skip] tar.test.ts: GNU tar not installed\n');
      ctx.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-tar-'));
    try {
      const src = join(dir, 'src');
      const long = `${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(120)}`;
      mkdirSync(join(src, long), { recursive: true });
      writeFileSync(join(src, long, 'file'), 'deep');
      writeFileSync(join(src, 'big'), Buffer.alloc(200_000, 7));
      symlinkSync(`../${'t'.repeat(150)}`, join(src, 'sym'));
      execFileSync('ln', [join(src, 'big'), join(src, 'big-link')]);
      for (const format of ['gnu', 'pax']) {
        const tarball = execFileSync('tar', ['-C', src, `--format=${format}`, '--sort=name', '-cf', '-', '.'], { maxBuffer: 1 << 26 });
        const read = await readAll(tarball, 10_000);
        const byPath = new Map(read.map((r) => [r.path, r]));
        expect(byPath.get(`./${long}/file`)?.body).toBe('deep');
        expect(byPath.get('./big')?.body).toBe(Buffer.alloc(200_000, 7).toString('latin1'));
        expect(byPath.get('./big-link')).toMatchObject({ type: 'hardlink', linkname: './big' });
        expect(byPath.get('./sym')).toMatchObject({ type: 'symlink', linkname: `../${'t'.repeat(150)}` });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
