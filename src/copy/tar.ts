// cp's entries to and from a tar stream, with the repo's one tar writer
// (image/archive/tar-write.ts) and one tar reader (image/unpack/tar.ts).
import type { Writable } from 'node:stream';
import { tarHeaderBlocks, TarWriter, type TarWriteEntry } from '../image/archive/tar-write.js';
import { readTar } from '../image/unpack/tar.js';
import type { CopyEntry } from './entries.js';

function tarWriteEntry(e: CopyEntry): TarWriteEntry {
  if (e.type === 'other') throw new Error(`tar: cannot write ${e.path}: unsupported type ${JSON.stringify(e.typeflag)}`);
  return {
    name: e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    // Whole seconds, as `export` and Docker's archives carry them.
    mtime: Math.trunc(e.mtime),
    size: e.type === 'file' ? e.size : undefined,
    linkname: e.linkname || undefined,
    devmajor: e.devmajor,
    devminor: e.devminor,
    xattrs: e.xattrs.size ? e.xattrs : undefined,
  };
}

/** The bytes the entry takes in a tar: its header blocks and its padded body. */
export function tarBytes(e: CopyEntry): number {
  const size = e.type === 'file' ? e.size : 0;
  return tarHeaderBlocks(tarWriteEntry(e)).length + size + ((512 - (size % 512)) % 512);
}

/** The two zero blocks that end a tar. */
export const TAR_END_BYTES = 1024;

/** Writes the entries to `out` as one tar (without ending the stream); returns its size in bytes. */
export async function writeTarEntries(entries: AsyncIterable<CopyEntry>, out: Writable): Promise<number> {
  const tar = new TarWriter(out);
  let bytes = 0;
  for await (const e of entries) {
    bytes += tarBytes(e);
    await tar.add(tarWriteEntry(e), e.type === 'file' ? e.chunks() : undefined);
  }
  await tar.finish();
  return bytes + TAR_END_BYTES;
}

/** The entries of a tar stream (stdin), its bytes counted into `sizes.read` as they arrive. */
export function readTarEntries(input: AsyncIterable<Buffer | string>, sizes: { read: number }): AsyncIterable<CopyEntry> {
  async function* counted(): AsyncGenerator<Buffer, void, undefined> {
    for await (const c of input) {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      sizes.read += b.length;
      yield b;
    }
  }
  return readTar(counted());
}
