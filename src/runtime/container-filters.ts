// `ps --filter` (and the Engine API's container list `filters`), with
// Docker's keys and meanings (daemon/list.go): values of one key are
// alternatives, different keys must all hold, every label filter must hold.
import { TsrunError } from '../errors.js';
import { checkFilterKeys, invalidFilter, matchLabels, type FilterArgs } from '../util/filters.js';
import type { ContainerSummary } from './containers.js';
import type { Tsrun } from '../tsrun.js';

export const CONTAINER_FILTER_KEYS = ['ancestor', 'before', 'exited', 'health', 'id', 'label', 'name', 'network', 'since', 'status', 'volume'] as const;

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
// A container without a health check (or never started) is `none`.
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

export type ContainerPredicate = (c: ContainerSummary) => boolean;

/** What the filters that name other objects look up. */
export interface ContainerFilterLookup {
  /** before/since: the container a name or id (prefix) names; CONTAINER_NOT_FOUND when none does. */
  container(ref: string): Promise<{ id: string; created: string }>;
  /** ancestor: the ids of the image a name[:tag], name@digest or id names; none when there is no such image. */
  imageIds(ref: string): Promise<string[]>;
  /** network: the names of the networks called `ref` or whose id starts with it. */
  networkNames(ref: string): Promise<string[]>;
}

/** Refuses unknown keys and bad values of the keys that need no lookup; call it before any I/O. */
export function checkContainerFilters(args: FilterArgs): void {
  checkFilterKeys(args, CONTAINER_FILTER_KEYS);
  for (const v of args.get('status') ?? []) if (!STATUSES.includes(v)) throw invalidFilter('status', v);
  for (const v of args.get('health') ?? []) if (!HEALTH.includes(v)) throw invalidFilter('health', v);
  for (const v of args.get('exited') ?? []) if (!/^-?\d+$/.test(v)) throw invalidFilter('exited', v);
  for (const v of args.get('name') ?? []) nameRegExp(v);
}

/** Docker lists stopped containers without --all when a status filter is given. */
export function filtersListAll(args: FilterArgs): boolean {
  return (args.get('status')?.length ?? 0) > 0;
}

function nameRegExp(v: string): RegExp {
  try {
    return new RegExp(v);
  } catch {
    throw new TsrunError('INVALID_ARGUMENT', `invalid filter 'name=${v}': not a valid regular expression`);
  }
}

/** The network names a container is on: its bridge networks, or `host`/`none` for those modes. */
function networksOf(c: ContainerSummary): string[] {
  const net = c.record.request?.network;
  if (!net) return [];
  return net.networks ? Object.keys(net.networks) : [net.mode];
}

/** One predicate for all of `args`, after looking up the containers, images and networks they name. */
export async function containerFilter(args: FilterArgs, lookup: ContainerFilterLookup): Promise<ContainerPredicate> {
  checkContainerFilters(args);
  const tests: ContainerPredicate[] = [];
  const values = (key: string) => args.get(key) ?? [];
  const ids = values('id');
  if (ids.length) tests.push((c) => ids.some((p) => c.record.id.startsWith(p)));
  const names = values('name').map(nameRegExp);
  // Docker's names carry a leading slash: `^/web$` and `^web$` both match web.
  if (names.length) tests.push((c) => names.some((re) => re.test(c.record.name) || re.test(`/${c.record.name}`)));
  const labels = values('label');
  if (labels.length) tests.push((c) => matchLabels(labels, c.record.request?.labels));
  const statuses = values('status');
  if (statuses.length) tests.push((c) => statuses.includes(c.status));
  const codes = values('exited').map(Number);
  if (codes.length) tests.push((c) => c.status === 'exited' && codes.includes(c.exitCode));
  const health = values('health');
  if (health.length) tests.push((c) => health.includes(c.health?.Status ?? 'none'));
  const volumes = values('volume');
  if (volumes.length) {
    tests.push((c) => (c.record.request?.mounts ?? []).some((m) => volumes.includes(m.Destination) || volumes.includes(m.Name ?? m.Source)));
  }
  for (const [key, after] of [['before', false], ['since', true]] as const) {
    for (const ref of values(key)) {
      const { id, created } = await lookup.container(ref);
      tests.push((c) => c.record.id !== id && (after ? c.record.created > created : c.record.created < created));
    }
  }
  const ancestors = values('ancestor');
  if (ancestors.length) {
    const imageIds = new Set((await Promise.all(ancestors.map((a) => lookup.imageIds(a)))).flat());
    tests.push((c) => {
      const r = c.record.request;
      return (!!r?.imageId && imageIds.has(r.imageId)) || ancestors.includes(r?.image ?? c.image);
    });
  }
  const networks = values('network');
  if (networks.length) {
    const wanted = new Set([...networks, ...(await Promise.all(networks.map((n) => lookup.networkNames(n)))).flat()]);
    tests.push((c) => networksOf(c).some((n) => wanted.has(n)));
  }
  return (c) => tests.every((t) => t(c));
}

/** The lookups over tsrun's own stores (what `ps --filter` and the API's container list use). */
export function containerFilterLookup(tsrun: Tsrun): ContainerFilterLookup {
  const c = tsrun.containers;
  return {
    container: async (ref) => {
      const id = await c.resolve(ref);
      return { id, created: (await c.store.read(id)).created };
    },
    imageIds: (ref) =>
      tsrun.images.get(ref).then(
        (img) => [img.record.id],
        (err) => {
          // No such image (or not an image reference at all, such as a --rootfs directory): no container of it.
          if (err instanceof TsrunError && ['IMAGE_NOT_FOUND', 'INVALID_REFERENCE', 'INVALID_ARGUMENT'].includes(err.code)) return [];
          throw err;
        },
      ),
    networkNames: async (ref) => (await (await tsrun.networks()).list()).filter((n) => n.Name === ref || n.Id.startsWith(ref)).map((n) => n.Name),
  };
}
