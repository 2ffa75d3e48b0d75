// Volumes and mounts end to end, as a Docker user drives them: binds, named
// and anonymous volumes, tmpfs, --volumes-from, the `volume` verbs, copy-up
// of image content, a symlinked mount destination that must stay inside the
// rootfs, and bad input that leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, pushImage } from '../helpers/image-fixtures.js';
import { registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { busybox, integrationSkipReason, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('volumes');

/** A private copy of the busybox rootfs: --rootfs containers create their mount points in it. */
function rootfsCopy(dir: string): string {
  const r = join(dir, 'rootfs');
  execFileSync('cp', ['-a', `${busybox()}/.`, r]);
  return r;
}

function volumes(sb: Sandbox): string[] {
  try {
    return readdirSync(join(sb.root, 'volumes')).filter((n) => !n.endsWith('.lock'));
  } catch {
    return [];
  }
}

function containers(sb: Sandbox): string[] {
  try {
    return readdirSync(join(sb.root, 'containers'));
  } catch {
    return [];
  }
}

function mountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(path));
}

describe.skipIf(skip)('volumes and mounts (--rootfs busybox)', () => {
  const sb = sandbox();
  let scratch: string;
  let rootfs: string;
  const run = (args: string[]) => sb.tsrun(['run', '--rm', '--rootfs', rootfs, ...args]);

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'tsrun-vol-'));
    rootfs = rootfsCopy(scratch);
  });
  afterAll(() => {
    sb.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('a named volume is created on first use and its data outlives the container', async () => {
    const w = await run(['-v', 'keep:/data', 'sh', '-c', 'echo persisted > /data/file']);
    expect(w.stderr).toBe('');
    expect(w.exitCode).toBe(0);
    expect(containers(sb)).toEqual([]);
    expect(volumes(sb)).toContain('keep');
    const info = JSON.parse((await sb.tsrun(['volume', 'inspect', 'keep'])).stdout)[0];
    expect(info).toMatchObject({ Name: 'keep', Driver: 'local', Mountpoint: join(sb.root, 'volumes/keep/_data'), Scope: 'local', Labels: {}, Options: {} });
    expect(readFileSync(join(info.Mountpoint, 'file'), 'utf8')).toBe('persisted\n');
    const r = await run(['--mount', 'source=keep,target=/elsewhere', 'cat', '/elsewhere/file']);
    expect(r.stdout).toBe('persisted');
  });

  it('binds: rw writes reach the host, :ro refuses writes, -v creates a missing host dir', async () => {
    const host = join(scratch, 'host');
    mkdirSync(host);
    writeFileSync(join(host, 'in.txt'), 'from host\n');
    const rw = await run(['-v', `${host}:/srv/h`, 'sh', '-c', 'cat /srv/h/in.txt; echo from ctr > /srv/h/out.txt']);
    expect(rw.stdout).toBe('from host');
    expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('from ctr\n');
    const ro = await run(['-v', `${host}:/srv/h:ro`, 'sh', '-c', 'echo x > /srv/h/no.txt; echo rc=$?']);
    expect(ro.stdout).toBe('rc=1');
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(host, 'no.txt'))).toBe(false);
    const roMount = await run(['--mount', `type=bind,source=${host},target=/srv/h,readonly`, 'sh', '-c', 'touch /srv/h/no.txt; echo rc=$?']);
    expect(roMount.stdout).toBe('rc=1');
    const roVol = await run(['-v', 'keep:/data:ro', 'sh', '-c', 'cat /data/file; touch /data/no; echo rc=$?']);
    expect(roVol.stdout).toBe('persisted\nrc=1');
    // A single-file bind.
    const file = await run(['-v', `${join(host, 'in.txt')}:/etc/motd:ro`, 'cat', '/etc/motd']);
    expect(file.stdout).toBe('from host');
    const made = join(scratch, 'made/by/v');
    expect((await run(['-v', `${made}:/srv/m`, 'true'])).exitCode).toBe(0);
    expect(statSync(made).isDirectory()).toBe(true);
  });

  it('an anonymous volume is removed by rm -v and by run --rm, not by plain rm', async () => {
    const before = volumes(sb);
    expect((await run(['-v', '/anon', 'sh', '-c', 'echo x > /anon/x'])).exitCode).toBe(0);
    expect(volumes(sb)).toEqual(before); // run --rm took it along
    const c1 = await sb.tsrun(['create', '--name', 'anon1', '--rootfs', rootfs, '-v', '/anon', 'true']);
    expect(c1.exitCode).toBe(0);
    const doc = JSON.parse((await sb.tsrun(['inspect', 'anon1'])).stdout)[0];
    expect(doc.Mounts).toHaveLength(1);
    const anon = doc.Mounts[0];
    expect(anon).toMatchObject({ Type: 'volume', Destination: '/anon', Driver: 'local', RW: true, Source: join(sb.root, 'volumes', anon.Name, '_data') });
    expect(anon.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(volumes(sb)).toContain(anon.Name);
    expect((await sb.tsrun(['rm', '-v', 'anon1'])).exitCode).toBe(0);
    expect(volumes(sb)).not.toContain(anon.Name);

    expect((await sb.tsrun(['create', '--name', 'anon2', '--rootfs', rootfs, '-v', '/anon', 'true'])).exitCode).toBe(0);
    const name2 = JSON.parse((await sb.tsrun(['inspect', 'anon2'])).stdout)[0].Mounts[0].Name;
    expect((await sb.tsrun(['rm', 'anon2'])).exitCode).toBe(0);
    expect(volumes(sb)).toContain(name2);
    // prune (no -a) removes unused anonymous volumes only.
    const pr = await sb.tsrun(['volume', 'prune', '-f']);
    expect(pr.stdout).toContain(name2);
    expect(volumes(sb)).not.toContain(name2);
    expect(volumes(sb)).toContain('keep');
  });

  it('--tmpfs with a size, and --read-only with a tmpfs /tmp', async () => {
    const t = await run(['--tmpfs', '/srv/t:size=1m,mode=1777', 'sh', '-c', 'df -k /srv/t | tail -1; stat -c %a /srv/t; grep " /srv/t " /proc/mounts']);
    expect(t.exitCode).toBe(0);
    const [df, mode, mnt] = t.stdout.split('\n');
    expect(df).toMatch(/^tmpfs\s+1024\s/);
    expect(mode).toBe('1777');
    expect(mnt).toMatch(/tmpfs \/srv\/t tmpfs rw,nosuid,nodev,noexec/);
    const m = await run(['--mount', 'type=tmpfs,target=/srv/t,tmpfs-size=2m', 'sh', '-c', 'df -k /srv/t | tail -1']);
    expect(m.stdout).toMatch(/^tmpfs\s+2048\s/);
    const ro = await run(['--read-only', '--tmpfs', '/tmp', 'sh', '-c', 'echo ok > /tmp/f && cat /tmp/f; touch /rootfile; echo rc=$?']);
    expect(ro.stdout).toBe('ok\nrc=1');
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(rootfs, 'rootfile'))).toBe(false);
  });

  it('--volumes-from mounts the other container\'s volumes and binds, with :ro', async () => {
    const host = join(scratch, 'vf-host');
    mkdirSync(host);
    writeFileSync(join(host, 'h.txt'), 'bound\n');
    expect((await sb.tsrun(['create', '--name', 'src', '--rootfs', rootfs, '-v', 'shared:/shared', '-v', `${host}:/srv/vf`, '--tmpfs', '/srv/tt', 'true'])).exitCode).toBe(0);
    expect((await run(['-v', 'shared:/s', 'sh', '-c', 'echo shared-data > /s/d'])).exitCode).toBe(0);
    const r = await run(['--volumes-from', 'src', 'sh', '-c', 'cat /shared/d /srv/vf/h.txt; echo more >> /shared/d; grep -c " /srv/tt " /proc/mounts']);
    expect(r.stdout).toBe('shared-data\nbound\n0');
    const ro = await run(['--volumes-from', 'src:ro', 'sh', '-c', 'touch /shared/x; echo rc=$?']);
    expect(ro.stdout).toBe('rc=1');
    const bad = await run(['--volumes-from', 'nosuch', 'true']);
    expect(bad.exitCode).toBe(125);
    expect(bad.stderr).toMatch(/No such container: nosuch/);
  });

  it('volume rm of a used volume is refused, naming the container; volume verbs', async () => {
    const r = await sb.tsrun(['volume', 'rm', 'shared']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^tsrun: remove shared: volume is in use - \[src \([0-9a-f]{12}\)\]$/);
    expect(volumes(sb)).toContain('shared');
    const f = await sb.tsrun(['volume', 'rm', '-f', 'shared']);
    expect(f.exitCode).toBe(1); // -f does not override "in use"
    // prune -a spares used volumes.
    await sb.tsrun(['volume', 'prune', '-a', '-f']);
    expect(volumes(sb)).toContain('shared');
    expect((await sb.tsrun(['rm', 'src'])).exitCode).toBe(0);
    expect((await sb.tsrun(['volume', 'rm', 'shared'])).stdout).toBe('shared');
    expect(volumes(sb)).not.toContain('shared');

    const c = await sb.tsrun(['volume', 'create', '--label', 'a=b', 'lab']);
    expect(c.stdout).toBe('lab');
    expect((await sb.tsrun(['volume', 'ls', '-q'])).stdout.split('\n')).toContain('lab');
    const json = (await sb.tsrun(['volume', 'ls', '--format', 'json'])).stdout.split('\n').map((l) => JSON.parse(l));
    expect(json.find((v) => v.Name === 'lab')).toMatchObject({ Driver: 'local', Labels: 'a=b', Scope: 'local' });
    const table = (await sb.tsrun(['volume', 'ls'])).stdout.split('\n');
    expect(table[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
    const anon = (await sb.tsrun(['volume', 'create'])).stdout;
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect((await sb.tsrun(['volume', 'rm', 'nosuch'])).stderr).toMatch(/no such volume/);
    expect((await sb.tsrun(['volume', 'rm', '-f', 'nosuch'])).exitCode).toBe(0);
    expect((await sb.tsrun(['volume', 'create', 'x'])).exitCode).toBe(1); // a bad name; a verb's error, not run's
    expect((await sb.tsrun(['volume', 'rm', 'lab', anon])).exitCode).toBe(0);
  });

  it('parallel creates of one name make one volume', async () => {
    const rs = await Promise.all(Array.from({ length: 6 }, () => sb.tsrun(['volume', 'create', 'race'])));
    for (const r of rs) expect(r.stdout).toBe('race');
    expect(readdirSync(join(sb.root, 'volumes')).filter((n) => n.includes('race'))).toEqual(['race']);
    await sb.tsrun(['volume', 'rm', 'race']);
  });

  it('a mount destination that is a symlink in the rootfs cannot reach the host', async () => {
    const evil = join(scratch, 'evil-rootfs');
    execFileSync('cp', ['-a', `${rootfs}/.`, evil]);
    const victim = join(scratch, 'victim');
    const victim2 = join(scratch, 'victim2');
    for (const v of [victim, victim2]) {
      mkdirSync(v);
      writeFileSync(join(v, 'sentinel'), 'untouched\n');
    }
    // Relative escape, absolute host path, and a link to the container's own /etc.
    symlinkSync(`../../../../../../../../..${victim}`, join(evil, 'rel'));
    symlinkSync(victim2, join(evil, 'abs'));
    symlinkSync('/etc', join(evil, 'etcl'));
    const src = join(scratch, 'bind-src');
    mkdirSync(src);
    writeFileSync(join(src, 'payload'), 'payload\n');
    const r = await sb.tsrun([
      'run', '--rm', '--rootfs', evil, '-v', `${src}:/rel`, '-v', 'evilvol:/abs', '--tmpfs', '/etcl',
      'sh', '-c', 'cat /rel/payload; echo w > /abs/written; ls /etc | wc -l',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toBe('payload');
    expect(r.stdout.split('\n')[1]).toBe('0'); // the tmpfs landed on the rootfs's own /etc
    for (const v of [victim, victim2]) {
      expect(readdirSync(v)).toEqual(['sentinel']);
      expect(readFileSync(join(v, 'sentinel'), 'utf8')).toBe('untouched\n');
      expect(mountsUnder(v)).toEqual([]);
      // The mounts landed inside the rootfs, where the links point from `/`.
      expect(lstatSync(join(evil, v)).isDirectory()).toBe(true);
    }
    expect(readFileSync(join(sb.root, 'volumes/evilvol/_data/written'), 'utf8')).toBe('w\n');
    expect(readdirSync(join(evil, 'etc')).length).toBeGreaterThan(0);
  });

  it('bad input: one line, exit 125, and no volume, container or mount left', async () => {
    const mountsBefore = mountsUnder(sb.root);
    const vols = volumes(sb);
    const cases: Array<[string[], RegExp]> = [
      [['--mount', `type=bind,source=${scratch}/nosuch,target=/x`], /bind source path does not exist/],
      [['-v', `${scratch}:relative`], /not absolute/],
      [['-v', `${scratch}:/x:xyz`], /invalid mode: xyz/],
      [['-v', 'newvol1:/x', '-v', `${scratch}:/x`], /duplicate mount point: \/x/],
      [['-v', 'b@d:/x'], /invalid volume name/],
      [['--tmpfs', '/t:size=huge'], /invalid size/],
      [['--mount', 'type=tmpfs,target=/t,tmpfs-mode=99'], /not octal/],
      // Fails after the volume was made: it is rolled back.
      [['--name', 'bad name', '-v', 'newvol2:/x'], /invalid container name/],
      [['-v', 'newvol3:/x', '--volumes-from', 'nosuch'], /No such container/],
    ];
    for (const [args, msg] of cases) {
      const r = await sb.tsrun(['run', '--rm', '--rootfs', rootfs, ...args, 'true']);
      expect(r.exitCode, args.join(' ')).toBe(125);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(msg);
      const c = await sb.tsrun(['create', '--rootfs', rootfs, ...args, 'true']);
      expect(c.exitCode, `create ${args.join(' ')}`).toBe(125);
    }
    expect(volumes(sb)).toEqual(vols);
    expect(containers(sb)).toEqual([]);
    expect(existsSync(join(scratch, 'nosuch'))).toBe(false);
    expect(mountsUnder(sb.root)).toEqual(mountsBefore);
  });

  it('inspect shows Mounts and HostConfig.Binds; after rm no mount of the container remains', async () => {
    const host = join(scratch, 'insp');
    mkdirSync(host);
    const id = (await sb.tsrun(['run', '-d', '--name', 'insp', '--rootfs', rootfs, '-v', `${host}:/srv/b:ro,z`, '-v', 'iv:/srv/v', '--tmpfs', '/srv/t:size=1m', 'sleep', '30'])).stdout;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const doc = JSON.parse((await sb.tsrun(['inspect', 'insp'])).stdout)[0];
    expect(doc.HostConfig.Binds).toEqual([`${host}:/srv/b:ro,z`, 'iv:/srv/v']);
    expect(doc.HostConfig.Tmpfs).toEqual({ '/srv/t': 'nosuid,nodev,noexec,size=1m' });
    expect(doc.Mounts).toEqual([
      { Type: 'bind', Source: host, Destination: '/srv/b', Mode: 'ro,z', RW: false, Propagation: 'rprivate' },
      { Type: 'volume', Name: 'iv', Source: join(sb.root, 'volumes/iv/_data'), Destination: '/srv/v', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
      { Type: 'tmpfs', Source: '', Destination: '/srv/t', Mode: '', RW: true, Propagation: '' },
    ]);
    // The container's mounts live only in its own mount namespace.
    expect(mountsUnder(host)).toEqual([]);
    expect((await sb.tsrun(['rm', '-f', '-v', 'insp'])).exitCode).toBe(0);
    expect(mountsUnder(sb.root)).toEqual([]);
    expect(mountsUnder(host)).toEqual([]);
    expect(volumes(sb)).toContain('iv'); // named volumes stay
  });
});

const registrySkip = skip || registryTestSkipReason('volumes (image copy-up)');

describe.skipIf(registrySkip)('named volume copy-up from an image', () => {
  const sb = sandbox();
  let reg: TestRegistry;
  let ref: string;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsrun-vol-img-'));
    const l1 = join(work, 'l1');
    execFileSync('cp', ['-a', `${busybox()}/.`, l1]);
    const app = join(l1, 'var/lib/app');
    mkdirSync(join(app, 'sub'), { recursive: true });
    writeFileSync(join(app, 'seed.txt'), 'seeded by the image\n');
    writeFileSync(join(app, 'sub/secret'), 'owned\n', { mode: 0o600 });
    symlinkSync('seed.txt', join(app, 'link'));
    execFileSync('chown', ['-R', '1000:1000', app]);
    execFileSync('chmod', ['0750', app]);
    execFileSync('chown', ['1001:1002', join(app, 'sub/secret')]);
    // A destination that is a symlink to a host path: copy-up must read the rootfs's own.
    symlinkSync('/etc', join(l1, 'etclink'));
    const layout = join(work, 'layout');
    buildImage(layout, { layers: [{ dir: l1 }], config: { Cmd: ['sh'], Volumes: { '/var/lib/app': {} } } });
    reg = await startRegistry();
    await pushImage(layout, reg, 'library/volimg:latest');
    ref = `${reg.host}/library/volimg:latest`;
    expect((await sb.tsrun(['pull', ref])).exitCode).toBe(0);
  });
  afterAll(async () => {
    sb.cleanup();
    await reg?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('an empty named volume is filled from the image, owners and modes kept; a non-empty one is not', async () => {
    const r = await sb.tsrun(['run', '--rm', '-v', 'appdata:/var/lib/app', ref, 'sh', '-c', 'cat /var/lib/app/seed.txt; stat -c "%u:%g %a" /var/lib/app /var/lib/app/sub/secret; readlink /var/lib/app/link']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('seeded by the image\n1000:1000 750\n1001:1002 600\nseed.txt');
    const data = join(sb.root, 'volumes/appdata/_data');
    expect(statSync(join(data, 'sub/secret')).uid).toBe(1001);
    // Changes persist; a later mount does not copy again.
    await sb.tsrun(['run', '--rm', '-v', 'appdata:/var/lib/app', ref, 'rm', '/var/lib/app/seed.txt']);
    const again = await sb.tsrun(['run', '--rm', '-v', 'appdata:/var/lib/app', ref, 'ls', '/var/lib/app']);
    expect(again.stdout.split('\n')).toEqual(['link', 'sub']);

    // A volume that already has content is left as it is.
    await sb.tsrun(['volume', 'create', 'prefilled']);
    writeFileSync(join(sb.root, 'volumes/prefilled/_data/mine'), 'mine\n');
    const pre = await sb.tsrun(['run', '--rm', '-v', 'prefilled:/var/lib/app', ref, 'ls', '/var/lib/app']);
    expect(pre.stdout).toBe('mine');
    // nocopy leaves an empty volume empty; anonymous volumes are filled too.
    const nc = await sb.tsrun(['run', '--rm', '-v', 'nc:/var/lib/app:nocopy', ref, 'ls', '/var/lib/app']);
    expect(nc.stdout).toBe('');
    const an = await sb.tsrun(['run', '--rm', '-v', '/var/lib/app', ref, 'cat', '/var/lib/app/seed.txt']);
    expect(an.stdout).toBe('seeded by the image');
  });

  it("the image's VOLUME gets a filled anonymous volume, which rm -v removes", async () => {
    const before = readdirSync(join(sb.root, 'volumes'));
    const r = await sb.tsrun(['run', '--name', 'imgvol', ref, 'cat', '/var/lib/app/seed.txt']);
    expect(r.stdout).toBe('seeded by the image');
    const [m] = JSON.parse((await sb.tsrun(['inspect', 'imgvol'])).stdout)[0].Mounts;
    expect(m).toMatchObject({ Type: 'volume', Destination: '/var/lib/app', Driver: 'local', RW: true });
    expect(m.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(join(sb.root, 'volumes'))).toContain(m.Name);
    expect((await sb.tsrun(['rm', '-v', 'imgvol'])).exitCode).toBe(0);
    expect(readdirSync(join(sb.root, 'volumes')).sort()).toEqual(before.sort());
  });

  it('copy-up through a symlinked destination reads the image, never the host', async () => {
    const r = await sb.tsrun(['run', '--rm', '-v', 'etcvol:/etclink', ref, 'ls', '/etclink']);
    expect(r.exitCode).toBe(0);
    const copied = readdirSync(join(sb.root, 'volumes/etcvol/_data')).sort();
    // The image's /etc (busybox's), not the host's.
    expect(copied).toEqual(readdirSync(join(busybox(), 'etc')).sort());
    expect(mountsUnder(join(sb.root, 'overlay'))).toEqual([]);
  });
});
