// GET /containers/json and /containers/{id}/json: core's views in Docker's
// shapes. The list is Docker's container summary (what `docker ps` and
// compose's label queries read); inspect is runtime/inspect.ts's document
// (the CLI's `inspect`) with the fields only the daemon has (its files'
// paths, network ids, sizes).
import { checkContainerFilters, containerFilter, containerFilterLookup, filtersListAll } from '../runtime/container-filters.js';
import type { ContainerSummary, ContainerView } from '../runtime/containers.js';
import { inspectDocument, networkSettings } from '../runtime/inspect.js';
import { statusText } from '../runtime/status-text.js';
import type { Tsrun } from '../tsrun.js';
import { diskUsage } from '../util/du.js';
import { parseFilterJson } from '../util/filters.js';
import { endpointId, resolvesNames } from '../network/networks.js';
import { queryBool, queryInt } from './http.js';

const live = (status: string): boolean => status === 'running' || status === 'paused';

/** GET /containers/json?all&limit&size&filters. */
export async function listContainers(tsrun: Tsrun, q: URLSearchParams): Promise<object[]> {
  const args = parseFilterJson(q.get('filters') ?? '');
  checkContainerFilters(args);
  const limit = queryInt(q, 'limit') ?? -1;
  // Docker: a limit, or a status filter, lists stopped containers too.
  const all = queryBool(q, 'all') || limit > 0 || filtersListAll(args);
  const keep = args.size ? await containerFilter(args, containerFilterLookup(tsrun)) : undefined;
  let views = await tsrun.containers.summaries(all);
  if (keep) views = views.filter(keep);
  if (limit > 0) views = views.slice(0, limit);
  const networkIds = await networkIdsFor(tsrun, views);
  const size = queryBool(q, 'size');
  const now = Date.now();
  return Promise.all(views.map(async (v) => ({
    ...summary(v, networkIds, now),
    ...(size ? await sizes(tsrun, v.record.id, v.record.request?.imageId) : {}),
  })));
}

function summary(v: ContainerSummary, networkIds: Map<string, string>, now: number): object {
  const r = v.record;
  const req = r.request;
  const running = live(v.status);
  const mapped = running ? (r.networkSettings?.ports ?? []) : [];
  const ports: object[] = mapped.map((p) => ({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol }));
  // Exposed ports that are not published show as PrivatePort alone (`80/tcp` in docker ps).
  for (const key of Object.keys(req?.exposedPorts ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    if (!mapped.some((p) => p.containerPort === Number(port) && p.protocol === proto)) ports.push({ PrivatePort: Number(port), Type: proto });
  }
  const net = networkSettings(v, running) as { Networks: Record<string, Record<string, unknown>> };
  return {
    Id: r.id,
    Names: [`/${r.name}`],
    Image: v.image,
    ImageID: req?.imageId ?? '',
    Command: v.command.join(' '),
    Created: Math.floor(Date.parse(r.created) / 1000),
    Ports: ports,
    Labels: req?.labels ?? {},
    State: v.status,
    Status: statusText(v, now),
    HostConfig: { NetworkMode: req?.network?.mode ?? 'none' },
    NetworkSettings: { Networks: withIds(net.Networks, networkIds, r.id) },
    Mounts: (req?.mounts ?? []).map(({ Anonymous: _a, Options: _o, ...m }) => m),
  };
}

/** GET /containers/{id}/json: the CLI's inspect document, and the daemon's own fields. */
export async function inspectContainer(tsrun: Tsrun, v: ContainerView, size: boolean): Promise<Record<string, unknown>> {
  const doc = inspectDocument(v, tsrun.containers.logPath(v.record.id));
  const dir = tsrun.containers.store.dir(v.record.id);
  const ns = doc.NetworkSettings as { Networks: Record<string, Record<string, unknown>> };
  const networkIds = await networkIdsFor(tsrun, [v]);
  return {
    ...doc,
    ResolvConfPath: `${dir}/resolv.conf`,
    HostnamePath: `${dir}/hostname`,
    HostsPath: `${dir}/hosts`,
    ExecIDs: null,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: v.spec.process.apparmorProfile ?? '',
    GraphDriver: { Name: v.record.request?.imageId ? 'overlay2' : 'rootfs', Data: null },
    ...(size ? await sizes(tsrun, v.record.id, v.record.request?.imageId) : {}),
    NetworkSettings: { ...ns, Networks: withIds(ns.Networks, networkIds, v.record.id), Bridge: '', SandboxID: '', SandboxKey: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPv6Gateway: '' },
  };
}

/** The ids of the bridge networks these containers are on (compose and docker-py read NetworkID). */
async function networkIdsFor(tsrun: Tsrun, views: Array<Pick<ContainerView, 'record'>>): Promise<Map<string, string>> {
  if (!views.some((v) => v.record.request?.network?.networks)) return new Map();
  const nets = await (await tsrun.networks()).list().catch(() => []);
  return new Map(nets.map((n) => [n.Name, n.Id]));
}

// Docker's endpoint fields: ids, and on a user-defined network the
// container's short id among its aliases (Docker adds it, and compose 1.29
// reconnects every container on each `up` when it is missing).
function withIds(networks: Record<string, Record<string, unknown>>, ids: Map<string, string>, containerId: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(networks).map(([name, ep]) => {
    const networkId = ids.get(name) ?? '';
    const aliases = (ep.Aliases as string[] | null) ?? [];
    const userNetwork = resolvesNames(name);
    return [name, {
      Links: null, NetworkID: networkId, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DriverOpts: null, ...ep,
      EndpointID: networkId && ep.IPAddress ? endpointId(containerId, networkId) : '',
      Aliases: userNetwork ? [...new Set([...aliases, containerId.slice(0, 12)])] : ep.Aliases ?? null,
    }];
  }));
}

/** SizeRw (what the container wrote) and SizeRootFs (that and its image), as `?size=1` asks. */
async function sizes(tsrun: Tsrun, id: string, imageId: string | undefined): Promise<{ SizeRw: number; SizeRootFs: number }> {
  if (!imageId) return { SizeRw: 0, SizeRootFs: 0 };
  const rw = await diskUsage(tsrun.images.rootfs.paths(id).upper).catch(() => 0);
  const image = await tsrun.images.get(imageId).then((i) => i.size, () => 0);
  return { SizeRw: rw, SizeRootFs: rw + image };
}
