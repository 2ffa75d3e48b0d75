// The content store: every manifest, config and layer blob by its digest,
// under blobs/sha256/<hex> (containerd's layout). A blob becomes visible only
// by a rename after its digest was checked, so a pull killed at any moment
// leaves either the whole verified blob or nothing under blobs/. Downloads in
// progress live in ingest/<hex>.partial and are resumed by the next pull;
// ingest/<hex>.lock keeps two pulls from appending to the same file.
import { nodeCrypto } from '../../util/lazy-builtins.js';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../../errors.js';
import { atomicWriteFile } from '../../util/atomic-write.js';
import type { Locker } from '../../util/lock.js';

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

/** The hex of a sha256 digest; anything else is refused before it can name a path. */
export function digestHex(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m) throw new TsrunError('DIGEST_MISMATCH', `unsupported or malformed digest ${JSON.stringify(digest)} (tsrun stores sha256 content)`);
  return m[1];
}

export async function sha256File(path: string): Promise<{ digest: string; size: number }> {
  const hash = nodeCrypto().createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export class ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;

  constructor(readonly dir: string, private readonly lock: Locker) {
    this.blobsDir = join(dir, 'blobs', 'sha256');
    this.ingestDir = join(dir, 'ingest');
  }

  path(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async size(digest: string): Promise<number> {
    return (await stat(this.path(digest))).size;
  }

  /** A small blob (a manifest, a config): read synchronously, as every `create` reads its image's config. */
  async read(digest: string): Promise<Buffer> {
    try {
      return readFileSync(this.path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TsrunError('IMAGE_NOT_FOUND', `content ${digest} is missing from the store`, { cause: err });
      }
      throw err;
    }
  }

  /** Stores a small blob already in memory (manifests, configs), after checking its digest. */
  async put(digest: string, bytes: Buffer): Promise<void> {
    const actual = `sha256:${nodeCrypto().createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw new TsrunError('DIGEST_MISMATCH', `content has digest ${actual}, expected ${digest}`);
    if (await this.has(digest)) return;
    await mkdir(this.blobsDir, { recursive: true });
    await atomicWriteFile(this.path(digest), bytes);
  }

  /**
   * Makes sure a blob is stored: when it is not, `fetch` fills the ingest
   * file (possibly resuming bytes a killed pull left there) and the result
   * is checked against `digest` and `size` before it is renamed into place.
   * Parallel callers for the same digest wait for each other; the second
   * finds the blob there.
   */
  async ingest(
    digest: string,
    size: number,
    fetch: (partialPath: string) => Promise<void>,
    // A fetcher that hashed and fsynced the bytes as they streamed by (the
    // registry client does) spares the store a second read of the whole blob.
    opts: { verifiedAndSynced?: boolean } = {},
  ): Promise<'stored' | 'exists'> {
    const hex = digestHex(digest);
    if (await this.has(digest)) return 'exists';
    await mkdir(this.ingestDir, { recursive: true });
    await mkdir(this.blobsDir, { recursive: true });
    return this.lock(join(this.ingestDir, `${hex}.lock`), async () => {
      if (await this.has(digest)) return 'exists';
      const partial = join(this.ingestDir, `${hex}.partial`);
      await fetch(partial);
      const got = opts.verifiedAndSynced ? { digest, size: (await stat(partial)).size } : await sha256File(partial);
      if (got.digest !== digest || got.size !== size) {
        await rm(partial, { force: true });
        throw new TsrunError(
          'DIGEST_MISMATCH',
          got.digest !== digest
            ? `blob ${digest} failed verification: the data has digest ${got.digest}`
            : `blob ${digest} failed verification: ${got.size} bytes, expected ${size}`,
        );
      }
      if (!opts.verifiedAndSynced) {
        const fh = await open(partial, 'r');
        await fh.sync().finally(() => fh.close());
      }
      await rename(partial, this.path(digest));
      await rm(join(this.ingestDir, `${hex}.lock`), { force: true });
      return 'stored';
    });
  }

  async remove(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.blobsDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
    } catch {
      return [];
    }
  }
}
