// POST /build (the classic builder's API over `tsrun build`'s core: the
// body is the context as a tar, maybe compressed; the options come in the
// query, some of them JSON-encoded) and POST /build/prune.
//
// The context is unpacked into the build's own workspace (core's
// BuildWorkspace, under --root: the same place `tsrun build -` uses, swept
// if the service dies) and removed before the answer ends. As in moby,
// the stream starts with the first step: a failure before it (a malformed
// Dockerfile, a bad option) is an ordinary error answer with its status,
// one after it the stream's last line, `{"errorDetail":{"code":N,...}}`
// with the failed RUN's exit code.
import type { BuildOptions } from '../../build/builder.js';
import { parsePlatform } from '../../image/platform.js';
import { parseReference } from '../../image/reference.js';
import { buildMessages, stepCount } from '../build-stream.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { queryBool, queryJson, sendJson, type Request, type Response } from '../http.js';
import { registryConfig } from '../image-auth.js';
import { JsonMessageStream } from '../image-progress.js';
import { route, type Route } from '../router.js';

const opt = (req: Request, name: string): string | undefined => req.query.get(name) || undefined;

/** A JSON-encoded map of strings (buildargs, labels); a null value (an arg named without one) is left out. */
function stringMap(req: Request, name: string): Record<string, string> {
  const doc = queryJson<unknown>(req.query, name);
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw badRequest(`invalid ${name} value: expected a JSON object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (v === null) continue;
    if (typeof v !== 'string') throw badRequest(`invalid ${name} value: ${JSON.stringify(k)} is not a string`);
    out[k] = v;
  }
  return out;
}

/** networkmode: the docker CLI sends `default`; RUN steps can use the default network, none or host. */
function networkOf(mode: string | undefined): NonNullable<BuildOptions['network']> {
  if (!mode || mode === 'default' || mode === 'bridge') return 'default';
  if (mode === 'none' || mode === 'host') return mode;
  throw badRequest(`network mode ${JSON.stringify(mode)} is not supported for builds: use default, none or host`);
}

/** The exit code of the RUN that failed (core's runFailed), anywhere in the error's causes. */
function exitCodeOf(err: unknown): number | undefined {
  for (let e = err as { exitCode?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.exitCode === 'number') return e.exitCode;
  }
  return undefined;
}

async function build(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  // Every option is checked before the context is read.
  if (opt(req, 'remote')) throw new ApiError(501, 'remote build contexts (remote=URL) are not supported: send the context as a tar in the request body');
  if (req.query.get('version') === '2') throw new ApiError(501, 'BuildKit (version=2) is not supported: build with the classic builder (DOCKER_BUILDKIT=0)');
  const tags = req.query.getAll('t').filter(Boolean);
  for (const t of tags) parseReference(t);
  const dockerfile = opt(req, 'dockerfile');
  if (dockerfile === '-') throw badRequest('dockerfile=- is not a path in the build context');
  const buildArgs = stringMap(req, 'buildargs');
  const labels = stringMap(req, 'labels');
  queryJson(req.query, 'cachefrom'); // checked only: tsrun's build cache is local
  const network = networkOf(opt(req, 'networkmode'));
  const platformText = opt(req, 'platform');
  const platform = platformText ? parsePlatform(platformText) : undefined;
  const target = opt(req, 'target');
  const quiet = queryBool(req.query, 'q');

  const [{ Builder }, { prepareContext }, { BuildWorkspace }] = await Promise.all([
    import('../../build/builder.js'), import('../../build/context.js'), import('../../build/workspace.js'),
  ]);
  const out = new JsonMessageStream(res);
  // With q=1 the progress is held back and sent only if the build fails (moby's notVerboseBuffer).
  const held: object[] = [];
  const sink = quiet ? { send: (m: object) => void held.push(m) } : out;
  const ws = await BuildWorkspace.open(ctx.tsrun);
  let id = '';
  let failure: unknown;
  try {
    const prepared = await prepareContext({ context: '-', file: dockerfile, stdin: req.raw, workDir: ws.dir, native: ctx.tsrun.native });
    const builder = new Builder(ctx.tsrun, {
      workspace: ws,
      contextDir: prepared.dir,
      dockerfile: prepared.dockerfile,
      dockerfileName: prepared.dockerfileName,
      ignore: prepared.ignore,
      tags,
      buildArgs,
      target,
      noCache: queryBool(req.query, 'nocache'),
      pull: queryBool(req.query, 'pull') ? 'always' : 'missing',
      platform,
      labels,
      network,
      credentials: registryConfig(req.headers),
      onEvent: buildMessages(sink, stepCount(prepared.dockerfile, target)),
    });
    ({ id } = await builder.build());
  } catch (err) {
    failure = err;
    // A body the context reader stopped short of is not waited for.
    req.raw.resume();
  } finally {
    // The context, the scratch and any container of the build go before the answer ends.
    await ws.close();
  }
  if (failure !== undefined) {
    // Paths inside the unpacked context are shown relative to it, as the client knows them.
    if (failure instanceof Error) failure.message = failure.message.split(`${ws.dir}/`).map((p, i) => (i ? p.replace(/^extract-[0-9a-f]+\//, '') : p)).join('');
    if (quiet) for (const m of held) out.send(m);
    return out.fail(failure, exitCodeOf(failure));
  }
  if (quiet) out.send({ stream: `${id}\n` });
  out.end();
}

async function pruneBuildCache(ctx: ApiContext, _req: Request, { res }: Response): Promise<void> {
  const { pruneBuildCache: prune } = await import('../../build/prune.js');
  const { bytes } = await prune(ctx.tsrun);
  // tsrun's cache entries have no ids to list, only their count.
  sendJson(res, 200, { CachesDeleted: null, SpaceReclaimed: bytes });
}

export const buildRoutes: Route[] = [
  route('POST', '/build', build),
  route('POST', '/build/prune', pruneBuildCache),
];
