// The push client (upload.ts) and pushImage against a fake registry
// (node:http on 127.0.0.1) that keeps blobs per repository, runs upload
// sessions with monolithic and chunked uploads, mounts, and can be told to
// misbehave: Location styles, 5xx answers, a token service in trouble,
// refusals. Nothing leaves loopback.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MEDIA_TYPE_DOCKER_CONFIG, MEDIA_TYPE_DOCKER_LAYER_GZIP, MEDIA_TYPE_DOCKER_MANIFEST } from '../../src/image/media-types.js';
import { pushImage, type PushEvent } from '../../src/image/push.js';
import { parseReference } from '../../src/image/reference.js';
import { StaticCredentials } from '../../src/image/registry/credentials.js';
import { endpointsFor, isTlsCertificateError } from '../../src/image/registry/hosts.js';
import { RegistryPushClient, resolveLocation, withQueryParam, type RegistryPushClientOptions } from '../../src/image/registry/upload.js';
import { ContentStore } from '../../src/image/store/content.js';
import { ImageIndex } from '../../src/image/store/image-index.js';
import type { Locker } from '../../src/util/lock.js';
import { rejection } from '../helpers/expect-error.js';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const servers: http.Server[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-upload-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) s.closeAllConnections();
  await rm(dir, { recursive: true, force: true });
});

interface Req {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type Hook = (req: Req, res: http.ServerResponse) => boolean;

interface FakeOptions {
  /** How upload Locations are written. */
  location?: 'relative' | 'absolute' | 'query';
  /** What a mount request answers when the source has the blob. */
  mount?: 201 | 202;
  /** Require a Bearer token from /token (which can be told to fail). */
  bearer?: boolean;
  /** Require Basic credentials user:pass. */
  basic?: string;
}

/** A push-capable fake registry. `hook` runs first and may answer any request itself. */
async function fakeRegistry(opts: FakeOptions = {}) {
  const reg = {
    host: '',
    requests: [] as Req[],
    blobs: new Map<string, Buffer>(),
    /** repository → digests it holds */
    repos: new Map<string, Set<string>>(),
    manifests: new Map<string, { body: Buffer; type: string }>(),
    uploads: new Map<string, { repo: string; data: Buffer[] }>(),
    hook: undefined as Hook | undefined,
    tokenHook: undefined as ((n: number, res: http.ServerResponse) => boolean) | undefined,
    tokenRequests: [] as URL[],
    has(repo: string, digest: string) {
      return this.repos.get(repo)?.has(digest) ?? false;
    },
    add(repo: string, blob: Buffer) {
      this.blobs.set(sha(blob), blob);
      if (!this.repos.has(repo)) this.repos.set(repo, new Set());
      this.repos.get(repo)!.add(sha(blob));
    },
  };
  let sessions = 0;
  const json = (res: http.ServerResponse, status: number, errors: Array<{ code: string; message: string }>, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ errors }));
  };
  const locationFor = (repo: string, id: string) => {
    const p = `/v2/${repo}/blobs/uploads/${id}`;
    if (opts.location === 'absolute') return `http://${reg.host}${p}`;
    if (opts.location === 'query') return `${p}?_state=${encodeURIComponent('a+b/c==')}`;
    return p;
  };
  const server = http.createServer((rq, res) => {
    const chunks: Buffer[] = [];
    rq.on('data', (c: Buffer) => chunks.push(c));
    rq.on('end', () => {
      const req: Req = { method: rq.method!, url: rq.url!, headers: rq.headers, body: Buffer.concat(chunks) };
      reg.requests.push(req);
      const url = new URL(req.url, `http://${reg.host}`);
      if (url.pathname === '/token') {
        reg.tokenRequests.push(url);
        if (reg.tokenHook?.(reg.tokenRequests.length, res)) return;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'good-token' }));
        return;
      }
      if (reg.hook?.(req, res)) return;
      if (opts.bearer && req.headers.authorization !== 'Bearer good-token') {
        json(res, 401, [{ code: 'UNAUTHORIZED', message: 'authentication required' }], {
          'www-authenticate': `Bearer realm="http://${reg.host}/token",service="fake"`,
        });
        return;
      }
      if (opts.basic && req.headers.authorization !== `Basic ${Buffer.from(opts.basic).toString('base64')}`) {
        json(res, 401, [{ code: 'UNAUTHORIZED', message: 'authentication required' }], { 'www-authenticate': 'Basic realm="fake"' });
        return;
      }
      let m = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(url.pathname);
      if (m && req.method === 'POST') {
        const repo = m[1]!;
        const mount = url.searchParams.get('mount');
        const from = url.searchParams.get('from');
        if (mount && from && reg.has(from, mount) && (opts.mount ?? 201) === 201) {
          reg.add(repo, reg.blobs.get(mount)!);
          res.writeHead(201, { location: `/v2/${repo}/blobs/${mount}`, 'docker-content-digest': mount }).end();
          return;
        }
        const id = `s${++sessions}`;
        reg.uploads.set(id, { repo, data: [] });
        res.writeHead(202, { location: locationFor(repo, id), 'docker-upload-uuid': id, range: '0-0' }).end();
        return;
      }
      m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(url.pathname);
      if (m) {
        const up = reg.uploads.get(m[2]!);
        if (!up) return json(res, 404, [{ code: 'BLOB_UPLOAD_UNKNOWN', message: 'blob upload unknown' }]);
        if (opts.location === 'query' && url.searchParams.get('_state') !== 'a+b/c==') {
          return json(res, 400, [{ code: 'BLOB_UPLOAD_INVALID', message: 'lost _state' }]);
        }
        if (req.method === 'DELETE') {
          reg.uploads.delete(m[2]!);
          res.writeHead(204).end();
          return;
        }
        if (req.method === 'PATCH') {
          const have = up.data.reduce((a, b) => a + b.length, 0);
          const range = /^(\d+)-(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
          if (!range || Number(range[1]) !== have || Number(range[2]) !== have + req.body.length - 1) {
            res.writeHead(416).end();
            return;
          }
          up.data.push(req.body);
          res.writeHead(202, { location: locationFor(up.repo, m[2]!), range: `0-${have + req.body.length - 1}` }).end();
          return;
        }
        if (req.method === 'PUT') {
          up.data.push(req.body);
          const all = Buffer.concat(up.data);
          const digest = url.searchParams.get('digest');
          if (digest !== sha(all)) return json(res, 400, [{ code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' }]);
          reg.uploads.delete(m[2]!);
          reg.add(up.repo, all);
          res.writeHead(201, { location: `/v2/${up.repo}/blobs/${digest}`, 'docker-content-digest': digest }).end();
          return;
        }
      }
      m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
      if (m && req.method === 'HEAD') {
        if (reg.has(m[1]!, m[2]!)) res.writeHead(200, { 'content-length': reg.blobs.get(m[2]!)!.length, 'docker-content-digest': m[2]! }).end();
        else res.writeHead(404).end();
        return;
      }
      m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
      if (m && req.method === 'PUT') {
        reg.manifests.set(`${m[1]}:${m[2]}`, { body: req.body, type: String(req.headers['content-type']) });
        res.writeHead(201, { 'docker-content-digest': sha(req.body), location: `/v2/${m[1]}/manifests/${sha(req.body)}` }).end();
        return;
      }
      json(res, 404, [{ code: 'NOT_FOUND', message: `${req.method} ${url.pathname}` }]);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  reg.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return reg;
}
type Fake = Awaited<ReturnType<typeof fakeRegistry>>;

function client(extra: RegistryPushClientOptions = {}) {
  return new RegistryPushClient({ retry: { attempts: 4, baseDelayMs: 1 }, ...extra });
}

async function blobFile(bytes: Buffer) {
  const p = path.join(dir, sha(bytes).slice(7));
  await writeFile(p, bytes);
  return { digest: sha(bytes), size: bytes.length, path: p };
}

const pathsOf = (reg: Fake, method: string) => reg.requests.filter((r) => r.method === method).map((r) => r.url);

describe('Location headers', () => {
  it('resolve against the request URL, relative or absolute, keeping a query', () => {
    const base = 'http://127.0.0.1:5000/v2/a/blobs/uploads/';
    expect(resolveLocation('/v2/a/blobs/uploads/u1', base, 'x').toString()).toBe('http://127.0.0.1:5000/v2/a/blobs/uploads/u1');
    expect(resolveLocation('u2?_state=x%3D', base, 'x').toString()).toBe('http://127.0.0.1:5000/v2/a/blobs/uploads/u2?_state=x%3D');
    expect(resolveLocation('https://blobs.example/up/1?sig=a+b', base, 'x').toString()).toBe('https://blobs.example/up/1?sig=a+b');
    expect(withQueryParam(new URL('http://h/u?_state=a+b%2F'), 'digest', 'sha256:00').toString()).toBe('http://h/u?_state=a+b%2F&digest=sha256%3A00');
    expect(withQueryParam(new URL('http://h/u'), 'digest', 'sha256:00').toString()).toBe('http://h/u?digest=sha256%3A00');
    expect(() => resolveLocation(null, base, 'the upload')).toThrow(/without a Location/);
  });

  for (const style of ['relative', 'absolute', 'query'] as const) {
    it(`a ${style} Location is followed through POST and PUT`, async () => {
      const reg = await fakeRegistry({ location: style });
      const blob = Buffer.from(`blob for ${style}`);
      const ref = parseReference(`${reg.host}/team/app:1`);
      expect(await client().pushBlob(ref, await blobFile(blob))).toEqual({ status: 'pushed' });
      expect(reg.has('team/app', sha(blob))).toBe(true);
      const put = reg.requests.find((r) => r.method === 'PUT')!;
      expect(put.url).toContain(`digest=${encodeURIComponent(sha(blob))}`);
      if (style === 'query') expect(put.url).toMatch(/\?_state=a%2Bb%2Fc%3D%3D&digest=/);
    });
  }
});

describe('TLS for insecure registries', () => {
  it('skips certificate checks only for registries named in --insecure-registry, not for loopback by default', () => {
    expect(endpointsFor('127.0.0.1:5000').map((e) => [e.baseUrl, e.skipTlsVerify])).toEqual([
      ['https://127.0.0.1:5000', undefined],
      ['http://127.0.0.1:5000', undefined],
    ]);
    expect(endpointsFor('127.0.0.1:5000', { insecure: ['127.0.0.1:5000'] }).every((e) => e.skipTlsVerify)).toBe(true);
    expect(endpointsFor('reg.example:443', { insecure: ['reg.example'] })[0]).toMatchObject({ baseUrl: 'https://reg.example:443', skipTlsVerify: true });
    expect(isTlsCertificateError('DEPTH_ZERO_SELF_SIGNED_CERT')).toBe(true);
    expect(isTlsCertificateError('ECONNREFUSED')).toBe(false);
  });
});

describe('blobs', () => {
  it('HEAD finds a blob already there: nothing is uploaded', async () => {
    const reg = await fakeRegistry();
    const blob = Buffer.from('present');
    reg.add('team/app', blob);
    const out = await client().pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(blob));
    expect(out).toEqual({ status: 'exists' });
    expect(reg.requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('mounts from another repository (201), trying the candidates in order', async () => {
    const reg = await fakeRegistry();
    const blob = Buffer.from('mount me');
    reg.add('base/img', blob);
    const out = await client().pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(blob), { mountFrom: ['nowhere/x', 'base/img'] });
    expect(out).toEqual({ status: 'mounted', from: 'base/img' });
    expect(pathsOf(reg, 'POST')).toEqual([
      `/v2/team/app/blobs/uploads/?mount=${encodeURIComponent(sha(blob))}&from=nowhere%2Fx`,
      `/v2/team/app/blobs/uploads/?mount=${encodeURIComponent(sha(blob))}&from=base%2Fimg`,
    ]);
    expect(pathsOf(reg, 'PUT')).toEqual([]);
    // The 202 session the first mount opened is cancelled, not left behind.
    expect(reg.uploads.size).toBe(0);
  });

  it('a mount answered 202 falls back to a normal upload', async () => {
    const reg = await fakeRegistry({ mount: 202 });
    const blob = Buffer.from('no mounting here');
    reg.add('base/img', blob);
    const out = await client().pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(blob), { mountFrom: ['base/img'] });
    expect(out).toEqual({ status: 'pushed' });
    expect(reg.has('team/app', sha(blob))).toBe(true);
    expect(reg.uploads.size).toBe(0);
  });

  it('a blob above the threshold goes up in PATCH chunks with Content-Range, then an empty PUT', async () => {
    const reg = await fakeRegistry({ location: 'query' });
    const blob = Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251));
    const sent: number[] = [];
    const c = client({ chunkThreshold: 1000, chunkSize: 400 });
    await c.uploadBlob(parseReference(`${reg.host}/team/big`), await blobFile(blob), { onProgress: (n) => sent.push(n) });
    expect(reg.has('team/big', sha(blob))).toBe(true);
    const patches = reg.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => p.headers['content-range'])).toEqual(['0-399', '400-799', '800-1199', '1200-1499']);
    expect(patches.every((p) => p.headers['content-type'] === 'application/octet-stream')).toBe(true);
    const put = reg.requests.find((r) => r.method === 'PUT')!;
    expect(put.body.length).toBe(0);
    expect(sent.at(-1)).toBe(1500);
  });

  it('a blob at or below the threshold is one PUT with its bytes', async () => {
    const reg = await fakeRegistry();
    const blob = Buffer.alloc(1000, 7);
    await client({ chunkThreshold: 1000, chunkSize: 400 }).uploadBlob(parseReference(`${reg.host}/team/big`), await blobFile(blob));
    expect(pathsOf(reg, 'PATCH')).toEqual([]);
    const put = reg.requests.find((r) => r.method === 'PUT')!;
    expect(put.body.equals(blob)).toBe(true);
    expect(put.headers['content-length']).toBe('1000');
  });

  it('5xx answers are retried with backoff, restarting the upload', async () => {
    const reg = await fakeRegistry();
    let failures = 0;
    reg.hook = (req, res) => {
      if (req.method === 'PUT' && failures < 2) {
        failures++;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}');
        return true;
      }
      return false;
    };
    const blob = Buffer.from('flaky');
    expect(await client().pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(blob))).toEqual({ status: 'pushed' });
    expect(failures).toBe(2);
    expect(pathsOf(reg, 'POST')).toHaveLength(3);
    expect(reg.has('team/app', sha(blob))).toBe(true);
  });

  it('a dropped connection is retried too', async () => {
    const reg = await fakeRegistry();
    let dropped = false;
    reg.hook = (req, res) => {
      if (req.method === 'POST' && !dropped) {
        dropped = true;
        res.socket?.destroy();
        return true;
      }
      return false;
    };
    expect(await client().pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(Buffer.from('x')))).toEqual({ status: 'pushed' });
    expect(dropped).toBe(true);
  });

  it('gives up after the retries with the registry\'s words', async () => {
    const reg = await fakeRegistry();
    reg.hook = (req, res) => {
      if (req.method !== 'POST') return false;
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}');
      return true;
    };
    const err = await rejection(client().pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(Buffer.from('x'))));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toContain('disk on fire');
    expect(pathsOf(reg, 'POST')).toHaveLength(4);
  });
});

describe('auth', () => {
  it('asks the token service for pull,push (and pull on mount sources), retrying its 5xx', async () => {
    const reg = await fakeRegistry({ bearer: true });
    reg.tokenHook = (n, res) => {
      if (n > 2) return false;
      res.writeHead(503).end('busy');
      return true;
    };
    const blob = Buffer.from('behind a token');
    const out = await client().pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(blob), { mountFrom: ['base/img'] });
    expect(out).toEqual({ status: 'pushed' });
    expect(reg.tokenRequests).toHaveLength(3);
    expect(reg.tokenRequests[2]!.searchParams.getAll('scope')).toEqual(['repository:team/app:pull,push', 'repository:base/img:pull']);
  });

  it('a token service that keeps failing is a REGISTRY_ERROR naming it', async () => {
    const reg = await fakeRegistry({ bearer: true });
    reg.tokenHook = (_n, res) => {
      res.writeHead(502).end();
      return true;
    };
    const err = await rejection(client().blobExists(parseReference(`${reg.host}/team/app`), sha(Buffer.from('x'))));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toMatch(/token service 127\.0\.0\.1:\d+ answered 502/);
    expect(reg.tokenRequests).toHaveLength(4);
  });

  it('no credentials for a Basic registry: REGISTRY_UNAUTHORIZED, one clear line', async () => {
    const reg = await fakeRegistry({ basic: 'alice:pw' });
    const err = await rejection(client().pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(Buffer.from('x'))));
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(err.message).toBe(`push access denied for ${reg.host}/team/app: unauthorized: authentication required: run \`tsrun login ${reg.host}\``);
    const ok = await client({ credentials: new StaticCredentials({ [reg.host]: { username: 'alice', password: 'pw' } }) }).pushBlob(
      parseReference(`${reg.host}/team/app`),
      await blobFile(Buffer.from('x')),
    );
    expect(ok).toEqual({ status: 'pushed' });
  });

  it('403 with credentials: REGISTRY_DENIED with the registry\'s words', async () => {
    const reg = await fakeRegistry({ basic: 'alice:pw' });
    reg.hook = (req, res) => {
      if (req.method !== 'POST' || req.headers.authorization === undefined) return false;
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}');
      return true;
    };
    const c = client({ credentials: new StaticCredentials({ [reg.host]: { username: 'alice', password: 'pw' } }) });
    const err = await rejection(c.pushBlob(parseReference(`${reg.host}/team/app`), await blobFile(Buffer.from('x'))));
    expect(err.code).toBe('REGISTRY_DENIED');
    expect(err.message).toMatch(/^push access denied for 127\.0\.0\.1:\d+\/team\/app: denied: requested access to the resource is denied/);
  });
});

describe('manifests', () => {
  it('PUT with the manifest\'s own media type, bytes unchanged', async () => {
    const reg = await fakeRegistry();
    const bytes = Buffer.from('{\n   "schemaVersion": 2,\n   "mediaType": "' + MEDIA_TYPE_DOCKER_MANIFEST + '"\n}');
    const digest = await client().putManifest(parseReference(`${reg.host}/team/app`), 'v1', bytes, MEDIA_TYPE_DOCKER_MANIFEST, sha(bytes));
    expect(digest).toBe(sha(bytes));
    const stored = reg.manifests.get('team/app:v1')!;
    expect(stored.type).toBe(MEDIA_TYPE_DOCKER_MANIFEST);
    expect(stored.body.equals(bytes)).toBe(true);
  });

  it('a refused manifest is REGISTRY_ERROR with the registry\'s message', async () => {
    const reg = await fakeRegistry();
    reg.hook = (req, res) => {
      if (req.method !== 'PUT' || !req.url.includes('/manifests/')) return false;
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{}}]}');
      return true;
    };
    const bytes = Buffer.from('{}');
    const err = await rejection(client().putManifest(parseReference(`${reg.host}/team/app`), 'v1', bytes, MEDIA_TYPE_DOCKER_MANIFEST, sha(bytes)));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toBe(`${reg.host} refused the manifest of ${reg.host}/team/app:v1: manifest invalid: manifest invalid`);
  });
});

describe('pushImage', () => {
  const locker: Locker = (_p, fn) => fn();

  async function localImage(root: string) {
    const content = new ContentStore(root, locker);
    const index = new ImageIndex(root, locker);
    const layers = [Buffer.from('layer one'), Buffer.from('layer two')];
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(sha) } }));
    // Three-space indentation, as Docker writes it: pushed as is, never re-serialised.
    const manifest = Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: MEDIA_TYPE_DOCKER_MANIFEST,
          config: { mediaType: MEDIA_TYPE_DOCKER_CONFIG, size: config.length, digest: sha(config) },
          layers: layers.map((l) => ({ mediaType: MEDIA_TYPE_DOCKER_LAYER_GZIP, size: l.length, digest: sha(l) })),
        },
        null,
        3,
      ),
    );
    for (const b of [...layers, config, manifest]) await content.put(sha(b), b);
    return { content, index, layers, config, manifest };
  }

  it('pushes layers (top first in events), config and manifest, then records repo@digest once', async () => {
    const reg = await fakeRegistry();
    const img = await localImage(dir);
    reg.add('base/img', img.layers[0]!);
    const id = sha(img.config);
    await img.index.update((d) => {
      d.images[id] = {
        id,
        manifestDigest: sha(img.manifest),
        manifestMediaType: MEDIA_TYPE_DOCKER_MANIFEST,
        repoDigests: [`${reg.host}/base/img@${sha(img.manifest)}`, `docker.io/library/other@${sha(img.manifest)}`],
        layers: img.layers.map((l) => ({ diffId: sha(l), digest: sha(l), mediaType: MEDIA_TYPE_DOCKER_LAYER_GZIP, size: l.length })),
        added: new Date().toISOString(),
      };
      d.tags[`${reg.host}/team/app:v1`] = id;
    });
    const events: PushEvent[] = [];
    const result = await pushImage({ client: client(), content: img.content, index: img.index }, parseReference(`${reg.host}/team/app:v1`), {
      onEvent: (e) => events.push(e),
    });
    expect(result).toMatchObject({ reference: `${reg.host}/team/app:v1`, digest: sha(img.manifest), size: img.manifest.length, blobs: { existed: 0, mounted: 1, pushed: 2 } });
    expect(reg.manifests.get('team/app:v1')!.body.equals(img.manifest)).toBe(true);
    expect(events[0]).toEqual({ type: 'start', repository: `${reg.host}/team/app`, tag: 'v1', layers: [img.layers[1], img.layers[0]].map((l) => ({ id: sha(l!).slice(7, 19), size: l!.length })) });
    const lines = events.filter((e) => e.type === 'layer').map((e) => `${e.id}: ${e.status}${e.from ? ` ${e.from}` : ''}`);
    expect(lines).toContain(`${sha(img.layers[0]!).slice(7, 19)}: Mounted from base/img`);
    expect(lines).toContain(`${sha(img.layers[1]!).slice(7, 19)}: Pushed`);
    expect(events.at(-1)).toEqual({ type: 'pushed', repository: `${reg.host}/team/app`, tag: 'v1', digest: sha(img.manifest), size: img.manifest.length });
    // The config went up after every layer.
    const puts = reg.requests.filter((r) => r.method === 'PUT').map((r) => r.body);
    expect(puts.findIndex((b) => b.equals(img.config))).toBe(puts.length - 2);
    expect((await img.index.read()).images[id]!.repoDigests).toContain(`${reg.host}/team/app@${sha(img.manifest)}`);

    // Again: everything is there.
    const again = await pushImage({ client: client(), content: img.content, index: img.index }, parseReference(`${reg.host}/team/app:v1`));
    expect(again.blobs).toEqual({ existed: 3, mounted: 0, pushed: 0 });
  });

  it('a failed push changes nothing in the index; a missing local tag is Docker\'s message', async () => {
    const reg = await fakeRegistry();
    reg.hook = (req, res) => {
      if (req.method !== 'PUT' || !req.url.includes('/manifests/')) return false;
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}');
      return true;
    };
    const img = await localImage(dir);
    const id = sha(img.config);
    await img.index.update((d) => {
      d.images[id] = { id, manifestDigest: sha(img.manifest), manifestMediaType: MEDIA_TYPE_DOCKER_MANIFEST, repoDigests: [], layers: [], added: '' };
      d.tags[`${reg.host}/team/app:latest`] = id;
    });
    const before = JSON.stringify(await img.index.read());
    const deps = { client: client(), content: img.content, index: img.index };
    const err = await rejection(pushImage(deps, parseReference(`${reg.host}/team/app`)));
    expect(err.message).toContain('manifest invalid');
    expect(JSON.stringify(await img.index.read())).toBe(before);
    const missing = await rejection(pushImage(deps, parseReference(`${reg.host}/team/nothing:1`)));
    expect(missing.code).toBe('IMAGE_NOT_FOUND');
    expect(missing.message).toBe(`An image does not exist locally with the tag: ${reg.host}/team/nothing`);
  });
});
