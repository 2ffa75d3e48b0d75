// The image index: images by id (their config digest, as Docker's ids) and
// the names that point at them. One JSON file, replaced atomically under
// images.lock, so parallel pulls, tags and removals never lose each
// other's writes and a reader sees a whole index.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteJson } from '../../util/atomic-write.js';
import type { Locker } from '../../util/lock.js';

export interface ImageLayer {
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string;
  /** The blob as the registry served it. */
  digest: string;
  mediaType: string;
  size: number;
}

export interface ImageRecord {
  /** sha256 of the image config. */
  id: string;
  /** Digest of the platform manifest this image was pulled or loaded as. */
  manifestDigest: string;
  manifestMediaType: string;
  /** `name@digest` for each repository it came from (Docker's RepoDigests). */
  repoDigests: string[];
  layers: ImageLayer[];
  /** When it arrived here. */
  added: string;
}

export interface IndexData {
  version: 1;
  images: Record<string, ImageRecord>;
  /** Full name:tag (docker.io/library/alpine:latest) → image id. */
  tags: Record<string, string>;
}

const EMPTY: IndexData = { version: 1, images: {}, tags: {} };

export class ImageIndex {
  private readonly file: string;
  private readonly lockFile: string;

  constructor(dir: string, private readonly lock: Locker) {
    this.file = join(dir, 'index.json');
    this.lockFile = join(dir, 'images.lock');
  }

  // Read synchronously: one small file, parsed at once (every `create` and `images` reads it).
  async read(): Promise<IndexData> {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as IndexData;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(EMPTY);
      throw err;
    }
  }

  /** Read, change and write back under the lock; `fn` may throw to change nothing. */
  async update<T>(fn: (data: IndexData) => T | Promise<T>): Promise<T> {
    return this.lock(this.lockFile, async () => {
      const data = await this.read();
      const result = await fn(data);
      await atomicWriteJson(this.file, data);
      return result;
    });
  }

  /** Runs `fn` under the index lock without writing (for removals that must see a stable index). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock(this.lockFile, fn);
  }
}

/** The names (name:tag) that point at an image. */
export function tagsOf(data: IndexData, id: string): string[] {
  return Object.keys(data.tags).filter((t) => data.tags[t] === id).sort();
}
