// Registry authentication as Docker does it (distribution's token spec):
// a request answered 401 carries `WWW-Authenticate: Bearer realm=...,
// service=...,scope=...`; we GET realm?service=..&scope=repository:NAME:pull
// (anonymously, or with basic credentials), and retry once with the token.
// A `Basic` challenge means: send the credentials on every request.
// What we learn about a host is remembered, so later requests carry the
// right Authorization header from the start instead of paying a 401 each.
// Pushes ask for `pull,push` (plus `pull` on a repository mounted from);
// a token service that answers 5xx or drops the connection is retried by
// the caller's backoff, as a registry that does so is.
import { TsrunError } from '../../errors.js';
import type { Credential, CredentialSource } from './credentials.js';
import type { FetchFn, FetchResponse } from './http-fetch.js';

/** An error worth retrying on the same endpoint (5xx, 429, dropped connection). */
export class TransientError extends TsrunError {
  constructor(
    code: 'REGISTRY_ERROR' | 'REGISTRY_UNREACHABLE',
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

// Errors while connecting that mean "the connection dropped" (retry it)
// rather than "nothing is there" (ECONNREFUSED, ENOTFOUND: move on or fail).
export const DROPPED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code;
}

export interface Challenge {
  scheme: string; // lower-cased: 'bearer', 'basic'
  params: Record<string, string>; // keys lower-cased
}

/** Parses a WWW-Authenticate header (RFC 7235), possibly several challenges. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = () => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(s.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    skipWs();
    while (s[i] === ',') {
      i++;
      skipWs();
    }
    const scheme = token();
    if (!scheme) break;
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    // auth-params: name=value or name="quoted", comma separated, until the next scheme.
    for (;;) {
      skipWs();
      const save = i;
      const name = token();
      skipWs();
      if (!name || s[i] !== '=') {
        i = save; // a new challenge (or a token68, which we do not use) begins here
        break;
      }
      i++;
      skipWs();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const m = /^[^,\s]*/.exec(s.slice(i))!;
        value = m[0];
        i += value.length;
      }
      ch.params[name.toLowerCase()] = value;
      skipWs();
      if (s[i] === ',') i++;
    }
  }
  return out;
}

export interface AuthorizerOptions {
  fetch: FetchFn;
  credentials?: CredentialSource;
  userAgent?: string;
  /** Clock in ms, for token expiry; tests pass a fake. */
  now?: () => number;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

// The token spec: "If omitted, the token should be assumed to be valid for 60 seconds".
const DEFAULT_TOKEN_LIFETIME_S = 60;
// Renew a little before expiry so a token does not lapse in flight.
const EXPIRY_SLACK_MS = 5_000;

export function basicHeader(cred: Credential): string {
  return 'Basic ' + Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`, 'utf8').toString('base64');
}

/** The action string for a repository: 'repository:library/alpine:pull'. */
export function pullScope(repositoryPath: string): string {
  return `repository:${repositoryPath}:pull`;
}

/**
 * What a push needs: pull and push on the target, and pull on each
 * repository a blob is mounted from. Several scopes are one string,
 * space-separated (the token request sends each as its own `scope=`).
 */
export function pushScope(repositoryPath: string, mountFrom: string[] = []): string {
  return [`repository:${repositoryPath}:pull,push`, ...mountFrom.filter((r) => r !== repositoryPath).map(pullScope)].join(' ');
}

/** 'push' when a scope asks for push on its first repository, else 'pull' (for error wording). */
export function scopeAction(scope: string): 'pull' | 'push' {
  const first = scope.split(' ')[0] ?? '';
  return /:[^:]*\bpush\b[^:]*$/.test(first) ? 'push' : 'pull';
}

export class Authorizer {
  private readonly opts: AuthorizerOptions;
  private readonly now: () => number;
  /** Last challenge seen per host (host[:port] of the registry endpoint). */
  private readonly challenges = new Map<string, Challenge>();
  /** Tokens per realm + service + scope. */
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(opts: AuthorizerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Looked up once per host: a credential helper is a process to run, not a file to read. */
  private readonly credentials = new Map<string, Promise<Credential | undefined>>();

  private credential(host: string): Promise<Credential | undefined> {
    let p = this.credentials.get(host);
    if (!p) {
      p = Promise.resolve(this.opts.credentials?.get(host));
      this.credentials.set(host, p);
      p.catch(() => this.credentials.delete(host));
    }
    return p;
  }

  /**
   * The Authorization header to send to `host` for `scope`, based on what
   * its earlier challenges asked for; undefined before the first challenge.
   */
  async authorization(host: string, scope: string): Promise<string | undefined> {
    const ch = this.challenges.get(host);
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const cred = await this.credential(host);
      return cred?.username !== undefined ? basicHeader(cred) : undefined;
    }
    if (ch.scheme === 'bearer') {
      const key = tokenKey(ch, scope);
      const cached = this.tokens.get(key);
      if (cached && cached.expiresAt > this.now()) return `Bearer ${cached.value}`;
      return `Bearer ${await this.tokenOnce(host, ch, scope)}`;
    }
    return undefined;
  }

  /**
   * Called with a 401 response's WWW-Authenticate header. Returns the header
   * to retry with, or throws REGISTRY_UNAUTHORIZED when there is nothing to
   * try (no credentials for a Basic challenge, unknown scheme).
   */
  async onChallenge(host: string, header: string | null, scope: string, what: string, sent?: string): Promise<string> {
    const challenges = parseWwwAuthenticate(header ?? '');
    const ch = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!ch) throw await this.unauthorized(host, what, 'no usable WWW-Authenticate challenge', scopeAction(scope));
    // Remember the host's scheme/realm/service; its scope was for this request only.
    const { scope: challengeScope, ...rest } = ch.params;
    this.challenges.set(host, { scheme: ch.scheme, params: rest });
    if (ch.scheme === 'basic') {
      const cred = await this.credential(host);
      if (cred?.username === undefined) throw await this.unauthorized(host, what, undefined, scopeAction(scope));
      return basicHeader(cred);
    }
    const key = tokenKey(ch, scope);
    const cached = this.tokens.get(key);
    if (cached && `Bearer ${cached.value}` !== sent && cached.expiresAt > this.now()) {
      return `Bearer ${cached.value}`; // a parallel request has already renewed it
    }
    this.tokens.delete(key); // the one we sent (if any) was refused
    return `Bearer ${await this.tokenOnce(host, ch, scope, challengeScope)}`;
  }

  /** One token request per key at a time: parallel layer downloads share it. */
  private tokenOnce(host: string, ch: Challenge, scope: string, challengeScope?: string): Promise<string> {
    const key = tokenKey(ch, scope);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchToken(host, ch, scope, challengeScope).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** The error for a request still refused after authenticating. */
  async unauthorized(host: string, what: string, detail?: string, action: 'pull' | 'push' = 'pull'): Promise<TsrunError> {
    const cred = await this.credential(host);
    const suffix = detail ? ` (${detail})` : '';
    if (action === 'push') {
      // Docker: "denied: requested access to the resource is denied" with an
      // account, "unauthorized: authentication required" without one.
      if (cred) {
        return new TsrunError(
          'REGISTRY_DENIED',
          `push access denied for ${what}: ${detail ?? 'denied: requested access to the resource is denied'} ` +
            `(as ${cred.username ?? 'the stored identity token'} on ${displayHost(host)})`,
        );
      }
      return new TsrunError(
        'REGISTRY_UNAUTHORIZED',
        `push access denied for ${what}: ${detail ?? 'unauthorized: authentication required'}: run \`tsrun login ${displayHost(host)}\``,
      );
    }
    if (cred) {
      return new TsrunError(
        'REGISTRY_UNAUTHORIZED',
        `access to ${what} was denied for ${cred.username ?? 'the stored identity token'} on ${host}: ` +
          `the repository may not exist, or that account may lack pull access${suffix}`,
      );
    }
    return new TsrunError(
      'REGISTRY_UNAUTHORIZED',
      `pull access denied for ${what}: the repository does not exist or requires authentication: ` +
        `run \`tsrun login ${displayHost(host)}\`${suffix}`,
    );
  }

  private async fetchToken(host: string, ch: Challenge, scope: string, challengeScope?: string): Promise<string> {
    const realm = ch.params['realm'];
    if (!realm) throw new TsrunError('REGISTRY_ERROR', `${host} sent a Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new TsrunError('REGISTRY_ERROR', `${host} sent a Bearer challenge with a bad realm "${realm}"`);
    }
    // Ask for our scope and, like distribution's client, any scope the challenge named.
    // `login` asks with no scope at all, as `docker login` does.
    const scopes = [...new Set([scope, challengeScope].flatMap((x) => (x ? x.split(' ') : [])).filter(Boolean))];
    const cred = await this.credential(host);
    const headers: Record<string, string> = {};
    if (this.opts.userAgent) headers['user-agent'] = this.opts.userAgent;

    let res: FetchResponse;
    try {
      if (cred?.identityToken) {
        // OAuth2 refresh-token grant, as Docker does with an identity token.
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'tsrun' });
        if (ch.params['service']) form.set('service', ch.params['service']);
        form.set('scope', scopes.join(' '));
        headers['content-type'] = 'application/x-www-form-urlencoded';
        res = await this.opts.fetch(url, { method: 'POST', headers, body: form.toString() });
      } else {
        if (ch.params['service']) url.searchParams.set('service', ch.params['service']);
        for (const s of scopes) url.searchParams.append('scope', s);
        if (cred?.username !== undefined) headers['authorization'] = basicHeader(cred);
        res = await this.opts.fetch(url, { headers });
      }
    } catch (err) {
      const msg = `cannot reach the token service ${url.host} for ${host}: ${causeMessage(err)}`;
      const code = errorCode(err);
      if (code && DROPPED_CODES.has(code)) throw new TransientError('REGISTRY_UNREACHABLE', msg, undefined, { cause: err });
      throw new TsrunError('REGISTRY_UNREACHABLE', msg, { cause: err });
    }
    const text = await res.text().catch(() => '');
    if (res.status === 401 || res.status === 403) {
      if (cred) {
        throw new TsrunError(
          'REGISTRY_UNAUTHORIZED',
          `${displayHost(host)} refused the stored credentials${cred.username ? ` for ${cred.username}` : ''}: ` +
            `incorrect username or password? run \`tsrun login ${displayHost(host)}\` again`,
        );
      }
      throw await this.unauthorized(host, scopeRepository(scope), undefined, scopeAction(scope));
    }
    if (res.status === 429 || res.status >= 500) {
      const ra = Number(res.headers.get('retry-after'));
      throw new TransientError(
        'REGISTRY_ERROR',
        `token service ${url.host} answered ${res.status} ${res.statusText}`,
        Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 60_000) : undefined,
      );
    }
    if (!res.ok) throw new TsrunError('REGISTRY_ERROR', `token service ${url.host} answered ${res.status} ${res.statusText}`);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new TsrunError('REGISTRY_ERROR', `token service ${url.host} sent a response that is not JSON`);
    }
    const token = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') throw new TsrunError('REGISTRY_ERROR', `token service ${url.host} sent no token`);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    this.tokens.set(tokenKey(ch, scope), { value: token, expiresAt: this.now() + lifetime * 1000 - EXPIRY_SLACK_MS });
    return token;
  }
}

function tokenKey(ch: Challenge, scope: string): string {
  return JSON.stringify([ch.params['realm'] ?? '', ch.params['service'] ?? '', scope]);
}

function scopeRepository(scope: string): string {
  return (scope.split(' ')[0] ?? '').replace(/^repository:/, '').replace(/:[^:]*$/, '');
}

/** 'registry-1.docker.io' is what we connect to, but users log in to 'docker.io'. */
export function displayHost(host: string): string {
  return host === 'registry-1.docker.io' || host === 'index.docker.io' ? 'docker.io' : host;
}

export function causeMessage(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return cause?.message ?? (err as Error)?.message ?? String(err);
}
