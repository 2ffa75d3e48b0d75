// A layer blob → its directory: sniff the compression from the magic bytes
// (../compression.ts), decompress, hash the uncompressed tar (the diffID)
// while the entries are applied (apply.ts), one pass, streaming.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { TsrunError } from '../../errors.js';
import { decompressor, isZlibError, sniffCompression, type Compression } from '../compression.js';
import { applyLayer, type UnpackNative } from './apply.js';
import { readTar } from './tar.js';

export type { UnpackNative } from './apply.js';

export interface UnpackResult {
  /** "sha256:<hex>" of the uncompressed tar stream. */
  diffId: string;
  /** Bytes of the uncompressed tar stream. */
  size: number;
}

export interface UnpackLayerOptions {
  blobPath: string;
  mediaType: string;
  /** An existing, empty directory. */
  dir: string;
  native: UnpackNative;
  /** Called with each count of compressed bytes read from the blob (progress against the blob's size). */
  onBytes?: (n: number) => void;
}

const READ_CHUNK = 1 << 20;
const INFLATE_CHUNK = 512 << 10;
// Let the decompressor (on the thread pool) run ahead while entries are written.
const READ_AHEAD = 8 << 20;

function sniff(blobPath: string): Compression {
  const fd = fs.openSync(blobPath, 'r');
  try {
    const head = Buffer.alloc(4);
    return sniffCompression(head.subarray(0, fs.readSync(fd, head, 0, 4, 0)));
  } finally {
    fs.closeSync(fd);
  }
}

/** Counts and hashes the bytes going by; decompression errors become LAYER_INVALID. */
async function* measure(src: AsyncIterable<Buffer>, hash: Hash, total: { size: number }, what: string, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of src) {
      hash.update(chunk);
      total.size += chunk.length;
      onBytes?.(chunk.length);
      yield chunk;
    }
  } catch (err) {
    if (isZlibError(err)) {
      throw new TsrunError('LAYER_INVALID', `${what}: corrupt compressed data (${(err as Error).message})`, { cause: err });
    }
    throw err;
  }
}

async function applyMeasured(src: AsyncIterable<Buffer>, dir: string, native: UnpackNative, what: string, onBytes?: (n: number) => void): Promise<UnpackResult> {
  const hash = createHash('sha256');
  const total = { size: 0 };
  await applyLayer(readTar(measure(src, hash, total, what, onBytes)), dir, native);
  return { diffId: `sha256:${hash.digest('hex')}`, size: total.size };
}

/** Unpacks a (maybe compressed) layer blob into dir; returns the uncompressed tar's digest and size. */
export async function unpackLayer(opts: UnpackLayerOptions): Promise<UnpackResult> {
  const dec = decompressor(sniff(opts.blobPath), `the layer (${opts.mediaType})`, {
    chunkSize: INFLATE_CHUNK,
    readableHighWaterMark: READ_AHEAD,
  } as zlib.ZlibOptions);
  const file = fs.createReadStream(opts.blobPath, { highWaterMark: READ_CHUNK });
  let source: Readable = file;
  let onPlain = opts.onBytes;
  if (dec) {
    // Errors of either stream reach the reader through dec (pipeline destroys it).
    pipeline(file, dec, () => undefined);
    // pipe() already reads the file with 'data' events; one more listener only counts.
    if (opts.onBytes) file.on('data', (c: Buffer | string) => opts.onBytes!(c.length));
    onPlain = undefined;
    source = dec;
  }
  try {
    return await applyMeasured(source, opts.dir, opts.native, `layer blob ${opts.blobPath}`, onPlain);
  } finally {
    source.destroy();
    file.destroy();
  }
}

/** Unpacks an uncompressed tar stream (e.g. `tsrun import`) into dir. */
export async function unpackTarStream(stream: Readable | AsyncIterable<Buffer>, dir: string, native: UnpackNative): Promise<UnpackResult> {
  return applyMeasured(stream as AsyncIterable<Buffer>, dir, native, 'tar stream');
}
