// Registry credentials in Docker's config.json format, so `docker login`
// and `tsrun login` share one file format:
//   {"auths": {"ghcr.io": {"auth": base64("user:pass")}, ...}}
// Docker Hub's key is 'https://index.docker.io/v1/' because Docker writes it so.
// As in Docker, `credHelpers: {"host": "NAME"}` and `credsStore: "NAME"`
// hand a registry's secrets to `docker-credential-NAME` instead
// (credential-helpers.ts): for a host a helper covers, that helper alone
// answers for that file, and login/logout store and erase there, leaving
// only an empty `auths` entry in the file (as Docker does). Unlike Docker,
// a helper that is not installed is passed over (the file's own entries
// answer) unless tsrun's own file names it: config.json files travel from
// Docker Desktop machines with `"credsStore": "desktop"` in them.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TsrunError } from '../../errors.js';
import { atomicWriteFile } from '../../util/atomic-write.js';
import { HelperNotInstalledError, helperErase, helperGet, helperStore, type HelperOptions } from './credential-helpers.js';

export interface Credential {
  username?: string;
  password?: string;
  /** OAuth refresh token ('identitytoken'), exchanged at the token endpoint. */
  identityToken?: string;
}

export interface CredentialSource {
  /** Credentials for a registry host ('docker.io', 'ghcr.io', 'localhost:5000'). */
  get(host: string): Promise<Credential | undefined>;
}

export const DOCKER_HUB_CREDENTIAL_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The key Docker uses in "auths" for a host. */
export function credentialKey(host: string): string {
  return DOCKER_HUB_ALIASES.has(normalizeKey(host)) ? DOCKER_HUB_CREDENTIAL_KEY : normalizeKey(host);
}

// Keys in the wild: 'ghcr.io', 'https://ghcr.io', 'https://ghcr.io/v2/',
// 'https://index.docker.io/v1/'. Compare by host[:port] only.
function normalizeKey(key: string): string {
  const noScheme = key.replace(/^[a-z]+:\/\//i, '');
  return noScheme.split('/')[0]!.toLowerCase();
}

function hostMatches(key: string, host: string): boolean {
  const k = normalizeKey(key);
  const h = normalizeKey(host);
  return k === h || (DOCKER_HUB_ALIASES.has(k) && DOCKER_HUB_ALIASES.has(h));
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: unknown;
  credHelpers?: Record<string, unknown>;
  [other: string]: unknown;
}

/** The helper a config file names for `host`: its credHelpers entry, else credsStore. */
function helperIn(cfg: ConfigFile | undefined, host: string): string | undefined {
  if (!cfg) return undefined;
  const helpers = cfg.credHelpers && typeof cfg.credHelpers === 'object' ? cfg.credHelpers : {};
  for (const [key, name] of Object.entries(helpers)) {
    if (typeof name === 'string' && name !== '' && hostMatches(key, host)) return name;
  }
  return typeof cfg.credsStore === 'string' && cfg.credsStore !== '' ? cfg.credsStore : undefined;
}

async function readConfig(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as ConfigFile;
  } catch (err) {
    throw new TsrunError('INVALID_ARGUMENT', `cannot read credentials file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function decodeEntry(entry: NonNullable<ConfigFile['auths']>[string]): Credential | undefined {
  const cred: Credential = {};
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) {
      cred.username = decoded.slice(0, i);
      cred.password = decoded.slice(i + 1);
    }
  } else if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    cred.username = entry.username;
    cred.password = entry.password;
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') cred.identityToken = entry.identitytoken;
  return cred.username !== undefined || cred.identityToken !== undefined ? cred : undefined;
}

export class DockerConfigCredentials implements CredentialSource {
  private readonly readPaths: string[];
  private readonly writePath: string;
  private readonly helperOpts: HelperOptions;

  /**
   * @param opts.readPaths config.json files consulted in order (tsrun's own,
   *   then ~/.docker/config.json); the first with an entry for a host wins.
   * @param opts.writePath where login/logout write (defaults to readPaths[0]).
   * @param opts.env environment of credential helpers (PATH finds them).
   */
  constructor(opts: { readPaths: string[]; writePath?: string; env?: NodeJS.ProcessEnv }) {
    this.readPaths = opts.readPaths;
    const w = opts.writePath ?? opts.readPaths[0];
    if (w === undefined) throw new TsrunError('INVALID_ARGUMENT', 'DockerConfigCredentials needs a path to write');
    this.writePath = w;
    this.helperOpts = opts.env ? { env: opts.env } : {};
  }

  /**
   * The credential helper login/logout use for `host`: named by the file
   * login writes, else by the first other file that names an installed one
   * (so a credsStore in Docker's config.json keeps `tsrun login` secrets
   * out of plain files too).
   */
  private async helperFor(host: string, op: (helper: string) => Promise<boolean | void>): Promise<{ helper?: string; result?: boolean | void }> {
    const own = helperIn(await readConfig(this.writePath), host);
    if (own) return { helper: own, result: await op(own) };
    for (const path of this.readPaths.filter((p) => p !== this.writePath)) {
      const name = helperIn(await readConfig(path), host);
      if (!name) continue;
      try {
        return { helper: name, result: await op(name) };
      } catch (err) {
        if (!(err instanceof HelperNotInstalledError)) throw err;
      }
    }
    return {};
  }

  async get(host: string): Promise<Credential | undefined> {
    for (const path of this.readPaths) {
      const cfg = await readConfig(path);
      const helper = helperIn(cfg, host);
      if (helper) {
        try {
          const cred = await helperGet(helper, credentialKey(host), this.helperOpts);
          if (cred) return cred;
          continue; // a helper that covers the host answers for this file alone
        } catch (err) {
          if (!(err instanceof HelperNotInstalledError) || path === this.writePath) throw err;
        }
      }
      for (const [key, entry] of Object.entries(cfg?.auths ?? {})) {
        if (entry && typeof entry === 'object' && hostMatches(key, host)) {
          const cred = decodeEntry(entry);
          if (cred) return cred;
        }
      }
    }
    return undefined;
  }

  /** Stores user:pass for host (other entries and keys are kept). */
  async login(host: string, username: string, password: string): Promise<void> {
    if (username === '' || username.includes(':')) {
      throw new TsrunError('INVALID_ARGUMENT', 'the user name must be non-empty and must not contain ":"');
    }
    const { helper } = await this.helperFor(host, (h) => helperStore(h, credentialKey(host), username, password, this.helperOpts));
    const cfg = (await readConfig(this.writePath)) ?? {};
    const auths = { ...(cfg.auths ?? {}) };
    for (const key of Object.keys(auths)) if (hostMatches(key, host)) delete auths[key];
    // With a helper the file only records that a login exists, as Docker's does.
    auths[credentialKey(host)] = helper ? {} : { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
    await this.write({ ...cfg, auths });
  }

  /** Removes the host's entry; false when there was none. */
  async logout(host: string): Promise<boolean> {
    const removed = (await this.helperFor(host, (h) => helperErase(h, credentialKey(host), this.helperOpts))).result === true;
    const cfg = await readConfig(this.writePath);
    if (!cfg?.auths) return removed;
    const auths = { ...cfg.auths };
    let changed = false;
    for (const key of Object.keys(auths)) {
      if (hostMatches(key, host)) {
        delete auths[key];
        changed = true;
      }
    }
    if (changed) await this.write({ ...cfg, auths });
    return removed || changed;
  }

  private async write(cfg: ConfigFile): Promise<void> {
    await mkdir(dirname(this.writePath), { recursive: true, mode: 0o700 });
    // 0600: the file holds passwords (base64 is not encryption).
    await atomicWriteFile(this.writePath, JSON.stringify(cfg, null, '\t') + '\n', 0o600);
  }
}

/** A fixed set of credentials, for tests and embedding. */
export class StaticCredentials implements CredentialSource {
  constructor(private readonly byHost: Record<string, Credential>) {}
  async get(host: string): Promise<Credential | undefined> {
    for (const [key, cred] of Object.entries(this.byHost)) if (hostMatches(key, host)) return cred;
    return undefined;
  }
}
