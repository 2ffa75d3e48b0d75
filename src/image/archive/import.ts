// `tsrun import`: a root filesystem tarball (plain, gzip or zstd) → a
// one-layer image, as `docker import` makes it. The tar is decompressed
// into a scratch file while it is hashed (its digest is the layer's
// diffID; as in Docker the stored blob is the uncompressed tar), stored in
// the content store, unpacked by the escape-proof unpacker, and described
// by a new config (with the --change instructions applied) and a Docker
// schema2 manifest (new-image.ts, as commit and build store theirs); the
// index names the image last.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TsrunError } from '../../errors.js';
import type { ImageConfig, ImageRuntimeConfig } from '../config.js';
import { displayName, type Images } from '../images.js';
import { storeImage, tagKey } from '../new-image.js';
import { hostPlatform, type Platform } from '../platform.js';
import { unpackLayer, type UnpackNative } from '../unpack/layer.js';
import { applyChanges } from './changes.js';
import { MEDIA_TYPE_DOCKER_LAYER_TAR, decompressed, withScratch } from './common.js';

export interface ImportOptions {
  native: UnpackNative;
  /** REPOSITORY[:TAG] to name the image. */
  reference?: string;
  /** Dockerfile instructions (--change). */
  changes?: string[];
  /** The history comment (--message; default "Imported from <source>"). */
  message?: string;
  /** Shown in the default message: '-' or the file name. */
  source?: string;
  platform?: Platform;
}

/** Refuses what the network-free import cannot take (URLs). */
export function checkImportSource(source: string): void {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new TsrunError('UNSUPPORTED', `importing from a URL (${source}) is not supported: download it first and import the file, or pipe it to \`tsrun import -\``);
  }
}

export async function importRootfs(images: Images, input: Readable, opts: ImportOptions): Promise<{ id: string; name?: string }> {
  // Check the name and the changes before reading a byte.
  const name = opts.reference ? tagKey(opts.reference) : undefined;
  const runtime: ImageRuntimeConfig = applyChanges({}, opts.changes ?? []);
  const platform = opts.platform ?? hostPlatform();
  await images.layers.sweep();

  return withScratch(images.content.dir, 'import', async (dir) => {
    const file = join(dir, 'layer.tar');
    const hash = createHash('sha256');
    let size = 0;
    const tar = await decompressed(input, 'the imported tarball');
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const c of tar as AsyncIterable<Buffer>) {
        hash.update(c);
        size += c.length;
        yield c;
      }
    }
    await pipeline(Readable.from(hashed()), createWriteStream(file, { mode: 0o600 }));
    if (size === 0) throw new TsrunError('ARCHIVE_INVALID', 'the imported tarball is empty');
    const diffId = `sha256:${hash.digest('hex')}`;

    const added: string[] = [];
    let layerAdded = false;
    try {
      if ((await images.content.ingest(diffId, size, async (partial) => {
        await rm(partial, { force: true });
        await link(file, partial);
      })) === 'stored') added.push(diffId);
      layerAdded = (await images.layers.add(diffId, (d) => unpackLayer({ blobPath: images.content.path(diffId), mediaType: MEDIA_TYPE_DOCKER_LAYER_TAR, dir: d, native: opts.native }))) === 'stored';

      const created = new Date().toISOString();
      const config: ImageConfig = {
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        created,
        config: runtime,
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created, comment: opts.message ?? `Imported from ${opts.source ?? '-'}` }],
      };
      // As `docker load` records it, the stored blob is the uncompressed tar itself.
      const { id } = await storeImage(images, {
        config,
        layers: [{ diffId, digest: diffId, mediaType: MEDIA_TYPE_DOCKER_LAYER_TAR, size }],
        tags: name ? [name] : [],
      });
      await images.event('import', id);
      if (name) await images.event('tag', id, displayName(name));
      return { id, name };
    } catch (err) {
      // Take back what only this import added (a failed unpack leaves no layer).
      await images.index.locked(async () => {
        const data = await images.index.read();
        const used = Object.values(data.images).some((i) => i.layers.some((l) => l.diffId === diffId || l.digest === diffId));
        if (used) return;
        if (layerAdded) await images.layers.remove(diffId);
        for (const d of added) await images.content.remove(d);
      }).catch(() => undefined);
      throw err;
    }
  });
}
