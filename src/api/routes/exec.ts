// Exec instances: create, start (hijacked, or a plain streamed answer),
// resize, inspect. Sessions live in exec-sessions.ts.
import type { Socket } from 'node:net';
import { parseDetachKeys } from '../../runtime/detach-keys.js';
import { execSessions, type ExecConfig } from '../exec-sessions.js';
import { ApiError, badRequest } from '../errors.js';
import { readHijackBody } from '../hijack-body.js';
import { watchPeer } from '../peer-watch.js';
import { queryInt, readJson, sendEmpty, sendJson, startStream } from '../http.js';
import { route, type Route } from '../router.js';
import { MULTIPLEXED_STREAM, RAW_STREAM } from '../stream.js';
import { versionAtLeast } from '../version.js';

interface ExecCreateBody {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  WorkingDir?: string;
  User?: string;
  Privileged?: boolean;
  ConsoleSize?: [number, number] | null;
}

interface ExecStartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

export const execRoutes: Route[] = [
  route('POST', '/containers/{id}/exec', async (ctx, req, res) => {
    const body = await readJson<ExecCreateBody>(req.raw);
    const c = ctx.tsrun.containers;
    const v = await c.view(await c.resolve(req.params.id));
    const id = v.record.id;
    if (v.status === 'paused') throw new ApiError(409, `Container ${id} is paused, unpause the container before exec`);
    if (v.status === 'restarting') throw new ApiError(409, `Container ${id} is restarting, wait until the container is running`);
    if (v.status !== 'running') throw new ApiError(409, `Container ${id} is not running`);
    const args = typeof body.Cmd === 'string' ? [body.Cmd] : body.Cmd ?? [];
    if (args.length === 0) throw badRequest('No exec command specified');
    if (body.DetachKeys) {
      try {
        parseDetachKeys(body.DetachKeys);
      } catch (err) {
        throw badRequest((err as Error).message);
      }
    }
    const config: ExecConfig = {
      containerId: id,
      args,
      env: body.Env ?? undefined,
      workdir: body.WorkingDir || undefined,
      user: body.User || undefined,
      privileged: !!body.Privileged,
      tty: !!body.Tty,
      attachStdin: !!body.AttachStdin,
      attachStdout: !!body.AttachStdout,
      attachStderr: !!body.AttachStderr,
      detachKeys: body.DetachKeys ?? '',
      consoleSize: consoleSize(body.ConsoleSize),
    };
    sendJson(res.res, 201, { Id: execSessions(ctx).create(config).id });
  }),

  route(
    'POST',
    '/exec/{id}/start',
    async (ctx, req, res) => {
      const session = execSessions(ctx).get(req.params.id);
      const { value: body, input } = await readHijackBody<ExecStartBody>(req, {});
      session.checkStartable();
      const size = consoleSize(body.ConsoleSize);
      if (size) session.size = size;
      if (body.Detach) {
        await session.start(ctx);
        return sendEmpty(res.res, 200);
      }
      // Docker frames the output as the start (not the create) asks: without Tty, stdcopy frames.
      const mux = !body.Tty;
      if (req.headers.upgrade) {
        const conn = res.hijack(mux && versionAtLeast(req.version, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM);
        watchPeer(conn);
        // A relay never keeps a stopped service alive.
        (conn as Partial<Socket>).unref?.();
        return session.start(ctx, { input, output: conn, mux, hijacked: true, onGone: (cb) => (conn.destroyed ? cb() : conn.once('close', cb)) });
      }
      // No upgrade asked: the output streams in the response, the input is the rest of the request body.
      startStream(res.res, RAW_STREAM);
      await session.start(ctx, { input, output: res.res, mux, hijacked: false, onGone: (cb) => res.res.once('close', cb) });
    },
    { hijack: true },
  ),

  route('POST', '/exec/{id}/resize', async (ctx, req, res) => {
    const session = execSessions(ctx).get(req.params.id);
    const h = queryInt(req.query, 'h') ?? 0;
    const w = queryInt(req.query, 'w') ?? 0;
    if (h < 0 || h > 0xffff || w < 0 || w > 0xffff) throw badRequest(`invalid size ${h}x${w}`);
    session.resize(ctx, h, w);
    sendEmpty(res.res, 200);
  }),

  route('GET', '/exec/{id}/json', (ctx, req, res) => {
    sendJson(res.res, 200, execSessions(ctx).get(req.params.id).inspect());
  }),
];

/** Docker's ConsoleSize: [height, width]. */
function consoleSize(v: [number, number] | null | undefined): { rows: number; cols: number } | undefined {
  if (!Array.isArray(v) || v.length !== 2 || !v[0] || !v[1]) return undefined;
  return { rows: v[0], cols: v[1] };
}
