// The image-test infrastructure itself, checked with tools that are not
// ours (skopeo inspect, curl, GNU tar) against the real registry server:
// fixtures arrive as built, indexes keep both platforms, the auth modes
// challenge and accept the way Docker Hub-like registries do, and the
// damage helpers really damage what the registry serves.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALPINE, IMAGE_FIXTURE_DIR, MT, buildImage, corruptBlob, fixtureAlpine, fixtureMultiArch, pushImage, pushRaw, readBlob, sha256,
  truncateBlob, type FixtureAlpine,
} from '../helpers/image-fixtures.js';
import { registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { busybox } from '../helpers/tsrun.js';

const skip = registryTestSkipReason('registry-helpers');

async function skopeoInspect(reg: TestRegistry, ref: string, extra: string[] = []): Promise<unknown> {
  const creds = reg.creds ? ['--creds', reg.creds] : ['--no-creds'];
  const r = await execa('skopeo', ['inspect', '--tls-verify=false', ...creds, ...extra, `docker://${reg.host}/${ref}`], {
    reject: false,
    stdin: 'ignore',
  });
  if (r.exitCode !== 0) throw new Error(`skopeo inspect ${ref}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * curl, returning status, headers (lower-cased names) and the body bytes.
 * (Headers go to a file: Debian's curl 7.88 segfaults on `-D /dev/stderr`
 * when stderr is the socket Node gives a child.)
 */
async function curl(url: string, args: string[] = []): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-curl-'));
  let r;
  let text: string;
  try {
    r = await execa('curl', ['-sS', '-D', join(dir, 'h'), ...args, url], { encoding: 'buffer', reject: false, stdin: 'ignore' });
    text = readFileSync(join(dir, 'h'), 'latin1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (r.exitCode !== 0) throw new Error(`curl ${url}: ${r.message}`);
  // With -L, only the last response's headers count.
  const head = text.trim().split(/\r?\n\r?\n/).pop()!.split(/\r?\n/);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(head[0].split(' ')[1]), headers, body: Buffer.from(r.stdout) };
}

const hex = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ACCEPT = ['-H', `Accept: ${[MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ')}`];

describe.skipIf(skip)('registry test helpers against docker-registry', () => {
  let alpine: FixtureAlpine;
  const registries: TestRegistry[] = [];
  const temps: string[] = [];
  const start = async (...a: Parameters<typeof startRegistry>) => {
    const r = await startRegistry(...a);
    registries.push(r);
    return r;
  };

  beforeAll(() => {
    alpine = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox());
  });
  afterAll(async () => {
    await Promise.all(registries.map((r) => r.stop()));
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it('pushes the alpine fixture: skopeo inspect shows its three layers, labels and platform', async () => {
    const reg = await start();
    const pushed = await pushImage(alpine.layoutDir, reg, 'library/alpine:latest');
    expect(pushed).toBe(alpine.manifestDigest);
    const info = (await skopeoInspect(reg, 'library/alpine:latest')) as {
      Digest: string; Layers: string[]; Labels: Record<string, string>; Architecture: string; Os: string; Env: string[];
    };
    expect(info.Digest).toBe(alpine.manifestDigest);
    expect(info.Layers).toEqual(alpine.layers.map((l) => l.digest));
    expect(info.Layers).toHaveLength(3);
    expect(info.Labels).toEqual(ALPINE.config.Labels);
    expect([info.Os, info.Architecture]).toEqual(['linux', 'amd64']);
    expect(info.Env).toEqual(ALPINE.config.Env);

    const config = (await skopeoInspect(reg, 'library/alpine:latest', ['--config'])) as {
      rootfs: { diff_ids: string[] }; config: Record<string, unknown>; history: { empty_layer?: boolean }[];
    };
    expect(config.rootfs.diff_ids).toEqual(alpine.layers.map((l) => l.diffId));
    expect(config.config).toMatchObject({ Cmd: ['sh'], WorkingDir: '/usr/share/tsrun', ExposedPorts: { '80/tcp': {} }, StopSignal: 'SIGINT' });
    expect(config.history.filter((h) => !h.empty_layer)).toHaveLength(3);

    // The manifest as served is the one built, byte for byte.
    const m = await curl(`${reg.url}/v2/library/alpine/manifests/latest`, ACCEPT);
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toBe(MT.ociManifest);
    expect(m.headers['docker-content-digest']).toBe(alpine.manifestDigest);
    expect(m.body.equals(readBlob(alpine.layoutDir, alpine.manifestDigest))).toBe(true);

    // Layer 2 carries what ALPINE documents, as GNU tar sees it.
    const l2 = await curl(`${reg.url}/v2/library/alpine/blobs/${alpine.layers[1].digest}`, ['-L']);
    expect(hex(l2.body)).toBe(alpine.layers[1].digest);
    const list = await execa('tar', ['-tvz', '--xattrs', '-f', '-'], { input: l2.body, stdin: 'pipe' });
    expect(list.stdout).toMatch(/^-rwsr-xr-x\s+0\/0 .* \.\/usr\/bin\/tsrun-suid$/m);
    expect(list.stdout).toMatch(/^h.* \.\/usr\/share\/tsrun\/hard-b link to \.\/usr\/share\/tsrun\/hard-a$/m);
    expect(list.stdout).toMatch(/\.\/usr\/share\/tsrun\/link-to-hello -> hello\.txt$/m);
    expect(list.stdout).toMatch(/^-rw-------\s+1000\/1000 .* \.\/home\/tsuser\/owned\.txt$/m);
    if (alpine.hasXattr) expect(list.stdout).toMatch(/^-rw-r--r--\*\s.* \.\/usr\/share\/tsrun\/xattr\.txt$/m);
    const l3 = await curl(`${reg.url}/v2/library/alpine/blobs/${alpine.layers[2].digest}`, ['-L']);
    const list3 = await execa('tar', ['-tz', '-f', '-'], { input: l3.body, stdin: 'pipe' });
    expect(list3.stdout.split('\n')).toEqual(expect.arrayContaining(['./etc/.wh.motd', './opt/data/.wh..wh..opq', './opt/data/new.txt']));
  });

  it('Docker schema2 and zstd variants keep their media types', async () => {
    const reg = await start();
    const docker = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox(), { format: 'docker' });
    const zstd = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox(), { compression: 'zstd' });
    expect(await pushImage(docker.layoutDir, reg, 'library/alpine:docker')).toBe(docker.manifestDigest);
    expect(await pushImage(zstd.layoutDir, reg, 'library/alpine:zstd')).toBe(zstd.manifestDigest);
    const d = (await skopeoInspect(reg, 'library/alpine:docker', ['--raw'])) as { mediaType: string; config: { mediaType: string }; layers: { mediaType: string }[] };
    expect(d.mediaType).toBe(MT.dockerManifest);
    expect(d.config.mediaType).toBe(MT.dockerConfig);
    expect(new Set(d.layers.map((l) => l.mediaType))).toEqual(new Set([MT.dockerLayerGzip]));
    const z = (await skopeoInspect(reg, 'library/alpine:zstd', ['--raw'])) as { layers: { mediaType: string; digest: string }[] };
    expect(new Set(z.layers.map((l) => l.mediaType))).toEqual(new Set([MT.ociLayerZstd]));
    const blob = await curl(`${reg.url}/v2/library/alpine/blobs/${z.layers[2].digest}`, ['-L']);
    const list = await execa('tar', ['-t', '--zstd', '-f', '-'], { input: blob.body, stdin: 'pipe' });
    expect(list.stdout).toContain('./opt/data/.wh..wh..opq');
  });

  for (const format of ['oci', 'docker'] as const) {
    it(`multi-arch (${format}): an index with linux/amd64 and linux/arm64/v8 whose /etc/arch says so`, async () => {
      const reg = await start();
      const index = fixtureMultiArch(IMAGE_FIXTURE_DIR, busybox(), { format });
      expect(await pushImage(index.layoutDir, reg, 'library/multi:latest', { all: true })).toBe(index.digest);
      const raw = (await skopeoInspect(reg, 'library/multi:latest', ['--raw'])) as {
        mediaType: string; manifests: { digest: string; platform: { architecture: string; variant?: string } }[];
      };
      expect(raw.mediaType).toBe(format === 'oci' ? MT.ociIndex : MT.dockerList);
      expect(raw.manifests.map((m) => [m.platform.architecture, m.platform.variant])).toEqual([
        ['amd64', undefined],
        ['arm64', 'v8'],
      ]);
      for (const [i, arch] of ['amd64', 'arm64'].entries()) {
        const info = (await skopeoInspect(reg, `library/multi@${raw.manifests[i].digest}`)) as { Architecture: string; Layers: string[] };
        expect(info.Architecture).toBe(arch);
        expect(info.Layers).toHaveLength(2);
        const blob = await curl(`${reg.url}/v2/library/multi/blobs/${info.Layers[1]}`, ['-L']);
        const out = await execa('tar', ['-xzO', '-f', '-', './etc/arch'], { input: blob.body, stdin: 'pipe' });
        expect(out.stdout).toBe(arch);
      }
      // Both images share the busybox layer.
      const infos = index.images.map((img) => img.layers[0].digest);
      expect(infos[0]).toBe(infos[1]);
    });
  }

  it('htpasswd: anonymous gets 401 with a Basic challenge; the user pushes and pulls', async () => {
    const reg = await start({ auth: 'htpasswd', users: { alice: 'wonderland' } });
    const anon = await curl(`${reg.url}/v2/`);
    expect(anon.status).toBe(401);
    expect(anon.headers['www-authenticate']).toMatch(/^Basic realm="/);
    expect((await curl(`${reg.url}/v2/`, ['-u', 'alice:wrong'])).status).toBe(401);
    expect((await curl(`${reg.url}/v2/`, ['-u', 'alice:wonderland'])).status).toBe(200);

    await expect(pushImage(alpine.layoutDir, reg, 'library/alpine:latest', { creds: '' })).rejects.toThrow(/unauthorized|authentication required/i);
    expect(await pushImage(alpine.layoutDir, reg, 'library/alpine:latest')).toBe(alpine.manifestDigest);
    const m = await curl(`${reg.url}/v2/library/alpine/manifests/latest`, ['-u', 'alice:wonderland', ...ACCEPT]);
    expect(m.status).toBe(200);
    expect(m.headers['docker-content-digest']).toBe(alpine.manifestDigest);
    expect((await curl(`${reg.url}/v2/library/alpine/manifests/latest`, ACCEPT)).status).toBe(401);
  });

  it('token: Bearer challenge with realm, service and scope; tokens from the token server open pulls', async () => {
    const reg = await start({ auth: 'token', users: { bob: 'builder' } });
    const base = reg.tokenRequests!();
    const anon = await curl(`${reg.url}/v2/library/alpine/manifests/latest`, ACCEPT);
    expect(anon.status).toBe(401);
    const challenge = anon.headers['www-authenticate'];
    expect(challenge).toBe(`Bearer realm="${reg.realm}",service="${reg.service}",scope="repository:library/alpine:pull"`);

    await expect(pushImage(alpine.layoutDir, reg, 'library/alpine:latest', { creds: 'bob:wrong' })).rejects.toThrow();
    expect(await pushImage(alpine.layoutDir, reg, 'library/alpine:latest')).toBe(alpine.manifestDigest);
    expect(await pushImage(alpine.layoutDir, reg, 'public/alpine:latest')).toBe(alpine.manifestDigest);
    expect(reg.tokenRequests!()).toBeGreaterThan(base);

    const token = async (scope: string, creds?: string) => {
      const r = await curl(`${reg.realm}?service=${encodeURIComponent(reg.service!)}&scope=${encodeURIComponent(scope)}`, creds ? ['-u', creds] : []);
      expect(r.status).toBe(200);
      const body = JSON.parse(r.body.toString()) as { token: string; access_token: string; expires_in: number; issued_at: string };
      expect(body.access_token).toBe(body.token);
      expect(body.expires_in).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(body.issued_at))).toBe(false);
      return body.token;
    };
    const get = async (repo: string, tok: string) =>
      (await curl(`${reg.url}/v2/${repo}/manifests/latest`, ['-H', `Authorization: Bearer ${tok}`, ...ACCEPT])).status;

    // A user's token pulls anything; an anonymous one only public/*.
    expect(await get('library/alpine', await token('repository:library/alpine:pull', 'bob:builder'))).toBe(200);
    expect(await get('library/alpine', await token('repository:library/alpine:pull'))).toBe(401);
    expect(await get('public/alpine', await token('repository:public/alpine:pull'))).toBe(200);
    // ... and a token for one repository does not open another.
    expect(await get('library/alpine', await token('repository:public/alpine:pull', 'bob:builder'))).toBe(401);
    // Bad credentials: the token server itself says 401.
    expect((await curl(`${reg.realm}?service=x&scope=repository:a:pull`, ['-u', 'bob:nope'])).status).toBe(401);
    // skopeo (anonymous) runs the whole challenge → token → retry flow.
    const anonInspect = await execa('skopeo', ['inspect', '--tls-verify=false', '--no-creds', `docker://${reg.host}/public/alpine:latest`], { reject: false });
    expect(anonInspect.exitCode, anonInspect.stderr).toBe(0);
  });

  it('corruptBlob and truncateBlob change what the registry serves', async () => {
    const reg = await start();
    await pushImage(alpine.layoutDir, reg, 'library/alpine:latest');
    const [, two, three] = alpine.layers;
    const url = (d: string) => `${reg.url}/v2/library/alpine/blobs/${d}`;
    const before = await curl(url(two.digest), ['-L']);
    expect(hex(before.body)).toBe(two.digest);

    corruptBlob(reg, two.digest);
    const after = await curl(url(two.digest), ['-L']);
    expect(after.status).toBe(200);
    expect(after.body.length).toBe(two.size);
    expect(hex(after.body)).not.toBe(two.digest);

    truncateBlob(reg, three.digest, 10);
    const cut = await curl(url(three.digest), ['-L']);
    expect(cut.status).toBe(200);
    expect(cut.body.length).toBe(10);
  });

  it('pushRaw stores a crafted manifest and blobs exactly as given', async () => {
    const reg = await start({ auth: 'htpasswd' });
    const layer = Buffer.from('not even a tar');
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: sha256(config), size: config.length },
        // A lying size: skopeo would refuse to copy this, the registry stores it.
        layers: [{ mediaType: MT.ociLayer, digest: sha256(layer), size: 999 }],
      }),
    );
    const digest = await pushRaw(reg, 'crafted/lies', { manifest, mediaType: MT.ociManifest, blobs: [config, layer], tag: 'v1' });
    expect(digest).toBe(sha256(manifest));
    const got = await curl(`${reg.url}/v2/crafted/lies/manifests/v1`, ['-u', reg.creds, ...ACCEPT]);
    expect(got.status).toBe(200);
    expect(got.body.equals(manifest)).toBe(true);
    const blob = await curl(`${reg.url}/v2/crafted/lies/blobs/${sha256(layer)}`, ['-L', '-u', reg.creds]);
    expect(blob.body.equals(layer)).toBe(true);
  });

  it('buildImage takes raw tar layers and uncompressed layers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-img-'));
    temps.push(dir);
    const raw = (await execa('tar', ['--numeric-owner', '-C', busybox(), '-c', './etc/passwd'], { encoding: 'buffer' })).stdout;
    const img = buildImage(join(dir, 'layout'), { layers: [Buffer.from(raw)], compression: 'none', config: { Cmd: ['true'] }, tag: 'raw' });
    expect(img.layers[0]).toMatchObject({ mediaType: MT.ociLayer, diffId: img.layers[0].digest, size: raw.length });
    const reg = await start();
    expect(await pushImage(img.layoutDir, reg, 'raw/image:raw', { layoutTag: 'raw' })).toBe(img.manifestDigest);
    const info = (await skopeoInspect(reg, 'raw/image:raw')) as { Layers: string[] };
    expect(info.Layers).toEqual([sha256(Buffer.from(raw))]);
  });
});
