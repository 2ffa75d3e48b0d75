import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { MAX_ID, parseGroup, parsePasswd, resolveExecUser, resolveUser, resolveUserFrom } from '../../src/spec/user.js';

const PASSWD = `
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
app:x:1000:1000:App User:/home/app:/bin/sh
nohome:x:1001:1001:::/bin/sh
broken:x:notanumber:0::/broken:/bin/sh
app:x:2000:2000:duplicate, first wins:/dup:/bin/sh
1234:x:5000:5000:numeric name:/num:/bin/sh
`;

const GROUP = `
root:x:0:root
daemon:x:1:
wheel:x:10:root,app
docker:x:999:app
audio:x:29: app , other
app:x:1000:
staff:x:50:
`;

const passwd = parsePasswd(PASSWD);
const group = parseGroup(GROUP);

function userError(fn: () => unknown): TsrunError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TsrunError);
    return err as TsrunError;
  }
  throw new Error('expected a TsrunError');
}

describe('parsePasswd / parseGroup', () => {
  it('skips comments, blank and malformed lines', () => {
    expect(passwd.map((p) => p.name)).toEqual(['root', 'daemon', 'app', 'nohome', 'app', '1234']);
    expect(group.find((g) => g.name === 'audio')?.members).toEqual(['app', 'other']);
    expect(group.find((g) => g.name === 'daemon')?.members).toEqual([]);
  });
});

describe('resolveUserFrom', () => {
  it('defaults to root with root\'s supplementary groups and home', () => {
    for (const spec of [undefined, '']) {
      const { user, home } = resolveUserFrom(spec, passwd, group);
      expect(user).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10], username: 'root' });
      expect(home).toBe('/root');
    }
  });

  it('defaults to 0:0 and home / without passwd and group files', () => {
    expect(resolveUserFrom(undefined, null, null)).toEqual({ user: { uid: 0, gid: 0, additionalGids: [0] }, home: '/' });
  });

  it('resolves a name to its uid, gid, groups and home (first entry wins)', () => {
    const { user, home } = resolveUserFrom('app', passwd, group);
    expect(user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 999, 29], username: 'app' });
    expect(home).toBe('/home/app');
  });

  it('treats a numeric user as a uid, never as a name', () => {
    expect(resolveUserFrom('1000', passwd, group).user).toMatchObject({ uid: 1000, gid: 1000, username: 'app' });
    // "1234" is a name in passwd, but numbers are ids: uid 1234 has no entry.
    expect(resolveUserFrom('1234', passwd, group)).toEqual({ user: { uid: 1234, gid: 0, additionalGids: [0] }, home: '/' });
  });

  it('allows a numeric uid that is not in passwd, or with no passwd at all', () => {
    expect(resolveUserFrom('4242', passwd, group).user).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
    expect(resolveUserFrom('4242', null, null).user).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
  });

  it('defaults home to / when the passwd entry has none', () => {
    expect(resolveUserFrom('nohome', passwd, group).home).toBe('/');
  });

  it('handles every user:group form', () => {
    // An explicit group replaces the gid and brings no supplementary groups (runc).
    expect(resolveUserFrom('app:staff', passwd, group).user).toEqual({ uid: 1000, gid: 50, additionalGids: [50], username: 'app' });
    expect(resolveUserFrom('app:77', passwd, group).user).toEqual({ uid: 1000, gid: 77, additionalGids: [77], username: 'app' });
    expect(resolveUserFrom('1000:staff', passwd, group).user).toMatchObject({ uid: 1000, gid: 50 });
    expect(resolveUserFrom('4242:4343', null, null).user).toEqual({ uid: 4242, gid: 4343, additionalGids: [4343] });
    expect(resolveUserFrom('4242:docker', passwd, group).user).toEqual({ uid: 4242, gid: 999, additionalGids: [999] });
    expect(resolveUserFrom(':staff', passwd, group).user).toMatchObject({ uid: 0, gid: 50, username: 'root' });
    expect(resolveUserFrom('app:', passwd, group).user.additionalGids).toEqual([1000, 10, 999, 29]);
  });

  it('reports unknown names as USER_NOT_FOUND with runc\'s message', () => {
    const err = userError(() => resolveUserFrom('ghost', passwd, group));
    expect(err.code).toBe('USER_NOT_FOUND');
    expect(err.message).toBe('unable to find user ghost: no matching entries in passwd file');
    expect(userError(() => resolveUserFrom('ghost', null, null)).code).toBe('USER_NOT_FOUND');
    const gerr = userError(() => resolveUserFrom('app:ghosts', passwd, group));
    expect(gerr.code).toBe('USER_NOT_FOUND');
    expect(gerr.message).toBe('unable to find group ghosts: no matching entries in group file');
    expect(userError(() => resolveUserFrom('0:ghosts', passwd, null)).code).toBe('USER_NOT_FOUND');
  });

  it('checks the id range', () => {
    expect(resolveUserFrom(String(MAX_ID), null, null).user.uid).toBe(MAX_ID);
    for (const spec of [String(MAX_ID + 1), '-1', '99999999999999999999999', `0:${MAX_ID + 1}`, '0:-5']) {
      expect(userError(() => resolveUserFrom(spec, null, null)).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('rejects a spec with more than one colon', () => {
    expect(userError(() => resolveUserFrom('a:b:c', passwd, group)).code).toBe('INVALID_ARGUMENT');
  });
});

describe('resolveUser on a rootfs', () => {
  let tmp: string;
  let root: string;
  let hostDir: string;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-user-'));
    root = path.join(tmp, 'rootfs');
    hostDir = path.join(tmp, 'hostetc');
    await mkdir(path.join(root, 'etc'), { recursive: true });
    await mkdir(hostDir);
    // Stand-ins for the host's files: a user the rootfs must not be able to borrow.
    await writeFile(path.join(hostDir, 'passwd'), 'evil:x:4242:4242::/evil:/bin/sh\n');
    await writeFile(path.join(hostDir, 'group'), 'evilgrp:x:4343:evil,root\n');
  });

  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('reads the rootfs passwd and group', async () => {
    await writeFile(path.join(root, 'etc/passwd'), PASSWD);
    await writeFile(path.join(root, 'etc/group'), GROUP);
    expect(await resolveUser(root, 'app')).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 999, 29], username: 'app' });
    expect((await resolveExecUser(root, 'app')).home).toBe('/home/app');
  });

  it('works on a rootfs without /etc/passwd for numeric users only', async () => {
    expect(await resolveUser(root, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
    expect(await resolveUser(root, '33:33')).toEqual({ uid: 33, gid: 33, additionalGids: [33] });
    await expect(resolveUser(root, 'app')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
  });

  it('does not follow an absolute /etc/passwd symlink to the host', async () => {
    await symlink(path.join(hostDir, 'passwd'), path.join(root, 'etc/passwd'));
    await symlink(path.join(hostDir, 'group'), path.join(root, 'etc/group'));
    await expect(resolveUser(root, 'evil')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(resolveUser(root, '0:evilgrp')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    expect(await resolveUser(root, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [0] });

    // What the symlink names inside the rootfs is what counts.
    const inside = root + hostDir;
    await mkdir(inside, { recursive: true });
    await writeFile(path.join(inside, 'passwd'), 'evil:x:7:7::/in-rootfs:/bin/sh\n');
    expect(await resolveExecUser(root, 'evil')).toEqual({ user: { uid: 7, gid: 7, additionalGids: [7], username: 'evil' }, home: '/in-rootfs' });
  });

  it('does not follow a .. chain or a symlinked /etc out of the rootfs', async () => {
    const climb = '../'.repeat(30) + path.relative('/', path.join(hostDir, 'passwd'));
    await symlink(climb, path.join(root, 'etc/passwd'));
    await expect(resolveUser(root, 'evil')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });

    await rm(path.join(root, 'etc'), { recursive: true });
    await symlink(hostDir, path.join(root, 'etc'));
    await expect(resolveUser(root, 'evil')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await rm(path.join(root, 'etc'));
    await symlink('../../../../../../../..' + hostDir, path.join(root, 'etc'));
    await expect(resolveUser(root, 'evil')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
  });

  it('fails cleanly on a symlink loop at /etc/passwd', async () => {
    await symlink('/etc/passwd', path.join(root, 'etc/passwd'));
    await expect(resolveUser(root, 'root')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
