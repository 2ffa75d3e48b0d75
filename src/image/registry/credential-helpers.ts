// Docker's credential helpers (github.com/docker/docker-credential-helpers):
// `docker-credential-NAME` programs on PATH that keep registry secrets in a
// keychain instead of config.json. config.json names them with `credsStore`
// (every registry) and `credHelpers` (per registry, which wins). The
// protocol is one verb per run, as argv[1]:
//   get    stdin: the server URL        stdout: {"ServerURL","Username","Secret"}
//   store  stdin: that JSON             stdout: nothing
//   erase  stdin: the server URL        stdout: nothing
// A Username of "<token>" means Secret is an identity (refresh) token. A
// helper that has nothing for the server exits non-zero saying
// "credentials not found in native keychain".
import { TsrunError } from '../../errors.js';
import type { Credential } from './credentials.js';

export const IDENTITY_TOKEN_USERNAME = '<token>';
const NOT_FOUND_RE = /credentials not found/i;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// A helper may ask for a passphrase (pass, gpg-agent): give it time, not forever.
const TIMEOUT_MS = 120_000;

/** The helper program is not on PATH (callers may treat the helper as not configured). */
export class HelperNotInstalledError extends TsrunError {
  constructor(readonly program: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `the credential helper ${program} named in the registry config is not installed (not found on PATH)`, options);
  }
}

export interface HelperOptions {
  /** Environment for the helper; PATH decides which program runs (tests point it at a fake). */
  env?: NodeJS.ProcessEnv;
}

export function helperProgram(name: string): string {
  if (!NAME_RE.test(name)) throw new TsrunError('INVALID_ARGUMENT', `invalid credential helper name ${JSON.stringify(name)} in the registry config`);
  return `docker-credential-${name}`;
}

/** Runs `docker-credential-NAME verb` with `input` on stdin; resolves with its exit code and output. */
async function run(name: string, verb: 'get' | 'store' | 'erase', input: string, opts: HelperOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = helperProgram(name);
  // child_process (and the net and stream modules under it) loads only when a helper runs, not with every verb.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(program, [verb], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT'
          ? new HelperNotInstalledError(program, { cause: e })
          : new TsrunError('INVALID_ARGUMENT', `cannot run the credential helper ${program}: ${e.message}`, { cause: e }),
      );
    });
    child.once('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // A helper that exits without reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function failure(name: string, verb: string, r: { code: number; stdout: string; stderr: string }): TsrunError {
  const said = (r.stdout.trim() || r.stderr.trim()).split('\n')[0];
  return new TsrunError('REGISTRY_ERROR', `credential helper ${helperProgram(name)} ${verb} failed (exit ${r.code})${said ? `: ${said}` : ''}`);
}

/** The helper's credentials for `serverUrl`, or undefined when it has none. */
export async function helperGet(name: string, serverUrl: string, opts: HelperOptions = {}): Promise<Credential | undefined> {
  const r = await run(name, 'get', serverUrl, opts);
  if (r.code !== 0) {
    if (NOT_FOUND_RE.test(r.stdout) || NOT_FOUND_RE.test(r.stderr)) return undefined;
    throw failure(name, 'get', r);
  }
  let body: { Username?: unknown; Secret?: unknown };
  try {
    body = JSON.parse(r.stdout) as typeof body;
  } catch {
    throw new TsrunError('REGISTRY_ERROR', `credential helper ${helperProgram(name)} get printed something that is not JSON`);
  }
  const username = typeof body.Username === 'string' ? body.Username : '';
  const secret = typeof body.Secret === 'string' ? body.Secret : '';
  if (username === IDENTITY_TOKEN_USERNAME) return secret ? { identityToken: secret } : undefined;
  if (username === '' && secret === '') return undefined;
  return { username, password: secret };
}

/** Stores user and secret for `serverUrl` in the helper's keychain. */
export async function helperStore(name: string, serverUrl: string, username: string, secret: string, opts: HelperOptions = {}): Promise<void> {
  const r = await run(name, 'store', JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret }), opts);
  if (r.code !== 0) throw failure(name, 'store', r);
}

/** Removes `serverUrl` from the helper's keychain; false when it had nothing. */
export async function helperErase(name: string, serverUrl: string, opts: HelperOptions = {}): Promise<boolean> {
  const r = await run(name, 'erase', serverUrl, opts);
  if (r.code === 0) return true;
  if (NOT_FOUND_RE.test(r.stdout) || NOT_FOUND_RE.test(r.stderr)) return false;
  throw failure(name, 'erase', r);
}
