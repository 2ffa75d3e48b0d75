// `volume ls --filter` (and the Engine API's volume list `filters`), as
// Docker's volume service matches them: `driver` exactly, `name` as an
// unanchored regular expression (filters.Match), every `label`, and
// `dangling` (no container mounts it).
import { checkFilterKeys, filterBool, filterMatch, matchLabels, type FilterArgs } from '../util/filters.js';
import type { VolumeInfo } from './store.js';

export const VOLUME_FILTER_KEYS = ['dangling', 'driver', 'label', 'name'] as const;

/** The volumes `args` let through; `inUse` says whether a container mounts the named volume. A bad key or value is an error naming it. */
export function filterVolumes(vols: VolumeInfo[], args: FilterArgs, inUse: (name: string) => boolean): VolumeInfo[] {
  checkFilterKeys(args, VOLUME_FILTER_KEYS);
  const dangling = filterBool(args, 'dangling');
  const get = (key: string) => args.get(key) ?? [];
  return vols.filter((v) =>
    (!get('driver').length || get('driver').includes(v.Driver)) &&
    (!get('name').length || filterMatch(get('name'), v.Name)) &&
    matchLabels(get('label'), v.Labels) &&
    (dangling === undefined || inUse(v.Name) !== dangling));
}
