// `tsrun cp` end to end through the CLI: Docker's path rules, out of and
// into a running container (through /proc/PID/root, volumes included) and
// a stopped one (its overlay), `-` as tar both ways, -a against the
// default ownership, and the escapes cp must never allow: symlinks in the
// container pointing at host files or climbing with `..`, and tars on
// stdin with `../` names or symlink-then-write entries.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at } from '../../src/copy/fd.js';
import { copySummary, humanSize, splitCpArg } from '../../src/copy/paths.js';
import { InRoot, LookupError } from '../../src/copy/resolve.js';
import { tarArchive } from '../helpers/tar-writer.js';
import { busybox, integrationSkipReason, sandbox, type Sandbox, fixtureTar } from '../helpers/tsrun.js';

describe("cp's Docker conventions", () => {
  it('formats sizes as go-units does and splits CONTAINER:PATH as Docker does', () => {
    expect([0, 13, 999, 1000, 1500, 2048, 2_050_000].map(humanSize)).toEqual(['0B', '13B', '999B', '1kB', '1.5kB', '2.05kB', '2.05MB']);
    expect(copySummary(5, 2048, '/tmp/x')).toBe('Successfully copied 5B (transferred 2.05kB) to /tmp/x');
    expect(copySummary(2048, 2048, 'c:/d')).toBe('Successfully copied 2.05kB to c:/d');
    expect(splitCpArg('c:/etc')).toEqual({ container: 'c', path: '/etc' });
    expect(splitCpArg('./a:b')).toEqual({ path: './a:b' });
    expect(splitCpArg('/a:b')).toEqual({ path: '/a:b' });
    expect(splitCpArg('-')).toEqual({ path: '-' });
  });
});

describe('InRoot: paths resolved with a directory as /', () => {
  it('follows symlinks and `..` inside the root only, and names what it cannot find', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-inroot-'));
    try {
      mkdirSync(join(dir, 'etc'));
      writeFileSync(join(dir, 'etc/shadow'), 'inner\n');
      symlinkSync('/etc/shadow', join(dir, 'leak'));
      symlinkSync('../../../..', join(dir, 'd'));
      symlinkSync('loop', join(dir, 'loop'));
      const root = InRoot.open(dir);
      const read = (p: string, followFinal = true) => {
        const l = root.locate(p, { followFinal });
        try {
          return { path: l.path, text: l.stat?.isFile() ? readFileSync(at(l.dirFd, l.name), 'utf8') : undefined, link: l.stat?.isSymbolicLink() };
        } finally {
          l.release();
        }
      };
      expect(read('/leak')).toEqual({ path: '/etc/shadow', text: 'inner\n', link: false });
      expect(read('leak', false)).toEqual({ path: '/leak', text: undefined, link: true });
      expect(read('/d/d/../../etc/shadow')).toEqual({ path: '/etc/shadow', text: 'inner\n', link: false });
      expect(read('/../../etc/../etc/shadow').path).toBe('/etc/shadow');
      expect(read('/d/..').path).toBe('/');
      expect(read('/etc/missing')).toEqual({ path: '/etc/missing', text: undefined, link: undefined });
      const code = (p: string) => {
        try {
          root.locate(p, { followFinal: true }).release();
        } catch (err) {
          return err instanceof LookupError ? `${err.code} ${err.at}` : String(err);
        }
        return 'found';
      };
      expect(code('/loop/x')).toBe('ELOOP /loop');
      expect(code('/etc/shadow/x')).toBe('ENOTDIR /etc/shadow');
      expect(code('/nope/x')).toBe('ENOENT /nope');
      root.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const skip = integrationSkipReason('cp');

// What both containers hold: a host-looking secret of their own, a symlink
// to it, a symlink that climbs far above the root, and owned data.
const SETUP = [
  'echo container-secret > /etc/shadow',
  'ln -s /etc/shadow /leak',
  'ln -s ../../../.. /d',
  'mkdir -p /data/sub /dst',
  'echo hi > /data/sub/f',
  'chown 1000:1000 /data/sub/f',
  'mkdir /devs && mknod -m 666 /devs/null c 1 3',
].join(' && ');

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** `tar -tv --numeric-owner` of a tar: "mode uid/gid name" per entry. */
function listing(tar: Buffer | string): string[] {
  return execFileSync('tar', ['-tv', '--numeric-owner'], { input: tar, encoding: 'utf8' })
    .trim().split('\n').filter(Boolean)
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[0]} ${f[1]} ${f.slice(5).join(' ')}`;
    });
}

describe.skipIf(skip)('cp', () => {
  let sb: Sandbox;
  let scratch: string;
  let hostShadow: string;
  const t = (args: string[], opts = {}) => sb.tsrun(args, opts);
  /** A tar of one container path, as bytes. */
  const tarOf = async (ref: string) => {
    const r = await t(['cp', ref, '-'], { encoding: 'buffer' });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return r.stdout as unknown as Buffer;
  };
  /** The content of a file in a container. */
  const catIn = async (ref: string) => execFileSync('tar', ['-xO'], { input: await tarOf(ref), encoding: 'utf8' });
  const fresh = (name: string) => {
    const d = join(scratch, name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  beforeAll(async () => {
    sb = sandbox();
    scratch = mkdtempSync(join(tmpdir(), 'tsrun-cp-'));
    hostShadow = sha('/etc/shadow');
    const tarball = fixtureTar(busybox(), ['--numeric-owner']);
    const imp = await t(['import', '-', 'cpbase:1'], { input: tarball });
    expect(imp.exitCode, imp.stderr).toBe(0);
    const stopped = await t(['run', '--name', 'stopped', '--network', 'none', 'cpbase:1', 'sh', '-c', SETUP]);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    const running = await t(['run', '-d', '--name', 'running', '--network', 'none', '-v', 'cpvol:/vol', 'cpbase:1', 'sh', '-c', `${SETUP} && touch /ready && exec sleep 1000`]);
    expect(running.exitCode, running.stderr).toBe(0);
    for (let i = 0; i < 100 && (await t(['exec', 'running', 'test', '-e', '/ready'])).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(() => {
    sb?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  describe.each(['running', 'stopped'])('a %s container', (c) => {
    it('copies a file and a directory out, owned by the caller', async () => {
      const out = fresh(`out-${c}`);
      const f = await t(['cp', `${c}:/data/sub/f`, join(out, 'f')]);
      expect(f.stderr).toBe(''); // no summary when stdout is not a terminal, as Docker
      expect(f.exitCode).toBe(0);
      expect(readFileSync(join(out, 'f'), 'utf8')).toBe('hi\n');
      expect(statSync(join(out, 'f')).uid).toBe(0);
      // DEST an existing directory: copied into it under its own name.
      expect((await t(['cp', `${c}:/data`, out])).exitCode).toBe(0);
      expect(readFileSync(join(out, 'data/sub/f'), 'utf8')).toBe('hi\n');
      // DEST missing: made as a copy; SRC/. into an existing directory: the contents.
      expect((await t(['cp', `${c}:/data`, join(out, 'copy')])).exitCode).toBe(0);
      expect(readdirSync(join(out, 'copy'))).toEqual(['sub']);
      mkdirSync(join(out, 'contents'));
      expect((await t(['cp', `${c}:/data/.`, join(out, 'contents')])).exitCode).toBe(0);
      expect(readdirSync(join(out, 'contents'))).toEqual(['sub']);
      // A device node made in the container comes out for its owner only (unless -a), and never replaces one of the host's.
      expect((await t(['cp', `${c}:/devs`, join(out, 'devs')])).exitCode).toBe(0);
      expect(statSync(join(out, 'devs/null')).isCharacterDevice()).toBe(true);
      expect(statSync(join(out, 'devs/null')).mode & 0o7777).toBe(0o600);
      expect((await t(['cp', '-a', `${c}:/devs`, join(out, 'devs-a')])).exitCode).toBe(0);
      expect(statSync(join(out, 'devs-a/null')).mode & 0o7777).toBe(0o666);
      const devNull = await t(['cp', `${c}:/data/sub/f`, '/dev/null']);
      expect(devNull.stderr).toBe('tsrun: /dev/null must be a directory or a regular file');
      expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
      // A trailing '/' on a DEST that does not exist asks for a directory a file cannot make.
      const bad = await t(['cp', `${c}:/data/sub/f`, join(out, 'nodir/')]);
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toMatch(/^tsrun: no such directory: .*nodir\/ \(the destination directory must exist\)$/);
    });

    it('copies a file and a directory in, owned by the container root', async () => {
      const src = fresh(`in-${c}`);
      writeFileSync(join(src, 'file'), 'from host\n');
      mkdirSync(join(src, 'tree/deep'), { recursive: true });
      writeFileSync(join(src, 'tree/deep/x'), 'x\n');
      chownSync(join(src, 'file'), 1234, 1234);
      chownSync(join(src, 'tree/deep/x'), 1234, 1234);
      expect((await t(['cp', join(src, 'file'), `${c}:/dst/`])).exitCode).toBe(0);
      expect((await t(['cp', join(src, 'tree'), `${c}:/dst`])).exitCode).toBe(0);
      expect((await t(['cp', join(src, 'file'), `${c}:/dst/renamed`])).exitCode).toBe(0);
      expect(listing(await tarOf(`${c}:/dst`))).toEqual([
        'drwxr-xr-x 0/0 dst/',
        '-rw-r--r-- 0/0 dst/file',
        '-rw-r--r-- 0/0 dst/renamed',
        'drwxr-xr-x 0/0 dst/tree/',
        'drwxr-xr-x 0/0 dst/tree/deep/',
        '-rw-r--r-- 0/0 dst/tree/deep/x',
      ]);
      expect(await catIn(`${c}:/dst/renamed`)).toBe('from host\n');
      // -a keeps the source's owner, both ways.
      expect((await t(['cp', '-a', join(src, 'file'), `${c}:/dst/kept`])).exitCode).toBe(0);
      expect(listing(await tarOf(`${c}:/dst/kept`))).toEqual(['-rw-r--r-- 1234/1234 kept']);
      const out = fresh(`in-${c}-back`);
      expect((await t(['cp', '-a', `${c}:/data/sub/f`, join(out, 'f')])).exitCode).toBe(0);
      expect(statSync(join(out, 'f')).uid).toBe(1000);
      // A directory onto a file is refused.
      const bad = await t(['cp', join(src, 'tree'), `${c}:/etc/passwd`]);
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toBe(`tsrun: cannot copy directory ${join(src, 'tree')} to file ${c}:/etc/passwd`);
    });

    it('resolves symlinks inside the container, never to the host', async () => {
      const out = fresh(`sym-${c}`);
      // SRC a symlink: copied as the symlink (Docker), its text unchanged.
      expect((await t(['cp', `${c}:/leak`, join(out, 'leak')])).exitCode).toBe(0);
      expect(lstatSync(join(out, 'leak')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(out, 'leak'))).toBe('/etc/shadow');
      // -L, and a symlink that climbs with `..`: the container's own /etc/shadow.
      expect((await t(['cp', '-L', `${c}:/leak`, join(out, 'followed')])).exitCode).toBe(0);
      expect(readFileSync(join(out, 'followed'), 'utf8')).toBe('container-secret\n');
      expect((await t(['cp', `${c}:/d/etc/shadow`, join(out, 'climbed')])).exitCode).toBe(0);
      expect(readFileSync(join(out, 'climbed'), 'utf8')).toBe('container-secret\n');
      expect(await catIn(`${c}:/d/d/d/../../etc/shadow`)).toBe('container-secret\n');
      // Writes through the same links land in the container's file.
      writeFileSync(join(out, 'payload'), 'written by cp\n');
      expect((await t(['cp', join(out, 'payload'), `${c}:/leak`])).exitCode).toBe(0);
      expect((await t(['cp', join(out, 'payload'), `${c}:/d/etc/shadow`])).exitCode).toBe(0);
      expect((await t(['cp', join(out, 'payload'), `${c}:/d/../../etc/shadow`])).exitCode).toBe(0);
      expect(sha('/etc/shadow')).toBe(hostShadow);
      expect(await catIn(`${c}:/etc/shadow`)).toBe('written by cp\n');
      expect(lstatSync(join(out, 'leak')).isSymbolicLink()).toBe(true);
    });

    it('takes and gives tars with -, and a tar cannot escape DEST', async () => {
      expect(listing(await tarOf(`${c}:/data`))).toEqual(['drwxr-xr-x 0/0 data/', 'drwxr-xr-x 0/0 data/sub/', '-rw-r--r-- 1000/1000 data/sub/f']);
      expect(listing(await tarOf(`${c}:/data/.`))).toEqual(['drwxr-xr-x 0/0 ./', 'drwxr-xr-x 0/0 ./sub/', '-rw-r--r-- 1000/1000 ./sub/f']);
      const victim = fresh(`victim-${c}`);
      const good = tarArchive([{ name: 'in/', type: 'dir' }, { name: 'in/a', body: 'a\n', uid: 7, gid: 7 }, { name: '/abs/b', body: 'b\n' }]);
      expect((await t(['cp', '-', `${c}:/dst`], { input: good })).exitCode).toBe(0);
      expect((await t(['cp', '-a', '-', `${c}:/dst/`], { input: tarArchive([{ name: 'owned', body: 'o\n', uid: 7, gid: 8 }]) })).exitCode).toBe(0);
      expect(listing(await tarOf(`${c}:/dst/in`))).toEqual(['drwxr-xr-x 0/0 in/', '-rw-r--r-- 0/0 in/a']);
      expect(listing(await tarOf(`${c}:/dst/owned`))).toEqual(['-rw-r--r-- 7/8 owned']);
      expect(await catIn(`${c}:/dst/abs/b`)).toBe('b\n');

      const evil = [
        tarArchive([{ name: '../escape', body: 'x' }]),
        tarArchive([{ name: 'ok/../../escape', body: 'x' }]),
        tarArchive([{ name: 'lnk', type: 'symlink', linkname: victim }, { name: 'lnk/pwned', body: 'x' }]),
        tarArchive([{ name: 'up', type: 'symlink', linkname: '../../../..' }, { name: 'up/escape', body: 'x' }]),
        tarArchive([{ name: 'hl', type: 'hardlink', linkname: '../etc/passwd' }]),
      ];
      for (const tar of evil) {
        const r = await t(['cp', '-', `${c}:/dst`], { input: tar });
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toMatch(/^tsrun: [^\n]+$/);
      }
      expect(readdirSync(victim)).toEqual([]);
      expect(existsSync('/escape')).toBe(false);
      const root = await t(['cp', `${c}:/escape`, '-']);
      expect(root.stderr).toBe(`tsrun: Could not find the file /escape in container ${c}`);
      // A tar goes into a directory only.
      const file = await t(['cp', '-', `${c}:/etc/passwd`], { input: good });
      expect(file.stderr).toBe(`tsrun: destination "${c}:/etc/passwd" must be a directory`);
    });
  });

  it('copies into and out of a created container', async () => {
    const created = await t(['create', '--name', 'created', '--network', 'none', 'cpbase:1', 'true']);
    expect(created.exitCode, created.stderr).toBe(0);
    const src = fresh('created');
    writeFileSync(join(src, 'c'), 'before start\n');
    expect((await t(['cp', join(src, 'c'), 'created:/etc/'])).exitCode).toBe(0);
    expect(await catIn('created:/etc/c')).toBe('before start\n');
  });

  it('reaches the volumes of a running container, and answers to `container cp`', async () => {
    const src = fresh('vol');
    writeFileSync(join(src, 'v'), 'in the volume');
    expect((await t(['container', 'cp', join(src, 'v'), 'running:/vol/'])).exitCode).toBe(0);
    const seen = await t(['exec', 'running', 'cat', '/vol/v']);
    expect(seen.stdout).toBe('in the volume');
    expect((await t(['container', 'cp', 'running:/vol/v', join(src, 'back')])).exitCode).toBe(0);
    expect(readFileSync(join(src, 'back'), 'utf8')).toBe('in the volume');
    // The container's kernel filesystems are not copied.
    const proc = await t(['cp', 'running:/proc/1/environ', join(src, 'environ')]);
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr).toMatch(/proc filesystem/);
    expect(existsSync(join(src, 'environ'))).toBe(false);
  });

  it('fails with one line and exit code 1, writing nothing', async () => {
    const out = fresh('errors');
    const cases: [string[], string][] = [
      [['cp', 'nope:/etc/passwd', join(out, 'a')], 'tsrun: No such container: nope'],
      [['cp', 'running:/x', join(out, 'a')], 'tsrun: Could not find the file /x in container running'],
      [['cp', 'running:/no/such/dir/x', join(out, 'a')], 'tsrun: Could not find the file /no/such/dir/x in container running'],
      [['cp', '/etc/hostname', 'running:/no/such/x'], 'tsrun: Could not find the file /no/such in container running'],
      [['cp', 'running:/etc/passwd', 'stopped:/tmp/a'], 'tsrun: copying between containers is not supported'],
      [['cp', '/etc/hostname', join(out, 'a')], 'tsrun: must specify at least one container source'],
      [['cp', join(out, 'missing'), 'running:/tmp/'], `tsrun: lstat ${join(out, 'missing')}: no such file or directory`],
    ];
    for (const [args, stderr] of cases) {
      const r = await t(args);
      expect(r.stderr).toBe(stderr);
      expect(r.exitCode).toBe(1);
    }
    expect(readdirSync(out)).toEqual([]);
    expect((await t(['cp', 'running:/tmp/a', '-'])).exitCode).toBe(1);
  });
});
