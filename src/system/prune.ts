// `tsrun system prune`: each kind's own prune, in Docker's order (a
// container holds networks, volumes and images, so it goes first):
// stopped containers, unused user-defined networks, with `volumes` unused
// anonymous volumes, dangling images (with `all` every unused image), then
// the build cache. Filters (until=, label=, label!=) reach every kind.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { Tsrun } from '../tsrun.js';
import { diskUsage } from '../util/du.js';
import { noFilters, type PruneFilters } from '../util/prune-filters.js';
import { ANONYMOUS_LABEL } from '../volume/store.js';

export interface SystemPruneOptions {
  /** Every image no container uses, not only dangling ones (`-a`). */
  all?: boolean;
  /** Unused anonymous volumes too (`--volumes`). */
  volumes?: boolean;
  filters?: PruneFilters;
}

export interface SystemPruneReport {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
  /** Build cache entries dropped; `skipped` says why the cache was left alone. */
  buildCache: { entries: number; skipped?: string };
  /** Bytes: writable layers, volume data, image layers and build cache. */
  reclaimed: number;
}

/** Refuses what Docker refuses, before anything is removed. */
export function checkSystemPrune(opts: SystemPruneOptions): void {
  if (opts.volumes && opts.filters?.until !== undefined) throw new TsrunError('INVALID_ARGUMENT', 'the "until" filter is not supported with "--volumes"');
}

/**
 * Why the build cache is kept under these filters, if it is: `builder
 * prune` drops the whole cache, whose entries carry no labels, so a
 * `label=` filter matches none of them and `until=` cannot be honoured.
 */
export function buildCacheKept(filters: PruneFilters | undefined): string | undefined {
  if (filters?.until !== undefined) return 'the build cache is not pruned with an until filter';
  if (filters?.labels.length) return 'the build cache has no labels: a label filter matches none of it';
  return undefined;
}

/** Whether the store has its image directory: builds and their cache need it, and on a fresh root nothing is there to prune. */
export function hasImageStore(tsrun: Pick<Tsrun, 'root'>): boolean {
  return existsSync(join(tsrun.root, 'images'));
}

export async function systemPrune(tsrun: Tsrun, opts: SystemPruneOptions = {}): Promise<SystemPruneReport> {
  checkSystemPrune(opts);
  const filters = noFilters(opts.filters) ? undefined : opts.filters;
  const containers = await tsrun.containers.prune(filters);
  const networks = await (await tsrun.networks()).prune(filters);
  let volumes: string[] = [];
  let volumeBytes = 0;
  if (opts.volumes) {
    // Sized before they go: the anonymous ones, which are the candidates.
    const sizes = new Map<string, number>();
    for (const v of await tsrun.volumes.list()) if (Object.hasOwn(v.Labels ?? {}, ANONYMOUS_LABEL)) sizes.set(v.Name, await diskUsage(v.Mountpoint));
    volumes = await tsrun.volumes.prune(false, filters);
    volumeBytes = volumes.reduce((a, n) => a + (sizes.get(n) ?? 0), 0);
  }
  const images = await tsrun.images.prune(!!opts.all, filters);
  const skipped = buildCacheKept(filters);
  let cache = { entries: 0, bytes: 0 };
  if (!skipped && hasImageStore(tsrun)) cache = await (await import('../build/prune.js')).pruneBuildCache(tsrun);
  return {
    containers: containers.deleted,
    networks,
    volumes,
    images: images.deleted,
    buildCache: { entries: cache.entries, ...(skipped ? { skipped } : {}) },
    reclaimed: containers.reclaimed + volumeBytes + images.reclaimed + cache.bytes,
  };
}
