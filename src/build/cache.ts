// The build cache, content-addressed as BuildKit's: a step's key is the
// sha256 of its parent's key, the instruction after substitution, the build
// args it sees, and (COPY/ADD) the content of what it reads. The value is
// the layer the step made (or none). Entries live under --root, so a hit
// works across processes and restarts:
//   <root>/build/cache/<key hex>.json   { layer, created }
// The layers entries name are pinned: image GC leaves them until
// `tsrun builder prune` drops the entries.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageLayer } from '../image/store/image-index.js';
import { atomicWriteJson } from '../util/atomic-write.js';

export interface CacheEntry {
  layer: ImageLayer | null;
  created: string;
}

export function cacheKey(...parts: unknown[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : JSON.stringify(p)).update('\0');
  return h.digest('hex');
}

export class BuildCache {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'build', 'cache');
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8')) as CacheEntry;
    } catch {
      return undefined;
    }
  }

  /** `created`: when the step ran; a hit gives the image the same time, and so the same id. */
  async put(key: string, layer: ImageLayer | null, created: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWriteJson(join(this.dir, `${key}.json`), { layer, created } satisfies CacheEntry);
  }

  /** Every layer an entry names (image GC keeps them). */
  async pinned(): Promise<ImageLayer[]> {
    const out: ImageLayer[] = [];
    for (const name of await this.names()) {
      const e = await this.get(name.slice(0, -5));
      if (e?.layer) out.push(e.layer);
    }
    return out;
  }

  /** Drops every entry; returns how many there were. */
  async prune(): Promise<number> {
    const names = await this.names();
    for (const n of names) await rm(join(this.dir, n), { force: true });
    return names.length;
  }

  private async names(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => /^[a-f0-9]{64}\.json$/.test(n));
    } catch {
      return [];
    }
  }
}
