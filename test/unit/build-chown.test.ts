// COPY/ADD --chown resolution against a stage's /etc/passwd and /etc/group
// (BuildKit's readUser: a name alone takes its passwd group, a number alone
// is the gid too).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveChown } from '../../src/build/chown.js';

describe('resolveChown', () => {
  const rootfs = mkdtempSync(join(tmpdir(), 'tsrun-chown-'));
  mkdirSync(join(rootfs, 'etc'));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1500:1600::/home/app:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nappg:x:1600:\ngrp2:x:1700:\n');
  afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

  it('a name alone: its uid and passwd group', async () => {
    expect(await resolveChown(rootfs, 'app')).toEqual({ uid: 1500, gid: 1600 });
  });
  it('a number alone: the same number as the gid, known user or not', async () => {
    expect(await resolveChown(rootfs, '1500')).toEqual({ uid: 1500, gid: 1500 });
    expect(await resolveChown(rootfs, '1234')).toEqual({ uid: 1234, gid: 1234 });
  });
  it('user and group, by name or number, mixed', async () => {
    expect(await resolveChown(rootfs, 'app:grp2')).toEqual({ uid: 1500, gid: 1700 });
    expect(await resolveChown(rootfs, 'app:42')).toEqual({ uid: 1500, gid: 42 });
    expect(await resolveChown(rootfs, '7:appg')).toEqual({ uid: 7, gid: 1600 });
  });
  it('empty: no change of owner', async () => {
    expect(await resolveChown(rootfs, '')).toBeUndefined();
  });
});
