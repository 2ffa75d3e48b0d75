// A container's streams: attach (hijacked), wait, logs, resize.
import type { ServerResponse } from 'node:http';
import { parseDetachKeys } from '../../runtime/detach-keys.js';
import { parseSince, containerLogs } from '../../runtime/logs.js';
import { resizeTerminal } from '../../runtime/attach.js';
import type { ContainerView } from '../../runtime/containers.js';
import { waitForStart } from '../attach-registry.js';
import { AttachSession } from '../attach-session.js';
import { WAIT_CONDITIONS, waitCondition, type WaitCondition } from '../container-wait.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { queryBool, queryInt, startStream, sendEmpty, type Request } from '../http.js';
import { route, type Route } from '../router.js';
import { MULTIPLEXED_STREAM, RAW_STREAM, frame } from '../stream.js';
import { versionAtLeast } from '../version.js';

async function lookup(ctx: ApiContext, ref: string): Promise<ContainerView> {
  const c = ctx.tsrun.containers;
  return c.view(await c.resolve(ref));
}

/** Aborted when the response closes (the client went away, or it is done): long waits and follows stop with it. */
function clientGone(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => ac.abort());
  return ac.signal;
}

const tty = (v: ContainerView): boolean => !!v.spec.process.terminal;

export const containerIoRoutes: Route[] = [
  route(
    'POST',
    '/containers/{id}/attach',
    async (ctx, req, res) => {
      const v = await lookup(ctx, req.params.id);
      const id = v.record.id;
      if (v.status === 'paused') throw new ApiError(409, `container ${req.params.id} is paused, unpause the container before attach`);
      if (v.status === 'restarting') throw new ApiError(409, `container ${req.params.id} is restarting, wait until the container is running`);
      const q = req.query;
      const keys = q.get('detachKeys');
      const detachKeys = keys ? parseDetachKeys(keys) : parseDetachKeys('ctrl-p,ctrl-q');
      const mux = !tty(v);
      // Docker: multiplexed-stream names the frames from 1.42; before, raw-stream named them too.
      const type = mux && req.headers.upgrade && versionAtLeast(req.version, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM;
      const stdin = queryBool(q, 'stdin') && !!v.record.request?.openStdin;
      const stream = queryBool(q, 'stream');
      const logs = queryBool(q, 'logs');
      const conn = res.hijack(type);
      const session = new AttachSession(conn, {
        stdin,
        stdout: queryBool(q, 'stdout'),
        stderr: queryBool(q, 'stderr'),
        mux,
        detachKeys: tty(v) && stdin ? detachKeys : undefined,
        stdinOnce: !!v.record.request?.stdinOnce,
      });
      if (logs) {
        for await (const e of containerLogs(ctx.tsrun.containers, id, v.record)) {
          if (session.gone) break;
          await session.write(e.stream, Buffer.from(e.log));
        }
      }
      if (!stream) return session.end();
      const now = await lookup(ctx, id).catch(() => null);
      if (now?.status === 'running' || now?.status === 'paused') {
        // Already running (`docker attach`): straight to its monitor.
        await session.connect(ctx.tsrun.containers.engine.dir(id)).catch(() => session.end());
        if (!session.gone) await ctx.tsrun.containers.attached(id).catch(() => {});
      } else {
        // Before its start (`docker run`, `start -a`): connected by the start, before the process runs.
        waitForStart(ctx, id, session);
      }
      await session.done;
    },
    { hijack: true },
  ),

  // The websocket attach is not served.
  route('GET', '/containers/{id}/attach/ws', async (ctx, req) => {
    await lookup(ctx, req.params.id);
    throw new ApiError(501, 'attach over a websocket is not supported: use POST /containers/{id}/attach');
  }),

  route('POST', '/containers/{id}/wait', async (ctx, req, res) => {
    const condition = (req.query.get('condition') || 'not-running') as WaitCondition;
    if (!WAIT_CONDITIONS.includes(condition)) throw badRequest(`invalid condition: "${condition}"`);
    const c = ctx.tsrun.containers;
    const id = await c.resolve(req.params.id);
    const signal = clientGone(res.res);
    const waiting = waitCondition(c, ctx.tsrun.root, id, condition, signal);
    // The docker CLI's run waits for these headers before it starts the container.
    startStream(res.res, 'application/json');
    const code = await waiting.catch(() => null);
    if (code === null) return void res.res.destroy();
    res.res.end(`${JSON.stringify({ StatusCode: code, Error: null })}\n`);
  }),

  route('GET', '/containers/{id}/logs', async (ctx, req, res) => {
    const q = req.query;
    const v = await lookup(ctx, req.params.id);
    const stdout = queryBool(q, 'stdout');
    const stderr = queryBool(q, 'stderr');
    if (!stdout && !stderr) throw badRequest('Bad parameters: you must choose at least one stream');
    const tail = parseTail(q.get('tail'));
    const sinceMs = timeOf(q.get('since'), 'since');
    const untilMs = timeOf(q.get('until'), 'until');
    const timestamps = queryBool(q, 'timestamps');
    const signal = clientGone(res.res);
    const entries = containerLogs(ctx.tsrun.containers, v.record.id, v.record, { tail, sinceMs, untilMs, follow: queryBool(q, 'follow'), signal });
    const mux = !tty(v);
    startStream(res.res, mux && versionAtLeast(req.version, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM);
    const out = res.res;
    out.on('error', () => {});
    for await (const e of entries) {
      if (signal.aborted) break;
      if (e.stream === 'stdout' ? !stdout : !stderr) continue;
      const data = Buffer.from(timestamps ? `${e.time} ${e.log}` : e.log);
      if (!out.write(mux ? frame(e.stream === 'stderr' ? 2 : 1, data) : data)) {
        await new Promise<void>((resolve) => {
          out.once('drain', resolve);
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    }
    if (!signal.aborted) out.end();
  }),

  route('POST', '/containers/{id}/resize', async (ctx, req, res) => {
    const h = dimension(req, 'h');
    const w = dimension(req, 'w');
    const v = await lookup(ctx, req.params.id);
    if (v.status !== 'running' && v.status !== 'paused') throw new ApiError(409, `Container ${v.record.id} is not running`);
    await resizeTerminal(ctx.tsrun.containers.engine.dir(v.record.id), h, w);
    sendEmpty(res.res, 200);
  }),
];

/** Docker's tail: all (or empty, or negative) for everything, else the last N lines. */
function parseTail(v: string | null): number | undefined {
  if (v === null || v === '' || v === 'all') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for tail: ${JSON.stringify(v)}`);
  return n < 0 ? undefined : n;
}

/** since/until: Unix seconds with a fraction, as the docker CLI sends them (0: no bound). */
function timeOf(v: string | null, name: string): number | undefined {
  if (v === null || v === '' || v === '0') return undefined;
  try {
    return parseSince(v, Date.now(), name);
  } catch {
    throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  }
}

function dimension(req: Request, name: string): number {
  const n = queryInt(req.query, name) ?? 0;
  if (n < 0 || n > 0xffff) throw badRequest(`invalid value for ${name}: ${n}`);
  return n;
}
