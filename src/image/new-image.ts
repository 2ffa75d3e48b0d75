// The one way a new image enters the store (import, commit, build): its
// config blob (whose sha256 is the image id) and a Docker schema2 manifest
// go to the content store, then ONE index update records the image and
// points its names at it, after checking under the index lock that every
// layer is still there (a concurrent rmi's garbage collection runs under
// the same lock). A failure names nothing.
import { createHash } from 'node:crypto';
import { TsrunError } from '../errors.js';
import type { ImageConfig } from './config.js';
import type { Images } from './images.js';
import { MEDIA_TYPE_DOCKER_CONFIG, MEDIA_TYPE_DOCKER_MANIFEST } from './media-types.js';
import { parseReference, repositoryName } from './reference.js';
import type { ImageLayer, ImageRecord } from './store/image-index.js';

export interface StoreImageOptions {
  config: ImageConfig;
  /** The layers, bottom first: one per config.rootfs.diff_ids entry, in order. */
  layers: ImageLayer[];
  /** Names to point at the image: full (docker.io/library/x:1) or familiar (x:1, x → x:latest). */
  tags?: string[];
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A name as the index keys it (docker.io/library/alpine:latest); refuses a digest reference. */
export function tagKey(name: string): string {
  const ref = parseReference(name);
  if (ref.digest) throw new TsrunError('INVALID_REFERENCE', `refusing to create a tag with a digest reference: ${name}`);
  return `${repositoryName(ref)}:${ref.tag ?? 'latest'}`;
}

export async function storeImage(images: Images, opts: StoreImageOptions): Promise<{ id: string; manifestDigest: string }> {
  // Names first: a bad one fails before anything is written.
  const names = (opts.tags ?? []).map(tagKey);
  const diffIds = opts.config.rootfs.diff_ids;
  if (diffIds.length !== opts.layers.length || diffIds.some((d, i) => opts.layers[i].diffId !== d)) {
    throw new TsrunError('MANIFEST_INVALID', 'the image config lists other layers (rootfs.diff_ids) than the ones given');
  }
  const configBytes = Buffer.from(JSON.stringify(opts.config));
  const id = sha256(configBytes);
  // Indented with three spaces, as Docker writes its manifests.
  const manifestBytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_DOCKER_MANIFEST,
    config: { mediaType: MEDIA_TYPE_DOCKER_CONFIG, size: configBytes.length, digest: id },
    layers: opts.layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
  }, null, 3));
  const manifestDigest = sha256(manifestBytes);
  await images.content.put(id, configBytes);
  await images.content.put(manifestDigest, manifestBytes);
  return images.index.update(async (data) => {
    for (const l of opts.layers) {
      if (!(await images.layers.has(l.diffId)) || !(await images.content.has(l.digest))) {
        throw new TsrunError('INVALID_STATE', `layer ${l.diffId} was removed while the image was being stored; try again`);
      }
    }
    // The same config is the same image: one pulled or stored before keeps
    // its record (its manifest and blobs are what a push sends); it only gets the names.
    const existing = data.images[id];
    if (!existing) {
      const record: ImageRecord = {
        id,
        manifestDigest,
        manifestMediaType: MEDIA_TYPE_DOCKER_MANIFEST,
        repoDigests: [],
        layers: opts.layers.map((l) => ({ diffId: l.diffId, digest: l.digest, mediaType: l.mediaType, size: l.size })),
        added: new Date().toISOString(),
      };
      data.images[id] = record;
    }
    for (const n of names) data.tags[n] = id;
    return { id, manifestDigest: existing?.manifestDigest ?? manifestDigest };
  });
}
