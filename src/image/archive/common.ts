// Shared by save/load/import: decompressing streams,
// per-operation scratch directories under <root>/images/tmp.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { TsrunError } from '../../errors.js';
import { decompressor, isZlibError, sniffCompression } from '../compression.js';

export { MEDIA_TYPE_DOCKER_LAYER_TAR } from '../media-types.js';

/**
 * The input with any gzip/zstd compression taken off, sniffed from its
 * first bytes. Errors of the source or the decompressor surface on the
 * returned stream.
 */
export async function decompressed(input: Readable, what: string): Promise<Readable> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first: Buffer[] = [];
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    first.push(b);
    head = Buffer.concat([head, b]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  const src = Readable.from(rest(), { objectMode: false });
  const dec = decompressor(sniffCompression(head), what);
  if (!dec) return src;
  const out = new PassThrough();
  src.on('error', (e) => out.destroy(e));
  dec.on('error', (e) => out.destroy(zlibError(e, what) as Error));
  src.pipe(dec).pipe(out);
  return out;
}

export function zlibError(err: unknown, what: string): unknown {
  if (isZlibError(err)) {
    return new TsrunError('ARCHIVE_INVALID', `${what}: corrupt compressed data (${(err as Error).message})`, { cause: err });
  }
  return err;
}

/** A fresh scratch dir <images>/tmp/<kind>-<pid>-<rand>; `run` gets it and it is removed afterwards, whatever happens. */
export async function withScratch<T>(imagesDir: string, kind: string, run: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(imagesDir, 'tmp', `${kind}-${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
