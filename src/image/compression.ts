// Layer and archive compression, told from the magic bytes (media types are
// only a hint: registries and tools get them wrong), and the matching
// decompressor from Node's zlib.
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { TsrunError } from '../errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** A decompressing stream for `kind` (null for none); zstd needs a Node whose zlib has it (22.15+). */
export function decompressor(kind: Compression, what: string, opts: zlib.ZlibOptions = {}): Transform | null {
  if (kind === 'gzip') return zlib.createGunzip(opts);
  if (kind === 'zstd') {
    const create = (zlib as unknown as { createZstdDecompress?: (o?: object) => Transform }).createZstdDecompress;
    if (!create) {
      throw new TsrunError('UNSUPPORTED_MEDIA_TYPE', `${what} is zstd-compressed, which needs Node 22.15+ (this is Node ${process.versions.node})`);
    }
    return create({ chunkSize: opts.chunkSize });
  }
  return null;
}

/** Whether an error came from zlib (corrupt compressed data) rather than from I/O. */
export function isZlibError(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  return code.startsWith('Z_') || code.startsWith('ERR_ZLIB') || code.startsWith('ERR_ZSTD') || code.startsWith('ERR__');
}
