// /volumes: list, create, inspect, delete, prune, over core's VolumeStore
// (the `tsrun volume` verbs' calls). Core says "no such volume" as a bad
// argument (the CLI's exit code); Docker answers it 404.
import { TsrunError } from '../../errors.js';
import { parseFilterJson } from '../../util/filters.js';
import { parsePruneFilters } from '../../util/prune-filters.js';
import { filterVolumes } from '../../volume/volume-filters.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { queryBool, readJson, sendEmpty, sendJson, type Request, type Response } from '../http.js';
import { route, type Route } from '../router.js';

/** Runs `fn`, answering core's missing volume with Docker's 404. */
async function notFound404<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TsrunError && /: no such volume$/.test(err.message)) throw new ApiError(404, err.message);
    throw err;
  }
}

async function list(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const args = parseFilterJson(req.query.get('filters') ?? '');
  const vols = ctx.tsrun.volumes;
  const users = args.has('dangling') ? await vols.users() : new Map<string, string[]>();
  const all = await vols.list();
  sendJson(res, 200, { Volumes: filterVolumes(all, args, (name) => (users.get(name)?.length ?? 0) > 0), Warnings: null });
}

interface VolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

async function create(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const b = await readJson<VolumeCreateBody>(req.raw, {});
  if (typeof b !== 'object' || b === null) throw badRequest('the request body must be a JSON object');
  // Docker looks any driver but local up as a plugin, and there are none.
  if (b.Driver && b.Driver !== 'local') throw new ApiError(404, `error looking up volume plugin ${b.Driver}: plugin ${JSON.stringify(b.Driver)} not found`);
  if (b.DriverOpts && Object.keys(b.DriverOpts).length) throw badRequest('volume driver options (type, device, o) are not supported by tsrun: volumes are directories');
  const { info } = await ctx.tsrun.volumes.create(b.Name || undefined, { labels: b.Labels ?? {} });
  sendJson(res, 201, info);
}

async function inspect(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  sendJson(res, 200, await notFound404(() => ctx.tsrun.volumes.inspect(req.params.name)));
}

async function remove(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  await notFound404(() => ctx.tsrun.volumes.remove(req.params.name, queryBool(req.query, 'force')));
  sendEmpty(res, 204);
}

/** API 1.42 made prune spare named volumes unless `all` is asked for; older clients (the docker CLI 20.10) get every unused volume pruned. */
function pruneAll(req: Request, all: string[] | undefined): boolean {
  const [major, minor] = req.version.split('.').map(Number);
  if (major === 1 && minor < 42) return true;
  if (!all?.length) return false;
  if (all.length > 1 || !/^(1|true|0|false)$/i.test(all[0])) throw badRequest(`invalid filter 'all=${all.join(',')}'`);
  return /^(1|true)$/i.test(all[0]);
}

async function prune(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const args = parseFilterJson(req.query.get('filters') ?? '');
  const all = pruneAll(req, args.get('all'));
  args.delete('all');
  const filters = parsePruneFilters([...args].flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)));
  if (filters.until !== undefined) throw badRequest('invalid filter \'until\'');
  const { removed, reclaimed } = await ctx.tsrun.volumes.pruneReport(all, filters);
  sendJson(res, 200, { VolumesDeleted: removed.length ? removed : null, SpaceReclaimed: reclaimed });
}

export const volumeRoutes: Route[] = [
  route('GET', '/volumes', list),
  route('POST', '/volumes/create', create),
  route('POST', '/volumes/prune', prune),
  route('GET', '/volumes/{name}', inspect),
  route('DELETE', '/volumes/{name}', remove),
];
