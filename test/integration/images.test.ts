// Images end to end, as a user drives them: the fixture images pushed to a
// real registry server (Debian's docker-registry on 127.0.0.1), pulled and
// run by the tsrun CLI on an OverlayFS root, then listed, tagged, removed.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALPINE, IMAGE_FIXTURE_DIR, buildImage, corruptBlob, fixtureAlpine, fixtureMultiArch, pushImage, truncateBlob, type FixtureAlpine,
} from '../helpers/image-fixtures.js';
import { ALPINE_CHECK_SCRIPT, expectAlpineRun } from '../helpers/alpine-check.js';
import { registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { busybox, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = registryTestSkipReason('images');

/** Everything under the sandbox's image store, for before/after comparisons. */
function storeListing(sb: Sandbox): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      if (n.endsWith('.lock')) continue;
      out.push(`${rel}${n}`);
      if (depth > 0 && statSync(join(dir, n)).isDirectory()) walk(join(dir, n), `${rel}${n}/`, depth - 1);
    }
  };
  walk(join(sb.root, 'images'), '', 3);
  return out;
}

describe.skipIf(skip)('images from a real registry', () => {
  let reg: TestRegistry;
  let alpine: FixtureAlpine;
  let ref: string;
  const sb = sandbox();

  beforeAll(async () => {
    reg = await startRegistry();
    alpine = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox());
    await pushImage(alpine.layoutDir, reg, 'library/alpine:latest');
    ref = `${reg.host}/library/alpine:latest`;
  });
  afterAll(async () => {
    sb.cleanup();
    await reg?.stop();
  });

  it('pull prints Docker\'s lines, stores the image once, and images lists it', async () => {
    const r = await sb.tsrun(['pull', ref]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`latest: Pulling from ${reg.host}/library/alpine`);
    for (const l of alpine.layers) expect(r.stdout).toContain(`${l.digest.slice(7, 19)}: Pull complete`);
    expect(r.stdout).toContain(`Digest: ${alpine.manifestDigest}`);
    expect(r.stdout).toContain(`Status: Downloaded newer image for ${ref}`);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(ref);

    const again = await sb.tsrun(['pull', ref]);
    expect(again.stdout).toContain(`Status: Image is up to date for ${ref}`);
    for (const l of alpine.layers) expect(again.stdout).toContain(`${l.digest.slice(7, 19)}: Already exists`);

    const ls = await sb.tsrun(['images']);
    expect(ls.exitCode).toBe(0);
    const [header, row] = ls.stdout.trim().split('\n');
    expect(header).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(row).toMatch(new RegExp(`^${reg.host}/library/alpine\\s+latest\\s+${alpine.configDigest.slice(7, 19)}\\s`));
    const q = await sb.tsrun(['images', '-q', '--no-trunc']);
    expect(q.stdout.trim()).toBe(alpine.configDigest);
    const json = JSON.parse((await sb.tsrun(['images', '--format', 'json'])).stdout.trim().split('\n')[0]);
    expect(json).toMatchObject({ Repository: `${reg.host}/library/alpine`, Tag: 'latest', ID: alpine.configDigest.slice(7, 19) });
    expect(readdirSync(join(sb.root, 'images/layers'))).toHaveLength(alpine.layers.length);
  });

  it('run uses the image config and sees every layer merged (whiteouts, opaque dirs, links, owners, modes)', async () => {
    expectAlpineRun(await sb.tsrun(['run', '--rm', ref, 'sh', '-c', ALPINE_CHECK_SCRIPT]));
  });

  it('the image default command runs, writes stay in the container, and rm removes its overlay', async () => {
    const r = await sb.tsrun(['run', '--name', 'keeper', ref]);
    expect(r.exitCode).toBe(0); // `sh` with stdin at /dev/null
    const w = await sb.tsrun(['run', '--rm', ref, 'sh', '-c', 'echo changed > /etc/os-release; rm /etc/hostname.x 2>/dev/null; cat /etc/os-release']);
    expect(w.stdout).toBe('changed');
    const fresh = await sb.tsrun(['run', '--rm', ref, 'cat', '/etc/os-release']);
    expect(fresh.stdout).toBe(ALPINE.osRelease.trim());
    const id = (await sb.tsrun(['inspect', 'keeper'])).stdout;
    const cid = JSON.parse(id)[0].Id as string;
    expect(existsSync(join(sb.root, 'overlay', cid))).toBe(true);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(join(sb.root, 'overlay', cid, 'merged'));
    expect((await sb.tsrun(['rm', 'keeper'])).exitCode).toBe(0);
    expect(existsSync(join(sb.root, 'overlay', cid))).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(sb.root, 'overlay'));
  });

  it('--read-only mounts the overlay read-only', async () => {
    const r = await sb.tsrun(['run', '--rm', '--read-only', ref, 'sh', '-c', 'touch /x 2>&1; echo rc=$?']);
    expect(r.stdout).toMatch(/Read-only file system\nrc=1$/);
  });

  it('image inspect and history show the config; stop sends the image\'s StopSignal', async () => {
    const doc = JSON.parse((await sb.tsrun(['image', 'inspect', ref])).stdout)[0];
    expect(doc).toMatchObject({
      Id: alpine.configDigest,
      RepoTags: [ref],
      Os: 'linux',
      Architecture: 'amd64',
      Config: { Cmd: ['sh'], WorkingDir: '/usr/share/tsrun', StopSignal: 'SIGINT', ExposedPorts: { '80/tcp': {} }, Labels: ALPINE.config.Labels },
      RootFS: { Type: 'layers', Layers: alpine.layers.map((l) => l.diffId) },
    });
    // `inspect` falls back to images when no container has the name.
    expect(JSON.parse((await sb.tsrun(['inspect', ref])).stdout)[0].Id).toBe(alpine.configDigest);
    const hist = (await sb.tsrun(['history', ref])).stdout.split('\n');
    expect(hist[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(hist[1]).toMatch(new RegExp(`^${alpine.configDigest.slice(7, 19)}\\s`));
    expect(hist.slice(1).filter((l) => l.startsWith('<missing>'))).toHaveLength(hist.length - 2);

    const d = await sb.tsrun(['run', '-d', '--name', 'stopper', ref, 'sh', '-c', 'trap "exit 3" INT; while :; do sleep 0.1; done']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect((await sb.tsrun(['stop', '-t', '5', 'stopper'])).exitCode).toBe(0);
    expect(JSON.parse((await sb.tsrun(['inspect', 'stopper'])).stdout)[0].State.ExitCode).toBe(3);
    await sb.tsrun(['rm', 'stopper']);
  });

  it('rmi refuses an image a container uses, then removes it and its layers', async () => {
    const c = await sb.tsrun(['create', '--name', 'user', ref, 'true']);
    expect(c.exitCode).toBe(0);
    const refused = await sb.tsrun(['rmi', ref]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^tsrun: conflict: unable to remove .* image [0-9a-f]{12} is being used by container [0-9a-f]{12}$/);
    expect((await sb.tsrun(['images', '-q'])).stdout.trim()).toBe(alpine.configDigest.slice(7, 19));

    expect((await sb.tsrun(['tag', ref, 'other/name:v1'])).exitCode).toBe(0);
    const untag = await sb.tsrun(['rmi', 'other/name:v1']);
    expect(untag.stdout).toBe('Untagged: other/name:v1');

    expect((await sb.tsrun(['rm', 'user'])).exitCode).toBe(0);
    const rmi = await sb.tsrun(['rmi', ref]);
    expect(rmi.exitCode).toBe(0);
    expect(rmi.stdout).toContain(`Deleted: ${alpine.configDigest}`);
    expect(readdirSync(join(sb.root, 'images/layers'))).toEqual([]);
    expect(readdirSync(join(sb.root, 'images/blobs/sha256'))).toEqual([]);
    expect(readdirSync(join(sb.root, 'images/l'))).toEqual([]);
  });

  it('run pulls a missing image (and --pull never refuses to)', async () => {
    const never = await sb.tsrun(['run', '--rm', '--pull', 'never', ref, 'true']);
    expect(never.exitCode).toBe(125);
    expect(never.stderr).toBe(`tsrun: No such image: ${ref}`);
    const r = await sb.tsrun(['run', '--rm', ref, 'cat', '/etc/os-release']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(ALPINE.osRelease.trim());
    expect(r.stderr).toContain(`Unable to find image '${ref}' locally`);
  });

  it('--registry-mirror serves docker.io names (alpine → MIRROR/v2/library/alpine)', async () => {
    const mirror = sandbox();
    try {
      const r = await mirror.tsrun(['--registry-mirror', reg.url, 'run', '--rm', 'alpine', 'cat', '/etc/os-release']);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(ALPINE.osRelease.trim());
      const ls = await mirror.tsrun(['images']);
      expect(ls.stdout).toMatch(/\nalpine\s+latest\s/);
      // The environment variable does the same.
      const env = await mirror.tsrun(['pull', 'alpine'], { env: { TSRUN_REGISTRY_MIRROR: reg.url } });
      expect(env.stdout).toContain('Status: Image is up to date for alpine:latest');
    } finally {
      mirror.cleanup();
    }
  });

  it('a manifest list gives this machine\'s platform, or the one --platform names', async () => {
    const multi = fixtureMultiArch(IMAGE_FIXTURE_DIR, busybox());
    await pushImage(multi.layoutDir, reg, 'multi/arch:latest', { all: true });
    const r = await sb.tsrun(['run', '--rm', `${reg.host}/multi/arch`, 'cat', '/etc/arch']);
    expect(r.stdout.trim()).toBe('amd64');
    const arm = await sb.tsrun(['pull', '--platform', 'linux/arm64', `${reg.host}/multi/arch:latest`]);
    expect(arm.exitCode).toBe(0);
    const doc = JSON.parse((await sb.tsrun(['image', 'inspect', `${reg.host}/multi/arch`])).stdout)[0];
    expect(doc.Architecture).toBe('arm64');
    const none = await sb.tsrun(['pull', '--platform', 'linux/s390x', `${reg.host}/multi/arch:latest`]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/linux\/s390x.*linux\/amd64/);
  });

  it('an image with 120 layers runs (short lower dir names keep the mount options under a page)', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'tsrun-many-'));
    try {
      const { tarArchive } = await import('../helpers/tar-writer.js');
      const layers = [busybox(), ...Array.from({ length: 119 }, (_, i) => tarArchive([{ name: `layers/${i}`, body: `${i}\n` }]))];
      const img = buildImage(join(scratch, 'layout'), { layers, config: { Cmd: ['sh'] } });
      await pushImage(img.layoutDir, reg, 'many/layers:latest');
      const r = await sb.tsrun(['run', '--rm', `${reg.host}/many/layers`, 'sh', '-c', 'ls /layers | wc -l; cat /layers/118']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe('119\n118');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      await sb.tsrun(['rmi', `${reg.host}/many/layers`]);
    }
  });
});

describe.skipIf(skip)('broken content fails cleanly and stores nothing', () => {
  let reg: TestRegistry;
  let alpine: FixtureAlpine;
  beforeAll(async () => {
    reg = await startRegistry();
    alpine = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox());
  });
  afterAll(async () => reg?.stop());

  it.each([
    ['a corrupted blob (digest mismatch)', corruptBlob, /failed verification|digest/],
    ['a truncated layer', (r: TestRegistry, d: string) => truncateBlob(r, d, 1000), /bytes|truncated|digest|size/],
  ] as const)('%s', async (_name, damage, message) => {
    const sb = sandbox();
    try {
      const repo = `broken/${Math.random().toString(36).slice(2, 8)}`;
      await pushImage(alpine.layoutDir, reg, `${repo}:latest`);
      // The biggest layer: the one the registry would spend longest on.
      damage(reg, alpine.layers[0].digest);
      const r = await sb.tsrun(['pull', `${reg.host}/${repo}`]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect((await sb.tsrun(['images', '-q'])).stdout).toBe('');
      // No half layer and no unverified blob anywhere a reader would look.
      expect(storeListing(sb).filter((p) => p.startsWith('layers/') || p.startsWith('blobs/sha256/'))).not.toContain(`layers/${alpine.layers[0].diffId.slice(7)}`);
      expect(existsSync(join(sb.root, 'images/blobs/sha256', alpine.layers[0].digest.slice(7)))).toBe(false);
      expect(existsSync(join(sb.root, 'images/index.json')) ? JSON.parse(readFileSync(join(sb.root, 'images/index.json'), 'utf8')).images : {}).toEqual({});
    } finally {
      sb.cleanup();
    }
  });

  it('a layer that writes through a symlink to the host fails the pull and the host is untouched', async () => {
    const sb = sandbox();
    const scratch = mkdtempSync(join(tmpdir(), 'tsrun-evil-'));
    const host = join(scratch, 'host');
    mkdirSync(host);
    try {
      const { tarArchive } = await import('../helpers/tar-writer.js');
      writeFileSync(join(host, 'keep'), 'original');
      const evil = tarArchive([
        { name: 'escape', type: 'symlink', linkname: host },
        { name: 'escape/keep', body: 'overwritten' },
        { name: 'escape/new', body: 'planted' },
      ]);
      const img = buildImage(join(scratch, 'layout'), { layers: [busybox(), evil] });
      await pushImage(img.layoutDir, reg, 'evil/symlink:latest');
      const r = await sb.tsrun(['pull', `${reg.host}/evil/symlink`]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^tsrun: invalid layer entry "escape\/keep"/);
      expect(readFileSync(join(host, 'keep'), 'utf8')).toBe('original');
      expect(readdirSync(host)).toEqual(['keep']);
      expect((await sb.tsrun(['images', '-q'])).stdout).toBe('');
      expect(existsSync(join(sb.root, 'images/layers', img.layers[1].diffId.slice(7)))).toBe(false);
    } finally {
      sb.cleanup();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('an invalid reference fails before touching the network or the disk', async () => {
    const sb = sandbox();
    try {
      for (const bad of ['Alpine', 'alpine:', 'alpine@sha256:1234', 'a/../b', `${reg.host}/UPPER/case`]) {
        const r = await sb.tsrun(['pull', bad]);
        expect(r.exitCode, bad).toBe(1);
        expect(r.stderr, bad).toMatch(/^tsrun: .*(invalid|reference|format)/i);
      }
      expect(existsSync(sb.root)).toBe(false);
      const run = await sb.tsrun(['run', '--rm', 'NoSuch', 'true']);
      expect(run.exitCode).toBe(125);
      expect(existsSync(join(sb.root, 'containers'))).toBe(false);
    } finally {
      sb.cleanup();
    }
  });
});
