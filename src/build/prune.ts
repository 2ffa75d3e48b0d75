// `tsrun builder prune`: the cache entries, the RUN cache mounts and the
// leftovers of killed builds go; then image GC removes the layers only the
// cache held. Returns what was reclaimed (bytes of layers and cache mounts).
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tsrun } from '../tsrun.js';
import { BuildCache } from './cache.js';
import { sweepWork } from './workspace.js';

async function du(path: string): Promise<number> {
  const st = await stat(path).catch(() => null);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const n of await readdir(path)) total += await du(join(path, n));
  return total;
}

export async function pruneBuildCache(tsrun: Tsrun): Promise<{ entries: number; bytes: number }> {
  await sweepWork(tsrun);
  const images = tsrun.images;
  const before = (await Promise.all((await images.layers.list()).map((d) => images.layers.size(d)))).reduce((a, b) => a + b, 0);
  const entries = await new BuildCache(tsrun.root).prune();
  const mounts = join(tsrun.root, 'build', 'cache-mounts');
  const mountBytes = await du(mounts);
  await rm(mounts, { recursive: true, force: true });
  await images.collectGarbage();
  const after = (await Promise.all((await images.layers.list()).map((d) => images.layers.size(d)))).reduce((a, b) => a + b, 0);
  return { entries, bytes: before - after + mountBytes };
}
