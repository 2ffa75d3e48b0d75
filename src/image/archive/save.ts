// `tsrun save`: images → one tar stream.
//
// docker-archive (the default) is written in the combined layout Docker 25+
// writes: an OCI image layout (oci-layout, index.json, blobs/sha256/*) whose
// blobs are also named by Docker's manifest.json and repositories files.
// Why the combined form: `docker load` of every version reads manifest.json
// (older ones ignore the OCI files), `podman load` and skopeo read either,
// and containerd/nerdctl read index.json. One file works for all of them.
// As in Docker, the layers in a docker-archive are uncompressed tars named
// by their diffID (blobs/sha256/<diffID hex>); we decompress the stored
// blob while writing it and check the result against the diffID.
//
// oci-archive is a plain OCI image layout with the blobs exactly as stored:
// the image's own manifest and its (compressed) layers, so digests survive
// the round trip (what `podman save --format oci-archive` does).
//
// index.json entries carry org.opencontainers.image.ref.name (the tag, as
// Docker writes it) and io.containerd.image.name (the full name).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { TsrunError } from '../../errors.js';
import type { ImageConfig } from '../config.js';
import { displayName, type Images } from '../images.js';
import { MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_LAYER_TAR, MEDIA_TYPE_OCI_MANIFEST } from '../media-types.js';
import { parseReference, repositoryName } from '../reference.js';
import { digestHex } from '../store/content.js';
import type { ImageLayer, ImageRecord } from '../store/image-index.js';
import { decompressor, sniffCompression } from '../compression.js';
import { TarWriter } from './tar-write.js';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

interface SaveItem {
  record: ImageRecord;
  config: ImageConfig;
  configBytes: Buffer;
  /** Full names (docker.io/library/alpine:latest) to write for this image. */
  names: string[];
}

const DIR_MODE = 0o755;
const FILE_MODE = 0o644;

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** The full name:tag a reference names when it is a name in the index (not an id or a digest). */
async function nameOf(images: Images, ref: string, id: string): Promise<string | undefined> {
  let key: string;
  try {
    const r = parseReference(ref);
    if (r.digest) return undefined;
    key = `${repositoryName(r)}:${r.tag ?? 'latest'}`;
  } catch {
    return undefined;
  }
  return (await images.index.read()).tags[key] === id ? key : undefined;
}

async function collect(images: Images, refs: string[]): Promise<SaveItem[]> {
  if (refs.length === 0) throw new TsrunError('INVALID_ARGUMENT', 'save needs at least one image');
  const byId = new Map<string, SaveItem>();
  for (const ref of refs) {
    const view = await images.get(ref);
    const id = view.record.id;
    let item = byId.get(id);
    if (!item) {
      item = { record: view.record, config: view.config, configBytes: await images.content.read(id), names: [] };
      byId.set(id, item);
    }
    const name = await nameOf(images, ref, id);
    if (name && !item.names.includes(name)) item.names.push(name);
    for (const l of view.record.layers) {
      if (!(await images.content.has(l.digest))) {
        throw new TsrunError(
          'INVALID_STATE',
          `cannot save ${ref}: its layer blob ${l.digest} is not in the content store (only the unpacked layer is); pull the image again`,
        );
      }
    }
  }
  return [...byId.values()];
}

async function headOf(path: string): Promise<Buffer> {
  for await (const c of createReadStream(path, { start: 0, end: 3 })) return c as Buffer;
  return Buffer.alloc(0);
}

/** The stored blob, decompressed, chunk by chunk. */
async function* plainLayer(images: Images, l: ImageLayer): AsyncGenerator<Buffer> {
  const path = images.content.path(l.digest);
  const dec = decompressor(sniffCompression(await headOf(path)), `layer ${l.digest}`);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!dec) {
    yield* file as AsyncIterable<Buffer>;
    return;
  }
  file.on('error', (e) => dec.destroy(e));
  file.pipe(dec);
  try {
    yield* dec as AsyncIterable<Buffer>;
  } finally {
    file.destroy();
    dec.destroy();
  }
}

/** Bytes of the uncompressed layer tar: recorded at unpack time, else measured. */
async function plainSize(images: Images, l: ImageLayer): Promise<number> {
  const path = images.content.path(l.digest);
  if (sniffCompression(await headOf(path)) === 'none') return images.content.size(l.digest);
  const recorded = await images.layers.size(l.diffId);
  if (recorded > 0) return recorded;
  let n = 0;
  for await (const c of plainLayer(images, l)) n += c.length;
  return n;
}

export async function saveImages(images: Images, refs: string[], out: Writable, format: ArchiveFormat = 'docker-archive'): Promise<void> {
  const items = await collect(images, refs);
  const tar = new TarWriter(out);
  const mtime = Math.floor(Date.now() / 1000);
  const dir = (name: string) => tar.add({ name, type: 'dir', mode: DIR_MODE, mtime });
  const file = (name: string, body: Buffer) => tar.add({ name, type: 'file', mode: FILE_MODE, size: body.length, mtime }, body);
  const written = new Set<string>();
  const blob = async (digest: string, body: Buffer) => {
    if (written.has(digest)) return;
    written.add(digest);
    await file(`blobs/sha256/${digestHex(digest)}`, body);
  };

  await dir('blobs/');
  await dir('blobs/sha256/');
  const index: Array<Record<string, unknown>> = [];
  const addIndexEntries = (desc: Record<string, unknown>, names: string[]) => {
    if (names.length === 0) index.push(desc);
    for (const n of names) {
      const tag = n.slice(n.lastIndexOf(':') + 1);
      index.push({ ...desc, annotations: { 'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': tag } });
    }
  };

  if (format === 'oci-archive') {
    for (const it of items) {
      const r = it.record;
      const manifest = await images.content.read(r.manifestDigest);
      await blob(r.id, it.configBytes);
      for (const l of r.layers) {
        if (written.has(l.digest)) continue;
        written.add(l.digest);
        const path = images.content.path(l.digest);
        await tar.add(
          { name: `blobs/sha256/${digestHex(l.digest)}`, type: 'file', mode: FILE_MODE, size: await images.content.size(l.digest), mtime },
          createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>,
        );
      }
      await blob(r.manifestDigest, manifest);
      addIndexEntries({ mediaType: r.manifestMediaType, digest: r.manifestDigest, size: manifest.length }, it.names);
    }
    await file('index.json', json({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: index }));
    await file('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
    await tar.finish();
    for (const it of items) await images.event('save', it.record.id);
    return;
  }

  const dockerManifest: Array<Record<string, unknown>> = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const it of items) {
    const r = it.record;
    await blob(r.id, it.configBytes);
    const layerDescs: Array<{ mediaType: string; digest: string; size: number }> = [];
    for (const l of r.layers) {
      const size = await plainSize(images, l);
      layerDescs.push({ mediaType: MEDIA_TYPE_OCI_LAYER_TAR, digest: l.diffId, size });
      if (written.has(l.diffId)) continue;
      written.add(l.diffId);
      const hash = createHash('sha256');
      async function* hashed(): AsyncGenerator<Buffer> {
        for await (const c of plainLayer(images, l)) {
          hash.update(c);
          yield c;
        }
      }
      await tar.add({ name: `blobs/sha256/${digestHex(l.diffId)}`, type: 'file', mode: FILE_MODE, size, mtime }, hashed());
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== l.diffId) {
        throw new TsrunError('DIGEST_MISMATCH', `layer blob ${l.digest} decompresses to ${got}, but the image says its diffID is ${l.diffId}`);
      }
    }
    const manifest = json({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: r.id, size: it.configBytes.length },
      layers: layerDescs,
    });
    const manifestDigest = sha256(manifest);
    await blob(manifestDigest, manifest);
    addIndexEntries({ mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: manifestDigest, size: manifest.length }, it.names);
    const repoTags = it.names.map(displayName);
    dockerManifest.push({
      Config: `blobs/sha256/${digestHex(r.id)}`,
      RepoTags: repoTags.length ? repoTags : null,
      Layers: r.layers.map((l) => `blobs/sha256/${digestHex(l.diffId)}`),
    });
    const top = r.layers.at(-1);
    for (const t of repoTags) {
      const at = t.lastIndexOf(':');
      if (top) (repositories[t.slice(0, at)] ??= {})[t.slice(at + 1)] = digestHex(top.diffId);
    }
  }
  await file('index.json', json({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: index }));
  await file('manifest.json', json(dockerManifest));
  await file('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
  if (Object.keys(repositories).length) await file('repositories', json(repositories));
  await tar.finish();
  for (const it of items) await images.event('save', it.record.id);
}
