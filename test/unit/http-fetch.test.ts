// http-fetch.ts (fetch's call shape on node:http/https) against real
// servers on 127.0.0.1: node:http, and node:https with a self-signed
// certificate made by openssl in a temp dir. Where the answer should be
// what Node's own fetch gives, the test asks both.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseReference } from '../../src/image/reference.js';
import { causeMessage } from '../../src/image/registry/auth.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import { tlsAwareFetch } from '../../src/image/registry/hosts.js';
import { resetConnections, createHttpFetch, httpFetch, type FetchResponse } from '../../src/image/registry/http-fetch.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: Socket;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void;

interface TestServer {
  origin: string;
  port: number;
  seen: Seen[];
  connections: number;
  handle(h: Handler): void;
}

/** What a promise rejects with (it must reject). */
async function rejection(p: Promise<unknown>): Promise<Error & { cause?: unknown }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

const servers: Array<http.Server | https.Server> = [];

function serve(server: http.Server | https.Server, scheme: 'http' | 'https'): Promise<TestServer> {
  // With its length: Node's server sends none for a HEAD without one, and its client then closes the connection.
  let handler: Handler = (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok');
  const t: TestServer = {
    origin: '',
    port: 0,
    seen: [],
    connections: 0,
    handle: (h) => (handler = h),
  };
  server.on('connection', () => t.connections++);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks), socket: req.socket };
      t.seen.push(seen);
      handler(req, res, seen);
    });
  });
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      t.port = (server.address() as AddressInfo).port;
      t.origin = `${scheme}://127.0.0.1:${t.port}`;
      resolve(t);
    }),
  );
}

const httpServer = () => serve(http.createServer({ keepAliveTimeout: 30_000 }), 'http');

afterEach(() => {
  resetConnections();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('responses', () => {
  it('status, statusText, ok, url, headers (case-insensitive, repeated ones joined) and the body as text, JSON, bytes', async () => {
    const s = await httpServer();
    s.handle((_req, res) => {
      res.writeHead(201, 'Made It', [['Content-Type', 'application/json'], ['X-Multi', 'a'], ['x-multi', 'b'], ['Set-Cookie', 'c=1'], ['Set-Cookie', 'd=2']]);
      res.end('\ufeff{"x":1}');
    });
    const res = await httpFetch(`${s.origin}/path?q=1#frag`);
    expect([res.status, res.statusText, res.ok, res.url, res.redirected]).toEqual([201, 'Made It', true, `${s.origin}/path?q=1`, false]);
    expect(res.headers.get('CONTENT-TYPE')).toBe('application/json');
    expect(res.headers.get('x-multi')).toBe('a, b');
    expect(res.headers.get('set-cookie')).toBe('c=1, d=2');
    expect(res.headers.get('absent')).toBeNull();
    expect(res.headers.has('X-MULTI')).toBe(true);
    const all: string[] = [];
    res.headers.forEach((v, k) => all.push(`${k}=${v}`));
    expect(all).toContain('x-multi=a, b');
    expect(await res.json()).toEqual({ x: 1 }); // the BOM dropped, as fetch's text() does
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow(TypeError);

    s.handle((_req, res) => res.writeHead(404, 'Nope').end(Buffer.from([0, 1, 2, 255])));
    const bin = await httpFetch(new URL(`${s.origin}/bin`));
    expect([bin.status, bin.ok, bin.statusText]).toEqual([404, false, 'Nope']);
    expect([...new Uint8Array(await bin.arrayBuffer())]).toEqual([0, 1, 2, 255]);
  });

  it('the body is an async iterable of bytes; HEAD, 204 and 304 have none', async () => {
    const s = await httpServer();
    s.handle((req, res) => {
      if (req.url === '/204') return res.writeHead(204).end();
      if (req.url === '/304') return res.writeHead(304).end();
      res.writeHead(200, { 'content-length': '6' });
      res.end(req.method === 'HEAD' ? undefined : 'abcdef');
    });
    const res = await httpFetch(`${s.origin}/`);
    const chunks: Buffer[] = [];
    for await (const c of res.body!) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).toString()).toBe('abcdef');
    const head = await httpFetch(`${s.origin}/`, { method: 'head' });
    expect([head.status, head.body, head.headers.get('content-length')]).toEqual([200, null, '6']);
    expect(await head.text()).toBe('');
    expect((await httpFetch(`${s.origin}/204`)).body).toBeNull();
    expect((await httpFetch(`${s.origin}/304`)).body).toBeNull();
    expect(s.connections).toBe(1);
  });

  it('what Node fetch gives for the same answers: status, headers, text', async () => {
    const s = await httpServer();
    s.handle((_req, res) => {
      res.writeHead(409, 'Conflict', [['Content-Type', 'text/plain'], ['Link', '</a>'], ['link', '</b>']]);
      res.end('the same');
    });
    const mine = await httpFetch(`${s.origin}/x`, { method: 'PUT', body: 'x' });
    const node = await fetch(`${s.origin}/x`, { method: 'PUT', body: 'x' });
    const view = async (r: FetchResponse) => [r.status, r.statusText, r.ok, r.url, r.headers.get('link'), r.headers.get('content-type'), await r.text()];
    expect(await view(mine)).toEqual(await view(node));
  });
});

describe('requests', () => {
  it('sends fetch’s default headers unless the caller gives its own; headers as a record, pairs or Headers', async () => {
    const s = await httpServer();
    await (await httpFetch(`${s.origin}/a`)).text();
    await (await httpFetch(`${s.origin}/a`, { headers: { Range: 'bytes=5-', 'User-Agent': 'tsrun/1', accept: 'application/json' } })).text();
    await (await httpFetch(`${s.origin}/a`, { headers: [['x-a', '1'], ['X-A', '2']] })).text();
    await (await httpFetch(`${s.origin}/a`, { headers: new Headers({ 'x-b': ' padded ' }) as never })).text();
    const [plain, ranged, pairs, hdrs] = s.seen;
    expect(plain!.headers).toMatchObject({ accept: '*/*', 'user-agent': 'node', 'accept-encoding': 'gzip, deflate', connection: 'keep-alive' });
    expect(ranged!.headers).toMatchObject({ accept: 'application/json', 'user-agent': 'tsrun/1', 'accept-encoding': 'identity', range: 'bytes=5-' });
    expect(pairs!.headers['x-a']).toBe('1, 2');
    expect(hdrs!.headers['x-b']).toBe('padded');
  });

  it('bodies: string, bytes, URLSearchParams with their length and type; a stream with the given length or chunked', async () => {
    const s = await httpServer();
    await (await httpFetch(`${s.origin}/`, { method: 'POST', body: 'héllo' })).text();
    await (await httpFetch(`${s.origin}/`, { method: 'put', body: new Uint8Array([1, 2, 3]) })).text();
    await (await httpFetch(`${s.origin}/`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', scope: 'a b' }) })).text();
    async function* gen() {
      yield Buffer.from('chunk1-');
      yield Buffer.from('chunk2');
    }
    await (await httpFetch(`${s.origin}/`, { method: 'PATCH', body: gen(), duplex: 'half' })).text();
    await (await httpFetch(`${s.origin}/`, { method: 'PUT', body: Readable.from([Buffer.from('abc'), Buffer.from('de')]), headers: { 'content-length': '5' }, duplex: 'half' })).text();
    await (await httpFetch(`${s.origin}/`, { method: 'PUT', headers: { 'content-length': '0' } })).text();
    const [str, bytes, form, chunked, sized, empty] = s.seen;
    expect([str!.method, str!.body.toString(), str!.headers['content-type'], str!.headers['content-length']]).toEqual(['POST', 'héllo', 'text/plain;charset=UTF-8', '6']);
    expect([bytes!.method, [...bytes!.body], bytes!.headers['content-length'], bytes!.headers['content-type']]).toEqual(['PUT', [1, 2, 3], '3', undefined]);
    expect([form!.body.toString(), form!.headers['content-type']]).toEqual(['grant_type=refresh_token&scope=a+b', 'application/x-www-form-urlencoded;charset=UTF-8']);
    expect([chunked!.method, chunked!.body.toString(), chunked!.headers['transfer-encoding'], chunked!.headers['content-length']]).toEqual(['PATCH', 'chunk1-chunk2', 'chunked', undefined]);
    expect([sized!.body.toString(), sized!.headers['content-length'], sized!.headers['transfer-encoding']]).toEqual(['abcde', '5', undefined]);
    expect([empty!.body.length, empty!.headers['content-length']]).toEqual([0, '0']);
    await expect(httpFetch(`${s.origin}/`, { body: 'x' })).rejects.toThrow(/GET\/HEAD method cannot have body/);
  });

  it('a stream body that fails rejects with fetch failed and its error as the cause', async () => {
    const s = await httpServer();
    async function* broken() {
      yield Buffer.from('part');
      throw Object.assign(new Error('disk gone'), { code: 'EIO' });
    }
    const err = await rejection(httpFetch(`${s.origin}/`, { method: 'PUT', body: broken(), duplex: 'half' }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('fetch failed');
    expect((err.cause as { code?: string }).code).toBe('EIO');
  });
});

describe('redirects', () => {
  it("'manual' returns the 3xx with its Location; 'follow' (the default) follows it", async () => {
    const s = await httpServer();
    s.handle((req, res) => {
      if (req.url === '/from') return res.writeHead(302, { location: '/to?x=1' }).end('moved');
      res.end(`at ${req.url}`);
    });
    const manual = await httpFetch(`${s.origin}/from`, { redirect: 'manual' });
    expect([manual.status, manual.headers.get('location'), manual.redirected]).toEqual([302, '/to?x=1', false]);
    await manual.body!.cancel();
    const followed = await httpFetch(`${s.origin}/from`);
    expect([followed.status, followed.url, followed.redirected, await followed.text()]).toEqual([200, `${s.origin}/to?x=1`, true, 'at /to?x=1']);
    expect(s.connections).toBe(1);
  });

  it('across origins Authorization is dropped; 303 and a POST’s 302 become a GET without body; 307 sends the body again', async () => {
    const a = await httpServer();
    const b = await httpServer();
    a.handle((req, res) => {
      if (req.url === '/cross') return res.writeHead(307, { location: `${b.origin}/landed` }).end();
      if (req.url === '/303') return res.writeHead(303, { location: '/got' }).end();
      if (req.url === '/302') return res.writeHead(302, { location: '/got' }).end();
      if (req.url === '/307') return res.writeHead(307, { location: '/again' }).end();
      res.end('done');
    });
    b.handle((_req, res) => res.end('b'));
    await (await httpFetch(`${a.origin}/cross`, { headers: { authorization: 'Bearer secret', 'x-keep': '1' } })).text();
    expect(b.seen[0]!.headers.authorization).toBeUndefined();
    expect(b.seen[0]!.headers['x-keep']).toBe('1');
    a.seen.length = 0;
    await (await httpFetch(`${a.origin}/303`, { method: 'PUT', body: 'data', headers: { 'content-type': 'text/x' } })).text();
    await (await httpFetch(`${a.origin}/302`, { method: 'POST', body: 'data' })).text();
    await (await httpFetch(`${a.origin}/307`, { method: 'POST', body: 'again', headers: { authorization: 'Basic x' } })).text();
    const seen = a.seen.map((x) => [x.method, x.url, x.body.toString(), x.headers['content-type'] ?? '', x.headers.authorization ?? '']);
    expect(seen).toEqual([
      ['PUT', '/303', 'data', 'text/x', ''],
      ['GET', '/got', '', '', ''],
      ['POST', '/302', 'data', 'text/plain;charset=UTF-8', ''],
      ['GET', '/got', '', '', ''],
      ['POST', '/307', 'again', 'text/plain;charset=UTF-8', 'Basic x'],
      ['POST', '/again', 'again', 'text/plain;charset=UTF-8', 'Basic x'],
    ]);
  });

  it('a loop, a 307 of a stream body and redirect: error fail as fetch fails', async () => {
    const s = await httpServer();
    s.handle((req, res) => res.writeHead(307, { location: req.url === '/loop' ? '/loop' : '/elsewhere' }).end());
    const loop = await rejection(httpFetch(`${s.origin}/loop`));
    expect([loop.message, (loop.cause as Error).message]).toEqual(['fetch failed', 'redirect count exceeded']);
    expect(s.seen).toHaveLength(21);
    async function* body() {
      yield Buffer.from('x');
    }
    const stream = await rejection(httpFetch(`${s.origin}/put`, { method: 'PUT', body: body(), duplex: 'half' }));
    expect(stream.message).toBe('fetch failed');
    const refused = await rejection(httpFetch(`${s.origin}/x`, { redirect: 'error' }));
    expect(refused.message).toBe('fetch failed');
  });
});

describe('abort and timeouts', () => {
  it('an aborted signal rejects with its reason, before and while waiting for the answer', async () => {
    const s = await httpServer();
    s.handle(() => undefined); // never answers
    const pre = await rejection(httpFetch(`${s.origin}/`, { signal: AbortSignal.abort() }));
    expect(pre.name).toBe('AbortError');
    expect(s.seen).toHaveLength(0);
    const ctl = new AbortController();
    const pending = httpFetch(`${s.origin}/`, { signal: ctl.signal });
    while (s.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = new Promise((r) => s.seen[0]!.socket.once('close', r));
    ctl.abort();
    expect((await rejection(pending)).name).toBe('AbortError');
    await closed; // the request was destroyed
    const timeout = await rejection(httpFetch(`${s.origin}/`, { signal: AbortSignal.timeout(50) }));
    expect(timeout.name).toBe('TimeoutError');
  });

  it('an abort during the body errors the body with the reason', async () => {
    const s = await httpServer();
    s.handle((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('first');
    });
    const ctl = new AbortController();
    const res = await httpFetch(`${s.origin}/`, { signal: ctl.signal });
    const it = res.body![Symbol.asyncIterator]();
    expect(Buffer.from((await it.next()).value as Uint8Array).toString()).toBe('first');
    ctl.abort();
    expect((await rejection(it.next())).name).toBe('AbortError');
  });

  it('silence before the headers or within the body ends the request with undici’s codes', async () => {
    const s = await httpServer();
    const quick = createHttpFetch({ idleTimeoutMs: 150 });
    s.handle(() => undefined);
    const headers = await rejection(quick(`${s.origin}/`));
    expect([headers.message, causeMessage(headers)]).toEqual(['fetch failed', 'UND_ERR_HEADERS_TIMEOUT (Headers Timeout Error)']);
    s.handle((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345');
    });
    const res = await quick(`${s.origin}/`);
    const body = await rejection(res.text());
    expect([body.message, causeMessage(body)]).toEqual(['terminated', 'UND_ERR_BODY_TIMEOUT (Body Timeout Error)']);
  });
});

describe('connection errors', () => {
  it('a refused connection: TypeError fetch failed with the same cause text as Node fetch, and the client’s message', async () => {
    const port = await deadPort();
    const mine = await rejection(httpFetch(`http://127.0.0.1:${port}/v2/`));
    const node = await rejection(fetch(`http://127.0.0.1:${port}/v2/`));
    expect(mine).toBeInstanceOf(TypeError);
    expect(mine.message).toBe(node.message);
    expect(causeMessage(mine)).toBe(causeMessage(node));
    expect(causeMessage(mine)).toBe(`ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`);
    const viaClient = await rejection(new RegistryClient({ retry: { attempts: 1, baseDelayMs: 1 } }).getManifest(parseReference(`127.0.0.1:${port}/app`), 'latest'));
    expect(viaClient.message).toBe(`cannot reach registry 127.0.0.1:${port} at http://127.0.0.1:${port}: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`);
  });

  it('a body cut short errors with terminated and the cause', async () => {
    const s = await httpServer();
    s.handle((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345', () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const res = await httpFetch(`${s.origin}/`);
    const err = await rejection(res.arrayBuffer());
    expect(err).toBeInstanceOf(TypeError);
    expect([err.message, causeMessage(err)]).toEqual(['terminated', 'ECONNRESET (aborted)']);
  });
});

describe('keep-alive', () => {
  it('sequential requests share one connection; a cancelled small body is drained and its connection reused', async () => {
    const s = await httpServer();
    s.handle((req, res) => res.end(req.url === '/big' ? Buffer.alloc(4 << 20) : '{"errors":[]}'));
    for (let i = 0; i < 3; i++) await (await httpFetch(`${s.origin}/${i}`)).text();
    const unread = await httpFetch(`${s.origin}/small`);
    await unread.body!.cancel();
    await new Promise((r) => setTimeout(r, 20));
    await (await httpFetch(`${s.origin}/after`)).text();
    expect(s.connections).toBe(1);
    // A big rest is not worth reading: its connection is closed instead.
    const big = await httpFetch(`${s.origin}/big`);
    await big.body!.cancel();
    await (await httpFetch(`${s.origin}/after-big`)).text();
    expect(s.connections).toBe(2);
  });

  it('parallel requests open parallel connections', async () => {
    const s = await httpServer();
    s.handle((_req, res) => setTimeout(() => res.end('x'), 30));
    await Promise.all([1, 2, 3].map(async (i) => (await httpFetch(`${s.origin}/${i}`)).text()));
    expect(s.connections).toBe(3);
  });

  it('a request refused on a kept-alive connection (closed by the server) is sent once more on a new one', async () => {
    const s = await httpServer();
    let n = 0;
    s.handle((req, res) => {
      n++;
      if (n === 2) return req.socket.destroy(); // as a server closing an idle connection would
      res.end(`answer ${n}`);
    });
    expect(await (await httpFetch(`${s.origin}/1`)).text()).toBe('answer 1');
    expect(await (await httpFetch(`${s.origin}/2`)).text()).toBe('answer 3');
    expect(s.connections).toBe(2);
  });

  it('a process that fetched exits at once: kept-alive sockets do not hold it', async () => {
    const mod = fileURLToPath(new URL('../../dist/image/registry/http-fetch.js', import.meta.url));
    if (!existsSync(mod)) throw new Error(`build first (npx tsc -p tsconfig.json): ${mod} is missing`);
    const s = await httpServer();
    const script = `
      const { httpFetch } = await import(process.argv[1]);
      for (let i = 0; i < 3; i++) await (await httpFetch(process.argv[2] + '/' + i)).text();
      const head = await httpFetch(process.argv[2] + '/h', { method: 'HEAD' });
      const unread = await httpFetch(process.argv[2] + '/u');
      await unread.body.cancel();
      process.stdout.write(String(Date.now()));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, mod, s.origin]);
    const exited = Date.now();
    expect(exited - Number(stdout)).toBeLessThan(2500); // a ref'd idle socket would hold it 4 s (the agent's idle timeout)
    expect(s.connections).toBe(1);
  });
});

describe('content encodings', () => {
  const text = 'a manifest, '.repeat(200);
  it('gzip, x-gzip, deflate (zlib and raw), br and a chain are decoded as Node fetch decodes them; unknown codings and HEAD are not', async () => {
    const s = await httpServer();
    const bodies: Record<string, [string, Buffer]> = {
      '/gzip': ['gzip', zlib.gzipSync(text)],
      '/x-gzip': ['x-gzip', zlib.gzipSync(text)],
      '/deflate': ['deflate', zlib.deflateSync(text)],
      '/raw': ['deflate', zlib.deflateRawSync(text)],
      '/br': ['br', zlib.brotliCompressSync(text)],
      '/chain': ['deflate, gzip', zlib.gzipSync(zlib.deflateSync(text))],
      '/odd': ['zstd', Buffer.from('as sent')],
    };
    s.handle((req, res) => {
      const [enc, body] = bodies[req.url!]!;
      res.writeHead(200, { 'content-encoding': enc, 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    for (const path of Object.keys(bodies)) {
      const mine = await httpFetch(`${s.origin}${path}`);
      const node = await fetch(`${s.origin}${path}`);
      const expected = path === '/odd' ? 'as sent' : text;
      expect([path, await mine.text()]).toEqual([path, expected]);
      expect([path, await node.text()]).toEqual([path, expected]);
      expect(mine.headers.get('content-encoding')).toBe(bodies[path]![0]);
    }
    const head = await httpFetch(`${s.origin}/gzip`, { method: 'HEAD' });
    expect([head.body, head.headers.get('content-encoding')]).toEqual([null, 'gzip']);
  });
});

describe('https', () => {
  let dir: string;
  let key: Buffer;
  let cert: Buffer;
  const haveOpenssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  beforeAll(() => {
    if (!haveOpenssl) return;
    dir = mkdtempSync(join(tmpdir(), 'tsrun-http-fetch-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    key = readFileSync(join(dir, 'key.pem'));
    cert = readFileSync(join(dir, 'cert.pem'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!haveOpenssl)('a self-signed certificate is refused unless asked; asking for one host does not relax another, nor the pool', async () => {
    const s = await serve(https.createServer({ key, cert, keepAliveTimeout: 30_000 }), 'https');
    const strict = await rejection(httpFetch(`${s.origin}/v2/`));
    const node = await rejection(fetch(`${s.origin}/v2/`));
    expect(strict.message).toBe('fetch failed');
    expect(causeMessage(strict)).toBe(causeMessage(node));
    expect((strict.cause as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');

    const insecure = tlsAwareFetch({ insecure: [`127.0.0.1:${s.port}`] });
    const ok = await insecure(`${s.origin}/v2/`);
    expect([ok.status, await ok.text(), s.seen[0]!.headers['accept-encoding']]).toEqual([200, 'ok', 'br, gzip, deflate']);
    // The unverified connection stays in its own pool: a verifying request to the same server still fails.
    expect((await rejection(httpFetch(`${s.origin}/v2/`))).message).toBe('fetch failed');
    expect((await rejection(tlsAwareFetch({ insecure: ['127.0.0.1:1'] })(`${s.origin}/v2/`))).message).toBe('fetch failed');
    expect((await rejection(tlsAwareFetch({ insecure: ['other.example'] })(`${s.origin}/v2/`))).message).toBe('fetch failed');
    // A second insecure request reuses its connection.
    const before = s.connections;
    await (await insecure(`${s.origin}/v2/again`)).text();
    expect(s.connections).toBe(before);
  });

  it.skipIf(!haveOpenssl)('https to a plain-http server fails with fetch failed (the http fallback follows in the client)', async () => {
    const s = await httpServer();
    const err = await rejection(httpFetch(`https://127.0.0.1:${s.port}/v2/`));
    expect(err.message).toBe('fetch failed');
    expect((err.cause as { code?: string }).code).toBe('EPROTO');
  });
});
