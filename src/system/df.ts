// `tsrun system df`: what the store holds, as Docker's disk usage (GET
// /system/df) counts it. Image sizes are the unpacked layer sizes the layer
// store recorded (what `images` shows as SIZE), a layer shared by several
// images counted once in the total; containers' sizes are their writable
// layers (overlay upperdirs); the build cache is its entries' layers that
// no image holds plus the RUN cache mounts (what `builder prune` frees).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildCache } from '../build/cache.js';
import type { DockerStatus } from '../runtime/containers.js';
import type { Tsrun } from '../tsrun.js';
import { diskUsage } from '../util/du.js';
import { ANONYMOUS_LABEL } from '../volume/store.js';
import { volumeNames } from '../volume/mounts.js';

export interface ImageUsage {
  id: string;
  repoTags: string[];
  created: string;
  /** Every layer of the image. */
  size: number;
  /** The part of `size` in layers other images have too. */
  sharedSize: number;
  uniqueSize: number;
  /** Containers (running or not) made from it. */
  containers: number;
}

export interface ContainerUsage {
  id: string;
  name: string;
  image: string;
  command: string[];
  created: string;
  status: DockerStatus;
  startedAt?: string;
  finishedAt?: string;
  exitCode: number;
  /** The writable layer (0 for a --rootfs container, which has none). */
  sizeRw: number;
  /** Volumes it mounts. */
  localVolumes: number;
}

export interface VolumeUsage {
  name: string;
  anonymous: boolean;
  /** Containers that use it. */
  links: number;
  size: number;
}

export interface BuildCacheUsage {
  id: string;
  type: 'regular' | 'exec.cachemount';
  size: number;
  created?: string;
  /** Its layer is in an image too (so `builder prune` does not free it). */
  shared: boolean;
}

/** One line of Docker's summary table. */
export interface UsageSummary {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export interface DiskUsage {
  /** Every image layer on disk, each once. */
  layersSize: number;
  images: ImageUsage[];
  containers: ContainerUsage[];
  volumes: VolumeUsage[];
  buildCache: BuildCacheUsage[];
  summary: { images: UsageSummary; containers: UsageSummary; volumes: UsageSummary; buildCache: UsageSummary };
}

const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);

export async function systemDf(tsrun: Tsrun): Promise<DiskUsage> {
  const [images, containers, volumes] = await Promise.all([tsrun.images.list(), tsrun.containers.summaries(true), tsrun.volumes.list()]);

  // Layers: their sizes, and how many images have each.
  const layerSize = new Map<string, number>();
  const imagesWith = new Map<string, number>();
  for (const img of images) {
    for (const diffId of new Set(img.record.layers.map((l) => l.diffId))) imagesWith.set(diffId, (imagesWith.get(diffId) ?? 0) + 1);
  }
  await Promise.all([...imagesWith.keys()].map(async (d) => layerSize.set(d, await tsrun.images.layers.size(d))));

  const byImage = new Map<string, number>();
  const byVolume = new Map<string, number>();
  for (const c of containers) {
    const imageId = c.record.request?.imageId;
    if (imageId) byImage.set(imageId, (byImage.get(imageId) ?? 0) + 1);
    for (const v of new Set(volumeNames(c.record.request?.mounts))) byVolume.set(v, (byVolume.get(v) ?? 0) + 1);
  }

  const imageRows: ImageUsage[] = images.map((img) => {
    const layers = [...new Set(img.record.layers.map((l) => l.diffId))];
    const size = sum(layers.map((d) => layerSize.get(d) ?? 0));
    const sharedSize = sum(layers.filter((d) => (imagesWith.get(d) ?? 0) > 1).map((d) => layerSize.get(d) ?? 0));
    return {
      id: img.record.id, repoTags: img.repoTags, created: img.config.created ?? img.record.added,
      size, sharedSize, uniqueSize: size - sharedSize, containers: byImage.get(img.record.id) ?? 0,
    };
  });
  const layersSize = sum([...layerSize.values()]);
  const activeLayers = new Set(images.filter((i) => byImage.has(i.record.id)).flatMap((i) => i.record.layers.map((l) => l.diffId)));

  const containerRows: ContainerUsage[] = await Promise.all(containers.map(async (c) => ({
    id: c.record.id, name: c.record.name, image: c.image, command: c.command, created: c.record.created, status: c.status,
    startedAt: c.startedAt, finishedAt: c.finishedAt, exitCode: c.exitCode,
    sizeRw: c.record.request?.imageId ? await diskUsage(tsrun.images.rootfs.paths(c.record.id).upper) : 0,
    localVolumes: new Set(volumeNames(c.record.request?.mounts)).size,
  })));
  const active = (s: DockerStatus) => s === 'running' || s === 'paused';

  const volumeRows: VolumeUsage[] = await Promise.all(volumes.map(async (v) => ({
    name: v.Name, anonymous: Object.hasOwn(v.Labels ?? {}, ANONYMOUS_LABEL), links: byVolume.get(v.Name) ?? 0, size: await diskUsage(v.Mountpoint),
  })));

  const buildCache = await buildCacheUsage(tsrun, imagesWith);

  return {
    layersSize,
    images: imageRows,
    containers: containerRows,
    volumes: volumeRows,
    buildCache,
    summary: {
      images: {
        total: imageRows.length, active: imageRows.filter((i) => i.containers > 0).length, size: layersSize,
        reclaimable: layersSize - sum([...activeLayers].map((d) => layerSize.get(d) ?? 0)),
      },
      containers: {
        total: containerRows.length, active: containerRows.filter((c) => active(c.status)).length, size: sum(containerRows.map((c) => c.sizeRw)),
        reclaimable: sum(containerRows.filter((c) => !active(c.status)).map((c) => c.sizeRw)),
      },
      volumes: {
        total: volumeRows.length, active: volumeRows.filter((v) => v.links > 0).length, size: sum(volumeRows.map((v) => v.size)),
        reclaimable: sum(volumeRows.filter((v) => v.links === 0).map((v) => v.size)),
      },
      buildCache: {
        total: buildCache.length, active: 0, size: sum(buildCache.map((b) => b.size)),
        reclaimable: sum(buildCache.filter((b) => !b.shared).map((b) => b.size)),
      },
    },
  };
}

/** The build cache's entries (each layer once) and RUN cache mounts. */
async function buildCacheUsage(tsrun: Tsrun, imagesWith: Map<string, number>): Promise<BuildCacheUsage[]> {
  const cache = new BuildCache(tsrun.root);
  const rows: BuildCacheUsage[] = [];
  const counted = new Set<string>();
  for (const name of (await readdir(cache.dir).catch(() => [] as string[])).filter((n) => /^[a-f0-9]{64}\.json$/.test(n)).sort()) {
    const e = await cache.get(name.slice(0, -5));
    if (!e) continue;
    const diffId = e.layer?.diffId;
    // A step that made no layer (config-only) and a layer counted under another entry take no room of their own.
    const size = diffId && !counted.has(diffId) ? await tsrun.images.layers.size(diffId) : 0;
    if (diffId) counted.add(diffId);
    rows.push({ id: name.slice(0, 12), type: 'regular', size, created: e.created, shared: !!diffId && imagesWith.has(diffId) });
  }
  const mounts = join(tsrun.root, 'build', 'cache-mounts');
  for (const name of (await readdir(mounts).catch(() => [] as string[])).sort()) {
    rows.push({ id: name.slice(0, 12), type: 'exec.cachemount', size: await diskUsage(join(mounts, name)), shared: false });
  }
  return rows;
}
