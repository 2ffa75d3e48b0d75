// The registry client against fake registries (node:http on 127.0.0.1).
// Nothing here contacts a non-loopback address: Docker Hub is a fetch
// wrapper that rewrites registry-1.docker.io to a local server.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Descriptor } from '../../src/image/manifest.js';
import {
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
} from '../../src/image/media-types.js';
import { hostPlatform } from '../../src/image/platform.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import { StaticCredentials } from '../../src/image/registry/credentials.js';
import { endpointsFor } from '../../src/image/registry/hosts.js';
import { rejection } from '../helpers/expect-error.js';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const servers: http.Server[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-regclient-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) s.closeAllConnections();
  await rm(dir, { recursive: true, force: true });
});

interface Req {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

type Hook = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => boolean;

/** A minimal distribution API: manifests by tag/digest, blobs with Range support. */
async function fakeRegistry() {
  const reg = {
    host: '',
    requests: [] as Req[],
    manifests: new Map<string, { body: Buffer; type: string; headers?: Record<string, string> }>(),
    blobs: new Map<string, Buffer>(),
    /** Runs before the default handling; return true when it answered. `n` counts requests for that path. */
    hook: undefined as Hook | undefined,
    ignoreRange: false,
    counts: new Map<string, number>(),
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    reg.requests.push({ method: req.method!, path: url.pathname, headers: req.headers });
    const n = (reg.counts.get(url.pathname) ?? 0) + 1;
    reg.counts.set(url.pathname, n);
    if (reg.hook?.(req, res, n)) return;
    let m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
    if (m) {
      const found = reg.manifests.get(`${m[1]}:${m[2]}`);
      if (!found) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
        return;
      }
      res.writeHead(200, { 'content-type': found.type, 'content-length': found.body.length, ...found.headers });
      res.end(found.body);
      return;
    }
    m = /^\/v2\/(.+)\/blobs\/(.+)$/.exec(url.pathname);
    const blob = m ? reg.blobs.get(m[2]!) : undefined;
    if (!blob) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] }));
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !reg.ignoreRange) {
      const start = Number(range[1]);
      res.writeHead(206, { 'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}`, 'content-length': blob.length - start });
      res.end(blob.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
    res.end(blob);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  reg.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return reg;
}
type Fake = Awaited<ReturnType<typeof fakeRegistry>>;

/** Puts a one-layer image (and an index over it) in the fake; returns descriptors. */
function addImage(reg: Fake, repo: string, tag: string, opts: { layer?: Buffer; arch?: string } = {}) {
  const config = Buffer.from(JSON.stringify({ architecture: opts.arch ?? 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = opts.layer ?? Buffer.from('layer-bytes-'.repeat(1000));
  reg.blobs.set(sha(config), config);
  reg.blobs.set(sha(layer), layer);
  const configDesc: Descriptor = { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: sha(config), size: config.length };
  const layerDesc: Descriptor = { mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: sha(layer), size: layer.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_MANIFEST, config: configDesc, layers: [layerDesc] }));
  reg.manifests.set(`${repo}:${sha(manifest)}`, { body: manifest, type: MEDIA_TYPE_OCI_MANIFEST });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_INDEX,
      manifests: [
        { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: 'sha256:' + '0'.repeat(64), size: 10, platform: { os: 'linux', architecture: 's390x' } },
        { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: sha(manifest), size: manifest.length, platform: { os: 'linux', architecture: opts.arch ?? 'amd64' } },
      ],
    }),
  );
  reg.manifests.set(`${repo}:${sha(index)}`, { body: index, type: MEDIA_TYPE_OCI_INDEX });
  reg.manifests.set(`${repo}:${tag}`, { body: index, type: MEDIA_TYPE_OCI_INDEX });
  return { config, configDesc, layer, layerDesc, manifest, index };
}

const amd64 = { os: 'linux', architecture: 'amd64' };
function client(extra: ConstructorParameters<typeof RegistryClient>[0] = {}) {
  return new RegistryClient({ retry: { attempts: 4, baseDelayMs: 1 }, ...extra });
}

describe('endpointsFor', () => {
  it('Docker Hub: mirrors first, then registry-1.docker.io over https only', () => {
    expect(endpointsFor('docker.io', { mirrors: ['http://127.0.0.1:5000/', 'mirror.example'] })).toEqual([
      { baseUrl: 'http://127.0.0.1:5000', host: '127.0.0.1:5000', isMirror: true, insecureAllowed: true, fallbackOnly: false },
      { baseUrl: 'https://mirror.example', host: 'mirror.example', isMirror: true, insecureAllowed: false, fallbackOnly: false },
      { baseUrl: 'https://registry-1.docker.io', host: 'registry-1.docker.io', isMirror: false, insecureAllowed: false, fallbackOnly: false },
    ]);
  });

  it('mirrors apply only to Docker Hub', () => {
    expect(endpointsFor('ghcr.io', { mirrors: ['http://127.0.0.1:5000'] }).map((e) => e.baseUrl)).toEqual(['https://ghcr.io']);
  });

  it('loopback registries get an http fallback after https; remote ones only if configured insecure', () => {
    for (const host of ['127.0.0.1:5000', '127.1.2.3', 'localhost:5000', 'localhost', '[::1]:5000']) {
      expect(endpointsFor(host).map((e) => [e.baseUrl, e.fallbackOnly])).toEqual([
        [`https://${host}`, false],
        [`http://${host}`, true],
      ]);
    }
    expect(endpointsFor('registry.example.com:5000').map((e) => e.baseUrl)).toEqual(['https://registry.example.com:5000']);
    expect(endpointsFor('10.0.0.1:5000').map((e) => e.baseUrl)).toEqual(['https://10.0.0.1:5000']);
    const cfg = { insecure: ['registry.example.com:5000', 'other.example'] };
    expect(endpointsFor('registry.example.com:5000', cfg).map((e) => e.baseUrl)).toEqual([
      'https://registry.example.com:5000',
      'http://registry.example.com:5000',
    ]);
    expect(endpointsFor('registry.example.com:6000', cfg)).toHaveLength(1);
    expect(endpointsFor('other.example:7000', cfg)).toHaveLength(2); // an entry without port covers all ports
  });
});

describe('connection failures', () => {
  it('a refused connection to a remote registry is REGISTRY_UNREACHABLE naming the host, with no http attempt', async () => {
    const urls: string[] = [];
    const fakeFetch = (async (input: URL | RequestInfo) => {
      urls.push(String(input));
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }) as typeof fetch;
    const err = await rejection(client({ fetch: fakeFetch }).getManifest(parseReference('registry.example.com/app'), 'latest'));
    expect(err.code).toBe('REGISTRY_UNREACHABLE');
    expect(err.message).toContain('registry.example.com');
    expect(err.message).toContain('ECONNREFUSED');
    expect(urls).toEqual(['https://registry.example.com/v2/app/manifests/latest']);
  });

  it('DNS failure likewise', async () => {
    const fakeFetch = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND nohost.invalid'), { code: 'ENOTFOUND' }) });
    }) as typeof fetch;
    const err = await rejection(client({ fetch: fakeFetch }).getManifest(parseReference('nohost.invalid/app'), 'latest'));
    expect(err.code).toBe('REGISTRY_UNREACHABLE');
    expect(err.message).toMatch(/nohost\.invalid.*ENOTFOUND/);
  });

  it('a plain-http registry on 127.0.0.1 is reached after https fails, and remembered', async () => {
    const reg = await fakeRegistry();
    addImage(reg, 'app', 'v1');
    const urls: string[] = [];
    const recording = ((input: URL | RequestInfo, init?: RequestInit) => {
      urls.push(String(input));
      return fetch(input, init);
    }) as typeof fetch;
    const c = client({ fetch: recording });
    const ref = parseReference(`${reg.host}/app:v1`);
    await c.resolve(ref, amd64);
    expect(urls.filter((u) => u.startsWith('https://'))).toHaveLength(1);
    expect(urls.filter((u) => u.startsWith('http://'))).toHaveLength(2);
  });

  it('a closed loopback port is REGISTRY_UNREACHABLE', async () => {
    const reg = await fakeRegistry();
    const host = reg.host;
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    const err = await rejection(client().getManifest(parseReference(`${host}/app`), 'latest'));
    expect(err.code).toBe('REGISTRY_UNREACHABLE');
    expect(err.message).toContain(host);
  });
});

describe('manifests', () => {
  it('resolve follows an index to this platform’s manifest', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'ns/app', 'v1');
    const r = await client().resolve(parseReference(`${reg.host}/ns/app:v1`), amd64);
    expect(r.indexDigest).toBe(sha(img.index));
    expect(r.indexBytes!.equals(img.index)).toBe(true);
    expect(r.manifestDigest).toBe(sha(img.manifest));
    expect(r.manifestBytes.equals(img.manifest)).toBe(true);
    expect(r.manifestMediaType).toBe(MEDIA_TYPE_OCI_MANIFEST);
    expect(r.config).toEqual(img.configDesc);
    expect(r.layers).toEqual([img.layerDesc]);
    expect(r.endpoint).toBe(`http://${reg.host}`);
    const accept = reg.requests.find((q) => q.path.endsWith('/manifests/v1'))!.headers.accept!;
    expect(accept).toContain(MEDIA_TYPE_OCI_INDEX);
    expect(accept).toContain('application/vnd.docker.distribution.manifest.v1+prettyjws');
  });

  it('resolve by digest, and of a plain manifest', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    const byIndex = await client().resolve(parseReference(`${reg.host}/app@${sha(img.index)}`), amd64);
    expect(byIndex.manifestDigest).toBe(sha(img.manifest));
    const direct = await client().resolve(parseReference(`${reg.host}/app:x@${sha(img.manifest)}`), amd64);
    expect(direct.indexDigest).toBeUndefined();
    expect(direct.manifestDigest).toBe(sha(img.manifest));
  });

  it('PLATFORM_NOT_FOUND lists the platforms', async () => {
    const reg = await fakeRegistry();
    addImage(reg, 'app', 'v1');
    const err = await rejection(client().resolve(parseReference(`${reg.host}/app:v1`), hostPlatform('arm64')));
    expect(err.code).toBe('PLATFORM_NOT_FOUND');
    expect(err.message).toMatch(/linux\/arm64\/v8.*available: linux\/s390x, linux\/amd64/);
  });

  it('refuses schema 1 clearly', async () => {
    const reg = await fakeRegistry();
    reg.manifests.set('old:1', { body: Buffer.from('{"schemaVersion":1,"name":"old","tag":"1","fsLayers":[]}'), type: 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
    const err = await rejection(client().resolve(parseReference(`${reg.host}/old:1`), amd64));
    expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(err.message).toContain('deprecated Docker schema 1');
  });

  it('verifies the digest when pulling by digest, and Docker-Content-Digest', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    const wrong = sha(Buffer.from('other'));
    reg.manifests.set(`app:${wrong}`, { body: img.manifest, type: MEDIA_TYPE_OCI_MANIFEST });
    const e1 = await rejection(client().getManifest(parseReference(`${reg.host}/app`), wrong));
    expect(e1.code).toBe('DIGEST_MISMATCH');
    reg.manifests.set('app:lying', { body: img.manifest, type: MEDIA_TYPE_OCI_MANIFEST, headers: { 'docker-content-digest': wrong } });
    const e2 = await rejection(client().getManifest(parseReference(`${reg.host}/app`), 'lying'));
    expect(e2.code).toBe('DIGEST_MISMATCH');
    reg.manifests.set('app:honest', { body: img.manifest, type: MEDIA_TYPE_OCI_MANIFEST, headers: { 'docker-content-digest': sha(img.manifest) } });
    const ok = await client().getManifest(parseReference(`${reg.host}/app`), 'honest');
    expect(ok.digest).toBe(sha(img.manifest));
  });

  it('refuses manifests over 4 MiB', async () => {
    const reg = await fakeRegistry();
    reg.manifests.set('big:1', { body: Buffer.alloc(5 << 20, 0x20), type: MEDIA_TYPE_OCI_MANIFEST });
    const err = await rejection(client().getManifest(parseReference(`${reg.host}/big`), '1'));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toMatch(/larger than/);
  });

  it('a child manifest whose content type disagrees with its mediaType is refused', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    reg.manifests.set(`app:${sha(img.manifest)}`, { body: img.manifest, type: MEDIA_TYPE_DOCKER_MANIFEST });
    const err = await rejection(client().resolve(parseReference(`${reg.host}/app:v1`), amd64));
    expect(err.code).toBe('MANIFEST_INVALID');
  });

  it('404 is IMAGE_NOT_FOUND in Docker’s words', async () => {
    const reg = await fakeRegistry();
    const e1 = await rejection(client().getManifest(parseReference(`${reg.host}/app`), 'nope'));
    expect(e1.code).toBe('IMAGE_NOT_FOUND');
    expect(e1.message).toBe(`manifest for ${reg.host}/app:nope not found: MANIFEST_UNKNOWN: manifest unknown`);
    reg.hook = (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
      return true;
    };
    const e2 = await rejection(client().getManifest(parseReference(`${reg.host}/ghost`), 'latest'));
    expect(e2.code).toBe('IMAGE_NOT_FOUND');
    expect(e2.message).toMatch(/repository .*\/ghost not found: it does not exist or may require authentication/);
  });

  it('retries 5xx and 429, then succeeds', async () => {
    const reg = await fakeRegistry();
    addImage(reg, 'app', 'v1');
    reg.hook = (req, res, n) => {
      if (!req.url!.endsWith('/manifests/v1') || n > 2) return false;
      res.writeHead(n === 1 ? 503 : 429).end();
      return true;
    };
    await client().getManifest(parseReference(`${reg.host}/app`), 'v1');
    expect(reg.counts.get('/v2/app/manifests/v1')).toBe(3);
  });

  it('a persistent 500 is REGISTRY_ERROR with the status and the registry’s error', async () => {
    const reg = await fakeRegistry();
    reg.hook = (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'storage backend down' }] }));
      return true;
    };
    const err = await rejection(client().getManifest(parseReference(`${reg.host}/app`), 'v1'));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toMatch(/500 .*UNKNOWN: storage backend down/);
    expect(reg.counts.get('/v2/app/manifests/v1')).toBe(4);
  });
});

describe('blobs', () => {
  it('getBlob verifies digest and size', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    const ref = parseReference(`${reg.host}/app`);
    expect((await client().getBlob(ref, img.configDesc)).equals(img.config)).toBe(true);
    reg.blobs.set(img.configDesc.digest, Buffer.from(img.config.toString().replace('amd64', 'arm64')));
    expect((await rejection(client().getBlob(ref, img.configDesc))).code).toBe('DIGEST_MISMATCH');
    reg.blobs.set(img.configDesc.digest, Buffer.concat([img.config, Buffer.from('x')]));
    expect((await rejection(client().getBlob(ref, img.configDesc))).code).toBe('DIGEST_MISMATCH');
  });

  it('downloadBlob streams, verifies and reports progress', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1', { layer: Buffer.alloc(300_000, 7) });
    const dest = path.join(dir, 'blob.partial');
    const progress: number[] = [];
    await client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest, { onProgress: (n) => progress.push(n) });
    expect((await readFile(dest)).equals(img.layer)).toBe(true);
    expect(progress.at(-1)).toBe(img.layer.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('a digest mismatch deletes the file', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    reg.blobs.set(img.layerDesc.digest, Buffer.alloc(img.layer.length, 1));
    const dest = path.join(dir, 'blob.partial');
    const err = await rejection(client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(existsSync(dest)).toBe(false);
  });

  it('a blob longer than its descriptor is a mismatch, file deleted', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    reg.blobs.set(img.layerDesc.digest, Buffer.concat([img.layer, Buffer.from('extra')]));
    const dest = path.join(dir, 'blob.partial');
    expect((await rejection(client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest))).code).toBe('DIGEST_MISMATCH');
    expect(existsSync(dest)).toBe(false);
  });

  /** First request for the blob: send half, then drop the connection. */
  function truncateFirst(reg: Fake, blob: Buffer): Hook {
    return (req, res, n) => {
      if (!req.url!.includes('/blobs/') || n !== 1) return false;
      res.writeHead(200, { 'content-length': blob.length });
      res.write(blob.subarray(0, blob.length / 2), () => setTimeout(() => res.destroy(), 20));
      return true;
    };
  }

  it('a dropped connection is resumed with a Range request (206)', async () => {
    const reg = await fakeRegistry();
    const layer = Buffer.alloc(200_000);
    for (let i = 0; i < layer.length; i++) layer[i] = i % 251;
    const img = addImage(reg, 'app', 'v1', { layer });
    reg.hook = truncateFirst(reg, layer);
    const dest = path.join(dir, 'blob.partial');
    await client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest);
    expect((await readFile(dest)).equals(layer)).toBe(true);
    const blobReqs = reg.requests.filter((r) => r.path.includes('/blobs/'));
    expect(blobReqs).toHaveLength(2);
    expect(blobReqs[0]!.headers.range).toBeUndefined();
    expect(blobReqs[1]!.headers.range).toBe(`bytes=${layer.length / 2}-`);
  });

  it('a server that answers 200 to a Range request is followed from the start', async () => {
    const reg = await fakeRegistry();
    const layer = Buffer.alloc(200_000);
    for (let i = 0; i < layer.length; i++) layer[i] = (i * 7) % 253;
    const img = addImage(reg, 'app', 'v1', { layer });
    reg.hook = truncateFirst(reg, layer);
    reg.ignoreRange = true;
    const dest = path.join(dir, 'blob.partial');
    await client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest);
    expect((await readFile(dest)).equals(layer)).toBe(true);
  });

  it('5xx is retried, then the download succeeds', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    reg.hook = (req, res, n) => {
      if (!req.url!.includes('/blobs/') || n > 2) return false;
      res.writeHead(502).end('bad gateway');
      return true;
    };
    const dest = path.join(dir, 'blob.partial');
    await client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest);
    expect((await readFile(dest)).equals(img.layer)).toBe(true);
    expect(reg.requests.filter((r) => r.path.includes('/blobs/'))).toHaveLength(3);
  });

  it('gives up after the configured attempts', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    reg.hook = (req, res) => {
      if (!req.url!.includes('/blobs/')) return false;
      res.writeHead(503).end();
      return true;
    };
    const err = await rejection(client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, path.join(dir, 'b')));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toContain('503');
    expect(reg.requests.filter((r) => r.path.includes('/blobs/'))).toHaveLength(4);
  });

  it('resumes from bytes a killed pull left in destPath', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    const dest = path.join(dir, 'blob.partial');
    await writeFile(dest, img.layer.subarray(0, 5000));
    const progress: number[] = [];
    await client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest, { onProgress: (n) => progress.push(n) });
    expect((await readFile(dest)).equals(img.layer)).toBe(true);
    expect(reg.requests.filter((r) => r.path.includes('/blobs/')).map((r) => r.headers.range)).toEqual(['bytes=5000-']);
    expect(progress[0]).toBeGreaterThan(5000);
  });

  it('a complete file already in place is verified without a request; a corrupt leftover is replaced', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    const dest = path.join(dir, 'blob.partial');
    await writeFile(dest, img.layer);
    await client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest);
    expect(reg.requests.filter((r) => r.path.includes('/blobs/'))).toHaveLength(0);

    await writeFile(dest, Buffer.alloc(3000, 9)); // not a prefix of the blob
    await client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest);
    expect((await readFile(dest)).equals(img.layer)).toBe(true);
  });

  it('an abort stops the download and keeps the partial file', async () => {
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1', { layer: Buffer.alloc(100_000, 3) });
    reg.hook = (req, res) => {
      if (!req.url!.includes('/blobs/')) return false;
      res.writeHead(200, { 'content-length': img.layer.length });
      res.write(img.layer.subarray(0, 1000)); // and then nothing
      return true;
    };
    const ac = new AbortController();
    const dest = path.join(dir, 'blob.partial');
    const p = client().downloadBlob(parseReference(`${reg.host}/app`), img.layerDesc, dest, {
      signal: ac.signal,
      onProgress: (n) => n >= 1000 && ac.abort(),
    });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect((await readFile(dest)).length).toBe(1000);
  });

  it('a redirect to another origin does not carry the registry’s Authorization', async () => {
    const storage = await fakeRegistry();
    const reg = await fakeRegistry();
    const img = addImage(reg, 'app', 'v1');
    storage.hook = (_req, res) => {
      res.writeHead(200, { 'content-length': img.config.length }).end(img.config);
      return true;
    };
    reg.hook = (req, res) => {
      if (req.headers.authorization !== 'Basic ' + Buffer.from('u:p').toString('base64')) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        return true;
      }
      if (!req.url!.includes('/blobs/')) return false;
      res.writeHead(307, { location: `http://${storage.host}/bucket/blob?sig=1` }).end();
      return true;
    };
    const c = client({ credentials: new StaticCredentials({ [reg.host]: { username: 'u', password: 'p' } }) });
    const got = await c.getBlob(parseReference(`${reg.host}/app`), img.configDesc);
    expect(got.equals(img.config)).toBe(true);
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]!.path).toBe('/bucket/blob');
    expect(storage.requests[0]!.headers.authorization).toBeUndefined();
  });
});

describe('Docker Hub mirrors', () => {
  /** fetch that sends registry-1.docker.io to a local server and refuses any other non-loopback host. */
  function hubFetch(upstreamHost: string, urls: string[]): typeof fetch {
    return ((input: URL | RequestInfo, init?: RequestInit) => {
      const u = new URL(String(input));
      urls.push(u.href);
      if (u.host === 'registry-1.docker.io') return fetch(`http://${upstreamHost}${u.pathname}${u.search}`, init);
      if (u.hostname !== '127.0.0.1') throw new Error(`test tried to reach ${u.host}`);
      return fetch(input, init);
    }) as typeof fetch;
  }

  it('a mirror’s 404 falls through to Docker Hub; what the mirror has comes from the mirror', async () => {
    const mirror = await fakeRegistry();
    const upstream = await fakeRegistry();
    const img = addImage(upstream, 'library/alpine', 'latest');
    mirror.blobs.set(img.layerDesc.digest, img.layer); // the mirror has only the layer
    const urls: string[] = [];
    const c = client({ hosts: { mirrors: [`http://${mirror.host}`] }, fetch: hubFetch(upstream.host, urls) });
    const ref = parseReference('alpine');
    const r = await c.resolve(ref, amd64);
    expect(r.endpoint).toBe('https://registry-1.docker.io');
    expect(mirror.requests.map((q) => q.path)).toContain('/v2/library/alpine/manifests/latest');
    await c.downloadBlob(ref, r.layers[0]!, path.join(dir, 'l'));
    expect(upstream.requests.filter((q) => q.path.includes('/blobs/'))).toHaveLength(0);
    expect(mirror.requests.filter((q) => q.path.includes('/blobs/'))).toHaveLength(1);
    expect(urls.every((u) => u.startsWith(`http://${mirror.host}/`) || u.startsWith('https://registry-1.docker.io/'))).toBe(true);
  });

  it('an unreachable mirror falls through to Docker Hub', async () => {
    const dead = await fakeRegistry();
    const deadHost = dead.host;
    servers.pop()!.close();
    const upstream = await fakeRegistry();
    addImage(upstream, 'library/alpine', 'latest');
    const urls: string[] = [];
    const c = client({ hosts: { mirrors: [`http://${deadHost}`] }, fetch: hubFetch(upstream.host, urls) });
    const r = await c.resolve(parseReference('alpine'), amd64);
    expect(r.layers).toHaveLength(1);
    expect(urls[0]).toBe(`http://${deadHost}/v2/library/alpine/manifests/latest`);
  });

  it('when upstream fails too, its error is reported', async () => {
    const mirror = await fakeRegistry();
    const upstream = await fakeRegistry();
    const c = client({ hosts: { mirrors: [`http://${mirror.host}`] }, fetch: hubFetch(upstream.host, []) });
    const err = await rejection(c.getManifest(parseReference('alpine'), 'latest'));
    expect(err.code).toBe('IMAGE_NOT_FOUND');
    expect(err.message).toContain('manifest for alpine:latest not found');
  });
});

// Silence "unused" for types only used in some runs.
void MEDIA_TYPE_DOCKER_CONFIG;
void MEDIA_TYPE_DOCKER_LAYER_GZIP;

describe('connections (the default fetch: http-fetch.ts on node:http)', () => {
  it("a pull's requests share one kept-alive connection; a manifest sent gzip-encoded is decoded before its digest is checked", async () => {
    const reg = await fakeRegistry();
    let connections = 0;
    servers[servers.length - 1]!.on('connection', () => connections++);
    const img = addImage(reg, 'app', 'v1');
    // The index under its tag, gzip-encoded as a proxy in front of a registry may send it when asked.
    const gz = gzipSync(img.index);
    reg.hook = (req, res) => {
      if (req.url !== '/v2/app/manifests/v1' || !/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return false;
      res.writeHead(200, { 'content-type': MEDIA_TYPE_OCI_INDEX, 'content-encoding': 'gzip', 'content-length': gz.length });
      res.end(gz);
      return true;
    };
    const c = client();
    const ref = parseReference(`${reg.host}/app:v1`);
    const resolved = await c.resolve(ref, amd64);
    expect([resolved.indexDigest, resolved.manifestDigest]).toEqual([sha(img.index), sha(img.manifest)]);
    expect((await c.getBlob(ref, resolved.config)).equals(img.config)).toBe(true);
    await c.downloadBlob(ref, resolved.layers[0]!, path.join(dir, 'layer'));
    expect((await readFile(path.join(dir, 'layer'))).equals(img.layer)).toBe(true);
    // The https attempt (refused: the server speaks plain http), then one connection for the four requests.
    expect(reg.requests).toHaveLength(4);
    expect(connections).toBe(2);
  });
});
