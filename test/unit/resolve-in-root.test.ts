import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { MAX_SYMLINK_HOPS, readFileInRoot, resolveInRoot } from '../../src/util/resolve-in-root.js';

let tmp: string;
let root: string;
let outside: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-rir-'));
  root = path.join(tmp, 'rootfs');
  outside = path.join(tmp, 'host');
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await mkdir(outside, { recursive: true });
  // A "host" file the rootfs must never be able to reach.
  await writeFile(path.join(outside, 'secret'), 'HOST SECRET\n');
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir + '/');
}

describe('resolveInRoot', () => {
  it('joins plain paths and keeps missing components', async () => {
    expect(await resolveInRoot(root, '/etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, 'etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '/no/such/dir/file')).toBe(path.join(root, 'no/such/dir/file'));
    expect(await resolveInRoot(root, '/')).toBe(root);
    expect(await resolveInRoot(root, '')).toBe(root);
    expect(await resolveInRoot(root, '//etc/./passwd/')).toBe(path.join(root, 'etc/passwd'));
  });

  it('clamps .. chains at the root', async () => {
    expect(await resolveInRoot(root, '../../../../../../etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '/etc/../../..')).toBe(root);
    expect(await resolveInRoot(root, '/missing/../../host/secret')).toBe(path.join(root, 'host/secret'));
  });

  it('re-roots absolute symlink targets', async () => {
    await symlink(path.join(outside, 'secret'), path.join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '/etc/passwd')).toBe(root + path.join(outside, 'secret'));
  });

  it('clamps relative symlinks that climb out with ..', async () => {
    const climb = '../'.repeat(40) + path.relative('/', path.join(outside, 'secret'));
    await symlink(climb, path.join(root, 'etc/passwd'));
    const resolved = await resolveInRoot(root, '/etc/passwd');
    expect(resolved).toBe(root + path.join(outside, 'secret'));
  });

  it('resolves relative symlinks from the directory holding them', async () => {
    await mkdir(path.join(root, 'usr/lib'), { recursive: true });
    await symlink('../usr/lib/os-release', path.join(root, 'etc/os-release'));
    expect(await resolveInRoot(root, '/etc/os-release')).toBe(path.join(root, 'usr/lib/os-release'));
  });

  it('follows a symlinked directory in the middle of the path, inside the root', async () => {
    await rm(path.join(root, 'etc'), { recursive: true });
    await symlink(outside, path.join(root, 'etc')); // etc -> /tmp/.../host
    expect(await resolveInRoot(root, '/etc/secret')).toBe(root + path.join(outside, 'secret'));
    await symlink('/', path.join(root, 'up'));
    expect(await resolveInRoot(root, '/up/../up/etc/x')).toBe(root + path.join(outside, 'x'));
  });

  it('treats a path below a regular file as missing', async () => {
    await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    expect(await resolveInRoot(root, '/etc/passwd/nested')).toBe(path.join(root, 'etc/passwd/nested'));
  });

  it('throws on symlink loops', async () => {
    await symlink('b', path.join(root, 'a'));
    await symlink('a', path.join(root, 'b'));
    await symlink('/self', path.join(root, 'self'));
    for (const p of ['/a', '/b/x', '/self']) {
      const err = await resolveInRoot(root, p).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TsrunError);
      expect((err as TsrunError).code).toBe('INVALID_ARGUMENT');
      expect((err as TsrunError).message).toMatch(/too many levels of symbolic links/);
    }
  });

  it(`allows exactly ${MAX_SYMLINK_HOPS} hops and refuses one more`, async () => {
    const chain = async (dir: string, n: number) => {
      await mkdir(path.join(root, dir));
      await writeFile(path.join(root, dir, 'end'), '');
      for (let i = 1; i <= n; i++) {
        await symlink(i === n ? 'end' : `l${i + 1}`, path.join(root, dir, `l${i}`));
      }
    };
    await chain('ok', MAX_SYMLINK_HOPS);
    expect(await resolveInRoot(root, '/ok/l1')).toBe(path.join(root, 'ok/end'));
    await chain('bad', MAX_SYMLINK_HOPS + 1);
    await expect(resolveInRoot(root, '/bad/l1')).rejects.toBeInstanceOf(TsrunError);
  });

  it('never returns a path outside the root', async () => {
    await symlink('/', path.join(root, 'slash'));
    await symlink('..', path.join(root, 'dotdot'));
    await symlink('../../../..', path.join(root, 'etc/deep'));
    await symlink(tmp, path.join(root, 'tmpabs'));
    const hostile = ['/slash/..', '/dotdot/dotdot/etc', '/etc/deep/host/secret', '/tmpabs/host/secret', '../slash/../dotdot'];
    for (const p of hostile) expect(isUnder(await resolveInRoot(root, p), root)).toBe(true);
  });
});

describe('readFileInRoot', () => {
  it('reads files and returns null when missing', async () => {
    await writeFile(path.join(root, 'etc/hostname'), 'box\n');
    expect(await readFileInRoot(root, '/etc/hostname')).toBe('box\n');
    expect(await readFileInRoot(root, '/etc/missing')).toBeNull();
    expect(await readFileInRoot(root, '/nodir/missing')).toBeNull();
  });

  it('never reads the host file an absolute symlink points at', async () => {
    await symlink(path.join(outside, 'secret'), path.join(root, 'etc/passwd'));
    expect(await readFileInRoot(root, '/etc/passwd')).toBeNull();
    // The same path re-rooted inside the rootfs is what gets read.
    const rerooted = root + path.join(outside, 'secret');
    await mkdir(path.dirname(rerooted), { recursive: true });
    await writeFile(rerooted, 'ROOTFS COPY\n');
    expect(await readFileInRoot(root, '/etc/passwd')).toBe('ROOTFS COPY\n');
  });

  it('never reads the host file through a .. chain', async () => {
    const climb = '../'.repeat(40) + path.relative('/', path.join(outside, 'secret'));
    await symlink(climb, path.join(root, 'etc/passwd'));
    expect(await readFileInRoot(root, '/etc/passwd')).toBeNull();
    expect(await readFileInRoot(root, '../host/secret')).toBeNull();
  });

  it('refuses directories and FIFOs instead of hanging', async () => {
    await expect(readFileInRoot(root, '/etc')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const fifo = path.join(root, 'etc/group');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo binary: the directory case above still ran
    }
    await expect(readFileInRoot(root, '/etc/group')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses files over maxBytes', async () => {
    await writeFile(path.join(root, 'etc/big'), 'x'.repeat(100));
    await expect(readFileInRoot(root, '/etc/big', { maxBytes: 10 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('reports symlink loops', async () => {
    await symlink('passwd', path.join(root, 'etc/passwd'));
    await expect(readFileInRoot(root, '/etc/passwd')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
