// A real registry server for image tests: Debian's `docker-registry`
// (github.com/docker/distribution 2.8) on 127.0.0.1 with a random port,
// filesystem storage in a temp dir, and optionally basic (htpasswd) or
// Docker-Hub-style token authentication. Nothing leaves loopback.
//
//   const reg = await startRegistry({ auth: 'token', users: { alice: 'pw' } });
//   ... push with image-fixtures.ts, pull with tsrun ...
//   await reg.stop();
//
// Quirks of this registry version, found the hard way:
//   - htpasswd auth works over plain http (distribution only logs a warning);
//     the file must hold bcrypt hashes (`htpasswd -Bbn`), others are refused.
//   - token auth: the JWT must be RS256 (or another alg libtrust knows) with
//     either an `x5c` chain that verifies against auth.token.rootcertbundle,
//     or a `kid` equal to the libtrust key id of a key in that bundle. We use
//     x5c with the self-signed cert itself. `iss` must equal auth.token.issuer,
//     `aud` must contain auth.token.service, and `access` lists the grants.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integrationSkipReason } from './tsrun.js';

export type RegistryAuth = 'none' | 'htpasswd' | 'token';

export interface RegistryOptions {
  auth?: RegistryAuth;
  /** user → password; default { tsrun: 'tsrun-secret' } when auth is not 'none'. */
  users?: Record<string, string>;
  /**
   * Token mode: repositories whose name starts with one of these prefixes
   * may be pulled anonymously (default ['public/']). Everything else, and
   * any push, needs a user.
   */
  publicPrefixes?: string[];
}

export interface TestRegistry {
  /** '127.0.0.1:PORT' */
  host: string;
  /** 'http://127.0.0.1:PORT' */
  url: string;
  /** The registry's storage root (docker/registry/v2/... below it). */
  dataDir: string;
  auth: RegistryAuth;
  users: Record<string, string>;
  /** 'user:password' of the first user ('' when auth is 'none'): for skopeo --dest-creds and pushRaw. */
  creds: string;
  /** Token mode: the token endpoint ('http://127.0.0.1:PORT/token') and the service name. */
  realm?: string;
  service?: string;
  /** Token mode: how many token requests the token server answered (any status). */
  tokenRequests?: () => number;
  /** Token mode: how many of them were granted at least one action. */
  tokenGrants?: () => number;
  /** The registry's log (stdout+stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export const REGISTRY_BIN = '/usr/bin/docker-registry';
const SERVICE = 'tsrun-test-registry';
const ISSUER = 'tsrun-test-token-issuer';

/** For test files that need root and a registry: empty when they can run, else why not (printed once). */
export function registryTestSkipReason(file: string): string {
  const reason = integrationSkipReason(file);
  if (reason) return reason;
  const missing = registrySkipReason();
  if (missing) process.stderr.write(`[skip] ${file}: ${missing}\n`);
  return missing;
}

/** Empty when a registry can be started here, otherwise why not. */
export function registrySkipReason(): string {
  const missing: string[] = [];
  for (const tool of ['docker-registry', 'skopeo', 'htpasswd', 'openssl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      missing.push(tool);
    }
  }
  return missing.length ? `missing ${missing.join(', ')} (run scripts/setup.sh)` : '';
}

// Registries and token servers still running when the test process exits
// (a crashed test, a missing stop()) are killed rather than left behind.
// Their temp dirs go too.
const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHook = false;
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}
function track(child: ChildProcess): void {
  installExitHook();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const users = auth === 'none' ? {} : (opts.users ?? { tsrun: 'tsrun-secret' });
  const base = mkdtempSync(join(tmpdir(), 'tsrun-registry-'));
  installExitHook();
  liveDirs.add(base);
  const dataDir = join(base, 'data');
  mkdirSync(dataDir);
  let token: TokenServer | undefined;
  try {
    let authYaml = '';
    if (auth === 'htpasswd') {
      const lines = Object.entries(users).map(([u, p]) =>
        execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim(),
      );
      writeFileSync(join(base, 'htpasswd'), lines.join('\n') + '\n');
      authYaml = `auth:\n  htpasswd:\n    realm: tsrun-test\n    path: ${join(base, 'htpasswd')}\n`;
    } else if (auth === 'token') {
      token = await startTokenServer(base, users, opts.publicPrefixes ?? ['public/']);
      authYaml =
        `auth:\n  token:\n    realm: ${token.realm}\n    service: ${SERVICE}\n    issuer: ${ISSUER}\n` +
        `    rootcertbundle: ${token.certFile}\n`;
    }
    // A port picked now may be taken by the time the registry binds it:
    // try a few.
    let lastErr: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      try {
        const reg = await launch(base, dataDir, port, authYaml);
        const host = `127.0.0.1:${port}`;
        const tk = token;
        const result: TestRegistry = {
          host,
          url: `http://${host}`,
          dataDir,
          auth,
          users,
          creds: Object.entries(users).map(([u, p]) => `${u}:${p}`)[0] ?? '',
          log: reg.log,
          stop: async () => {
            await reg.stop();
            await tk?.close();
            rmSync(base, { recursive: true, force: true });
            liveDirs.delete(base);
          },
        };
        if (tk) {
          result.realm = tk.realm;
          result.service = SERVICE;
          result.tokenRequests = () => tk.requests;
          result.tokenGrants = () => tk.grants;
        }
        return result;
      } catch (e) {
        lastErr = e;
        if (!/address already in use/.test(String(e))) break;
      }
    }
    throw lastErr;
  } catch (e) {
    await token?.close();
    rmSync(base, { recursive: true, force: true });
    liveDirs.delete(base);
    throw e;
  }
}

async function launch(
  base: string,
  dataDir: string,
  port: number,
  authYaml: string,
): Promise<{ log: () => string; stop: () => Promise<void> }> {
  const config = join(base, `config-${port}.yml`);
  // No blobdescriptor cache: corruptBlob/truncateBlob change the stored data
  // and the registry must serve what is on disk, not a remembered size.
  writeFileSync(
    config,
    `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${dataDir}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString('hex')}
${authYaml}`,
  );
  const logFile = join(base, `registry-${port}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  track(child);
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  let exited = false;
  const exitedP = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', () => undefined);
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitedP;
      clearTimeout(t);
    }
  };
  // Ready when /v2/ answers at all (401 counts: auth is on).
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(50)) {
    if (exited) throw new Error(`docker-registry exited during start-up:\n${log()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return { log, stop };
    } catch {
      // not listening yet
    }
  }
  await stop();
  throw new Error(`docker-registry did not answer on 127.0.0.1:${port} within 15s:\n${log()}`);
}

// ---------------------------------------------------------------------------
// Token server (Docker Hub's flow, https://distribution.github.io/distribution/spec/auth/token/)

interface TokenServer {
  realm: string;
  certFile: string;
  requests: number;
  grants: number;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Signs a registry JWT the way the token server does (exported for tests that craft tokens). */
export function signRegistryToken(
  key: KeyObject,
  certDer: Buffer,
  claims: { sub: string; access: { type: string; name: string; actions: string[] }[]; expiresIn?: number },
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] };
  const payload = {
    iss: ISSUER,
    sub: claims.sub,
    aud: SERVICE,
    exp: now + (claims.expiresIn ?? 300),
    nbf: now - 30,
    iat: now,
    jti: randomBytes(12).toString('hex'),
    access: claims.access,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}

async function startTokenServer(base: string, users: Record<string, string>, publicPrefixes: string[]): Promise<TokenServer> {
  const keyFile = join(base, 'token.key');
  const certFile = join(base, 'token.crt');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', '/CN=tsrun test token issuer'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw;
  const state = { requests: 0, grants: 0 };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) {
      res.writeHead(404).end();
      return;
    }
    state.requests++;
    let user = '';
    const authz = req.headers.authorization ?? '';
    if (authz) {
      const m = /^Basic\s+(\S+)$/i.exec(authz);
      const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
      const i = decoded.indexOf(':');
      const name = i < 0 ? '' : decoded.slice(0, i);
      if (i < 0 || !(name in users) || users[name] !== decoded.slice(i + 1)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="tsrun-test-token"' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }));
        return;
      }
      user = name;
    }
    if (u.searchParams.get('service') && u.searchParams.get('service') !== SERVICE) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: `unknown service ${u.searchParams.get('service')}` }] }));
      return;
    }
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const scope of u.searchParams.getAll('scope').flatMap((s) => s.split(' '))) {
      // type:name:actions where name may contain ':' (a registry host with a port)
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || last === first) continue;
      const type = scope.slice(0, first);
      const name = scope.slice(first + 1, last);
      const wanted = scope.slice(last + 1).split(',').filter(Boolean);
      let actions: string[] = [];
      if (user) actions = wanted;
      else if (type === 'repository' && publicPrefixes.some((p) => name.startsWith(p))) actions = wanted.filter((a) => a === 'pull');
      access.push({ type, name, actions });
    }
    if (access.some((a) => a.actions.length)) state.grants++;
    const tok = signRegistryToken(key, certDer, { sub: user, access });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: tok, access_token: tok, expires_in: 300, issued_at: new Date().toISOString() }));
  };

  const server: Server = createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile,
    get requests() {
      return state.requests;
    },
    get grants() {
      return state.grants;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------
// Registry HTTP API with whatever auth the registry asks for

/** fetch() against the registry that answers a 401 challenge (Basic or Bearer) with `creds` ('user:pass' or ''). */
export async function registryFetch(reg: TestRegistry, path: string, init: RequestInit = {}, creds = reg.creds): Promise<Response> {
  const url = path.startsWith('http') ? path : `${reg.url}${path}`;
  const first = await fetch(url, { ...init, redirect: 'manual' });
  if (first.status !== 401) return first;
  await first.arrayBuffer();
  const challenge = first.headers.get('www-authenticate') ?? '';
  const basic = creds ? `Basic ${Buffer.from(creds).toString('base64')}` : '';
  let authorization: string;
  if (/^basic/i.test(challenge)) {
    if (!basic) return first;
    authorization = basic;
  } else if (/^bearer/i.test(challenge)) {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const t = new URL(params.realm);
    if (params.service) t.searchParams.set('service', params.service);
    if (params.scope) for (const s of params.scope.split(' ')) t.searchParams.append('scope', s);
    const tr = await fetch(t, basic ? { headers: { authorization: basic } } : {});
    if (tr.status !== 200) throw new Error(`token server ${t}: ${tr.status} ${await tr.text()}`);
    const body = (await tr.json()) as { token?: string; access_token?: string };
    authorization = `Bearer ${body.token ?? body.access_token}`;
  } else {
    return first;
  }
  const headers = new Headers(init.headers);
  headers.set('authorization', authorization);
  return fetch(url, { ...init, headers, redirect: 'manual' });
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
