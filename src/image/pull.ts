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
  /** Told how many layers are about to be unpacked, before their downloads start (workers can start meanwhile). */
  warmUnpack?: (layers: number) => void;
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
  const missing: Array<{ layer: ImageLayer; desc: Descriptor }> = [];
  for (const [i, layer] of layers.entries()) {
    if (await deps.layers.has(layer.diffId)) emit({ type: 'layer', id: shortLayerId(layer.digest), status: 'Already exists' });
    else missing.push({ layer, desc: resolved.layers[i] });
  }
  for (const { layer } of missing) emit({ type: 'layer', id: shortLayerId(layer.digest), status: 'Waiting' });
  deps.warmUnpack?.(missing.length);
  // Downloads are limited to `concurrency` at once; a layer is unpacked as
  // soon as its blob is in, while later blobs download (the unpacker has its
  // own limit), so the largest layer never waits for a download slot behind
  // the unpacking of smaller ones.
  const downloads = new Semaphore(opts.concurrency ?? DEFAULT_PULL_CONCURRENCY);
  let failed = false;
  const fetchLayer = async ({ layer, desc }: { layer: ImageLayer; desc: Descriptor }): Promise<void> => {
    const id = shortLayerId(layer.digest);
    await downloads.run(async () => {
      if (failed) return; // another layer failed: do not start new downloads
      await deps.content.ingest(
        layer.digest,
        layer.size,
        (partial) =>
          deps.client.downloadBlob(ref, desc, partial, {
            onProgress: (current) => emit({ type: 'layer', id, status: 'Downloading', current, total: layer.size }),
          }),
        { verifiedAndSynced: true },
      );
    });
    if (failed) return;
    emit({ type: 'layer', id, status: 'Download complete' });
    await deps.layers.add(layer.diffId, async (dir) => {
      let done = 0;
      return deps.unpack({ blobPath: deps.content.path(layer.digest), mediaType: layer.mediaType, dir }, (n) =>
        emit({ type: 'layer', id, status: 'Extracting', current: (done += n), total: layer.size }),
      );
    });
    emit({ type: 'layer', id, status: 'Pull complete' });
  };
  // Largest first: the biggest layer is the longest download and unpack, so
  // it starts before the small ones take the slots.
  const bySize = [...missing].sort((a, b) => b.layer.size - a.layer.size);
  const results = await Promise.allSettled(
    bySize.map((m) =>
      fetchLayer(m).catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    ),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  // Manifest documents last: their presence is what save/inspect rely on.
  await deps.content.put(resolved.config.digest, configBytes);
  await deps.content.put(resolved.manifestDigest, resolved.manifestBytes);
  if (resolved.indexDigest && resolved.indexBytes) await deps.content.put(resolved.indexDigest, resolved.indexBytes);

  const repo = repositoryName(ref);
  const repoDigest = `${repo}@${resolved.indexDigest ?? resolved.manifestDigest}`;
  const id = resolved.config.digest;
  let downloaded = missing.length > 0;
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

/** At most `limit` callers inside `run` at once; the others wait in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
