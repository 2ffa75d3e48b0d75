// Registry authentication against fake registries on 127.0.0.1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { MEDIA_TYPE_OCI_MANIFEST } from '../../src/image/media-types.js';
import { parseReference } from '../../src/image/reference.js';
import { parseWwwAuthenticate } from '../../src/image/registry/auth.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import { StaticCredentials } from '../../src/image/registry/credentials.js';
import { rejection } from '../helpers/expect-error.js';

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_MANIFEST, config: {}, layers: [] }));
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface TokenServerOpts {
  expiresIn?: number;
  tokenField?: 'token' | 'access_token';
  /** Basic credentials the token service requires for a token that can pull. */
  requireUser?: { user: string; pass: string };
  /** Repositories that need a logged-in token. */
  privateRepos?: string[];
  /** Repositories nobody may pull. */
  forbiddenRepos?: string[];
}

/** A registry with a Docker Hub style token service on the same port. */
async function bearerRegistry(opts: TokenServerOpts = {}) {
  const log = { tokenRequests: [] as URL[], unauthorized: 0, manifestRequests: 0, revoked: new Set<string>() };
  let n = 0;
  const tokens = new Map<string, { scope: string; user?: string }>();
  const host = await listen((req, res) => {
    const url = new URL(req.url!, `http://${req.headers.host}`);
    if (url.pathname === '/token') {
      log.tokenRequests.push(url);
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth?.startsWith('Basic ')) {
        const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (!opts.requireUser || u !== opts.requireUser.user || p !== opts.requireUser.pass) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
          return;
        }
        user = u;
      }
      const token = `tok-${++n}`;
      tokens.set(token, { scope: url.searchParams.getAll('scope').join(' '), ...(user ? { user } : {}) });
      const body: Record<string, unknown> = { [opts.tokenField ?? 'token']: token };
      if (opts.expiresIn !== undefined) body['expires_in'] = opts.expiresIn;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    log.manifestRequests++;
    const repo = m[1]!;
    const scope = `repository:${repo}:pull`;
    const auth = req.headers.authorization ?? '';
    const tok = tokens.get(auth.replace(/^Bearer /, ''));
    const ok =
      auth.startsWith('Bearer ') &&
      tok !== undefined &&
      !log.revoked.has(auth.slice(7)) &&
      tok.scope.split(' ').includes(scope) &&
      (!opts.privateRepos?.includes(repo) || tok.user !== undefined) &&
      !opts.forbiddenRepos?.includes(repo);
    if (!ok) {
      log.unauthorized++;
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="fake-registry",scope="${scope}"`,
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    res.writeHead(200, { 'content-type': MEDIA_TYPE_OCI_MANIFEST }).end(MANIFEST);
  });
  return { host, log };
}

function client(extra: ConstructorParameters<typeof RegistryClient>[0] = {}) {
  return new RegistryClient({ retry: { attempts: 2, baseDelayMs: 1 }, ...extra });
}

describe('parseWwwAuthenticate', () => {
  it('parses Docker Hub and Basic challenges', () => {
    expect(
      parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' },
      },
    ]);
    expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseWwwAuthenticate('Basic realm="a", Bearer realm=b, service="s\\"q"')).toEqual([
      { scheme: 'basic', params: { realm: 'a' } },
      { scheme: 'bearer', params: { realm: 'b', service: 's"q' } },
    ]);
    expect(parseWwwAuthenticate('BEARER Realm="x",scope="repository:a:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'x', scope: 'repository:a:pull,push' } },
    ]);
    expect(parseWwwAuthenticate('')).toEqual([]);
  });
});

describe('bearer token flow', () => {
  it('fetches an anonymous token for the scope, retries once, and reuses it per scope', async () => {
    const { host, log } = await bearerRegistry({ expiresIn: 300 });
    const c = client();
    const ref = parseReference(`${host}/library/alpine:latest`);
    const got = await c.getManifest(ref, 'latest');
    expect(got.bytes.equals(MANIFEST)).toBe(true);
    expect(log.tokenRequests).toHaveLength(1);
    expect(log.tokenRequests[0]!.searchParams.get('service')).toBe('fake-registry');
    expect(log.tokenRequests[0]!.searchParams.getAll('scope')).toEqual(['repository:library/alpine:pull']);
    expect(log.unauthorized).toBe(1);

    await c.getManifest(ref, 'latest');
    expect(log.tokenRequests).toHaveLength(1); // cached: no new token, no 401
    expect(log.unauthorized).toBe(1);

    await c.getManifest(parseReference(`${host}/other/app:1`), '1');
    expect(log.tokenRequests).toHaveLength(2); // another scope, another token
    expect(log.tokenRequests[1]!.searchParams.getAll('scope')).toEqual(['repository:other/app:pull']);
    expect(log.unauthorized).toBe(1); // the host's challenge is remembered: token fetched up front
  });

  it('honours expires_in (and the 60 s default) with the injected clock', async () => {
    let now = 1_000_000;
    const { host, log } = await bearerRegistry({ expiresIn: 120 });
    const c = client({ now: () => now });
    const ref = parseReference(`${host}/a/b`);
    await c.getManifest(ref, 'latest');
    now += 100_000;
    await c.getManifest(ref, 'latest');
    expect(log.tokenRequests).toHaveLength(1);
    now += 30_000; // past 120 s
    await c.getManifest(ref, 'latest');
    expect(log.tokenRequests).toHaveLength(2);
    expect(log.unauthorized).toBe(1); // renewed before sending, not after a 401

    const d = await bearerRegistry({}); // no expires_in: 60 s
    const c2 = client({ now: () => now });
    const ref2 = parseReference(`${d.host}/a/b`);
    await c2.getManifest(ref2, 'latest');
    now += 50_000;
    await c2.getManifest(ref2, 'latest');
    expect(d.log.tokenRequests).toHaveLength(1);
    now += 20_000;
    await c2.getManifest(ref2, 'latest');
    expect(d.log.tokenRequests).toHaveLength(2);
  });

  it('parallel requests share one token request', async () => {
    const { host, log } = await bearerRegistry({ expiresIn: 300 });
    const c = client();
    const ref = parseReference(`${host}/a/b`);
    await Promise.all(Array.from({ length: 6 }, () => c.getManifest(ref, 'latest')));
    expect(log.tokenRequests).toHaveLength(1);
  });

  it('accepts access_token', async () => {
    const { host } = await bearerRegistry({ tokenField: 'access_token' });
    await expect(client().getManifest(parseReference(`${host}/a/b`), 'latest')).resolves.toMatchObject({ mediaType: MEDIA_TYPE_OCI_MANIFEST });
  });

  it('a refused cached token is replaced once', async () => {
    const { host, log } = await bearerRegistry({ expiresIn: 300 });
    const c = client();
    const ref = parseReference(`${host}/a/b`);
    await c.getManifest(ref, 'latest');
    log.revoked.add('tok-1');
    await c.getManifest(ref, 'latest');
    expect(log.tokenRequests).toHaveLength(2);
  });

  it('sends basic credentials to the token service', async () => {
    const { host, log } = await bearerRegistry({ requireUser: { user: 'alice', pass: 'pw' }, privateRepos: ['alice/private'] });
    const c = client({ credentials: new StaticCredentials({ [host]: { username: 'alice', password: 'pw' } }) });
    await c.getManifest(parseReference(`${host}/alice/private`), 'latest');
    expect(log.tokenRequests).toHaveLength(1);
  });

  it('401 without credentials says how to log in', async () => {
    const { host } = await bearerRegistry({ privateRepos: ['alice/private'] });
    const err = await rejection(client().getManifest(parseReference(`${host}/alice/private`), 'latest'));
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(err.message).toContain('pull access denied for ' + host + '/alice/private');
    expect(err.message).toContain(`run \`tsrun login ${host}\``);
  });

  it('wrong credentials are REGISTRY_UNAUTHORIZED naming the registry', async () => {
    const { host } = await bearerRegistry({ requireUser: { user: 'alice', pass: 'pw' } });
    const c = client({ credentials: new StaticCredentials({ [host]: { username: 'alice', password: 'nope' } }) });
    const err = await rejection(c.getManifest(parseReference(`${host}/alice/private`), 'latest'));
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(err.message).toMatch(new RegExp(`${host} refused the stored credentials for alice`));
  });

  it('denied with valid credentials is REGISTRY_UNAUTHORIZED too', async () => {
    const { host, log } = await bearerRegistry({ requireUser: { user: 'bob', pass: 'pw' }, forbiddenRepos: ['carol/secret'] });
    const c = client({ credentials: new StaticCredentials({ [host]: { username: 'bob', password: 'pw' } }) });
    await c.getManifest(parseReference(`${host}/bob/public`), 'latest'); // bob's login works
    const err = await rejection(c.getManifest(parseReference(`${host}/carol/secret`), 'latest'));
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(err.message).toContain(`access to ${host}/carol/secret was denied for bob on ${host}`);
    expect(log.tokenRequests.every((u) => u.searchParams.getAll('scope').length === 1)).toBe(true);
  });
});

describe('identity tokens', () => {
  it('are exchanged with an OAuth2 refresh_token POST', async () => {
    const forms: URLSearchParams[] = [];
    const host = await listen((req, res) => {
      if (req.url === '/token') {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          forms.push(new URLSearchParams(body));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'oauth-tok', expires_in: 300 }));
        });
        return;
      }
      if (req.headers.authorization !== 'Bearer oauth-tok') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="svc"` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': MEDIA_TYPE_OCI_MANIFEST }).end(MANIFEST);
    });
    const c = client({ credentials: new StaticCredentials({ [host]: { identityToken: 'refresh-1' } }) });
    await c.getManifest(parseReference(`${host}/a/b`), 'latest');
    expect(forms).toHaveLength(1);
    expect(Object.fromEntries(forms[0]!)).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: 'refresh-1',
      service: 'svc',
      scope: 'repository:a/b:pull',
    });
  });
});

describe('basic auth', () => {
  async function basicRegistry() {
    const seen: Array<string | undefined> = [];
    const host = await listen((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== 'Basic ' + Buffer.from('u:p').toString('base64')) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="Registry Realm"', 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
      res.writeHead(200, { 'content-type': MEDIA_TYPE_OCI_MANIFEST }).end(MANIFEST);
    });
    return { host, seen };
  }

  it('answers a Basic challenge with the credentials, then sends them up front', async () => {
    const { host, seen } = await basicRegistry();
    const c = client({ credentials: new StaticCredentials({ [host]: { username: 'u', password: 'p' } }) });
    await c.getManifest(parseReference(`${host}/x/y`), 'latest');
    await c.getManifest(parseReference(`${host}/x/y`), 'latest');
    expect(seen).toEqual([undefined, 'Basic dTpw', 'Basic dTpw']);
  });

  it('a Basic challenge without credentials asks for login', async () => {
    const { host } = await basicRegistry();
    const err = await rejection(client().getManifest(parseReference(`${host}/x/y`), 'latest'));
    expect(err).toBeInstanceOf(TsrunError);
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(err.message).toContain(`tsrun login ${host}`);
  });

  it('wrong basic credentials are refused after one retry', async () => {
    const { host, seen } = await basicRegistry();
    const c = client({ credentials: new StaticCredentials({ [host]: { username: 'u', password: 'bad' } }) });
    const err = await rejection(c.getManifest(parseReference(`${host}/x/y`), 'latest'));
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(err.message).toMatch(/denied for u on/);
    expect(seen).toHaveLength(2);
  });
});
