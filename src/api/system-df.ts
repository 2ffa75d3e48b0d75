// GET /system/df in Docker's shape (types.DiskUsage), from core's systemDf:
// images as /images/json lists them, containers as /containers/json with
// sizes, volumes with their UsageData, the build cache's records.
import { systemDf } from '../system/df.js';
import type { Tsrun } from '../tsrun.js';
import { listContainers } from './container-list.js';
import { imageSummary } from './image-summary.js';

export async function dockerDiskUsage(tsrun: Tsrun): Promise<Record<string, unknown>> {
  const [du, images, containers, volumes] = await Promise.all([
    systemDf(tsrun),
    tsrun.images.list(),
    listContainers(tsrun, new URLSearchParams({ all: '1', size: '1' })),
    tsrun.volumes.list(),
  ]);
  const imageUse = new Map(du.images.map((i) => [i.id, i]));
  const volumeUse = new Map(du.volumes.map((v) => [v.name, v]));
  return {
    LayersSize: du.layersSize,
    Images: images.map((v) => {
      const use = imageUse.get(v.record.id);
      return { ...imageSummary(v, v.repoTags), Containers: use?.containers ?? 0, SharedSize: use?.sharedSize ?? 0, ...(use ? { Size: use.size, VirtualSize: use.size } : {}) };
    }),
    Containers: containers,
    Volumes: volumes.map((v) => ({ ...v, UsageData: { Size: volumeUse.get(v.Name)?.size ?? -1, RefCount: volumeUse.get(v.Name)?.links ?? 0 } })),
    BuildCache: du.buildCache.map((b) => ({
      ID: b.id, Parent: '', Type: b.type, Description: b.type === 'regular' ? 'a build step' : 'a RUN cache mount',
      InUse: false, Shared: b.shared, Size: b.size, CreatedAt: b.created ?? new Date(0).toISOString(), LastUsedAt: null, UsageCount: 0,
    })),
  };
}
