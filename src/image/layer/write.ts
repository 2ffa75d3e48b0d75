// An upperdir → a layer in the stores: the one way tsrun makes a layer
// (build's RUN/COPY steps, commit). One streaming pass: the upperdir's
// entries (upper.ts) are written as a tar in Docker's layer dialect
// (whiteouts as `.wh.NAME`, opaque directories as `DIR/.wh..wh..opq`,
// hard links as tar hard links, xattrs as PAX SCHILY.xattr.*, owners
// numeric, mtimes to the second as moby writes them), hashed (the diffID),
// gzipped on all cores (gzip.ts) and hashed again (the blob digest) into a
// scratch file, which the
// content store then takes by a hard link. The layer store unpacks that
// blob with the same escape-proof unpacker a pull uses, so a layer tsrun
// wrote and one it pulled are stored and mounted alike.
//
// Compression level 1: on this project's measurements (single stream, a
// 64 MB tar of node_modules and a 710 MB tar of shared libraries, sha256
// included) level 1 took 0.95 s and 10.6 s, level 6 (zlib's default)
// 1.6 s and 23.7 s, for 18% and 9% more bytes: a build waits for every
// layer's compression, a registry stores the bytes once.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { link, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TsrunError } from '../../errors.js';
import { withScratch, MEDIA_TYPE_DOCKER_LAYER_TAR } from '../archive/common.js';
import { TarWriter, type TarWriteEntry } from '../archive/tar-write.js';
import type { Images } from '../images.js';
import { MEDIA_TYPE_DOCKER_LAYER_GZIP } from '../media-types.js';
import type { ImageLayer } from '../store/image-index.js';
import { unpackLayer, type UnpackNative } from '../unpack/layer.js';
import { parallelGzip } from './gzip.js';
import { upperEntries, type UpperEntry, type UpperNative, type UpperOptions } from './upper.js';

export type LayerNative = UnpackNative & UpperNative;

export interface WriteLayerOptions {
  native: LayerNative;
  /** 'gzip' (default, Docker's media type) or 'none' (an uncompressed tar blob). */
  compression?: 'gzip' | 'none';
  /** Upper paths to leave out, with what is under them (mount stubs: upper.ts mountStubs()). */
  skip?: Set<string>;
}

export const LAYER_GZIP_LEVEL = 1;
// Small files are read in one call; larger ones stream in 1 MiB chunks.
const READ_WHOLE_MAX = 256 << 10;
const STREAM_CHUNK = 1 << 20;

/** Counts and hashes what goes through. */
class Measure extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

function seconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n);
}

function parentAndBase(p: string): [string, string] {
  const i = p.lastIndexOf('/');
  return i < 0 ? ['', p] : [p.slice(0, i + 1), p.slice(i + 1)];
}

/** A file's bytes: read whole when small, else streamed. A file that changes meanwhile is cut or padded by the writer (lenient). */
function body(e: UpperEntry): Buffer | AsyncIterable<Buffer> {
  if (e.size <= READ_WHOLE_MAX) {
    try {
      return fs.readFileSync(e.abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0); // removed while we walked
      throw err;
    }
  }
  return fs.createReadStream(e.abs, { highWaterMark: STREAM_CHUNK }) as AsyncIterable<Buffer>;
}

/** Removes the scratch dirs of writers that were killed (SIGKILL leaves withScratch no chance). */
async function sweepScratch(imagesDir: string): Promise<void> {
  const tmp = join(imagesDir, 'tmp');
  const names = await readdir(tmp).catch(() => [] as string[]);
  for (const n of names) {
    const m = /^layer-(\d+)-[0-9a-f]+$/.exec(n);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // alive (or a reused pid: left for a later sweep)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    await rm(join(tmp, n), { recursive: true, force: true });
  }
}

/** Writes the upperdir's entries as a layer tar; returns how many entries went in (0: no change). */
export async function writeUpperTar(upperDir: string, out: Writable, native: UpperNative, opts: UpperOptions = {}): Promise<number> {
  const tar = new TarWriter(out);
  let count = 0;
  for await (const e of upperEntries(upperDir, native, opts)) {
    const common = { uid: e.uid, gid: e.gid, mtime: seconds(e.mtimeNs) };
    if (e.kind === 'whiteout') {
      // moby's overlay converter: the device becomes an empty 0600 file named .wh.NAME.
      const [dir, base] = parentAndBase(e.path);
      await tar.add({ ...common, name: `${dir}.wh.${base}`, type: 'file', mode: 0o600, size: 0 });
      count++;
      continue;
    }
    const head: Omit<TarWriteEntry, 'type'> = { ...common, name: e.path, mode: e.mode, xattrs: e.xattrs };
    if (e.hardlinkTo !== undefined) {
      await tar.add({ ...head, type: 'hardlink', linkname: e.hardlinkTo, xattrs: undefined });
    } else {
      switch (e.type) {
        case 'dir':
          await tar.add({ ...head, type: 'dir' });
          if (e.kind === 'opaque') {
            // After its directory, owned like it: readers set the opaque xattr on DIR.
            await tar.add({ ...common, name: `${e.path}/.wh..wh..opq`, type: 'file', mode: e.mode & 0o777, size: 0 });
          }
          break;
        case 'file':
          await tar.add({ ...head, type: 'file', size: e.size }, body(e), { lenient: true });
          break;
        case 'symlink':
          await tar.add({ ...head, type: 'symlink', linkname: e.linkTarget ?? '' });
          break;
        case 'char':
        case 'block':
          await tar.add({ ...head, type: e.type, devmajor: e.devMajor, devminor: e.devMinor });
          break;
        case 'fifo':
          await tar.add({ ...head, type: 'fifo' });
          break;
        case 'socket':
          continue; // tar cannot hold a socket (Docker and GNU tar leave them out)
      }
    }
    count++;
  }
  await tar.finish();
  return count;
}

/**
 * Turns the changes in `upperDir` into a layer in the content and layer
 * stores, or returns null when there is none. The same upperdir content
 * (same mtimes) always gives the same diffID and, at the same level and
 * zlib, the same blob digest.
 */
export async function writeLayer(images: Images, upperDir: string, opts: WriteLayerOptions): Promise<ImageLayer | null> {
  const gzip = (opts.compression ?? 'gzip') === 'gzip';
  const mediaType = gzip ? MEDIA_TYPE_DOCKER_LAYER_GZIP : MEDIA_TYPE_DOCKER_LAYER_TAR;
  await images.layers.sweep();
  await sweepScratch(images.content.dir);
  return withScratch(images.content.dir, 'layer', async (dir) => {
    const file = join(dir, 'layer.blob');
    const tarSide = new Measure({ highWaterMark: STREAM_CHUNK });
    const blobSide = new Measure({ highWaterMark: STREAM_CHUNK });
    const out = fs.createWriteStream(file, { mode: 0o600, highWaterMark: STREAM_CHUNK });
    const done = gzip
      ? pipeline(tarSide, parallelGzip(LAYER_GZIP_LEVEL), blobSide, out)
      : pipeline(tarSide, blobSide, out);
    let count: number;
    try {
      count = await writeUpperTar(upperDir, tarSide, opts.native, { skip: opts.skip });
      tarSide.end();
      await done;
    } catch (err) {
      tarSide.destroy();
      await done.catch(() => undefined);
      throw err;
    }
    if (count === 0) return null;
    const diffId = tarSide.digest();
    const digest = gzip ? blobSide.digest() : diffId;
    const size = blobSide.size;
    // Hashed as written: only durability is left to do before the store takes it.
    const fh = await open(file, 'r');
    await fh.sync().finally(() => fh.close());

    const stored = (await images.content.ingest(digest, size, async (partial) => {
      await rm(partial, { force: true });
      await link(file, partial);
    }, { verifiedAndSynced: true })) === 'stored';
    try {
      await images.layers.add(diffId, (d) => unpackLayer({ blobPath: images.content.path(digest), mediaType, dir: d, native: opts.native }));
    } catch (err) {
      // Take back the blob only this call added, unless an image took it meanwhile.
      if (stored) {
        await images.index.locked(async () => {
          const data = await images.index.read();
          if (!Object.values(data.images).some((i) => i.layers.some((l) => l.digest === digest))) await images.content.remove(digest);
        }).catch(() => undefined);
      }
      if (err instanceof TsrunError) throw err;
      throw new TsrunError('LAYER_INVALID', `the layer written from ${upperDir} could not be stored: ${(err as Error).message}`, { cause: err });
    }
    return { diffId, digest, mediaType, size };
  });
}
