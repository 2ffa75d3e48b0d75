// `tsrun diff` and `tsrun commit` end to end through the CLI, on a real
// OverlayFS root: a base image imported from the busybox tree (plus a /srv
// with known owners and modes), containers that add, change, delete and
// replace things, Docker's A/C/D lines for them, and images committed from
// them that run with those changes (and --change, history, pause).
import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busybox, integrationSkipReason, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('commit-diff');

// The script of the container whose changes the tests look at.
const CHANGES = [
  'echo new > /srv/added && chown 1000:1000 /srv/added && chmod 640 /srv/added',
  'echo more >> /srv/keep',
  'rm /etc/group',
  'rm -rf /srv/old && mkdir /srv/old && echo n > /srv/old/n',
  'mkdir -p /opt/new/deep && touch /opt/new/deep/f',
  'ln -s /srv/added /srv/link',
].join(' && ');

describe.skipIf(skip)('commit and diff', () => {
  let sb: Sandbox;
  let scratch: string;
  const t = (args: string[]) => sb.tsrun(args);
  const index = () => readFileSync(join(sb.root, 'images/index.json'), 'utf8');

  beforeAll(async () => {
    sb = sandbox();
    scratch = mkdtempSync(join(tmpdir(), 'tsrun-commit-'));
    const tree = join(scratch, 'tree');
    cpSync(busybox(), tree, { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(tree, 'srv/old'), { recursive: true });
    for (const f of ['srv/keep', 'srv/old/a', 'srv/old/b']) writeFileSync(join(tree, f), `${f}\n`);
    chownSync(join(tree, 'srv/keep'), 7, 8);
    chmodSync(join(tree, 'srv/keep'), 0o604);
    const tarball = execFileSync('tar', ['-C', tree, '--numeric-owner', '-c', '.'], { maxBuffer: 1 << 30 });
    const imp = await sb.tsrun(['import', '-', 'base:1'], { input: tarball });
    expect(imp.stderr).toBe('');
    expect(imp.exitCode).toBe(0);
    const c = await t(['run', '--name', 'changer', '--network', 'none', 'base:1', 'sh', '-c', CHANGES]);
    expect(c.stderr).toBe('');
    expect(c.exitCode).toBe(0);
  });
  afterAll(() => {
    sb?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("diff lists Docker's A/C/D lines, parents before children", async () => {
    const r = await t(['diff', 'changer']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'C /etc',
      'D /etc/group',
      'A /opt',
      'A /opt/new',
      'A /opt/new/deep',
      'A /opt/new/deep/f',
      'C /srv',
      'A /srv/added',
      'C /srv/keep',
      'A /srv/link',
      'D /srv/old', // replaced: an opaque directory, as moby reports it
      'A /srv/old/n',
    ]);
  });

  it('commit makes an image that runs with the changes, --change applied, a history entry added', async () => {
    const c = await t(['commit', '-c', 'CMD ["echo","hi"]', '-c', 'ENV COMMITTED=yes', '-m', 'a message', '-a', 'Tester <t@example.com>', 'changer', 'committed:1']);
    expect(c.stderr).toBe('');
    expect(c.exitCode).toBe(0);
    expect(c.stdout).toMatch(/^sha256:[0-9a-f]{64}$/);

    const hi = await t(['run', '--rm', '--network', 'none', 'committed:1']);
    expect(hi.stdout).toBe('hi');
    const look = await t(['run', '--rm', '--network', 'none', 'committed:1', 'sh', '-c', [
      'test ! -e /etc/group && echo group-gone',
      'stat -c "%n %u:%g %a %s" /srv/added /srv/keep /srv/old/n',
      'cat /srv/added /srv/keep',
      'ls /srv/old',
      'readlink /srv/link',
      'test -f /opt/new/deep/f && echo deep',
      'echo COMMITTED=$COMMITTED',
    ].join('; ')]);
    expect(look.stderr).toBe('');
    expect(look.stdout.split('\n')).toEqual([
      'group-gone',
      '/srv/added 1000:1000 640 4',
      '/srv/keep 7:8 604 14',
      '/srv/old/n 0:0 644 2',
      'new',
      'srv/keep',
      'more',
      'n', // a and b, replaced with the directory, are gone
      '/srv/added',
      'deep',
      'COMMITTED=yes',
    ]);

    const doc = JSON.parse((await t(['image', 'inspect', 'committed:1'])).stdout)[0];
    expect(doc.Config.Cmd).toEqual(['echo', 'hi']);
    expect(doc.Author).toBe('Tester <t@example.com>');
    expect(doc.RootFS.Layers).toHaveLength(2);
    const base = JSON.parse((await t(['image', 'inspect', 'base:1'])).stdout)[0];
    expect(doc.RootFS.Layers[0]).toBe(base.RootFS.Layers[0]);

    const hist = await t(['history', '--no-trunc', '--format', 'json', 'committed:1']);
    const entries = hist.stdout.split('\n').map((l) => JSON.parse(l));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ ID: c.stdout, Comment: 'a message', CreatedBy: `sh -c ${CHANGES}` });
    expect(entries[0].Size).not.toBe('0B');
    expect(entries[1].Comment).toBe('Imported from -');
  });

  it('an unchanged container still makes a new image, with an empty-layer history entry', async () => {
    expect((await t(['create', '--name', 'idle', '--network', 'none', 'base:1', 'true'])).exitCode).toBe(0);
    expect((await t(['diff', 'idle'])).stdout).toBe('');
    const c = await t(['commit', 'idle', 'idle:1']);
    expect(c.exitCode).toBe(0);
    const doc = JSON.parse((await t(['image', 'inspect', 'idle:1'])).stdout)[0];
    const base = JSON.parse((await t(['image', 'inspect', 'base:1'])).stdout)[0];
    expect(doc.Id).not.toBe(base.Id);
    expect(doc.RootFS.Layers).toEqual(base.RootFS.Layers);
    expect(doc.Config.Cmd).toEqual(['true']);
    const hist = (await t(['history', '--format', 'json', 'idle:1'])).stdout.split('\n').map((l) => JSON.parse(l));
    expect(hist).toHaveLength(2);
    expect(hist[0]).toMatchObject({ Size: '0B', CreatedBy: 'true' });
  });

  it('commits a running container (paused while its layer is written, running again after)', async () => {
    const d = await t(['run', '-d', '--name', 'live', '--network', 'none', 'base:1', 'sh', '-c', 'echo started > /live-file; exec sleep 1000']);
    expect(d.exitCode).toBe(0);
    for (let i = 0; i < 100 && !(await t(['diff', 'live'])).stdout.includes('A /live-file'); i++) await sleep(50);
    const c = await t(['commit', 'live', 'live:1']);
    expect(c.stderr).toBe('');
    expect(c.exitCode).toBe(0);
    const state = JSON.parse((await t(['inspect', 'live'])).stdout)[0].State;
    expect(state.Status).toBe('running');
    const r = await t(['run', '--rm', '--network', 'none', 'live:1', 'cat', '/live-file']);
    expect(r.stdout).toBe('started');
    // -p is a bool flag: `-p CONTAINER` and --pause=false both parse.
    expect((await t(['commit', '-p', 'live', 'live:2'])).exitCode).toBe(0);
    expect((await t(['commit', '--pause=false', 'live', 'live:3'])).exitCode).toBe(0);
    expect((await t(['run', '--rm', '--network', 'none', 'live:3', 'cat', '/live-file'])).stdout).toBe('started');
    expect((await t(['rm', '-f', 'live'])).exitCode).toBe(0);
  });

  it('mount points the runtime made in an image without them are not changes', async () => {
    // A two-file image: no /etc, /proc, /sys or /dev until the runtime makes its mount points.
    const mini = join(scratch, 'mini');
    mkdirSync(join(mini, 'bin'), { recursive: true });
    cpSync(join(busybox(), 'bin/busybox'), join(mini, 'bin/busybox'));
    const tarball = execFileSync('tar', ['-C', mini, '--numeric-owner', '-c', '.'], { maxBuffer: 1 << 30 });
    expect((await sb.tsrun(['import', '-', 'mini:1'], { input: tarball })).exitCode).toBe(0);
    const r = await t(['run', '--name', 'mini', '--network', 'none', 'mini:1', '/bin/busybox', 'sh', '-c', '/bin/busybox touch /etc/mine']);
    expect(r.exitCode).toBe(0);
    expect((await t(['diff', 'mini'])).stdout.split('\n')).toEqual(['A /etc', 'A /etc/mine']);
    const id = (await t(['commit', 'mini', 'mini:2'])).stdout;
    // The new layer holds the container's file only (GNU tar reads it).
    const record = JSON.parse(index()).images[id];
    const blob = join(sb.root, 'images/blobs/sha256', record.layers.at(-1).digest.slice(7));
    expect(execFileSync('tar', ['-tzf', blob], { encoding: 'utf8' }).trim().split('\n')).toEqual(['etc/', 'etc/mine']);
    const c = await t(['create', '--name', 'mini2', '--network', 'none', 'mini:2', '/bin/busybox', 'true']);
    expect(c.exitCode).toBe(0);
    expect((await t(['diff', 'mini2'])).stdout).toBe('');
  });

  it('bad input: one clear line, exit 1, nothing tagged or stored', async () => {
    const before = index();
    const unknown = await t(['commit', 'no-such-container', 'never:1']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe('tsrun: No such container: no-such-container');
    expect(unknown.stdout).toBe('');
    const badChange = await t(['commit', '-c', 'RUN echo x', 'changer', 'never:2']);
    expect(badChange.exitCode).toBe(1);
    expect(badChange.stderr).toMatch(/^tsrun: RUN is not a valid change command/);
    const badName = await t(['commit', 'changer', 'Bad/Name:1']);
    expect(badName.exitCode).toBe(1);
    expect(badName.stderr.split('\n')).toHaveLength(1);
    const rootfs = await t(['create', '--name', 'dir-based', '--network', 'none', '--rootfs', busybox(), 'true']);
    expect(rootfs.exitCode).toBe(0);
    const noImage = await t(['commit', 'dir-based', 'never:3']);
    expect(noImage.exitCode).toBe(1);
    expect(noImage.stderr).toMatch(/^tsrun: cannot commit container dir-based: it runs from a root filesystem directory \(--rootfs\)/);
    expect((await t(['diff', 'no-such-container'])).stderr).toBe('tsrun: No such container: no-such-container');
    expect(index()).toBe(before);
    expect((await t(['images'])).stdout).not.toMatch(/never/);
  });
});
