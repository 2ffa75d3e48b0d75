// One push: a local image's stored manifest, config and layer blobs, byte
// for byte, to the repository a tag names. Nothing is re-compressed or
// re-serialised, so an image pulled from elsewhere keeps every digest (its
// id, its layers' digests and its manifest digest) in the new repository.
// For each blob, layers then config: skip it when the repository has it,
// mount it from another repository of the same registry the image is known
// to be in (its repoDigests), else upload it. The manifest goes last, with
// its own media type; only then is `repo@digest` added to the image's
// repoDigests, in one index update, so a failed push changes nothing here.
import { TsrunError } from '../errors.js';
import { parseDescriptor, type Descriptor } from './manifest.js';
import { FOREIGN_LAYER_MEDIA_TYPES, INDEX_MEDIA_TYPES } from './media-types.js';
import { shortLayerId, Semaphore } from './pull.js';
import { familiarName, familiarString, formatReference, parseReference, repositoryName, type ImageReference } from './reference.js';
import { pushScope } from './registry/auth.js';
import type { RegistryPushClient } from './registry/upload.js';
import type { ContentStore } from './store/content.js';
import type { ImageIndex, ImageRecord } from './store/image-index.js';

export type PushLayerStatus = 'Preparing' | 'Waiting' | 'Pushing' | 'Pushed' | 'Layer already exists' | 'Mounted from';

export type PushEvent =
  /** A tag's push begins: `repository` is the full name (HOST/PATH), layers top first as Docker lists them. */
  | { type: 'start'; repository: string; tag: string; layers: Array<{ id: string; size: number }> }
  | { type: 'layer'; id: string; status: PushLayerStatus; from?: string; current?: number; total?: number }
  | { type: 'pushed'; repository: string; tag: string; digest: string; size: number };

export interface PushOptions {
  /** Blobs uploaded at once (Docker's max-concurrent-uploads is 5). */
  concurrency?: number;
  onEvent?: (e: PushEvent) => void;
  signal?: AbortSignal;
}

export interface PushDeps {
  client: RegistryPushClient;
  content: ContentStore;
  index: ImageIndex;
}

export interface PushResult {
  /** Full name:tag pushed (127.0.0.1:5000/team/app:latest). */
  reference: string;
  tag: string;
  /** Manifest digest and size in bytes. */
  digest: string;
  size: number;
  imageId: string;
  blobs: { existed: number; mounted: number; pushed: number };
}

export const DEFAULT_PUSH_CONCURRENCY = 5;

function notLocal(ref: ImageReference): TsrunError {
  return new TsrunError('IMAGE_NOT_FOUND', `An image does not exist locally with the tag: ${familiarName(ref)}`);
}

/** Repositories of ref's registry, other than ref's own, that the image is known to be in. */
function mountCandidates(record: ImageRecord, ref: ImageReference): string[] {
  const out: string[] = [];
  for (const rd of record.repoDigests) {
    try {
      const r = parseReference(rd.slice(0, rd.lastIndexOf('@')));
      if (r.domain === ref.domain && r.path !== ref.path && !out.includes(r.path)) out.push(r.path);
    } catch {
      // a malformed entry mounts nothing
    }
  }
  return out;
}

/**
 * The blobs a stored manifest names. Only their descriptors are checked:
 * whatever layer media types the image has (an uncompressed Docker layer
 * from `import`, say) go up as they are, and the registry judges them.
 * Foreign (non-distributable) layers are not pushed, as in Docker.
 */
function manifestBlobs(bytes: Buffer, mediaType: string, name: string): { config: Descriptor; layers: Descriptor[] } {
  let doc: { config?: unknown; layers?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch (err) {
    throw new TsrunError('MANIFEST_INVALID', `the stored manifest of ${name} is not JSON`, { cause: err });
  }
  if (INDEX_MEDIA_TYPES.includes(mediaType) || !Array.isArray(doc?.layers)) {
    throw new TsrunError('MANIFEST_INVALID', `the stored manifest of ${name} is not an image manifest (${mediaType})`);
  }
  const config = parseDescriptor(doc.config, `the config of ${name}`);
  const layers = (doc.layers as unknown[]).map((l, i) => parseDescriptor(l, `layer ${i + 1} of ${name}`));
  return { config, layers: layers.filter((l) => !FOREIGN_LAYER_MEDIA_TYPES.includes(l.mediaType) && !l.urls?.length) };
}

/** Pushes the local image tagged `ref` (NAME:TAG) to its registry. */
export async function pushImage(deps: PushDeps, ref: ImageReference, opts: PushOptions = {}): Promise<PushResult> {
  if (ref.digest) throw new TsrunError('INVALID_REFERENCE', `cannot push a digest reference: ${formatReference(ref)}`);
  const tag = ref.tag ?? 'latest';
  const emit = opts.onEvent ?? (() => {});
  const repo = repositoryName(ref);
  const data = await deps.index.read();
  const id = data.tags[`${repo}:${tag}`];
  const record = id ? data.images[id] : undefined;
  if (!record) throw notLocal(ref);

  const manifestBytes = await deps.content.read(record.manifestDigest);
  const doc = manifestBlobs(manifestBytes, record.manifestMediaType, familiarString(ref));
  const from = mountCandidates(record, ref);
  const scope = pushScope(ref.path, from);
  // One entry per blob even when a manifest lists a layer twice.
  const layers = [...new Map(doc.layers.map((l) => [l.digest, l])).values()];
  const shown = [...layers].reverse();
  emit({ type: 'start', repository: repo, tag, layers: shown.map((l) => ({ id: shortLayerId(l.digest), size: l.size })) });
  for (const l of shown) emit({ type: 'layer', id: shortLayerId(l.digest), status: 'Preparing' });

  const counts = { existed: 0, mounted: 0, pushed: 0 };
  const slots = new Semaphore(opts.concurrency ?? DEFAULT_PUSH_CONCURRENCY);
  let failed = false;
  const pushOne = async (desc: Descriptor, isLayer: boolean): Promise<void> => {
    const lid = shortLayerId(desc.digest);
    const layerEvent = (status: PushLayerStatus, extra: Partial<Extract<PushEvent, { type: 'layer' }>> = {}) => {
      if (isLayer) emit({ type: 'layer', id: lid, status, ...extra });
    };
    const path = deps.content.path(desc.digest);
    const local = await deps.content.has(desc.digest);
    const outcome = await slots.run(async () => {
      if (failed) return undefined;
      return deps.client.pushBlob(ref, { digest: desc.digest, size: desc.size, path }, {
        scope,
        mountFrom: from,
        onUploadStart: () => {
          // Only now is the local file needed: the registry had it nowhere.
          if (!local) throw new TsrunError('IMAGE_NOT_FOUND', `blob ${desc.digest} of ${familiarName(ref)}:${tag} is missing from the local store`);
          layerEvent('Pushing', { current: 0, total: desc.size });
        },
        onProgress: (current) => layerEvent('Pushing', { current, total: desc.size }),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    });
    if (!outcome) return;
    if (outcome.status === 'exists') {
      counts.existed++;
      layerEvent('Layer already exists');
    } else if (outcome.status === 'mounted') {
      counts.mounted++;
      layerEvent('Mounted from', { from: outcome.from });
    } else {
      counts.pushed++;
      layerEvent('Pushed');
    }
  };
  // Docker shows "Waiting" for the layers beyond the upload slots.
  shown.slice(opts.concurrency ?? DEFAULT_PUSH_CONCURRENCY).forEach((l) => emit({ type: 'layer', id: shortLayerId(l.digest), status: 'Waiting' }));
  const results = await Promise.allSettled(
    layers.map((l) =>
      pushOne(l, true).catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    ),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  // The config after the layers, as Docker does; then the manifest that names them all.
  await pushOne(doc.config, false);
  const digest = await deps.client.putManifest(ref, tag, manifestBytes, record.manifestMediaType, record.manifestDigest, opts.signal);
  emit({ type: 'pushed', repository: repo, tag, digest, size: manifestBytes.length });

  await deps.index.update((d) => {
    const img = d.images[record.id];
    if (!img) return; // removed while pushing: nothing to record
    img.repoDigests = [...new Set([...img.repoDigests, `${repo}@${digest}`])].sort();
  });
  return { reference: `${repo}:${tag}`, tag, digest, size: manifestBytes.length, imageId: record.id, blobs: counts };
}

/** The tags of `ref`'s repository that exist locally (for `push --all-tags`), sorted. */
export async function localTags(index: ImageIndex, ref: ImageReference): Promise<string[]> {
  const prefix = `${repositoryName(ref)}:`;
  const data = await index.read();
  return Object.keys(data.tags)
    .filter((t) => t.startsWith(prefix) && !t.slice(prefix.length).includes('/'))
    .map((t) => t.slice(prefix.length))
    .sort();
}

/** `push --all-tags`: every local tag of the repository, one after another. */
export async function pushAllTags(deps: PushDeps, ref: ImageReference, opts: PushOptions = {}): Promise<PushResult[]> {
  const tags = await localTags(deps.index, ref);
  if (tags.length === 0) throw notLocal(ref);
  const out: PushResult[] = [];
  for (const tag of tags) out.push(await pushImage(deps, { domain: ref.domain, path: ref.path, tag }, opts));
  return out;
}
