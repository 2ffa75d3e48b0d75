// Images: pull and import (/images/create), list, inspect, history, tag,
// push, remove, prune, save (/images/get), load, search, commit, /auth.
// Each over the core call the CLI verb makes (tsrun pull, images, rmi,
// save, load, import, commit, login); registry credentials come with each
// request (image-auth.ts).
import { parseReference, familiarString, repositoryName } from '../../image/reference.js';
import { parsePlatform } from '../../image/platform.js';
import { imageInspectDocument } from '../../image/inspect.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { readJson, queryBool, sendEmpty, sendJson, type Request, type Response } from '../http.js';
import { credentialOf, registryAuth } from '../image-auth.js';
import { commitConfig } from '../image-commit-config.js';
import { JsonMessageStream, pullMessages, pushMessages } from '../image-progress.js';
import { imageSummary, unixSeconds } from '../image-summary.js';
import { route, type Route } from '../router.js';

/** A query value, undefined when absent or empty (the clients send `platform=` and the like empty). */
const opt = (req: Request, name: string): string | undefined => req.query.get(name) || undefined;

/** fromImage + tag → one reference: the tag (or a sha256: digest) replaces a tag fromImage may carry. */
function pullReference(fromImage: string, tag: string | undefined): string {
  if (!tag) return fromImage;
  const name = fromImage.includes('@') ? fromImage.slice(0, fromImage.indexOf('@')) : fromImage;
  const colon = name.lastIndexOf(':');
  const repo = colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
  return `${repo}${tag.startsWith('sha256:') ? '@' : ':'}${tag}`;
}

async function createImage(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const fromSrc = opt(req, 'fromSrc');
  if (fromSrc !== undefined) return importImage(ctx, req, res, fromSrc);
  const fromImage = opt(req, 'fromImage');
  if (!fromImage) throw badRequest('fromImage or fromSrc is required');
  const reference = pullReference(fromImage, opt(req, 'tag'));
  const ref = parseReference(reference);
  const platformText = opt(req, 'platform');
  const platform = platformText ? parsePlatform(platformText) : undefined;
  const out = new JsonMessageStream(res);
  try {
    const { image, downloaded } = await ctx.tsrun.images.pull(reference, {
      platform,
      credentials: registryAuth(req.headers),
      onEvent: pullMessages(out, ref.path, ref.digest ?? ref.tag ?? 'latest'),
    });
    const digest = ref.digest ?? image.repoDigests.find((d) => d.startsWith(`${repositoryName(ref)}@`))?.split('@')[1] ?? image.manifestDigest;
    out.send({ status: `Digest: ${digest}` });
    out.send({ status: `Status: ${downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(ref)}` });
    out.end();
  } catch (err) {
    out.fail(err);
  }
}

/** fromSrc=-: the body is a root filesystem tarball (`tsrun import -`). */
async function importImage(ctx: ApiContext, req: Request, res: Response['res'], fromSrc: string): Promise<void> {
  const { importRootfs, checkImportSource } = await import('../../image/archive/import.js');
  checkImportSource(fromSrc);
  if (fromSrc !== '-') throw new ApiError(501, `importing from ${JSON.stringify(fromSrc)} is not supported: send the tarball as the request body with fromSrc=-`);
  const repo = opt(req, 'repo');
  const tag = opt(req, 'tag');
  const platformText = opt(req, 'platform');
  const { id } = await importRootfs(ctx.tsrun.images, req.raw, {
    native: ctx.tsrun.native,
    reference: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
    changes: req.query.getAll('changes').filter(Boolean),
    message: opt(req, 'message'),
    source: '-',
    platform: platformText ? parsePlatform(platformText) : undefined,
  });
  const out = new JsonMessageStream(res);
  out.send({ status: id });
  out.end();
}

async function listImages(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const [{ parseFilterJson }, { imageFilter }] = await Promise.all([import('../../util/filters.js'), import('../../image/image-filters.js')]);
  const args = parseFilterJson(req.query.get('filters') ?? '');
  // The pre-1.25 `filter=NAME` is a reference filter.
  const legacy = opt(req, 'filter');
  if (legacy) args.set('reference', [...(args.get('reference') ?? []), legacy]);
  const images = ctx.tsrun.images;
  const filter = await imageFilter(args, (ref) => images.get(ref));
  const views = (await images.list()).filter(filter.keep);
  sendJson(res, 200, views.map((v) => imageSummary(v, filter.tags(v))));
}

async function inspectImage(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const v = await ctx.tsrun.images.get(req.params.name);
  const doc = imageInspectDocument(v);
  // The fields of Docker's document core's has no use for: SDKs read them without checking.
  sendJson(res, 200, { ...doc, Container: '', ContainerConfig: doc.Config, DockerVersion: '', VirtualSize: v.size, GraphDriver: { Name: 'overlay', Data: null } });
}

async function imageHistory(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const { imageHistory: history } = await import('../../image/history.js');
  const images = ctx.tsrun.images;
  const view = await images.get(req.params.name);
  const entries = await history(view, (d) => images.layers.size(d));
  sendJson(res, 200, entries.map((e) => ({
    Id: e.id ?? '<missing>',
    Created: unixSeconds(e.created),
    CreatedBy: e.createdBy,
    Tags: e.id && view.repoTags.length ? view.repoTags : null,
    Size: e.size,
    Comment: e.comment,
  })));
}

async function tagImage(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const repo = opt(req, 'repo');
  if (!repo) throw badRequest('repository name must have at least one component');
  const tag = opt(req, 'tag');
  await ctx.tsrun.images.tag(req.params.name, tag ? `${repo}:${tag}` : repo);
  sendEmpty(res, 201);
}

async function pushImage(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const name = req.params.name;
  const tag = opt(req, 'tag');
  // No tag: every local tag of the repository (moby's rule), unless the name carries one.
  const named = /[:@][^/]*$/.test(name);
  const reference = tag ? `${name}:${tag}` : name;
  const ref = parseReference(reference);
  const repo = repositoryName(ref);
  const out = new JsonMessageStream(res);
  // Sent first, as moby does: an image that is not here fails under it, in the stream.
  out.send({ status: `The push refers to repository [${repo}]` });
  try {
    await ctx.tsrun.images.push(reference, { allTags: !tag && !named, credentials: registryAuth(req.headers), onEvent: pushMessages(out, repo) });
    out.end();
  } catch (err) {
    out.fail(err);
  }
}

async function removeImage(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const lines = await ctx.tsrun.images.remove(req.params.name, queryBool(req.query, 'force'));
  sendJson(res, 200, lines.map((l) => (l.startsWith('Untagged: ') ? { Untagged: l.slice('Untagged: '.length) } : { Deleted: l.replace(/^Deleted: /, '') })));
}

async function pruneImages(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const [{ parseFilterJson, checkFilterKeys, filterBool }, { parsePruneFilters }] = await Promise.all([import('../../util/filters.js'), import('../../util/prune-filters.js')]);
  const args = parseFilterJson(req.query.get('filters') ?? '');
  checkFilterKeys(args, ['dangling', 'until', 'label', 'label!']);
  // dangling=false (docker image prune -a): every image no container uses.
  const all = filterBool(args, 'dangling') === false;
  const filters = parsePruneFilters([...args].filter(([k]) => k !== 'dangling').flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)));
  const { deleted, reclaimed } = await ctx.tsrun.images.prune(all, filters);
  sendJson(res, 200, { ImagesDeleted: deleted.length ? deleted.map((id) => ({ Deleted: id })) : null, SpaceReclaimed: reclaimed });
}

/** GET /images/{name}/get and /images/get?names=: a docker-archive tar (`tsrun save`). */
async function saveImages(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const { saveImages: save } = await import('../../image/archive/save.js');
  const names = req.params.name ? [req.params.name] : req.query.getAll('names').filter(Boolean);
  if (!names.length) throw badRequest('no image names given: use /images/get?names=NAME');
  const images = ctx.tsrun.images;
  // Every name is looked up before the 200 goes out: a missing one is a 404, not a cut-off tar.
  for (const n of names) await images.get(n);
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await save(images, names, res, 'docker-archive');
  res.end();
}

/** POST /images/load: a docker-archive or OCI archive in the body; moby answers every outcome in the JSON stream. */
async function loadImages(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const [{ loadArchive }, { displayName }] = await Promise.all([import('../../image/archive/load.js'), import('../../image/images.js')]);
  const out = new JsonMessageStream(res);
  try {
    const loaded = await loadArchive(ctx.tsrun.images, req.raw, { native: ctx.tsrun.native });
    for (const img of loaded) {
      if (img.names.length === 0) out.send({ stream: `Loaded image ID: ${img.id}\n` });
      for (const n of img.names) out.send({ stream: `Loaded image: ${displayName(n)}\n` });
    }
    out.end();
  } catch (err) {
    // The rest of a body the archive reader stopped at is not waited for.
    req.raw.resume();
    out.error(err);
  }
}

function searchImages(): never {
  throw new ApiError(501, 'image search is not supported by tsrun: it keeps no registry index; look the image up on its registry\'s web site');
}

/** POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=, the body a Config to merge (`tsrun commit`). */
async function commit(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const { commitContainer } = await import('../../image/commit.js');
  const container = opt(req, 'container');
  if (!container) throw badRequest('a container is required: /commit?container=ID');
  const repo = opt(req, 'repo');
  const tag = opt(req, 'tag');
  const config = commitConfig(await readJson<unknown>(req.raw, null));
  const { id } = await commitContainer(ctx.tsrun, container, {
    reference: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
    changes: req.query.getAll('changes').filter(Boolean),
    message: opt(req, 'comment'),
    author: opt(req, 'author'),
    pause: queryBool(req.query, 'pause', true),
    config,
  });
  sendJson(res, 201, { Id: id });
}

/** POST /auth: checks a login against the registry (`tsrun login`'s check); nothing is stored. */
async function auth(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  const { loginDomain, verifyLogin } = await import('../../image/registry/login.js');
  const body = await readJson<{ serveraddress?: unknown }>(req.raw);
  if (typeof body !== 'object' || body === null) throw badRequest('the body must be a JSON object: {"username": ..., "password": ..., "serveraddress": ...}');
  const domain = loginDomain(typeof body.serveraddress === 'string' && body.serveraddress ? body.serveraddress : undefined);
  await verifyLogin(domain, credentialOf(body) ?? {}, { insecure: ctx.infoOptions.insecureRegistries });
  sendJson(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
}

export const imageRoutes: Route[] = [
  route('POST', '/images/create', createImage),
  route('GET', '/images/json', listImages),
  route('GET', '/images/search', searchImages),
  route('GET', '/images/get', saveImages),
  route('POST', '/images/load', loadImages),
  route('POST', '/images/prune', pruneImages),
  route('GET', '/images/{name*}/json', inspectImage),
  route('GET', '/images/{name*}/history', imageHistory),
  route('GET', '/images/{name*}/get', saveImages),
  route('POST', '/images/{name*}/tag', tagImage),
  route('POST', '/images/{name*}/push', pushImage),
  route('DELETE', '/images/{name*}', removeImage),
  route('POST', '/commit', commit),
  route('POST', '/auth', auth),
];
