// The pull side of the OCI distribution API (Docker Registry HTTP API v2):
// manifests by tag or digest, blobs into memory or onto disk with
// resumable, verified downloads. Every byte is checked against its digest
// before anyone else sees it. Speaks HTTP through http-fetch.ts (fetch's
// call shape on node:http, without loading Node's undici). The
// plumbing below (endpoints, retries, auth, redirects) is shared with the
// push side, upload.ts, which extends this class.
import { createReadStream } from 'node:fs';
import { open, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { TsrunError } from '../../errors.js';
import { createDigester, digestLike, isDigest, parseDigest, sha256Digest } from '../digest.js';
import { parseManifestDocument, selectPlatform, type Descriptor } from '../manifest.js';
import {
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST,
  MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  baseMediaType,
} from '../media-types.js';
import type { Platform } from '../platform.js';
import { familiarName, familiarString, type ImageReference } from '../reference.js';
import { Authorizer, DROPPED_CODES, TransientError, causeMessage, displayHost, errorCode, pullScope, scopeAction } from './auth.js';
import type { CredentialSource } from './credentials.js';
import { endpointsFor, isTlsCertificateError, tlsAwareFetch, type RegistryEndpoint, type RegistryHostsConfig } from './hosts.js';
import type { FetchBodyInit, FetchFn, FetchResponse } from './http-fetch.js';

export interface RegistryClientOptions {
  hosts?: RegistryHostsConfig;
  credentials?: CredentialSource;
  /** Default: tlsAwareFetch(hosts). Node's fetch fits too (tests pass it, or fakes returning Response). */
  fetch?: FetchFn;
  userAgent?: string;
  retry?: { attempts: number; baseDelayMs: number };
  /** Clock for token expiry (tests). */
  now?: () => number;
}

export interface FetchedManifest {
  bytes: Buffer;
  /** Content-Type without parameters. */
  mediaType: string;
  digest: string;
  /** baseUrl of the endpoint that answered. */
  endpoint: string;
}

export interface ResolvedImage {
  indexDigest?: string;
  indexBytes?: Buffer;
  manifestDigest: string;
  manifestBytes: Buffer;
  manifestMediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  endpoint: string;
}

export interface DownloadOptions {
  /** Called with the number of bytes now in destPath (resumed bytes included). */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** Schema 1 is asked for only so that it can be refused with a clear message. */
export const MANIFEST_ACCEPT: readonly string[] = [
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST,
  MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST,
];

// containerd caps manifests at 4 MiB too; a bigger one is an attack or a bug.
export const MAX_MANIFEST_BYTES = 4 << 20;
// getBlob holds the whole blob in memory: for configs, not layers.
export const MAX_IN_MEMORY_BLOB_BYTES = 64 << 20;
const MAX_REDIRECTS = 10;
const MAX_RETRY_AFTER_MS = 60_000;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

export interface Attempt {
  ep: RegistryEndpoint;
  /** An http fallback follows this endpoint: do not retry connection errors, move on. */
  hasFallback: boolean;
}

/** One authenticated request (see RegistryClient.request). */
export interface RequestSpec {
  method?: string;
  headers?: Record<string, string>;
  /** Makes the body; called once per attempt, so a stream can be sent again after a redirect or a 401. */
  body?: () => FetchBodyInit;
  /** The token scope (default: pull on the reference's repository). */
  scope?: string;
  signal?: AbortSignal;
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (err as Error)?.name === 'AbortError';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Drops what is left of a body unread (a small rest is drained so the connection is reused). */
export async function discard(res: FetchResponse): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

/** The registry's JSON error body ({"errors":[{code,message}]}) as text, if any. */
export async function registryErrors(res: FetchResponse): Promise<{ codes: string[]; detail: string }> {
  let text = '';
  try {
    text = (await res.text()).slice(0, 64 << 10);
  } catch {
    return { codes: [], detail: '' };
  }
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const errors = Array.isArray(body.errors) ? body.errors : [];
    return {
      codes: errors.map((e) => String(e.code ?? '')),
      detail: errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; '),
    };
  } catch {
    return { codes: [], detail: text.trim().slice(0, 200) };
  }
}

/**
 * A registry's error text the way the docker CLI prints it: each code in
 * lower-case words ("DENIED: requested access ..." → "denied: requested
 * access ...", "MANIFEST_INVALID: ..." → "manifest invalid: ...").
 */
export function dockerErrorText(detail: string): string {
  return detail.replace(/(^|; )([A-Z_]+):/g, (_m, sep: string, code: string) => `${sep}${code.toLowerCase().replace(/_/g, ' ')}:`);
}

export class RegistryClient {
  protected readonly hosts: RegistryHostsConfig;
  protected readonly fetchImpl: FetchFn;
  protected readonly userAgent: string | undefined;
  protected readonly retry: { attempts: number; baseDelayMs: number };
  protected readonly auth: Authorizer;
  /** Hosts whose https endpoint failed and whose http fallback worked. */
  private readonly plainHttpHosts = new Set<string>();

  constructor(opts: RegistryClientOptions = {}) {
    this.hosts = opts.hosts ?? {};
    // Registries named with --insecure-registry get https without certificate checks.
    this.fetchImpl = opts.fetch ?? tlsAwareFetch(this.hosts);
    this.userAgent = opts.userAgent;
    this.retry = opts.retry ?? { attempts: 5, baseDelayMs: 500 };
    this.auth = new Authorizer({
      fetch: this.fetchImpl,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  /** Fetches a manifest or index by tag or digest, verifying its digest. */
  async getManifest(ref: ImageReference, reference: string, accept: readonly string[] = MANIFEST_ACCEPT): Promise<FetchedManifest> {
    const byDigest = isDigest(reference);
    if (!byDigest && !TAG_RE.test(reference)) {
      throw new TsrunError('INVALID_REFERENCE', `"${reference}" is neither a tag nor a digest`);
    }
    const shown = `${familiarName(ref)}${byDigest ? '@' : ':'}${reference}`;
    return this.withEndpoints(ref, (at) =>
      this.withRetry(async () => {
        const url = `${at.ep.baseUrl}/v2/${ref.path}/manifests/${reference}`;
        const res = await this.send(at, ref, url, { accept: accept.join(', ') });
        if (!res.ok) throw await this.statusError(res, at, ref, `manifest for ${shown}`, true);
        const bytes = await this.readCapped(res, at, MAX_MANIFEST_BYTES, () =>
          new TsrunError('MANIFEST_INVALID', `the manifest for ${shown} is larger than ${MAX_MANIFEST_BYTES} bytes`),
        );
        if (byDigest && digestLike(reference, bytes) !== reference) {
          throw new TsrunError('DIGEST_MISMATCH', `the manifest ${at.ep.host} sent for ${shown} has digest ${digestLike(reference, bytes)}`);
        }
        const header = res.headers.get('docker-content-digest');
        if (header && isDigest(header) && digestLike(header, bytes) !== header) {
          throw new TsrunError(
            'DIGEST_MISMATCH',
            `the manifest ${at.ep.host} sent for ${shown} does not match its Docker-Content-Digest ${header}`,
          );
        }
        return {
          bytes,
          mediaType: baseMediaType(res.headers.get('content-type')),
          digest: byDigest ? reference : sha256Digest(bytes),
          endpoint: at.ep.baseUrl,
        };
      }),
    );
  }

  /** Resolves a reference to this platform's image manifest (through an index if there is one). */
  async resolve(ref: ImageReference, platform: Platform): Promise<ResolvedImage> {
    const name = familiarString(ref);
    // Docker: when both are given the digest decides, the tag is informational.
    const top = await this.getManifest(ref, ref.digest ?? ref.tag ?? 'latest');
    const doc = parseManifestDocument(top.bytes, top.mediaType, name);
    if (doc.kind === 'manifest') {
      return {
        manifestDigest: top.digest,
        manifestBytes: top.bytes,
        manifestMediaType: doc.mediaType,
        config: doc.config,
        layers: doc.layers,
        endpoint: top.endpoint,
      };
    }
    const desc = selectPlatform(doc, platform, name);
    const child = await this.getManifest(ref, desc.digest);
    if (child.bytes.length !== desc.size) {
      throw new TsrunError('MANIFEST_INVALID', `the index of ${name} gives ${desc.digest} size ${desc.size}, but it has ${child.bytes.length} bytes`);
    }
    const mdoc = parseManifestDocument(child.bytes, child.mediaType || desc.mediaType, name);
    if (mdoc.kind !== 'manifest') {
      throw new TsrunError('MANIFEST_INVALID', `${name}: an index that points to another index is not supported`);
    }
    return {
      indexDigest: top.digest,
      indexBytes: top.bytes,
      manifestDigest: desc.digest,
      manifestBytes: child.bytes,
      manifestMediaType: mdoc.mediaType,
      config: mdoc.config,
      layers: mdoc.layers,
      endpoint: child.endpoint,
    };
  }

  /** A small blob (an image config) in memory, digest and size verified. */
  async getBlob(ref: ImageReference, desc: Descriptor): Promise<Buffer> {
    parseDigest(desc.digest);
    if (desc.size > MAX_IN_MEMORY_BLOB_BYTES) {
      throw new TsrunError('INVALID_ARGUMENT', `blob ${desc.digest} is ${desc.size} bytes: use downloadBlob for large blobs`);
    }
    return this.withEndpoints(ref, (at) =>
      this.withRetry(async () => {
        const res = await this.send(at, ref, `${at.ep.baseUrl}/v2/${ref.path}/blobs/${desc.digest}`, {});
        if (!res.ok) throw await this.statusError(res, at, ref, `blob ${desc.digest}`, false);
        const bytes = await this.readCapped(res, at, desc.size, () => sizeMismatch(desc, `more than ${desc.size}`));
        if (bytes.length !== desc.size) throw sizeMismatch(desc, String(bytes.length));
        const actual = digestLike(desc.digest, bytes);
        if (actual !== desc.digest) throw new TsrunError('DIGEST_MISMATCH', `blob ${desc.digest} from ${at.ep.host} has digest ${actual}`);
        return bytes;
      }),
    );
  }

  /**
   * Streams a blob onto the end of destPath, verifying size and digest.
   * Bytes already in destPath (an interrupted pull) are re-hashed and the
   * download resumes after them with a Range request; a server that answers
   * 200 instead of 206 is followed from the start. On a digest or size
   * mismatch destPath is deleted and DIGEST_MISMATCH thrown.
   */
  async downloadBlob(ref: ImageReference, desc: Descriptor, destPath: string, opts: DownloadOptions = {}): Promise<void> {
    parseDigest(desc.digest);
    const { signal, onProgress } = opts;
    let hasher = createDigester(desc.digest);
    let offset = 0;
    // Bytes left on disk are only trusted to be a prefix of this blob until
    // the digest says otherwise; then the blob is fetched once more, whole.
    let resumedFromDisk = false;

    // Resume what a killed pull left behind, if it can be the start of this blob.
    const existing = await stat(destPath).then((s) => s.size, () => 0);
    if (existing > desc.size) await truncate(destPath, 0);
    else if (existing > 0) {
      for await (const chunk of createReadStream(destPath, { end: existing - 1 })) hasher.hash.update(chunk as Buffer);
      offset = existing;
      resumedFromDisk = true;
      if (offset === desc.size) {
        if (hasher.digest() === desc.digest) {
          onProgress?.(offset);
          return;
        }
        await truncate(destPath, 0);
        hasher = createDigester(desc.digest);
        offset = 0;
        resumedFromDisk = false;
      }
    }

    const fh: FileHandle = await open(destPath, 'a');
    const restart = async () => {
      await fh.truncate(0);
      hasher = createDigester(desc.digest);
      offset = 0;
    };
    try {
      await this.withEndpoints(ref, (at) =>
        this.withRetry(async () => {
          const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
          const res = await this.send(at, ref, `${at.ep.baseUrl}/v2/${ref.path}/blobs/${desc.digest}`, headers, signal);
          if (res.status === 416 && offset > 0) {
            await discard(res);
            await restart();
            throw new TransientError('REGISTRY_ERROR', `${at.ep.host} refused to resume ${desc.digest} at byte ${offset}`);
          }
          if (!res.ok) throw await this.statusError(res, at, ref, `blob ${desc.digest}`, false);
          if (res.status === 206) {
            const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
            if (start && Number(start[1]) !== offset) {
              await discard(res);
              await restart();
              throw new TransientError('REGISTRY_ERROR', `${at.ep.host} resumed ${desc.digest} at the wrong offset`);
            }
          } else if (offset > 0) {
            await restart(); // 200: the server ignored Range and sends the whole blob
          }
          try {
            for await (const chunk of res.body ?? []) {
              const buf = chunk as Uint8Array;
              if (offset + buf.length > desc.size) {
                await discard(res).catch(() => undefined);
                await restart();
                throw sizeMismatch(desc, `more than ${desc.size}`);
              }
              await fh.write(buf);
              hasher.hash.update(buf);
              offset += buf.length;
              onProgress?.(offset);
            }
          } catch (err) {
            if (err instanceof TsrunError || isAbort(err, signal)) throw err;
            throw new TransientError(
              'REGISTRY_UNREACHABLE',
              `the connection to ${at.ep.host} dropped after ${offset} of ${desc.size} bytes of ${desc.digest}: ${causeMessage(err)}`,
              undefined,
              { cause: err },
            );
          }
          if (offset < desc.size) {
            throw new TransientError('REGISTRY_UNREACHABLE', `${at.ep.host} sent only ${offset} of ${desc.size} bytes of ${desc.digest}`);
          }
          const actual = hasher.digest();
          if (actual !== desc.digest) {
            await restart(); // a mirror may have served bad data; the next endpoint starts clean
            if (resumedFromDisk) {
              resumedFromDisk = false;
              throw new TransientError('REGISTRY_ERROR', `the partial download of ${desc.digest} on disk was not a prefix of it`);
            }
            throw new TsrunError('DIGEST_MISMATCH', `blob ${desc.digest} from ${at.ep.host} has digest ${actual}`);
          }
        }, signal),
        signal,
      );
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      if (err instanceof TsrunError && err.code === 'DIGEST_MISMATCH') await rm(destPath, { force: true });
      throw err;
    }
    await fh.close();
  }

  // --- plumbing ---------------------------------------------------------

  /**
   * Tries the endpoints of ref's registry in order: Docker Hub mirrors (any
   * failure falls through to the next), then https, then — only after https
   * could not be connected to — plain http for insecure registries.
   */
  protected async withEndpoints<T>(
    ref: ImageReference,
    fn: (at: Attempt) => Promise<T>,
    signal?: AbortSignal,
    // Pushes go to the registry itself: a mirror only serves pulls.
    opts: { mirrors?: boolean } = {},
  ): Promise<T> {
    const eps = endpointsFor(ref.domain, this.hosts).filter((e) => opts.mirrors !== false || !e.isMirror);
    let lastErr: unknown;
    let connectFailed = false;
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[i]!;
      const hasFallback = eps[i + 1]?.fallbackOnly === true;
      if (ep.fallbackOnly && !connectFailed) continue;
      // Remembered: this host speaks only plain http; skip its https attempt.
      if (hasFallback && this.plainHttpHosts.has(ep.host)) {
        connectFailed = true;
        continue;
      }
      try {
        const out = await fn({ ep, hasFallback });
        if (ep.fallbackOnly) this.plainHttpHosts.add(ep.host);
        return out;
      } catch (err) {
        if (isAbort(err, signal)) throw err;
        lastErr = err;
        connectFailed = err instanceof TsrunError && err.code === 'REGISTRY_UNREACHABLE';
        if (ep.isMirror || (connectFailed && hasFallback)) continue;
        throw err;
      }
    }
    throw lastErr;
  }

  /** Retries transient failures with exponential backoff (honouring Retry-After). */
  protected async withRetry<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof TransientError) || attempt >= this.retry.attempts || isAbort(err, signal)) throw err;
        const backoff = this.retry.baseDelayMs * 2 ** (attempt - 1);
        await sleep(Math.max(backoff, err.retryAfterMs ?? 0), signal);
      }
    }
  }

  /** A GET with the pull scope. */
  protected send(at: Attempt, ref: ImageReference, url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<FetchResponse> {
    return this.request(at, ref, url, { headers, ...(signal ? { signal } : {}) });
  }

  /**
   * One request to an endpoint with authentication: sends what earlier
   * challenges asked for, and on a 401 answers the challenge and retries once.
   */
  protected async request(at: Attempt, ref: ImageReference, url: string, spec: RequestSpec): Promise<FetchResponse> {
    const scope = spec.scope ?? pullScope(ref.path);
    let authorization = await this.auth.authorization(at.ep.host, scope);
    for (let round = 0; ; round++) {
      const h: Record<string, string> = { ...spec.headers };
      if (this.userAgent) h['user-agent'] = this.userAgent;
      if (authorization) h['authorization'] = authorization;
      const res = await this.fetchFollowing(at, url, h, spec.signal, spec);
      if (res.status !== 401) return res;
      const challenge = res.headers.get('www-authenticate');
      const action = scopeAction(scope);
      if (round > 0) {
        // A push refused with a token in hand: the registry's words say why (DENIED, UNAUTHORIZED).
        const detail = action === 'push' ? dockerErrorText((await registryErrors(res)).detail) || undefined : undefined;
        if (action !== 'push') await discard(res);
        throw await this.auth.unauthorized(at.ep.host, familiarName(ref), detail, action);
      }
      await discard(res);
      authorization = await this.auth.onChallenge(at.ep.host, challenge, scope, familiarName(ref), authorization);
    }
  }

  /**
   * fetch with redirects followed by hand, so the registry's Authorization
   * header is never sent to another origin (blob storage such as S3 rejects
   * it, and it must not leak there).
   */
  private async fetchFollowing(
    at: Attempt,
    url: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
    spec: Pick<RequestSpec, 'method' | 'body'> = {},
  ): Promise<FetchResponse> {
    let current = new URL(url);
    const origin = current.origin;
    for (let hop = 0; ; hop++) {
      const h = { ...headers };
      if (current.origin !== origin) delete h['authorization'];
      let res: FetchResponse;
      try {
        const body = spec.body?.();
        res = await this.fetchImpl(current, {
          headers: h,
          redirect: 'manual',
          ...(spec.method ? { method: spec.method } : {}),
          // A stream body needs half duplex in Node's fetch (which tests pass).
          ...(body !== undefined ? { body, duplex: 'half' as const } : {}),
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (isAbort(err, signal)) throw err;
        const code = errorCode(err);
        if (isTlsCertificateError(code)) {
          // Not "nothing there": never fall back to http over a certificate that does not verify.
          const host = displayHost(at.ep.host);
          throw new TsrunError(
            'REGISTRY_ERROR',
            `cannot verify the TLS certificate of ${host} at ${current.origin}: ${causeMessage(err)}` +
              (at.ep.skipTlsVerify ? '' : `; if you trust this registry, use --insecure-registry ${host}`),
            { cause: err },
          );
        }
        const msg = `cannot reach registry ${displayHost(at.ep.host)} at ${current.origin}: ${causeMessage(err)}`;
        // A dropped connection is retried, unless an http fallback is waiting.
        if (code && DROPPED_CODES.has(code) && !at.hasFallback) {
          throw new TransientError('REGISTRY_UNREACHABLE', msg, undefined, { cause: err });
        }
        throw new TsrunError('REGISTRY_UNREACHABLE', msg, { cause: err });
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await discard(res);
        if (hop >= MAX_REDIRECTS) throw new TsrunError('REGISTRY_ERROR', `too many redirects from ${at.ep.host} for ${url}`);
        current = new URL(location, current);
        continue;
      }
      return res;
    }
  }

  /** Reads a body of at most `max` bytes; `tooBig` makes the error if it is longer. */
  private async readCapped(res: FetchResponse, at: Attempt, max: number, tooBig: () => TsrunError): Promise<Buffer> {
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      await discard(res);
      throw tooBig();
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body ?? []) {
        total += (chunk as Uint8Array).length;
        if (total > max) {
          await discard(res).catch(() => undefined);
          throw tooBig();
        }
        chunks.push(chunk as Uint8Array);
      }
    } catch (err) {
      if (err instanceof TsrunError || isAbort(err)) throw err;
      throw new TransientError('REGISTRY_UNREACHABLE', `the connection to ${at.ep.host} dropped: ${causeMessage(err)}`, undefined, {
        cause: err,
      });
    }
    return Buffer.concat(chunks);
  }

  /** Turns a non-2xx answer into the error a user can act on. */
  protected async statusError(res: FetchResponse, at: Attempt, ref: ImageReference, what: string, isManifest: boolean): Promise<TsrunError> {
    const { codes, detail } = await registryErrors(res);
    const host = displayHost(at.ep.host);
    const said = detail ? `: ${detail}` : '';
    if (res.status === 429 || res.status >= 500) {
      const ra = Number(res.headers.get('retry-after'));
      const retryAfterMs = Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, MAX_RETRY_AFTER_MS) : undefined;
      return new TransientError('REGISTRY_ERROR', `${host} answered ${res.status} ${res.statusText} for ${what}${said}`, retryAfterMs);
    }
    if (res.status === 403) return this.auth.unauthorized(at.ep.host, familiarName(ref), detail || undefined);
    if (res.status === 404 && isManifest) {
      if (codes.includes('NAME_UNKNOWN')) {
        return new TsrunError(
          'IMAGE_NOT_FOUND',
          `repository ${familiarName(ref)} not found: it does not exist or may require authentication (\`tsrun login ${host}\`)${said}`,
        );
      }
      return new TsrunError('IMAGE_NOT_FOUND', `${what} not found${said || ': manifest unknown'}`);
    }
    if (res.status === 404) return new TsrunError('REGISTRY_ERROR', `${host} has no ${what} in ${familiarName(ref)}${said}`);
    return new TsrunError('REGISTRY_ERROR', `${host} answered ${res.status} ${res.statusText} for ${what}${said}`);
  }
}

function sizeMismatch(desc: Descriptor, got: string): TsrunError {
  return new TsrunError('DIGEST_MISMATCH', `blob ${desc.digest} should be ${desc.size} bytes but the registry sent ${got}`);
}
