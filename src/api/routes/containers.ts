// Containers: create, list, inspect, the lifecycle verbs, and what reads or
// writes a container's files (top, stats, changes, export, archive). Each
// handler decodes, calls the core the CLI verb calls, and encodes; attach,
// wait, logs and resize are routes/container-io.ts's.
import { TsrunError } from '../../errors.js';
import type { Containers } from '../../runtime/containers.js';
import { attachBeforeStart } from '../attach-registry.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { queryBool, queryInt, readJson, sendEmpty, sendJson, startStream, type Request, type Response } from '../http.js';
import { route, type Route } from '../router.js';

const containers = (ctx: ApiContext): Containers => ctx.tsrun.containers;

/** The container `{id}` names (a name, an id or a unique id prefix): 404 `No such container: X` when none. */
const idOf = (ctx: ApiContext, req: Request): Promise<string> => containers(ctx).resolve(req.params.id);

const copyDeps = (ctx: ApiContext) => ({ containers: ctx.tsrun.containers, images: ctx.tsrun.images, native: ctx.tsrun.native });

async function create(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const body = await readJson<unknown>(req.raw);
  const warnings: string[] = [];
  const { createRequest } = await import('../container-create.js');
  const name = req.query.get('name') || undefined;
  const creq = await createRequest(body, name, (w) => warnings.push(w));
  let state;
  try {
    state = await containers(ctx).create(creq);
  } catch (err) {
    if (!(err instanceof TsrunError)) throw err;
    if (err.code === 'NAME_IN_USE' && name) {
      const owner = await containers(ctx).resolve(name.replace(/^\//, '')).catch(() => '');
      throw new ApiError(409, `Conflict. The container name "/${name.replace(/^\//, '')}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    // Only a missing image is a 404 here: the docker CLI answers any 404 of a create with a pull of the image.
    if (err.code === 'CONTAINER_NOT_FOUND' || err.code === 'NETWORK_NOT_FOUND') throw new ApiError(400, err.message);
    throw err;
  }
  sendJson(res, 201, { Id: state.id, Warnings: warnings });
}

async function list(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const { listContainers } = await import('../container-list.js');
  sendJson(res, 200, await listContainers(ctx.tsrun, req.query));
}

async function inspect(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const { inspectContainer } = await import('../container-list.js');
  const view = await containers(ctx).view(await idOf(ctx, req));
  sendJson(res, 200, await inspectContainer(ctx.tsrun, view, queryBool(req.query, 'size')));
}

async function start(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const id = await idOf(ctx, req);
  const c = containers(ctx);
  const { status } = await c.view(id);
  if (status === 'running' || status === 'paused' || status === 'restarting') throw new ApiError(304, 'container already started');
  // An attach that came first (docker run: create, attach, start) is connected before the process runs.
  await c.start(id, { beforeStart: attachBeforeStart(ctx, id) });
  sendEmpty(res, 204);
}

/** ?signal= (a name or number) as core takes it; 400 for one that is not a signal. */
async function signalOf(req: Request, dflt?: string): Promise<NodeJS.Signals | number | undefined> {
  const s = req.query.get('signal') || dflt;
  if (s === undefined) return undefined;
  const { parseSignal } = await import('../../runtime/signals.js');
  return parseSignal(s);
}

/** ?t= seconds (-1: wait for ever); absent: the container's StopTimeout, else 10. */
function timeoutOf(req: Request): number | undefined {
  const t = queryInt(req.query, 't');
  return t === undefined ? undefined : t < 0 ? -1 : t;
}

async function stop(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const id = await idOf(ctx, req);
  if (!(await containers(ctx).stop(id, timeoutOf(req), await signalOf(req)))) throw new ApiError(304, 'container already stopped');
  sendEmpty(res, 204);
}

async function restart(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  await containers(ctx).restart(await idOf(ctx, req), timeoutOf(req));
  sendEmpty(res, 204);
}

async function kill(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const id = await idOf(ctx, req);
  const signal = (await signalOf(req, 'SIGKILL'))!;
  await containers(ctx).kill(id, signal);
  // Docker's SIGKILL returns once the container is down (clients kill, then remove); other signals return at once.
  if (signal === 'SIGKILL' || signal === 9) await containers(ctx).waitStopped(id, 10_000);
  sendEmpty(res, 204);
}

async function pause(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  await containers(ctx).pause(await idOf(ctx, req));
  sendEmpty(res, 204);
}

async function unpause(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  await containers(ctx).unpause(await idOf(ctx, req));
  sendEmpty(res, 204);
}

async function remove(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  if (queryBool(req.query, 'link')) throw badRequest('legacy links are not supported: there is no link to remove');
  await containers(ctx).remove(await idOf(ctx, req), queryBool(req.query, 'force'), queryBool(req.query, 'v'));
  sendEmpty(res, 204);
}

async function prune(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const [{ parseFilterJson }, { parsePruneFilters }] = await Promise.all([import('../../util/filters.js'), import('../../util/prune-filters.js')]);
  const args = parseFilterJson(req.query.get('filters') ?? '');
  const filters = parsePruneFilters([...args].flatMap(([key, values]) => values.map((v) => `${key}=${v}`)));
  const { deleted, reclaimed } = await containers(ctx).prune(filters);
  sendJson(res, 200, { ContainersDeleted: deleted, SpaceReclaimed: reclaimed });
}

async function rename(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const name = req.query.get('name');
  if (!name) throw badRequest('a new name is needed: ?name=');
  await containers(ctx).rename(await idOf(ctx, req), name.replace(/^\//, ''));
  sendEmpty(res, 204);
}

/** POST update: Resources (as `update`'s flags) and RestartPolicy. */
async function update(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const id = await idOf(ctx, req);
  const body = await readJson<unknown>(req.raw, {});
  const { fieldsOf, resourceFlags } = await import('../container-create.js');
  const f = fieldsOf(body);
  for (const key of ['Ulimits', 'Devices', 'DeviceCgroupRules', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioWeightDevice', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'KernelMemory', 'KernelMemoryTCP', 'OomKillDisable', 'DeviceRequests', 'CpuRealtimePeriod', 'CpuRealtimeRuntime']) {
    f.refuse(key, 'a running container cannot change it: create the container again');
  }
  const { ulimit: _u, deviceReadBps: _r, deviceWriteBps: _w, oomKillDisable: _o, ...limits } = resourceFlags(f);
  // `update`'s --pids-limit 0 or -1 lifts a limit; create's zero means "not set".
  const pids = f.num('PidsLimit');
  const given = Object.fromEntries(Object.entries({ ...limits, pidsLimit: pids === undefined ? undefined : String(pids) }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const policyName = f.sub('RestartPolicy').str('Name');
  const [{ parseResourceFlags }, { parseRestartPolicy }] = await Promise.all([import('../../spec/resources.js'), import('../../runtime/restart-policy.js')]);
  const resources = parseResourceFlags(given, undefined, { update: true }) ?? {};
  const retries = f.sub('RestartPolicy').nonZero('MaximumRetryCount');
  const policy = policyName === undefined ? undefined : parseRestartPolicy(policyName === 'on-failure' && retries ? `on-failure:${retries}` : policyName);
  const warnings: string[] = [];
  const c = containers(ctx);
  if (Object.keys(given).length) await c.update(id, { resources, limits: given }, (w) => warnings.push(w));
  if (policy) await c.setRestartPolicy(id, policy);
  sendJson(res, 200, { Warnings: warnings });
}

/** GET top?ps_args: the host's ps over the container's processes, in Docker's {Titles, Processes}. */
async function top(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const id = await idOf(ctx, req);
  const c = containers(ctx);
  const v = await c.view(id);
  if (v.status !== 'running' && v.status !== 'paused') throw new ApiError(409, `Container ${id} is not running`);
  const psArgs = (req.query.get('ps_args') ?? '').split(/\s+/).filter(Boolean);
  const { hostPs } = await import('../../runtime/host-ps.js');
  const ps = await hostPs(psArgs, await c.engine.pids(id)).catch((err: Error) => {
    throw new ApiError(500, `ps: ${err.message.split('\n')[0]}`);
  });
  if (!ps) throw badRequest(`ps ${psArgs.join(' ')} does not print a PID column`);
  const titles = ps.header.trim().split(/\s+/);
  // The last column (the command) keeps its spaces, as Docker splits it.
  const processes = ps.lines.map((l) => {
    const fields = l.trim().split(/\s+/);
    return [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
  });
  sendJson(res, 200, { Titles: titles, Processes: processes });
}

/** GET stats?stream&one-shot: a document a second while streaming; one otherwise, its precpu_stats a second before (none with one-shot). */
async function stats(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const id = await idOf(ctx, req);
  const c = containers(ctx);
  const { sampleStats, statsDocument } = await import('../container-stats.js');
  const second = () => new Promise((r) => setTimeout(r, 1000));
  if (!queryBool(req.query, 'stream', true)) {
    let v = await c.view(id);
    let before = null;
    if (!queryBool(req.query, 'one-shot') && (before = await sampleStats(ctx.tsrun, v))) {
      await second();
      v = await c.view(id);
    }
    return sendJson(res, 200, statsDocument(v, await sampleStats(ctx.tsrun, v), before));
  }
  startStream(res, 'application/json');
  let closed = false;
  res.once('close', () => (closed = true));
  let before = null;
  while (!closed) {
    const v = await c.view(id).catch(() => null);
    if (!v) break; // removed
    const now = await sampleStats(ctx.tsrun, v);
    res.write(`${JSON.stringify(statsDocument(v, now, before))}\n`);
    before = now;
    await second();
  }
  res.end();
}

/** GET changes: [{Path, Kind}], Kind 0 changed, 1 added, 2 deleted. */
async function changes(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const id = await idOf(ctx, req);
  const { containerChanges } = await import('../../image/commit.js');
  const kinds: Record<string, number> = { C: 0, A: 1, D: 2 };
  const found = await containerChanges(ctx.tsrun, id);
  sendJson(res, 200, found.map((ch) => ({ Path: ch.path, Kind: kinds[ch.kind] })));
}

async function exportTar(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const id = await idOf(ctx, req);
  const { exportContainer } = await import('../../image/archive/export.js');
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await exportContainer(copyDeps(ctx), id, res);
  res.end();
}

/** ?path= of the archive endpoints, and its stat (404 with Docker's message when nothing is there). */
async function archiveTarget(ctx: ApiContext, req: Request): Promise<{ id: string; path: string; header: string; isDir: boolean }> {
  const id = await idOf(ctx, req);
  const path = req.query.get('path');
  if (!path) throw badRequest('a path is needed: ?path=');
  const { statContainerPath } = await import('../../copy/copy.js');
  const st = await statContainerPath(copyDeps(ctx), id, path);
  if (!st) throw new ApiError(404, `Could not find the file ${path} in container ${req.params.id}`);
  return { id, path, header: Buffer.from(JSON.stringify(st)).toString('base64'), isDir: st.mode >= 2 ** 31 };
}

async function archiveHead(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const t = await archiveTarget(ctx, req);
  res.writeHead(200, { 'X-Docker-Container-Path-Stat': t.header, 'Content-Type': 'application/json', 'Content-Length': 0 });
  res.end();
}

async function archiveGet(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const t = await archiveTarget(ctx, req);
  const { archiveFromContainer } = await import('../../copy/copy.js');
  res.writeHead(200, { 'X-Docker-Container-Path-Stat': t.header, 'Content-Type': 'application/x-tar' });
  await archiveFromContainer(copyDeps(ctx), t.id, t.path, res);
  res.end();
}

/** PUT archive?path=DIR: the tar body extracted into the directory DIR (copyUIDGID keeps the tar's owners). */
async function archivePut(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const t = await archiveTarget(ctx, req);
  if (!t.isDir) throw badRequest(`extraction point is not a directory: ${t.path}`);
  const { extractToContainer } = await import('../../copy/copy.js');
  await extractToContainer(copyDeps(ctx), req.raw, t.id, t.path, { archive: queryBool(req.query, 'copyUIDGID') });
  sendEmpty(res, 200);
}

export const containerRoutes: Route[] = [
  route('POST', '/containers/create', create),
  route('GET', '/containers/json', list),
  route('POST', '/containers/prune', prune),
  route('GET', '/containers/{id}/json', inspect),
  route('POST', '/containers/{id}/start', start),
  route('POST', '/containers/{id}/stop', stop),
  route('POST', '/containers/{id}/restart', restart),
  route('POST', '/containers/{id}/kill', kill),
  route('POST', '/containers/{id}/pause', pause),
  route('POST', '/containers/{id}/unpause', unpause),
  route('POST', '/containers/{id}/rename', rename),
  route('POST', '/containers/{id}/update', update),
  route('DELETE', '/containers/{id}', remove),
  route('GET', '/containers/{id}/top', top),
  route('GET', '/containers/{id}/stats', stats),
  route('GET', '/containers/{id}/changes', changes),
  route('GET', '/containers/{id}/export', exportTar),
  route('HEAD', '/containers/{id}/archive', archiveHead),
  route('GET', '/containers/{id}/archive', archiveGet),
  route('PUT', '/containers/{id}/archive', archivePut),
];
