// The push side of the OCI distribution API, on the pull client's plumbing
// (endpoints without mirrors, retries with backoff, token auth, redirects):
//   HEAD  /v2/NAME/blobs/DIGEST                        200: already there
//   POST  /v2/NAME/blobs/uploads/?mount=DIGEST&from=R  201: mounted; 202: an upload began instead
//   POST  /v2/NAME/blobs/uploads/                      202, Location: the upload session
//   PUT   LOCATION?digest=DIGEST   (whole blob)        201
//   PATCH LOCATION  (Content-Range a-b, one chunk)     202, Location: where to send the next
//   PUT   /v2/NAME/manifests/TAG   (Content-Type: the manifest's media type)  201
// Every Location is resolved against the URL of the request that returned
// it (registries send relative and absolute ones, some with a query such as
// distribution's `_state`, which must be kept). A transient failure
// (5xx, 429, dropped connection, a token service in trouble) restarts that
// blob's upload from a fresh session.
import { createReadStream } from 'node:fs';
import { TsrunError } from '../../errors.js';
import { familiarName, type ImageReference } from '../reference.js';
import { TransientError, pushScope } from './auth.js';
import { RegistryClient, discard, dockerErrorText, registryErrors, type Attempt, type RegistryClientOptions } from './client.js';
import type { FetchBodyInit, FetchResponse } from './http-fetch.js';

export interface RegistryPushClientOptions extends RegistryClientOptions {
  /** Blobs larger than this go up in PATCH chunks; smaller ones in one PUT (default 64 MiB). */
  chunkThreshold?: number;
  /** Size of one PATCH (default 32 MiB). */
  chunkSize?: number;
}

/** A blob to push: its bytes are the file at `path`. */
export interface BlobSource {
  digest: string;
  size: number;
  path: string;
}

export type BlobPushOutcome = { status: 'exists' } | { status: 'mounted'; from: string } | { status: 'pushed' };

export interface BlobPushOptions {
  /** Token scope for the whole push (pushScope(...)); default: push on ref, pull on mountFrom. */
  scope?: string;
  /** Repository paths of the same registry that hold this blob (mount candidates, tried in order). */
  mountFrom?: string[];
  /** Called when bytes begin to flow (after HEAD and mounts said no), then with bytes sent so far. */
  onUploadStart?: () => void;
  onProgress?: (sent: number) => void;
  signal?: AbortSignal;
}

export const DEFAULT_CHUNK_THRESHOLD = 64 << 20;
export const DEFAULT_CHUNK_SIZE = 32 << 20;
// Docker tries at most this many repositories to mount a blob from.
const MAX_MOUNT_ATTEMPTS = 3;
const OCTET = 'application/octet-stream';

/** A Location header resolved against the request that returned it. */
export function resolveLocation(location: string | null, requestUrl: string, what: string): URL {
  if (!location) throw new TsrunError('REGISTRY_ERROR', `the registry answered ${what} without a Location header`);
  try {
    return new URL(location, requestUrl);
  } catch {
    throw new TsrunError('REGISTRY_ERROR', `the registry answered ${what} with a bad Location ${JSON.stringify(location)}`);
  }
}

/** `url` with `name=value` appended to its query, the query it already has kept byte for byte. */
export function withQueryParam(url: URL, name: string, value: string): URL {
  const out = new URL(url);
  const pair = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
  out.search = out.search && out.search !== '?' ? `${out.search}&${pair}` : `?${pair}`;
  return out;
}

/**
 * The bytes [start, end) of a file, counting what is read into `onBytes`.
 * The file is opened when the request starts reading (an attempt that never
 * sends its body leaves nothing open) and closed when it ends or is dropped.
 */
async function* fileBody(path: string, start: number, end: number, onBytes?: (n: number) => void): AsyncGenerator<Uint8Array> {
  if (end <= start) return;
  for await (const chunk of createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 })) {
    onBytes?.((chunk as Buffer).length);
    yield chunk as Buffer;
  }
}

export class RegistryPushClient extends RegistryClient {
  private readonly chunkThreshold: number;
  private readonly chunkSize: number;

  constructor(opts: RegistryPushClientOptions = {}) {
    super(opts);
    this.chunkThreshold = opts.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD;
    this.chunkSize = Math.max(1, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  }

  /** HEAD: whether the repository already has the blob. */
  async blobExists(ref: ImageReference, digest: string, scope = pushScope(ref.path), signal?: AbortSignal): Promise<boolean> {
    return this.onRegistry(ref, signal, async (at) => {
      const res = await this.request(at, ref, `${at.ep.baseUrl}/v2/${ref.path}/blobs/${digest}`, { method: 'HEAD', scope, ...sig(signal) });
      if (res.ok || res.status === 404) {
        await discard(res);
        return res.ok;
      }
      throw await this.pushError(res, at, ref, `blob ${digest}`);
    });
  }

  /**
   * Asks the registry to mount `digest` from repository `from` (a path on
   * the same registry). True when it did (201); false on any other answer,
   * after cancelling an upload session a 202 may have opened.
   */
  async mountBlob(ref: ImageReference, digest: string, from: string, scope = pushScope(ref.path, [from]), signal?: AbortSignal): Promise<boolean> {
    return this.onRegistry(ref, signal, async (at) => {
      const url = `${at.ep.baseUrl}/v2/${ref.path}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
      let res: FetchResponse;
      try {
        res = await this.request(at, ref, url, { method: 'POST', headers: { 'content-length': '0' }, scope, ...sig(signal) });
      } catch (err) {
        // No pull access on the source repository: upload instead, as Docker does.
        if (err instanceof TsrunError && (err.code === 'REGISTRY_UNAUTHORIZED' || err.code === 'REGISTRY_DENIED')) return false;
        throw err;
      }
      // Any answer but 201 (a 202 session, 404, 405, even a 5xx) means: upload it instead.
      await discard(res);
      if (res.status === 201) return true;
      if (res.status === 202 && res.headers.get('location')) {
        const session = resolveLocation(res.headers.get('location'), url, 'a mount');
        await this.request(at, ref, session.toString(), { method: 'DELETE', scope, ...sig(signal) }).then(discard, () => undefined);
      }
      return false;
    });
  }

  /** Uploads a blob the repository does not have: one PUT, or PATCH chunks then PUT above the threshold. */
  async uploadBlob(ref: ImageReference, blob: BlobSource, opts: Omit<BlobPushOptions, 'mountFrom' | 'onUploadStart'> = {}): Promise<void> {
    const scope = opts.scope ?? pushScope(ref.path);
    const { signal } = opts;
    await this.onRegistry(ref, signal, async (at) => {
      const start = `${at.ep.baseUrl}/v2/${ref.path}/blobs/uploads/`;
      const res = await this.request(at, ref, start, { method: 'POST', headers: { 'content-length': '0' }, scope, ...sig(signal) });
      if (res.status !== 202) throw await this.pushError(res, at, ref, `the upload of ${blob.digest}`);
      await discard(res);
      let location = resolveLocation(res.headers.get('location'), start, `the upload of ${blob.digest}`);
      let sent = 0;
      const progress = (n: number) => opts.onProgress?.((sent += n));

      if (blob.size <= this.chunkThreshold) {
        await this.finish(at, ref, location, blob, scope, signal, () => fileBody(blob.path, 0, blob.size, progress), blob.size);
        return;
      }
      for (let offset = 0; offset < blob.size; ) {
        const end = Math.min(blob.size, offset + this.chunkSize);
        const url = location.toString();
        const from = offset;
        const patch = await this.request(at, ref, url, {
          method: 'PATCH',
          headers: { 'content-type': OCTET, 'content-length': String(end - from), 'content-range': `${from}-${end - 1}` },
          body: () => fileBody(blob.path, from, end, progress),
          scope,
          ...sig(signal),
        });
        if (patch.status === 416) {
          await discard(patch);
          throw new TransientError('REGISTRY_ERROR', `${at.ep.host} refused bytes ${from}-${end - 1} of ${blob.digest} (416): starting its upload again`);
        }
        if (patch.status !== 202) throw await this.pushError(patch, at, ref, `a chunk of ${blob.digest}`);
        await discard(patch);
        location = resolveLocation(patch.headers.get('location'), url, `a chunk of ${blob.digest}`);
        offset = end;
      }
      await this.finish(at, ref, location, blob, scope, signal, undefined, 0);
    });
  }

  /**
   * A blob into the repository by the cheapest way that works: nothing when
   * HEAD finds it, a mount from another repository of the same registry,
   * else an upload.
   */
  async pushBlob(ref: ImageReference, blob: BlobSource, opts: BlobPushOptions = {}): Promise<BlobPushOutcome> {
    const mountFrom = [...new Set(opts.mountFrom ?? [])].filter((r) => r !== ref.path).slice(0, MAX_MOUNT_ATTEMPTS);
    const scope = opts.scope ?? pushScope(ref.path, mountFrom);
    if (await this.blobExists(ref, blob.digest, scope, opts.signal)) return { status: 'exists' };
    for (const from of mountFrom) {
      if (await this.mountBlob(ref, blob.digest, from, scope, opts.signal)) return { status: 'mounted', from };
    }
    opts.onUploadStart?.();
    await this.uploadBlob(ref, blob, { scope, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...sig(opts.signal) });
    return { status: 'pushed' };
  }

  /**
   * PUT of a manifest, byte for byte, under `reference` (a tag or its
   * digest), with its own media type. Returns the digest the registry
   * gives it (Docker-Content-Digest), which must be `digest`.
   */
  async putManifest(ref: ImageReference, reference: string, bytes: Buffer, mediaType: string, digest: string, signal?: AbortSignal): Promise<string> {
    const shown = `${familiarName(ref)}:${reference}`;
    return this.onRegistry(ref, signal, async (at) => {
      const url = `${at.ep.baseUrl}/v2/${ref.path}/manifests/${reference}`;
      const res = await this.request(at, ref, url, {
        method: 'PUT',
        headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
        body: () => new Uint8Array(bytes),
        scope: pushScope(ref.path),
        ...sig(signal),
      });
      if (res.status !== 201 && res.status !== 200 && res.status !== 202) {
        if (res.status === 429 || res.status >= 500 || res.status === 401 || res.status === 403) throw await this.pushError(res, at, ref, `the manifest of ${shown}`);
        const { detail } = await registryErrors(res);
        throw new TsrunError(
          'REGISTRY_ERROR',
          `${at.ep.host} refused the manifest of ${shown}: ${detail ? dockerErrorText(detail) : `${res.status} ${res.statusText}`}`,
        );
      }
      await discard(res);
      const got = res.headers.get('docker-content-digest');
      if (got && got !== digest) {
        throw new TsrunError('DIGEST_MISMATCH', `${at.ep.host} stored the manifest of ${shown} as ${got}, but its digest is ${digest}`);
      }
      return digest;
    });
  }

  // --- plumbing ---------------------------------------------------------

  /** The registry's own endpoints (no mirrors), with retries. */
  private onRegistry<T>(ref: ImageReference, signal: AbortSignal | undefined, fn: (at: Attempt) => Promise<T>): Promise<T> {
    return this.withEndpoints(ref, (at) => this.withRetry(() => fn(at), signal), signal, { mirrors: false });
  }

  /** The closing PUT of an upload session, with the last bytes (or none). */
  private async finish(
    at: Attempt,
    ref: ImageReference,
    location: URL,
    blob: BlobSource,
    scope: string,
    signal: AbortSignal | undefined,
    body: (() => FetchBodyInit) | undefined,
    length: number,
  ): Promise<void> {
    const url = withQueryParam(location, 'digest', blob.digest).toString();
    const res = await this.request(at, ref, url, {
      method: 'PUT',
      headers: { 'content-type': OCTET, 'content-length': String(length) },
      ...(body ? { body } : {}),
      scope,
      ...sig(signal),
    });
    if (res.status !== 201 && res.status !== 204) throw await this.pushError(res, at, ref, `the upload of ${blob.digest}`);
    await discard(res);
    const got = res.headers.get('docker-content-digest');
    if (got && got !== blob.digest) {
      throw new TsrunError('DIGEST_MISMATCH', `${at.ep.host} stored ${blob.digest} as ${got}: the local blob is damaged`);
    }
  }

  /** statusError, with a 403 worded for a push. */
  private async pushError(res: FetchResponse, at: Attempt, ref: ImageReference, what: string): Promise<TsrunError> {
    if (res.status === 403) {
      const { detail } = await registryErrors(res);
      return this.auth.unauthorized(at.ep.host, familiarName(ref), detail ? dockerErrorText(detail) : undefined, 'push');
    }
    return this.statusError(res, at, ref, what, false);
  }
}

function sig(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
