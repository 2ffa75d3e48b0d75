// /networks: list, inspect, create, connect, disconnect, delete, prune, over
// core's Networks (the `tsrun network` verbs' calls). What Docker answers
// differently from tsrun's CLI (403 for a network in use or a predefined
// one, its driver and duplicate-name messages) is translated here.
import { TsrunError } from '../../errors.js';
import { PREDEFINED_NETWORKS, type NetworkRecord } from '../../network/config.js';
import { filterNetworks } from '../../network/network-filters.js';
import { predefinedId, type NetworkInspect, type Networks } from '../../network/networks.js';
import { parseFilterJson } from '../../util/filters.js';
import { parsePruneFilters } from '../../util/prune-filters.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { readJson, sendEmpty, sendJson, type Request, type Response } from '../http.js';
import { route, type Route } from '../router.js';
import { createNetworkOptions, type NetworkCreateBody } from '../network-create.js';

const nets = (ctx: ApiContext): Promise<Networks> => ctx.tsrun.networks();

/**
 * A network as Docker shows it: a user-defined network's Options are the
 * driver options it was made with, nothing more (compose compares them
 * with its file at every `up` and would call an extra one a change);
 * tsrun's inspect also names every bridge device there, which only the
 * default network keeps (Docker's docker0 is shown so).
 */
function dockerView(doc: NetworkInspect, rec: NetworkRecord | undefined): NetworkInspect {
  if (!rec || rec.Name === 'bridge') return doc;
  return { ...doc, Options: { ...rec.Options } };
}

async function list(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const args = parseFilterJson(req.query.get('filters') ?? '');
  const n = await nets(ctx);
  const docs = await n.inspectAll();
  const recs = new Map((await n.list()).map((r) => [r.Id, r]));
  sendJson(res, 200, filterNetworks(docs, args).map((d) => dockerView(d, recs.get(d.Id))));
}

async function inspect(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const n = await nets(ctx);
  const doc = await n.inspect(req.params.id);
  sendJson(res, 200, dockerView(doc, (await n.list()).find((r) => r.Id === doc.Id)));
}

async function create(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const body = await readJson<NetworkCreateBody>(req.raw);
  const opts = createNetworkOptions(body);
  const n = await nets(ctx);
  // Docker's answers for a name taken: the predefined ones (403) and any other (409, whatever CheckDuplicate says: names are unique here).
  if ((PREDEFINED_NETWORKS as readonly string[]).includes(opts.name)) throw new ApiError(403, `operation is not permitted on predefined ${opts.name} network `);
  if (await n.store.find(opts.name)) throw new ApiError(409, `network with name ${opts.name} already exists`);
  const rec = await n.create(opts);
  sendJson(res, 201, { Id: rec.Id, Warning: '' });
}

/** The predefined network `ref` names (by name or id prefix), if any. */
async function predefinedName(n: Networks, root: string, ref: string): Promise<string | undefined> {
  if ((PREDEFINED_NETWORKS as readonly string[]).includes(ref)) return ref;
  const byId = ['host', 'none'].find((name) => ref.length >= 3 && predefinedId(root, name).startsWith(ref));
  if (byId) return byId;
  const rec = await n.get(ref).catch(() => null);
  return rec?.Name === 'bridge' ? 'bridge' : undefined;
}

async function remove(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const n = await nets(ctx);
  const builtin = await predefinedName(n, ctx.tsrun.root, req.params.id);
  if (builtin) throw new ApiError(403, `${builtin} is a pre-defined network and cannot be removed`);
  const rec = await n.get(req.params.id);
  try {
    await n.remove(rec.Name);
  } catch (err) {
    if (err instanceof TsrunError && err.code === 'NETWORK_IN_USE') {
      throw new ApiError(403, `error while removing network: network ${rec.Name} id ${rec.Id} has active endpoints`);
    }
    throw err;
  }
  sendEmpty(res, 204);
}

interface ConnectBody {
  Container?: string;
  EndpointConfig?: {
    Aliases?: string[] | null;
    IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
    MacAddress?: string;
    Links?: string[] | null;
  } | null;
}

/** host and none are network modes, not networks a container joins or leaves (Docker's runconfig errors). */
function refuseModes(name: string | undefined): void {
  if (name === 'host' || name === 'none') throw badRequest(`container cannot be disconnected from ${name} network or connected to ${name} network`);
}

async function connect(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const body = await readJson<ConnectBody>(req.raw);
  if (!body.Container) throw badRequest('no container given to connect');
  const ep = body.EndpointConfig ?? {};
  if (ep.IPAMConfig?.IPv6Address) throw badRequest('IPv6 addresses are not supported by tsrun');
  if (ep.Links?.length) throw badRequest('links are not supported by tsrun: containers on a user-defined network resolve each other by name');
  const n = await nets(ctx);
  refuseModes(await predefinedName(n, ctx.tsrun.root, req.params.id));
  const c = ctx.tsrun.containers;
  const id = await c.resolve(body.Container);
  await c.connect(id, req.params.id, { ip: ep.IPAMConfig?.IPv4Address || undefined, aliases: ep.Aliases?.length ? ep.Aliases : undefined, mac: ep.MacAddress || undefined });
  sendEmpty(res, 200);
}

async function disconnect(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const body = await readJson<{ Container?: string; Force?: boolean }>(req.raw);
  if (!body.Container) throw badRequest('no container given to disconnect');
  const n = await nets(ctx);
  refuseModes(await predefinedName(n, ctx.tsrun.root, req.params.id));
  const c = ctx.tsrun.containers;
  let id: string;
  try {
    id = await c.resolve(body.Container);
  } catch (err) {
    // Docker's force: a container that is gone leaves nothing to disconnect (its lease is dropped as stale).
    if (body.Force && err instanceof TsrunError && err.code === 'CONTAINER_NOT_FOUND') {
      await n.get(req.params.id);
      return sendEmpty(res, 200);
    }
    throw err;
  }
  await c.disconnect(id, req.params.id);
  sendEmpty(res, 200);
}

async function prune(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const args = parseFilterJson(req.query.get('filters') ?? '');
  const filters = parsePruneFilters([...args].flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)));
  const deleted = await (await nets(ctx)).prune(filters);
  sendJson(res, 200, { NetworksDeleted: deleted.length ? deleted : null });
}

export const networkRoutes: Route[] = [
  route('GET', '/networks', list),
  route('POST', '/networks/create', create),
  route('POST', '/networks/prune', prune),
  route('GET', '/networks/{id}', inspect),
  route('DELETE', '/networks/{id}', remove),
  route('POST', '/networks/{id}/connect', connect),
  route('POST', '/networks/{id}/disconnect', disconnect),
];
