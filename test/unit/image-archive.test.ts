// The pieces of save/load/import that need no root: the streaming tar
// writer (read back by tsrun's own reader and by GNU tar) and the
// Dockerfile-instruction parser behind `import --change`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { applyChanges } from '../../src/image/archive/changes.js';
import { TarWriter, tarHeaderBlocks, type TarWriteEntry } from '../../src/image/archive/tar-write.js';
import type { ImageRuntimeConfig } from '../../src/image/config.js';
import { readTar } from '../../src/image/unpack/tar.js';

class Sink extends Writable {
  chunks: Buffer[] = [];
  constructor(private readonly slow = false) {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.chunks.push(chunk);
    if (this.slow) setImmediate(cb);
    else cb();
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function write(entries: Array<[TarWriteEntry, (Buffer | string)?]>, slow = false): Promise<Buffer> {
  const sink = new Sink(slow);
  const tar = new TarWriter(sink);
  for (const [e, body] of entries) await tar.add(e, body === undefined ? undefined : Buffer.from(body));
  await tar.finish();
  return sink.bytes();
}

async function read(bytes: Buffer) {
  const out: Array<Record<string, unknown>> = [];
  for await (const e of readTar(Readable.from([bytes]))) {
    const body: Buffer[] = [];
    for await (const c of e.chunks()) body.push(c);
    out.push({
      path: e.path, type: e.type, linkname: e.linkname, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, mtime: e.mtime,
      devmajor: e.devmajor, devminor: e.devminor, body: Buffer.concat(body).toString(),
      xattrs: Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString()])),
    });
  }
  return out;
}

describe('TarWriter', () => {
  it('writes every entry type in ustar, read back unchanged', async () => {
    const bytes = await write([
      [{ name: 'etc', type: 'dir', mode: 0o755, mtime: 1700000000 }],
      [{ name: 'etc/passwd', type: 'file', mode: 0o644, size: 5, uid: 0, gid: 0, mtime: 1700000000 }, 'root\n'],
      [{ name: 'bin/sh', type: 'symlink', mode: 0o777, linkname: 'busybox' }],
      [{ name: 'bin/hard', type: 'hardlink', mode: 0o644, linkname: 'etc/passwd' }],
      [{ name: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }],
      [{ name: 'dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0 }],
      [{ name: 'run/fifo', type: 'fifo', mode: 0o600, uid: 1000, gid: 1000 }],
      [{ name: 'usr/bin/suid', type: 'file', mode: 0o4755, size: 0 }, ''],
    ]);
    expect(bytes.length % 512).toBe(0);
    expect(bytes.subarray(-1024).equals(Buffer.alloc(1024))).toBe(true);
    const got = await read(bytes);
    expect(got.map((e) => [e.path, e.type])).toEqual([
      ['etc/', 'dir'], ['etc/passwd', 'file'], ['bin/sh', 'symlink'], ['bin/hard', 'hardlink'],
      ['dev/null', 'char'], ['dev/sda', 'block'], ['run/fifo', 'fifo'], ['usr/bin/suid', 'file'],
    ]);
    expect(got[1]).toMatchObject({ body: 'root\n', mode: 0o644, mtime: 1700000000 });
    expect(got[2].linkname).toBe('busybox');
    expect(got[4]).toMatchObject({ devmajor: 1, devminor: 3 });
    expect(got[6]).toMatchObject({ uid: 1000, gid: 1000 });
    expect(got[7].mode).toBe(0o4755);
  });

  it('long names use the ustar prefix when they split at a slash, PAX otherwise; long links, big ids, UTF-8 and xattrs use PAX', async () => {
    const splittable = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const unsplittable = 'x'.repeat(300);
    const link = `/${'t'.repeat(200)}`;
    const bytes = await write([
      [{ name: splittable, type: 'file', mode: 0o644, size: 1 }, 'a'],
      [{ name: unsplittable, type: 'file', mode: 0o644, size: 1 }, 'b'],
      [{ name: 'l', type: 'symlink', mode: 0o777, linkname: link }],
      [{ name: 'ids', type: 'file', mode: 0o644, size: 0, uid: 100000000, gid: 3000000000 }],
      [{ name: 'héllo wörld ✓', type: 'file', mode: 0o644, size: 0 }],
      [{ name: 'x', type: 'file', mode: 0o644, size: 0, xattrs: new Map([['user.k', Buffer.from('v')], ['security.capability', Buffer.from([1, 0, 0, 2])]]) }],
      [{ name: 'frac', type: 'file', mode: 0o644, size: 0, mtime: 1700000000.5 }],
    ]);
    expect(tarHeaderBlocks({ name: splittable, type: 'file', mode: 0o644 }).length).toBe(512); // no PAX needed
    const got = await read(bytes);
    expect(got.map((e) => e.path)).toEqual([splittable, unsplittable, 'l', 'ids', 'héllo wörld ✓', 'x', 'frac']);
    expect(got.map((e) => e.body).slice(0, 2)).toEqual(['a', 'b']);
    expect(got[2].linkname).toBe(link);
    expect(got[3]).toMatchObject({ uid: 100000000, gid: 3000000000 });
    expect(got[5].xattrs).toMatchObject({ 'user.k': 'v' });
    expect(got[6].mtime).toBe(1700000000.5);
  });

  it('GNU tar reads what it writes', async () => {
    let tarOk = true;
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
    } catch {
      tarOk = false;
    }
    if (!tarOk) return void process.stderr.write('[skip] tar-write GNU tar check: tar is not installed\n');
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-tarw-'));
    try {
      const long = `${'a'.repeat(150)}/${'b'.repeat(150)}`;
      writeFileSync(join(dir, 't.tar'), await write([
        [{ name: 'dir', type: 'dir', mode: 0o755 }],
        [{ name: 'dir/file', type: 'file', mode: 0o640, size: 3 }, 'abc'],
        [{ name: long, type: 'file', mode: 0o644, size: 2 }, 'zz'],
      ]));
      const list = execFileSync('tar', ['-tf', join(dir, 't.tar')], { encoding: 'utf8' }).trim().split('\n');
      expect(list).toEqual(['dir/', 'dir/file', long]);
      execFileSync('tar', ['-C', dir, '-xf', join(dir, 't.tar'), 'dir/file']);
      expect(readFileSync(join(dir, 'dir/file'), 'utf8')).toBe('abc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('streams a large body through a slow destination without buffering it whole, honouring backpressure', async () => {
    const sink = new Sink(true);
    const tar = new TarWriter(sink);
    const chunk = Buffer.alloc(64 << 10, 1);
    let produced = 0;
    let maxAhead = 0;
    async function* body() {
      for (let i = 0; i < 64; i++) {
        produced += chunk.length;
        const written = sink.chunks.reduce((a, c) => a + c.length, 0);
        maxAhead = Math.max(maxAhead, produced - written);
        yield chunk;
      }
    }
    await tar.add({ name: 'big', type: 'file', mode: 0o644, size: 64 * chunk.length }, body());
    await tar.finish();
    expect(sink.bytes().length).toBe(512 + 64 * chunk.length + 1024);
    expect(maxAhead).toBeLessThan(4 * chunk.length);
  });

  it('refuses a body longer or shorter than its header unless lenient (then cuts or pads)', async () => {
    const tar = new TarWriter(new PassThrough().resume());
    await expect(tar.add({ name: 'f', type: 'file', mode: 0o644, size: 2 }, Buffer.from('abc'))).rejects.toThrow(/longer than the 2 bytes/);
    const tar2 = new TarWriter(new PassThrough().resume());
    await expect(tar2.add({ name: 'f', type: 'file', mode: 0o644, size: 4 }, Buffer.from('abc'))).rejects.toThrow(/has 3 bytes, its header says 4/);

    const sink = new Sink();
    const w = new TarWriter(sink);
    await w.add({ name: 'cut', type: 'file', mode: 0o644, size: 2 }, Buffer.from('abc'), { lenient: true });
    await w.add({ name: 'pad', type: 'file', mode: 0o644, size: 4 }, Buffer.from('ab'), { lenient: true });
    await w.finish();
    const got = await read(sink.bytes());
    expect(got.map((e) => e.body)).toEqual(['ab', 'ab\0\0']);
  });

  it('reports a destination error instead of hanging', async () => {
    const bad = new Writable({ highWaterMark: 16, write: (_c, _e, cb) => cb(new Error('disk full')) });
    const tar = new TarWriter(bad);
    await expect(tar.add({ name: 'f', type: 'file', mode: 0o644, size: 4096 }, Buffer.alloc(4096))).rejects.toThrow(/disk full|closed/);
  });
});

describe('--change instructions', () => {
  const apply = (...lines: string[]): ImageRuntimeConfig => applyChanges({}, lines);

  it('CMD and ENTRYPOINT take the JSON form or the shell form', () => {
    expect(apply('CMD ["sh","-c","echo imported"]').Cmd).toEqual(['sh', '-c', 'echo imported']);
    expect(apply('CMD echo "a b" && ls').Cmd).toEqual(['/bin/sh', '-c', 'echo "a b" && ls']);
    expect(apply('cmd [not json').Cmd).toEqual(['/bin/sh', '-c', '[not json']);
    expect(apply('ENTRYPOINT ["/bin/app", "--flag"]').Entrypoint).toEqual(['/bin/app', '--flag']);
    expect(apply('ENTRYPOINT /bin/app run').Entrypoint).toEqual(['/bin/sh', '-c', '/bin/app run']);
  });

  it('ENV: key=value pairs with quotes and escapes, the legacy form, later values win', () => {
    expect(apply('ENV A=b', 'ENV C="d e" F=g\\ h', 'ENV A=z').Env).toEqual(['A=z', 'C=d e', 'F=g h']);
    expect(apply('ENV GREETING hello big world').Env).toEqual(['GREETING=hello big world']);
    expect(apply("ENV Q='single $quoted'").Env).toEqual(['Q=single $quoted']);
    expect(apply('ENV EMPTY=').Env).toEqual(['EMPTY=']);
  });

  it('LABEL, EXPOSE, USER, VOLUME, WORKDIR, STOPSIGNAL', () => {
    const c = apply(
      'LABEL a=b "c d"=e', 'LABEL a=x',
      'EXPOSE 80 53/udp 8000-8002/tcp',
      'USER 1000:1000',
      'VOLUME ["/data", "/logs"]', 'VOLUME /cache /tmp/x',
      'WORKDIR /app', 'WORKDIR sub',
      'STOPSIGNAL SIGQUIT',
    );
    expect(c.Labels).toEqual({ a: 'x', 'c d': 'e' });
    expect(Object.keys(c.ExposedPorts ?? {}).sort()).toEqual(['53/udp', '80/tcp', '8000/tcp', '8001/tcp', '8002/tcp']);
    expect(c.User).toBe('1000:1000');
    expect(Object.keys(c.Volumes ?? {})).toEqual(['/data', '/logs', '/cache', '/tmp/x']);
    expect(c.WorkingDir).toBe('/app/sub');
    expect(c.StopSignal).toBe('SIGQUIT');
  });

  it('refuses other instructions and malformed arguments with INVALID_ARGUMENT', () => {
    const bad = (line: string, msg: RegExp) => {
      let err: unknown;
      try {
        applyChanges({}, [line]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TsrunError);
      expect((err as TsrunError).code).toBe('INVALID_ARGUMENT');
      expect((err as TsrunError).message).toMatch(msg);
    };
    bad('RUN echo hi', /RUN is not a valid change command/);
    bad('FROM alpine', /FROM is not a valid change command/);
    bad('', /invalid change/);
    bad('EXPOSE http', /invalid containerPort: http/);
    bad('EXPOSE 70000', /invalid containerPort: 70000/);
    bad('ENV A="unterminated', /matching double-quote/);
    bad('ENV =x', /ENV names can not be blank/);
    bad('ENV LONELY', /ENV must have two arguments/);
    bad('USER', /USER requires exactly one argument/);
    bad('STOPSIGNAL kill now', /invalid signal/);
  });

  it('a change means what the line means in a Dockerfile: variables, ENTRYPOINT resetting CMD', () => {
    expect(apply('ENV A=1', 'ENV B=$A-${A:+set}', 'WORKDIR /srv/$A').Env).toEqual(['A=1', 'B=1-set']);
    expect(apply('ENV A=1', 'WORKDIR /srv/$A').WorkingDir).toBe('/srv/1');
    expect(applyChanges({ Cmd: ['sh'] }, ['ENTRYPOINT ["/app"]']).Cmd).toBeNull();
    expect(applyChanges({ Cmd: ['sh'] }, ['CMD ["x"]', 'ENTRYPOINT ["/app"]']).Cmd).toEqual(['x']);
  });
});
