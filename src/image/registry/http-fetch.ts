// The part of the fetch API that tsrun's HTTP clients use (the registry
// client, its token service calls, login, push, and build's ADD <url>), on
// node:http and node:https. Node's global fetch is undici, which is not in
// Node's start-up snapshot: its first call compiles some 50-70 ms of
// JavaScript (llhttp's WebAssembly included), more than the rest of a
// `tsrun pull` of an image already stored. node:http costs a few ms (most
// of it net and streams, which writing to stdout loads anyway); node:https
// (and tls) is loaded only for an https URL, node:zlib only for a response
// that is content-encoded.
//
// What it does, as fetch does it:
//   - init: method (GET, HEAD, POST, PUT, DELETE, OPTIONS upper-cased as
//     fetch does; others as given), headers (a record, [name, value] pairs,
//     or anything with forEach such as Headers), body (string, Uint8Array,
//     ArrayBuffer, URLSearchParams, or an async iterable of bytes such as a
//     Node Readable or a web ReadableStream: sent with the Content-Length the
//     caller gives, chunked without one), redirect ('follow', the default,
//     up to 20 hops, Authorization and Cookie dropped across origins, 301/302
//     of a POST and 303 turn into a GET; 'manual' returns the 3xx; 'error'),
//     signal (an abort destroys the request and rejects with signal.reason,
//     or errors the body with it once the response is in), duplex (ignored:
//     a stream body is always half duplex).
//   - the default request headers that matter: Accept: */*, User-Agent:
//     node, Accept-Encoding: gzip, deflate (br too over https; identity with
//     a Range), Content-Type for a string or URLSearchParams body,
//     Content-Length for a body of known length. A response with
//     Content-Encoding gzip, x-gzip, deflate or br is decoded as undici does
//     (not for HEAD, 204, 205, 304 or a redirect being followed; an unknown
//     coding leaves the body as it came); its headers are left as sent.
//   - errors: a request that fails rejects with TypeError('fetch failed')
//     whose `cause` is Node's error (ECONNREFUSED, ENOTFOUND, a TLS
//     certificate code...), as fetch's does, so callers' messages are
//     unchanged; a body cut short errors with TypeError('terminated') and
//     the cause. undici's timeouts are kept, with its codes: 10 s to
//     connect (TLS handshake included: UND_ERR_CONNECT_TIMEOUT), 300 s of
//     silence before the headers (UND_ERR_HEADERS_TIMEOUT) or within the
//     body (UND_ERR_BODY_TIMEOUT).
//   - the response: status, statusText, ok, url, redirected, headers (get
//     joins repeated headers with ', ', case-insensitive; has, forEach,
//     entries, iteration), body (a Node Readable, async iterable; null for
//     HEAD, 1xx, 204, 205 and 304), bodyUsed, arrayBuffer(), text() (UTF-8,
//     a BOM dropped), json(), and body.cancel() to discard what is left.
// Not done: what only a browser needs (mode, credentials, cache, referrer,
// CORS), Request objects as input, Blob and FormData bodies, and fetch's
// list of "bad ports" (fetch refuses port 1, 6000 and others; a registry
// there is reached).
//
// Connections are kept alive per origin by one http and one https Agent
// (a pull's many requests to one registry reuse them, as undici's pool
// does); an idle socket is unref'd by Node's Agent, so it never keeps a
// process alive, and is closed after 4 s idle (undici's default; sooner
// when the server's Keep-Alive hint asks). A request that fails on a reused
// socket before any answer (the server closed it as we sent) is sent again
// (3 times at most) when its body can be sent again. body.cancel() drains
// a small rest (up to 64 KiB, 1 s) so the connection is reused, and closes
// it otherwise. Certificate verification is skipped per request, only when
// the `skipTlsVerify` option says so for that URL (registries named with
// --insecure-registry); Node's https Agent keeps those connections in a
// pool of their own.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';

// --- the types callers see (a structural subset of fetch's) -------------

export type FetchHeadersInit =
  | Record<string, string | readonly string[]>
  | ReadonlyArray<readonly [string, string]>
  | { forEach(cb: (value: string, name: string) => void): void };

export type FetchBodyInit = string | Uint8Array<ArrayBuffer> | ArrayBuffer | URLSearchParams | AsyncIterable<Uint8Array>;

export interface FetchInit {
  method?: string;
  headers?: Record<string, string> | Array<[string, string]>;
  body?: FetchBodyInit | null;
  redirect?: 'follow' | 'manual' | 'error';
  signal?: AbortSignal | null;
  duplex?: 'half';
}

export interface FetchHeaders {
  get(name: string): string | null;
  has(name: string): boolean;
  forEach(cb: (value: string, name: string) => void): void;
}

/** A response body: iterate it for its bytes, or cancel it to discard them. */
export interface FetchBody extends AsyncIterable<Uint8Array> {
  cancel(reason?: unknown): Promise<void>;
}

export interface FetchResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly url: string;
  readonly redirected: boolean;
  readonly headers: FetchHeaders;
  readonly body: FetchBody | null;
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** The call shape of fetch that tsrun uses; Node's fetch is one (tests pass it or fakes returning Response). */
export type FetchFn = (input: string | URL, init?: FetchInit) => Promise<FetchResponse>;

// Node's Response and RequestInit fit these types (checked at compile time
// only; the body is left out: the global RequestInit's body type in these
// typings refuses an AsyncIterable<Uint8Array>, which Node's fetch takes).
type Assert<T extends true> = T;
export type ResponseFitsFetchResponse = Assert<Response extends FetchResponse ? true : false>;
export type FetchInitFitsRequestInit = Assert<Omit<FetchInit, 'body'> extends RequestInit ? true : false>;

export interface HttpFetchOptions {
  /** https without certificate verification for this URL (an --insecure-registry host). */
  skipTlsVerify?: (url: URL) => boolean;
  /** undici's defaults unless set (tests): connect 10 s, silence before the headers or within the body 300 s. */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

// --- agents -------------------------------------------------------------

const KEEP_ALIVE_IDLE_MS = 4_000;
let httpAgent: HttpAgent | undefined;
let httpsAgent: HttpsAgent | undefined;
let httpsModule: Promise<typeof import('node:https')> | undefined;

/** Closes every connection the agents hold, idle or not (tests; tsrun itself never needs to). */
export function resetConnections(): void {
  httpAgent?.destroy();
  httpsAgent?.destroy();
  httpAgent = undefined;
  httpsAgent = undefined;
}

async function transportFor(url: URL): Promise<{ request: typeof httpRequest; agent: HttpAgent }> {
  if (url.protocol === 'http:') return { request: httpRequest, agent: (httpAgent ??= new HttpAgent({ keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS })) };
  const https = await (httpsModule ??= import('node:https'));
  return { request: https.request as typeof httpRequest, agent: (httpsAgent ??= new https.Agent({ keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS })) };
}

// --- errors -------------------------------------------------------------

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const RETRY_ON_REUSED = new Set(['ECONNRESET', 'EPIPE']);
// Each retry drops one stale pooled socket; after a long idle there may be a few.
const MAX_REUSED_RETRIES = 3;

// --- request ------------------------------------------------------------

const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const MAX_REDIRECTS = 20;
const DRAIN_MAX_BYTES = 64 << 10;
const DRAIN_MAX_MS = 1_000;

type Body = { bytes: Buffer } | { stream: AsyncIterable<Uint8Array> } | undefined;

function headerRecord(init: FetchInit['headers'] | FetchHeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, value: unknown) => {
    const k = String(name).toLowerCase();
    const v = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
    out[k] = k in out ? `${out[k]}, ${v}` : v;
  };
  if (!init) return out;
  if (Array.isArray(init)) {
    for (const pair of init as ReadonlyArray<readonly [string, string]>) {
      if (pair.length !== 2) throw new TypeError('Headers constructor: expected name/value pair to be length 2');
      add(pair[0], pair[1]);
    }
  } else if (typeof (init as { forEach?: unknown }).forEach === 'function') {
    (init as { forEach(cb: (value: string, name: string) => void): void }).forEach((v, k) => add(k, v));
  } else {
    for (const [k, v] of Object.entries(init as Record<string, string | readonly string[]>)) {
      if (Array.isArray(v)) for (const x of v) add(k, x);
      else add(k, v);
    }
  }
  return out;
}

function normalizeBody(body: FetchInit['body'], headers: Record<string, string>): Body {
  if (body === undefined || body === null) return undefined;
  let bytes: Buffer;
  let type: string | undefined;
  if (typeof body === 'string') {
    bytes = Buffer.from(body, 'utf8');
    type = 'text/plain;charset=UTF-8';
  } else if (body instanceof URLSearchParams) {
    bytes = Buffer.from(body.toString(), 'utf8');
    type = 'application/x-www-form-urlencoded;charset=UTF-8';
  } else if (ArrayBuffer.isView(body)) {
    bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  } else if (body instanceof ArrayBuffer) {
    bytes = Buffer.from(body);
  } else if (typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return { stream: body as AsyncIterable<Uint8Array> };
  } else {
    throw new TypeError(`unsupported request body: ${Object.prototype.toString.call(body)}`);
  }
  if (type && !('content-type' in headers)) headers['content-type'] = type;
  headers['content-length'] = String(bytes.length);
  return { bytes };
}

interface Exchange {
  req: ClientRequest;
  msg: IncomingMessage;
  /** The request's 'close': for a kept-alive connection, the moment its socket is back in the pool. */
  closed: Promise<void>;
}

/**
 * Drops the rest of a response so that its connection can serve the next
 * request. When the whole answer is already here, resolves once the socket
 * is back in the pool (a tick), so that a request made next reuses it; a
 * small rest still coming is drained in the background (64 KiB, 1 s at
 * most); a bigger one closes the connection.
 */
function release(x: Exchange, received: number): Promise<void> {
  const { req, msg } = x;
  if (!msg.readableEnded) {
    if (!msg.complete) {
      const declared = Number(msg.headers['content-length']);
      if (Number.isFinite(declared) && declared - received > DRAIN_MAX_BYTES) {
        msg.destroy();
        return Promise.resolve();
      }
      const timer = setTimeout(() => msg.destroy(), DRAIN_MAX_MS).unref();
      let drained = received;
      msg.on('data', (c: Buffer) => (drained += c.length) > DRAIN_MAX_BYTES && msg.destroy());
      msg.once('close', () => clearTimeout(timer));
      msg.resume();
      return Promise.resolve();
    }
    msg.resume();
  }
  // A request still sending its body keeps the socket until it is done.
  return req.writableFinished ? x.closed : Promise.resolve();
}

/**
 * One request and its response headers. Rejects with signal.reason on an
 * abort, TypeError('fetch failed') with the cause on any other failure.
 */
function exchange(url: URL, method: string, headers: Record<string, string>, body: Body, signal: AbortSignal | undefined, opts: HttpFetchOptions, retries = 0): Promise<Exchange> {
  return transportFor(url).then(
    ({ request, agent }) =>
      new Promise<Exchange>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const options: RequestOptions & { rejectUnauthorized?: boolean } = {
          method,
          headers,
          agent,
          timeout: opts.idleTimeoutMs ?? 300_000,
        };
        if (url.protocol === 'https:' && opts.skipTlsVerify?.(url)) options.rejectUnauthorized = false;
        let req: ClientRequest;
        try {
          req = request(url, options);
        } catch (err) {
          return reject(fetchFailed(err)); // an invalid header name or value
        }
        const closed = new Promise<void>((r) => req.once('close', () => r()));
        let settled = false;
        let connectTimer: NodeJS.Timeout | undefined;
        const settle = () => {
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          clearTimeout(connectTimer);
        };
        const onAbort = () => {
          if (settled) return;
          settle();
          req.destroy();
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        req.on('socket', (socket) => {
          if (settled || !socket.connecting) return;
          const ms = opts.connectTimeoutMs ?? 10_000;
          connectTimer = setTimeout(
            () => req.destroy(codedError(`Connect Timeout Error (attempted address: ${url.host}, timeout: ${ms}ms)`, 'UND_ERR_CONNECT_TIMEOUT')),
            ms,
          );
          socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
        });
        req.once('close', () => clearTimeout(connectTimer));
        req.on('timeout', () => {
          if (!settled) req.destroy(codedError('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT'));
        });
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (settled) return;
          settle();
          // The server closed a kept-alive socket as we sent on it: once more on a new one.
          if (req.reusedSocket && retries < MAX_REUSED_RETRIES && RETRY_ON_REUSED.has(err.code ?? '') && !(body && 'stream' in body)) {
            exchange(url, method, headers, body, signal, opts, retries + 1).then(resolve, reject);
            return;
          }
          reject(fetchFailed(err));
        });
        req.on('response', (msg) => {
          if (settled) {
            msg.destroy();
            return;
          }
          settle();
          resolve({ req, msg, closed });
        });
        if (!body) req.end();
        else if ('bytes' in body) req.end(body.bytes);
        else {
          const src = body.stream instanceof Readable ? body.stream : Readable.from(body.stream);
          // The source's failure is the request's (stream.pipeline would abort the request
          // with a bare "socket hang up"); a request that ends early stops the source.
          src.on('error', (err) => req.destroy(err));
          req.once('close', () => src.readableEnded || src.destroy());
          src.pipe(req);
        }
      }),
  );
}

/** fetch on node:http(s); `opts.skipTlsVerify` picks the URLs whose certificate is not verified. */
export function createHttpFetch(opts: HttpFetchOptions = {}): FetchFn {
  return (input, init) => httpFetchWith(input, init ?? {}, opts);
}

/** fetch on node:http(s), verifying every certificate. */
export const httpFetch: FetchFn = createHttpFetch();

async function httpFetchWith(input: string | URL, init: FetchInit, opts: HttpFetchOptions): Promise<HttpResponse> {
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw signal.reason;
  let url: URL;
  try {
    url = new URL(String(input));
  } catch (err) {
    throw new TypeError(`Failed to parse URL from ${String(input)}`, { cause: err });
  }
  url.hash = '';
  let method = init.method ?? 'GET';
  if (NORMALIZED_METHODS.has(method.toUpperCase())) method = method.toUpperCase();
  const headers = headerRecord(init.headers);
  let body = normalizeBody(init.body, headers);
  if (body && (method === 'GET' || method === 'HEAD')) throw new TypeError('Request with GET/HEAD method cannot have body.');
  const redirect = init.redirect ?? 'follow';
  for (let hops = 0; ; hops++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fetchFailed(new Error('unknown scheme'));
    const h = { ...headers };
    h['accept'] ??= '*/*';
    h['user-agent'] ??= 'node';
    if (!('accept-encoding' in h)) h['accept-encoding'] = 'range' in h ? 'identity' : url.protocol === 'https:' ? 'br, gzip, deflate' : 'gzip, deflate';
    const x = await exchange(url, method, h, body, signal, opts);
    const status = x.msg.statusCode ?? 0;
    const location = REDIRECT_STATUSES.has(status) ? x.msg.headers.location : undefined;
    if (location === undefined || redirect === 'manual') return HttpResponse.open(x, url, method, hops > 0, signal);
    await release(x, 0);
    if (redirect === 'error') throw fetchFailed(new Error('unexpected redirect'));
    if (hops >= MAX_REDIRECTS) throw fetchFailed(new Error('redirect count exceeded'));
    let next: URL;
    try {
      next = new URL(location, url);
    } catch (err) {
      throw fetchFailed(err);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw fetchFailed(new Error('URL scheme must be a HTTP(S) scheme'));
    if (status !== 303 && body && 'stream' in body) throw fetchFailed(new Error('cannot follow a redirect with a streamed request body'));
    if (((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'GET' && method !== 'HEAD')) {
      method = 'GET';
      body = undefined;
      for (const k of ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length']) delete headers[k];
    }
    if (next.origin !== url.origin) {
      for (const k of ['authorization', 'proxy-authorization', 'cookie', 'host']) delete headers[k];
    }
    next.hash = '';
    url = next;
  }
}

// --- response -----------------------------------------------------------

class ResponseHeaders implements FetchHeaders {
  private readonly map = new Map<string, string[]>();

  constructor(raw: string[]) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const k = raw[i]!.toLowerCase();
      const list = this.map.get(k);
      if (list) list.push(raw[i + 1]!);
      else this.map.set(k, [raw[i + 1]!]);
    }
  }

  get(name: string): string | null {
    return this.map.get(name.toLowerCase())?.join(', ') ?? null;
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  getSetCookie(): string[] {
    return [...(this.map.get('set-cookie') ?? [])];
  }

  *entries(): IterableIterator<[string, string]> {
    for (const k of [...this.map.keys()].sort()) yield [k, this.map.get(k)!.join(', ')];
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  forEach(cb: (value: string, name: string, headers: ResponseHeaders) => void): void {
    for (const [k, v] of this.entries()) cb(v, k, this);
  }
}

/** A response body: a Node Readable that can also be cancelled as a web stream can. */
export type ResponseBody = Readable & FetchBody;

/** deflate is zlib-wrapped or raw, told by its first byte (as undici tells it). */
class InflateStream extends Transform {
  private inner?: Transform;

  constructor(private readonly zlib: typeof import('node:zlib')) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.inner) {
      if (chunk.length === 0) return cb();
      const o = { flush: this.zlib.constants.Z_SYNC_FLUSH, finishFlush: this.zlib.constants.Z_SYNC_FLUSH };
      this.inner = (chunk[0]! & 0x0f) === 0x08 ? this.zlib.createInflate(o) : this.zlib.createInflateRaw(o);
      this.inner.on('data', (d: Buffer) => this.push(d));
      this.inner.on('error', (err) => this.destroy(err));
    }
    this.inner.write(chunk, cb);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.inner) return cb();
    this.inner.end();
    this.inner.once('end', () => cb());
  }
}

function decoders(zlib: typeof import('node:zlib'), contentEncoding: string): Transform[] {
  const codings = contentEncoding.toLowerCase().split(',').map((c) => c.trim()).filter(Boolean);
  const out: Transform[] = [];
  const z = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const br = { flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };
  for (let i = codings.length - 1; i >= 0; i--) {
    const c = codings[i]!;
    if (c === 'gzip' || c === 'x-gzip') out.push(zlib.createGunzip(z));
    else if (c === 'deflate') out.push(new InflateStream(zlib));
    else if (c === 'br') out.push(zlib.createBrotliDecompress(br));
    else return []; // a coding we do not know: the body as it came
  }
  return out;
}

class HttpResponse implements FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: ResponseHeaders;
  private used = false;

  private constructor(
    msg: IncomingMessage,
    readonly url: string,
    readonly redirected: boolean,
    readonly body: ResponseBody | null,
  ) {
    this.status = msg.statusCode ?? 0;
    this.statusText = msg.statusMessage ?? '';
    this.ok = this.status >= 200 && this.status <= 299;
    this.headers = new ResponseHeaders(msg.rawHeaders);
  }

  get bodyUsed(): boolean {
    return this.used || (this.body?.readableDidRead ?? false);
  }

  static async open(x: Exchange, url: URL, method: string, redirected: boolean, signal: AbortSignal | undefined): Promise<HttpResponse> {
    const { req, msg } = x;
    const status = msg.statusCode ?? 0;
    if (method === 'HEAD' || NULL_BODY_STATUSES.has(status) || status < 200) {
      await release(x, 0);
      return new HttpResponse(msg, url.href, redirected, null);
    }
    const encoding = msg.headers['content-encoding'];
    const chain: Transform[] = encoding ? decoders(await import('node:zlib'), encoding) : [];
    const body = new PassThrough() as PassThrough & { cancel(reason?: unknown): Promise<void> };
    let done = false;
    let received = 0;
    const finish = () => {
      done = true;
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown) => {
      if (done) return;
      finish();
      for (const d of chain) d.destroy();
      msg.destroy();
      body.destroy(err as Error);
    };
    const onAbort = () => fail(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const terminated = (cause: unknown) => fail(new TypeError('terminated', { cause }));
    const cutShort = () => terminated(codedError('aborted', 'ECONNRESET'));
    msg.on('data', (c: Buffer) => (received += c.length));
    msg.on('error', terminated);
    // The connection closed before the whole body came (an error, if any, came first).
    msg.on('close', () => !msg.complete && cutShort());
    if (msg.destroyed && !msg.complete) cutShort(); // while node:zlib was loading
    for (const d of chain) d.on('error', terminated);
    req.on('timeout', () => terminated(codedError('Body Timeout Error', 'UND_ERR_BODY_TIMEOUT')));
    body.on('end', finish);
    body.on('close', finish);
    let last: Readable = msg;
    for (const d of chain) last = last.pipe(d);
    last.pipe(body);

    body.cancel = async () => {
      if (done) return;
      finish();
      last.unpipe(body);
      for (const d of chain) {
        d.unpipe();
        d.destroy();
      }
      msg.unpipe();
      body.destroy();
      await release(x, received);
    };
    return new HttpResponse(msg, url.href, redirected, body);
  }

  private async bytes(): Promise<Buffer> {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.used = true;
    if (!this.body) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const c of this.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.bytes();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    const s = (await this.bytes()).toString('utf8');
    return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }
}
