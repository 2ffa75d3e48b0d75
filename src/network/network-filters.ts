// `network ls --filter` (and the Engine API's network list `filters`), as
// Docker's daemon/network/filter.go matches them: `driver` and `scope`
// exactly, `name` and `id` as unanchored regular expressions (Docker's
// filters.Match: equal, or the pattern found in it), every `label`,
// `dangling` (user-defined networks no container is on) and `type`
// (builtin: bridge, host, none; custom: the others).
import { TsrunError } from '../errors.js';
import { checkFilterKeys, filterMatch, matchLabels, type FilterArgs } from '../util/filters.js';
import { PREDEFINED_NETWORKS } from './config.js';
import type { NetworkInspect } from './networks.js';

export const NETWORK_FILTER_KEYS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;

const predefined = (name: string) => (PREDEFINED_NETWORKS as readonly string[]).includes(name);

/** The networks `args` let through, in their order; a bad key or value is an error naming it. */
export function filterNetworks(nets: NetworkInspect[], args: FilterArgs): NetworkInspect[] {
  checkFilterKeys(args, NETWORK_FILTER_KEYS);
  const get = (key: string) => args.get(key) ?? [];
  const dangling = get('dangling');
  if (dangling.length > 1) throw new TsrunError('INVALID_ARGUMENT', 'got more than one value for filter key "dangling"');
  if (dangling.length && !['0', '1', 'true', 'false'].includes(dangling[0])) {
    throw new TsrunError('INVALID_ARGUMENT', 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
  }
  for (const t of get('type')) if (t !== 'builtin' && t !== 'custom') throw new TsrunError('INVALID_ARGUMENT', `invalid filter: 'type'='${t}'`);
  return nets.filter((n) => {
    if (get('driver').length && !get('driver').includes(n.Driver)) return false;
    if (get('scope').length && !get('scope').includes(n.Scope)) return false;
    if (get('name').length && !filterMatch(get('name'), n.Name)) return false;
    if (get('id').length && !filterMatch(get('id'), n.Id)) return false;
    if (!matchLabels(get('label'), n.Labels)) return false;
    if (dangling.length) {
      const inUse = predefined(n.Name) || Object.keys(n.Containers).length > 0;
      if (inUse === ['1', 'true'].includes(dangling[0])) return false;
    }
    if (get('type').length && !get('type').includes(predefined(n.Name) ? 'builtin' : 'custom')) return false;
    return true;
  });
}
