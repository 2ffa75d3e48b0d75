// /_ping, /version, /info, /system/df.
import { ApiError } from '../errors.js';
import { sendJson, type Request, type Response } from '../http.js';
import { route, type Route } from '../router.js';
import { API_VERSION } from '../version.js';
import type { ApiContext } from '../context.js';

function ping(_ctx: ApiContext, req: Request, { res }: Response): void {
  // No Builder-Version: BuildKit's session API is not served, so clients build with the classic /build.
  const headers = { 'API-Version': API_VERSION, 'OSType': 'linux', 'Docker-Experimental': 'false', 'Cache-Control': 'no-cache, no-store, must-revalidate', 'Pragma': 'no-cache' };
  if (req.method === 'HEAD') {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 0 });
    return void res.end();
  }
  res.writeHead(200, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
  res.end('OK');
}

async function version(_ctx: ApiContext, _req: Request, { res }: Response): Promise<void> {
  const { versionInfo } = await import('../../system/version.js');
  sendJson(res, 200, versionInfo().Server);
}

async function info(ctx: ApiContext, _req: Request, { res }: Response): Promise<void> {
  const { systemInfo } = await import('../../system/info.js');
  sendJson(res, 200, await systemInfo(ctx.tsrun, ctx.infoOptions));
}

async function df(ctx: ApiContext, _req: Request, { res }: Response): Promise<void> {
  const { dockerDiskUsage } = await import('../system-df.js');
  sendJson(res, 200, await dockerDiskUsage(ctx.tsrun));
}

// Docker without swarm mode answers its swarm endpoints so; compose and the CLI read the 503 as "not a manager".
const NOT_SWARM = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const notSwarm = (): never => {
  throw new ApiError(503, NOT_SWARM);
};
const noPlugins = (): never => {
  throw new ApiError(501, 'tsrun does not support Docker plugins');
};

export const systemRoutes: Route[] = [
  ...['/swarm', '/swarm/{rest*}', '/services', '/services/{rest*}', '/nodes', '/nodes/{rest*}', '/tasks', '/tasks/{rest*}', '/secrets', '/secrets/{rest*}', '/configs', '/configs/{rest*}']
    .flatMap((p) => ['GET', 'POST', 'DELETE'].map((m) => route(m, p, notSwarm))),
  // No plugins installed: the list is empty, anything else is not there.
  route('GET', '/plugins', (_c, _r, { res }) => sendJson(res, 200, [])),
  ...['GET', 'POST', 'DELETE'].map((m) => route(m, '/plugins/{rest*}', noPlugins)),
  route('GET', '/_ping', ping),
  route('HEAD', '/_ping', ping),
  route('GET', '/version', version),
  route('GET', '/info', info),
  route('GET', '/system/df', df),
];
