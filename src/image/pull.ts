// One pull: resolve the reference to this platform's manifest, fetch the
// config, then download and unpack the layers a few at a time (a layer is
// unpacked as soon as its blob is verified, while the others still
// download), and only then record the image. Until that last write nothing
// names the new image, so a pull killed at any point leaves the index as it
// was; the blobs and layers it finished are reused by the next pull.
import { TsrunError } from '../errors.js';
import { parseImageConfig, type ImageConfig } from './config.js';
import type { Descriptor } from './manifest.js';
import type { Platform } from './platform.js';
import { formatReference, repositoryName, type ImageReference } from './reference.js';
import type { RegistryClient } from './registry/client.js';
import type { ContentStore } from './store/content.js';
import type { ImageIndex, ImageLayer, ImageRecord } from './store/image-index.js';
import type { LayerStore } from './store/layers.js';
import type { UnpackResult } from './unpack/layer.js';

export type LayerStatus = 'Waiting' | 'Already exists' | 'Downloading' | 'Download complete' | 'Extracting' | 'Pull complete';

export type PullEvent =
  | { type: 'resolved'; reference: string; manifestDigest: string; layers: Array<{ id: string; size: number }> }
  | { type: 'layer'; id: string; status: LayerStatus; current?: number; total?: number };

export interface PullOptions {
  platform: Platform;
  /** Layers downloaded at once (Docker's max-concurrent-downloads is 3). */
  concurrency?: number;
  onEvent?: (e: PullEvent) => void;
}

/** Unpacks one verified layer blob into an empty dir (in this thread or a worker's). */
export type LayerUnpacker = (job: { blobPath: string; mediaType: string; dir: string }, onBytes: (n: number) => void) => Promise<UnpackResult>;

export interface PullDeps {
  client: RegistryClient;
  content: ContentStore;
  layers: LayerStore;
  index: ImageIndex;
  unpack: LayerUnpacker;
}

export interface PullResult {
  image: ImageRecord;
  config: ImageConfig;
  /** False when the image was already here with this manifest (Docker's "Image is up to date"). */
  downloaded: boolean;
}

export const DEFAULT_PULL_CONCURRENCY = 4;

/** Docker's short layer id in progress output: the first 12 hex digits of the blob digest. */
export function shortLayerId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

export async function pullImage(deps: PullDeps, ref: ImageReference, opts: PullOptions): Promise<PullResult> {
  const emit = opts.onEvent ?? (() => {});
  const resolved = await deps.client.resolve(ref, opts.platform);
  const configBytes = (await deps.content.has(resolved.config.digest))
    ? await deps.content.read(resolved.config.digest)
    : await deps.client.getBlob(ref, resolved.config);
  const config = parseImageConfig(configBytes, resolved.config.digest);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== resolved.layers.length) {
    throw new TsrunError(
      'MANIFEST_INVALID',
      `${formatReference(ref)}: the manifest lists ${resolved.layers.length} layers but the image config ${diffIds.length}`,
    );
  }
  const layers: ImageLayer[] = resolved.layers.map((d, i) => ({ diffId: diffIds[i], digest: d.digest, mediaType: d.mediaType, size: d.size }));
  emit({ type: 'resolved', reference: formatReference(ref), manifestDigest: resolved.manifestDigest, layers: layers.map((l) => ({ id: shortLayerId(l.digest), size: l.size })) });

  await deps.layers.sweep();
  let fetched = false;
  const fetchLayer = async (layer: ImageLayer, desc: Descriptor): Promise<void> => {
    const id = shortLayerId(layer.digest);
    if (await deps.layers.has(layer.diffId)) return void emit({ type: 'layer', id, status: 'Already exists' });
    fetched = true;
    await deps.content.ingest(
      layer.digest,
      layer.size,
      (partial) =>
        deps.client.downloadBlob(ref, desc, partial, {
          onProgress: (current) => emit({ type: 'layer', id, status: 'Downloading', current, total: layer.size }),
        }),
      { verifiedAndSynced: true },
    );
    emit({ type: 'layer', id, status: 'Download complete' });
    await deps.layers.add(layer.diffId, async (dir) => {
      let done = 0;
      return deps.unpack({ blobPath: deps.content.path(layer.digest), mediaType: layer.mediaType, dir }, (n) =>
        emit({ type: 'layer', id, status: 'Extracting', current: (done += n), total: layer.size }),
      );
    });
    emit({ type: 'layer', id, status: 'Pull complete' });
  };
  for (const l of layers) emit({ type: 'layer', id: shortLayerId(l.digest), status: 'Waiting' });
  await runPool(layers.map((l, i) => () => fetchLayer(l, resolved.layers[i])), opts.concurrency ?? DEFAULT_PULL_CONCURRENCY);

  // Manifest documents last: their presence is what save/inspect rely on.
  await deps.content.put(resolved.config.digest, configBytes);
  await deps.content.put(resolved.manifestDigest, resolved.manifestBytes);
  if (resolved.indexDigest && resolved.indexBytes) await deps.content.put(resolved.indexDigest, resolved.indexBytes);

  const repo = repositoryName(ref);
  const repoDigest = `${repo}@${resolved.indexDigest ?? resolved.manifestDigest}`;
  const id = resolved.config.digest;
  let downloaded = fetched;
  const image = await deps.index.update(async (data) => {
    // A removal that ran while we downloaded may have taken a layer we found
    // already present: record nothing that points at a missing layer.
    for (const l of layers) {
      if (!(await deps.layers.has(l.diffId))) {
        throw new TsrunError('INVALID_STATE', `layer ${l.diffId} was removed while ${formatReference(ref)} was being pulled; pull again`);
      }
    }
    const prev = data.images[id];
    const tag = ref.tag ? `${repo}:${ref.tag}` : undefined;
    if (!prev || (tag && data.tags[tag] !== id)) downloaded = true;
    const record: ImageRecord = {
      id,
      manifestDigest: resolved.manifestDigest,
      manifestMediaType: resolved.manifestMediaType,
      repoDigests: [...new Set([...(prev?.repoDigests ?? []), repoDigest])].sort(),
      layers,
      added: prev?.added ?? new Date().toISOString(),
    };
    data.images[id] = record;
    if (tag) data.tags[tag] = id;
    return record;
  });
  return { image, config, downloaded };
}

/** Runs the tasks with at most `limit` at once; the first failure is thrown after the running ones settle. */
export async function runPool(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && !failure) {
      const task = tasks[next++];
      try {
        await task();
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  if (failure) throw failure.err;
}
