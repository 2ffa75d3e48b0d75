// `tsrun system service`: the Docker Engine API over HTTP on a unix socket
// (or mutual-TLS TCP), a thin layer over the same core the CLI calls.
// Containers belong to their monitors, so they outlive the service.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { Duplex } from 'node:stream';
import { TsrunError } from '../errors.js';
import type { InfoOptions } from '../system/info.js';
import type { Tsrun } from '../tsrun.js';
import { ApiContext } from './context.js';
import { ApiError, messageOf, statusOf } from './errors.js';
import { sendJson, type Request, type Response } from './http.js';
import { Router } from './router.js';
import { allRoutes } from './routes/index.js';
import { API_VERSION, splitVersion } from './version.js';

export const DEFAULT_SOCKET = '/run/tsrun/tsrun.sock';

export interface ServiceOptions {
  /** unix:///path (default unix:///run/tsrun/tsrun.sock) or tcp://host:port. */
  address?: string;
  /** Seconds without a connection before the service exits; 0: never. */
  idleSeconds?: number;
  /** TCP only, all three required: mutual TLS. */
  tls?: { cert: string; key: string; clientCa: string };
  /** systemd socket activation: the fds passed (LISTEN_FDS), used instead of `address`. */
  listenFds?: number[];
  /** The global options (registry mirrors, insecure registries, userns-remap) that /info reports. */
  infoOptions?: InfoOptions;
  /** Where the service says what it does (the root-equivalence warning, where it listens). */
  log?: (line: string) => void;
}

export interface RunningService {
  /** Where it listens: a DOCKER_HOST value, or the fds systemd passed. */
  address: string;
  /** Stops listening and ends open connections; containers go on. */
  close(): Promise<void>;
  /** Resolves when the service stopped (closed, or idle past its --time). */
  closed: Promise<void>;
}

/** Parses the address argument: a unix socket path or a TCP host:port. */
export function parseAddress(address: string): { unix: string } | { host: string; port: number } {
  if (address.startsWith('unix://')) return { unix: address.slice('unix://'.length) };
  if (address.startsWith('/')) return { unix: address };
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (!m) throw new TsrunError('INVALID_ARGUMENT', `invalid address ${JSON.stringify(address)}: use unix:///path/to/socket or tcp://HOST:PORT`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function serve(tsrun: Tsrun, opts: ServiceOptions = {}): Promise<RunningService> {
  const address = opts.address ?? `unix://${DEFAULT_SOCKET}`;
  const where = opts.listenFds?.length ? null : parseAddress(address);
  if (where && 'port' in where && !opts.tls) {
    throw new TsrunError('INVALID_ARGUMENT', 'a TCP address needs --tls-cert, --tls-key and --tls-client-ca (mutual TLS): the API is root-equivalent, never serve it in the clear');
  }
  const ctx = new ApiContext(tsrun, opts.infoOptions);
  const router = new Router(allRoutes());
  const server: Server = opts.tls
    ? createHttpsServer({
        cert: readFileSync(opts.tls.cert),
        key: readFileSync(opts.tls.key),
        ca: readFileSync(opts.tls.clientCa),
        requestCert: true,
        rejectUnauthorized: true,
      })
    : createHttpServer();
  // Streams (logs -f, events, attach, wait) last as long as they last.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 60_000;
  server.timeout = 0;
  // Upgraded connections (attach, exec) leave Node's own tracking: closing the service ends them here.
  const upgraded = new Set<Socket>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => void dispatch(ctx, router, req, res, null));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (head.length) socket.unshift(head);
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    void dispatch(ctx, router, req, null, socket);
  });

  const idle = idleTimer(server, opts.idleSeconds ?? 5);
  let listening: string;
  if (opts.listenFds?.length) {
    for (const fd of opts.listenFds) await listen(server, { fd });
    listening = `fd ${opts.listenFds.join(', ')} (systemd socket activation)`;
  } else if (where && 'unix' in where) {
    await prepareSocketPath(where.unix);
    await listen(server, { path: where.unix });
    restrictSocket(where.unix, opts.log);
    listening = `unix://${where.unix}`;
  } else {
    const tcp = where as { host: string; port: number };
    await listen(server, { host: tcp.host, port: tcp.port });
    const a = server.address();
    listening = `tcp://${tcp.host}:${typeof a === 'object' && a ? a.port : tcp.port}`;
  }
  opts.log?.(`API service listening on ${listening} (Docker Engine API ${API_VERSION})`);
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  idle.arm();
  return {
    address: listening,
    closed,
    close: async () => {
      idle.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of upgraded) s.destroy();
      });
    },
  };
}

function listen(server: Server, opts: { path?: string; host?: string; port?: number; fd?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

// A socket file left by a service that died is replaced; one that answers belongs to a running service.
async function prepareSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new TsrunError('INVALID_ARGUMENT', `${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new TsrunError('INVALID_STATE', `${path} is in use: another service answers on it`);
  unlinkSync(path);
}

// The socket is root-equivalent: 0660 for the group docker where there is one (Docker's convention), else 0600.
function restrictSocket(path: string, log?: (line: string) => void): void {
  const gid = groupId('docker');
  if (gid !== undefined) {
    chownSync(path, 0, gid);
    chmodSync(path, 0o660);
  } else {
    chmodSync(path, 0o600);
  }
  log?.(`warning: whoever can connect to ${path} can do anything root can on this host${gid !== undefined ? ' (its group is docker)' : ''}`);
}

function groupId(name: string): number | undefined {
  if (!existsSync('/etc/group')) return undefined;
  const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
  return line ? Number(line.split(':')[2]) : undefined;
}

// Counts connections; with none for `seconds`, closes the server (Podman's --time).
function idleTimer(server: Server, seconds: number): { arm(): void; stop(): void } {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    if (stopped || seconds <= 0 || open > 0) return;
    clearTimeout(timer);
    timer = setTimeout(() => server.close(), seconds * 1000);
  };
  const conn = (s: Socket): void => {
    open++;
    clearTimeout(timer);
    s.once('close', () => {
      open--;
      arm();
    });
  };
  server.on('connection', conn);
  return { arm, stop: () => { stopped = true; clearTimeout(timer); } };
}

async function dispatch(ctx: ApiContext, router: Router, raw: IncomingMessage, res: ServerResponse | null, socket: Socket | null): Promise<void> {
  let hijacked = false;
  const fail = (err: unknown): void => {
    const status = statusOf(err);
    if (hijacked) return void (socket ?? res?.socket)?.destroy();
    if (res) {
      if (res.headersSent) return void res.destroy();
      if (status === 304) return void res.writeHead(304).end();
      return sendJson(res, status, { message: messageOf(err) });
    }
    const body = status === 304 ? '' : `${JSON.stringify({ message: messageOf(err) })}\n`;
    socket!.end(`HTTP/1.1 ${status} ${status === 304 ? 'Not Modified' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
  try {
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const { version, path } = splitVersion(url.pathname);
    const method = raw.method ?? 'GET';
    const found = router.match(method, path);
    if (!found) throw new ApiError(404, `page not found`);
    if ('methods' in found) throw new ApiError(405, `method ${method} not allowed for ${path}`);
    const { route, params } = found;
    if (socket && !route.hijack) throw new ApiError(400, `${path} does not take an upgraded connection`);
    const req: Request = { method, path, version, params, query: url.searchParams, headers: raw.headers, raw };
    const response: Response = {
      res: res ?? (null as unknown as ServerResponse),
      hijack: (contentType: string): Duplex => {
        if (!route.hijack) throw new Error(`${route.pattern} is not a hijacking route`);
        hijacked = true;
        if (socket) {
          socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
          socket.setNoDelay(true);
          return socket;
        }
        // No upgrade asked: the answer streams in the response, stdin (if any) comes as the request body.
        res!.writeHead(200, { 'Content-Type': contentType });
        res!.flushHeaders();
        return Duplex.from({ readable: raw, writable: res! });
      },
    };
    await route.handler(ctx, req, response);
  } catch (err) {
    fail(err);
  }
}
