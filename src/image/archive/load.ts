// `tsrun load`: a docker-archive or OCI archive (maybe gzip'd) → images.
//
// The archive is read once, as a stream: every file in it is spooled to a
// scratch dir under <root>/images/tmp (hashed on the way, so blobs/sha256
// names can be checked without a second read), and nothing is kept in
// memory but the small JSON documents. Then each image is committed the
// way a pull commits one (pull.ts): its blobs go into the content store
// with their digests verified, its layers are unpacked by the escape-proof
// unpacker into the layer store (which checks each against the config's
// diff_ids), the config and manifest are stored, and only then does the
// index name the image. A failure at any step removes what this load added
// and no image or tag is recorded; the scratch dir goes in every case.
//
// Formats read:
//   docker-archive  manifest.json [{Config, RepoTags, Layers}], with layers at
//                   <id>/layer.tar (Docker < 25, maybe symlinked to a twin),
//                   blobs/sha256/<hex> (Docker 25+), gzip'd or not.
//                   Uncompressed layers are stored as they are (mediaType
//                   application/vnd.docker.image.rootfs.diff.tar, digest =
//                   diffID) under a synthesized Docker schema2 manifest, as
//                   Docker does.
//   oci-archive     oci-layout + index.json + blobs/<alg>/<hex>; nested
//                   indexes resolve to this platform's manifest.
// When both manifest.json and index.json are there (Docker 25's combined
// layout), manifest.json wins, as in `docker load`.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TsrunError } from '../../errors.js';
import { parseImageConfig } from '../config.js';
import type { Images } from '../images.js';
import { parseManifestDocument, selectPlatform, type Descriptor } from '../manifest.js';
import { MEDIA_TYPE_DOCKER_CONFIG, MEDIA_TYPE_DOCKER_LAYER_GZIP, MEDIA_TYPE_DOCKER_MANIFEST, baseMediaType, INDEX_MEDIA_TYPES } from '../media-types.js';
import { hostPlatform, type Platform } from '../platform.js';
import { parseReference, repositoryName } from '../reference.js';
import type { ImageLayer, ImageRecord } from '../store/image-index.js';
import { unpackLayer, type UnpackNative } from '../unpack/layer.js';
import { readTar } from '../unpack/tar.js';
import { sniffCompression } from '../compression.js';
import { MEDIA_TYPE_DOCKER_LAYER_TAR, decompressed, withScratch } from './common.js';

export interface LoadOptions {
  native: UnpackNative;
  /** The platform picked from a multi-platform OCI index (default: this host's). */
  platform?: Platform;
}

export interface LoadedImage {
  id: string;
  /** Full names (docker.io/library/alpine:latest) now pointing at it. */
  names: string[];
}

interface Spooled {
  file: string;
  size: number;
  digest: string;
}

/** A layer ready to commit: its blob in the scratch dir. */
interface PlannedLayer extends ImageLayer {
  file: string;
}

interface Plan {
  configDigest: string;
  configBytes: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
  manifestBytes: Buffer;
  layers: PlannedLayer[];
  names: string[];
}

const MAX_DOC = 16 << 20;

function invalid(message: string, cause?: unknown): TsrunError {
  return new TsrunError('ARCHIVE_INVALID', message, cause === undefined ? undefined : { cause });
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** ./a//b/ → a/b; names that climb out of the archive are kept apart (they can never match a reference). */
function clean(name: string): string {
  const n = posix.normalize(`/${name}`).slice(1);
  return n.endsWith('/') ? n.slice(0, -1) : n;
}

class Archive {
  readonly files = new Map<string, Spooled>();
  readonly links = new Map<string, string>();

  resolve(name: string): Spooled | undefined {
    let n = clean(name);
    for (let hops = 0; hops < 16; hops++) {
      const f = this.files.get(n);
      if (f) return f;
      const target = this.links.get(n);
      if (target === undefined) return undefined;
      n = target;
    }
    return undefined;
  }

  async doc(name: string): Promise<Buffer | undefined> {
    const f = this.resolve(name);
    if (!f) return undefined;
    if (f.size > MAX_DOC) throw invalid(`${name} in the archive is too large (${f.size} bytes)`);
    return readFile(f.file);
  }

  async json(name: string): Promise<unknown> {
    const b = await this.doc(name);
    if (!b) return undefined;
    try {
      return JSON.parse(b.toString('utf8'));
    } catch (cause) {
      throw invalid(`${name} in the archive is not valid JSON`, cause);
    }
  }

  /** The blob for a digest at blobs/<alg>/<hex>, checked against its descriptor. */
  blob(d: { digest: string; size?: number }, what: string): Spooled {
    const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(d.digest);
    const f = m ? this.resolve(`blobs/${m[1]}/${m[2]}`) : undefined;
    if (!f) throw invalid(`the archive is missing ${what} (${d.digest})`);
    if (m![1] !== 'sha256') throw new TsrunError('UNSUPPORTED', `${what} uses ${m![1]} digests; tsrun stores sha256 content`);
    if (f.digest !== d.digest) throw new TsrunError('DIGEST_MISMATCH', `${what} in the archive has digest ${f.digest}, expected ${d.digest}`);
    if (d.size !== undefined && f.size !== d.size) throw new TsrunError('DIGEST_MISMATCH', `${what} in the archive has ${f.size} bytes, its descriptor says ${d.size}`);
    return f;
  }
}

async function spool(input: Readable, dir: string): Promise<Archive> {
  const archive = new Archive();
  let n = 0;
  try {
    const stream = await decompressed(input, 'the archive');
    for await (const e of readTar(stream as AsyncIterable<Buffer>)) {
      const name = clean(e.path);
      if (e.type === 'symlink') {
        archive.links.set(name, clean(posix.join(posix.dirname(name), e.linkname)));
      } else if (e.type === 'hardlink') {
        archive.links.set(name, clean(e.linkname));
      } else if (e.type === 'file') {
        const file = join(dir, String(n++));
        const hash = createHash('sha256');
        let size = 0;
        async function* hashed(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
          for await (const c of src) {
            hash.update(c);
            size += c.length;
            yield c;
          }
        }
        await pipeline(Readable.from(hashed(e.chunks())), createWriteStream(file, { mode: 0o600 }));
        archive.files.set(name, { file, size, digest: `sha256:${hash.digest('hex')}` });
      }
    }
  } catch (err) {
    if (err instanceof TsrunError && err.code === 'LAYER_INVALID') throw invalid(`invalid archive: ${err.message}`, err);
    throw err;
  }
  return archive;
}

function digestOfPath(p: string): string | undefined {
  const m = /(?:^|\/)(?:sha256\/)?([a-f0-9]{64})(?:\.json)?$/.exec(p);
  return m ? `sha256:${m[1]}` : undefined;
}

function fullName(name: string): string | undefined {
  try {
    const r = parseReference(name);
    if (r.digest) return undefined;
    return `${repositoryName(r)}:${r.tag ?? 'latest'}`;
  } catch {
    return undefined;
  }
}

async function planDocker(archive: Archive, manifest: unknown): Promise<Plan[]> {
  if (!Array.isArray(manifest)) throw invalid('manifest.json in the archive is not a list');
  const plans: Plan[] = [];
  for (const [i, entry] of manifest.entries()) {
    const e = entry as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers) || e.Layers.some((l) => typeof l !== 'string')) {
      throw invalid(`entry ${i} of manifest.json needs Config and Layers`);
    }
    const configBytes = await archive.doc(e.Config);
    if (!configBytes) throw invalid(`the archive is missing the image config ${e.Config}`);
    const configDigest = sha256(configBytes);
    const named = digestOfPath(e.Config);
    if (named && named !== configDigest) throw new TsrunError('DIGEST_MISMATCH', `the image config ${e.Config} in the archive has digest ${configDigest}`);
    const config = parseImageConfig(configBytes, configDigest);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== e.Layers.length) {
      throw invalid(`manifest.json lists ${e.Layers.length} layers for ${e.Config}, but its config has ${diffIds.length} diff_ids`);
    }
    const layers: PlannedLayer[] = [];
    for (const [j, path] of (e.Layers as string[]).entries()) {
      const f = archive.resolve(path);
      if (!f) throw invalid(`the archive is missing layer ${path}`);
      const head = await readHead(f.file);
      const compressed = sniffCompression(head) !== 'none';
      if (!compressed && f.digest !== diffIds[j]) {
        throw new TsrunError('DIGEST_MISMATCH', `layer ${path} in the archive has diffID ${f.digest}, but the image config says ${diffIds[j]}`);
      }
      layers.push({
        diffId: diffIds[j],
        digest: f.digest,
        mediaType: compressed ? MEDIA_TYPE_DOCKER_LAYER_GZIP : MEDIA_TYPE_DOCKER_LAYER_TAR,
        size: f.size,
        file: f.file,
      });
    }
    // Docker's load keeps no registry manifest: it makes a schema2 one for the record.
    const manifestBytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_DOCKER_MANIFEST,
      config: { mediaType: MEDIA_TYPE_DOCKER_CONFIG, size: configBytes.length, digest: configDigest },
      layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
    }, null, 3));
    const names: string[] = [];
    for (const t of Array.isArray(e.RepoTags) ? e.RepoTags : []) {
      const n = typeof t === 'string' ? fullName(t) : undefined;
      if (!n) throw invalid(`manifest.json has an invalid RepoTags entry ${JSON.stringify(t)}`);
      names.push(n);
    }
    plans.push({ configDigest, configBytes, manifestDigest: sha256(manifestBytes), manifestMediaType: MEDIA_TYPE_DOCKER_MANIFEST, manifestBytes, layers, names });
  }
  return plans;
}

async function readHead(file: string): Promise<Buffer> {
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function ociName(d: Descriptor): string | undefined {
  const a = d.annotations ?? {};
  const containerd = a['io.containerd.image.name'];
  if (containerd && fullName(containerd)) return fullName(containerd);
  const ref = a['org.opencontainers.image.ref.name'];
  // A bare tag ("latest") names no repository: such an image loads unnamed.
  if (ref && /[/:]/.test(ref)) return fullName(ref);
  return undefined;
}

async function planOci(archive: Archive, index: unknown, platform: Platform): Promise<Plan[]> {
  const top = parseManifestDocument(Buffer.from(JSON.stringify(index)), '', 'index.json of the archive');
  if (top.kind !== 'index') throw invalid('index.json of the archive is not an image index');
  const byManifest = new Map<string, Plan>();
  const plans: Plan[] = [];
  const manifestOf = async (d: Descriptor, depth: number): Promise<{ desc: Descriptor; bytes: Buffer }> => {
    const f = archive.blob(d, `manifest ${d.digest}`);
    const bytes = await readFile(f.file);
    if (!INDEX_MEDIA_TYPES.includes(baseMediaType(d.mediaType))) return { desc: d, bytes };
    if (depth > 4) throw invalid('the archive nests indexes too deeply');
    const idx = parseManifestDocument(bytes, d.mediaType, `index ${d.digest}`);
    if (idx.kind !== 'index') throw invalid(`${d.digest} is not an index`);
    return manifestOf(selectPlatform(idx, platform, `index ${d.digest} in the archive`), depth + 1);
  };
  for (const d of top.manifests) {
    const { desc, bytes } = await manifestOf(d, 0);
    const name = ociName(d);
    const existing = byManifest.get(desc.digest);
    if (existing) {
      if (name && !existing.names.includes(name)) existing.names.push(name);
      continue;
    }
    const doc = parseManifestDocument(bytes, desc.mediaType, `manifest ${desc.digest}`);
    if (doc.kind !== 'manifest') throw invalid(`${desc.digest} is not an image manifest`);
    const cf = archive.blob(doc.config, `the image config ${doc.config.digest}`);
    const configBytes = await readFile(cf.file);
    const config = parseImageConfig(configBytes, doc.config.digest);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== doc.layers.length) {
      throw invalid(`manifest ${desc.digest} lists ${doc.layers.length} layers but its config has ${diffIds.length} diff_ids`);
    }
    const layers = doc.layers.map((l, i) => ({
      diffId: diffIds[i],
      digest: l.digest,
      mediaType: l.mediaType,
      size: l.size,
      file: archive.blob(l, `layer ${l.digest}`).file,
    }));
    const plan: Plan = {
      configDigest: doc.config.digest, configBytes, manifestDigest: desc.digest, manifestMediaType: doc.mediaType, manifestBytes: bytes, layers, names: name ? [name] : [],
    };
    byManifest.set(desc.digest, plan);
    plans.push(plan);
  }
  return plans;
}

/** What one load added, to take back if a later step fails. */
interface Added {
  blobs: string[];
  layers: string[];
}

async function commit(images: Images, plan: Plan, native: UnpackNative, added: Added): Promise<LoadedImage> {
  for (const l of plan.layers) {
    const stored = await images.content.ingest(l.digest, l.size, async (partial) => {
      await rm(partial, { force: true });
      await link(l.file, partial);
    });
    if (stored === 'stored') added.blobs.push(l.digest);
    const unpacked = await images.layers.add(l.diffId, (dir) => unpackLayer({ blobPath: images.content.path(l.digest), mediaType: l.mediaType, dir, native }));
    if (unpacked === 'stored') added.layers.push(l.diffId);
  }
  for (const [digest, bytes] of [[plan.configDigest, plan.configBytes], [plan.manifestDigest, plan.manifestBytes]] as const) {
    if (!(await images.content.has(digest))) {
      await images.content.put(digest, bytes);
      added.blobs.push(digest);
    }
  }
  return { id: plan.configDigest, names: plan.names };
}

async function rollback(images: Images, added: Added): Promise<void> {
  if (added.blobs.length === 0 && added.layers.length === 0) return;
  await images.index.locked(async () => {
    const data = await images.index.read();
    const blobs = new Set<string>();
    const diffIds = new Set<string>();
    for (const img of Object.values(data.images)) {
      blobs.add(img.id).add(img.manifestDigest);
      for (const l of img.layers) {
        blobs.add(l.digest);
        diffIds.add(l.diffId);
      }
    }
    for (const d of added.layers) if (!diffIds.has(d)) await images.layers.remove(d);
    for (const d of added.blobs) if (!blobs.has(d)) await images.content.remove(d);
  });
}

export async function loadArchive(images: Images, input: Readable, opts: LoadOptions): Promise<LoadedImage[]> {
  const imagesDir = images.content.dir;
  await images.layers.sweep();
  return withScratch(imagesDir, 'load', async (dir) => {
    const archive = await spool(input, dir);
    const manifest = await archive.json('manifest.json');
    let plans: Plan[];
    if (manifest !== undefined) plans = await planDocker(archive, manifest);
    else {
      const index = await archive.json('index.json');
      if (index === undefined) throw invalid('the archive has neither manifest.json (docker-archive) nor index.json (OCI layout): not an image archive');
      plans = await planOci(archive, index, opts.platform ?? hostPlatform());
    }
    if (plans.length === 0) throw invalid('the archive holds no images');

    const added: Added = { blobs: [], layers: [] };
    try {
      const loaded: LoadedImage[] = [];
      for (const p of plans) loaded.push(await commit(images, p, opts.native, added));
      await images.index.update(async (data) => {
        for (const p of plans) {
          for (const l of p.layers) {
            if (!(await images.layers.has(l.diffId))) throw new TsrunError('INVALID_STATE', `layer ${l.diffId} was removed while the archive was being loaded; load it again`);
          }
          const prev = data.images[p.configDigest];
          const record: ImageRecord = prev ?? {
            id: p.configDigest,
            manifestDigest: p.manifestDigest,
            manifestMediaType: p.manifestMediaType,
            repoDigests: [],
            layers: p.layers.map(({ diffId, digest, mediaType, size }) => ({ diffId, digest, mediaType, size })),
            added: new Date().toISOString(),
          };
          data.images[p.configDigest] = record;
          for (const n of p.names) data.tags[n] = p.configDigest;
        }
      });
      for (const l of loaded) await images.event('load', l.id);
      return loaded;
    } catch (err) {
      await rollback(images, added).catch(() => undefined);
      throw err;
    }
  });
}
