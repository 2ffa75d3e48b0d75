// `tsrun system service` for the API tests: a service per sandbox on its own
// socket, the docker CLI 20.10 (Debian's docker.io, /usr/bin/docker: never
// dockerd) pointed at it with DOCKER_HOST, and the busybox image in its
// store. Clients keep their default configuration; only DOCKER_HOST and a
// throwaway DOCKER_CONFIG (no credentials from the host) are set.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';
import { busybox, cli, fixtureTar, missingTools, type Sandbox } from './tsrun.js';

export const DOCKER = '/usr/bin/docker';

/** Why the docker CLI tests cannot run here ('' when they can), printed once. */
export function dockerCliSkipReason(file: string): string {
  if (!existsSync(DOCKER)) {
    process.stderr.write(`[skip] ${file}: no docker CLI at ${DOCKER} (apt-get install docker.io; dockerd is never started)\n`);
    return `no ${DOCKER}`;
  }
  return missingTools(file, ['tar'], 'tar');
}

export interface ApiService {
  /** The socket's path. */
  socket: string;
  /** unix:///path: DOCKER_HOST for clients. */
  host: string;
  /** The environment a client runs with: DOCKER_HOST, a fresh DOCKER_CONFIG. */
  env: Record<string, string>;
  /** `docker ...args` against the service (never throws on a non-zero exit). */
  docker(args: string[], opts?: Options): ResultPromise;
  /** A raw request on the socket: status, headers and body. */
  fetch(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; json: () => any }>;
  /** What the service printed. */
  log(): string;
  /** Stops the service (its containers go on, as they would). */
  stop(): Promise<void>;
}

/** `bin`: the tsrun command to run (default the repo's bin/tsrun). */
export async function startService(sb: Sandbox, args: string[] = [], bin = cli): Promise<ApiService> {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-api-'));
  const socket = join(dir, 'tsrun.sock');
  const child: ChildProcess = spawn('node', ['--', bin, '--root', sb.root, '--runroot', sb.runroot, ...args, 'system', 'service', '--time', '0', `unix://${socket}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config') };
  const fetch: ApiService['fetch'] = (method, path, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const req = request({ socketPath: socket, method, path, headers: { ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}), ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(data);
    });
  for (const deadline = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 50))) {
    if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}): ${output}`);
    const ok = await fetch('GET', '/_ping').then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`the service did not answer /_ping within 20 s: ${output}`);
  }
  return {
    socket,
    host: env.DOCKER_HOST,
    env,
    docker: (a, opts = {}) => execa(DOCKER, a, { reject: false, stdin: 'ignore', ...opts, env: { ...env, ...(opts.env ?? {}) } }),
    fetch,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The busybox fixture as the image `localhost/busybox:latest` (CMD sh) in the sandbox's store. */
export async function importBusybox(sb: Sandbox, ref = 'localhost/busybox:latest'): Promise<void> {
  const r = await sb.tsrun(['import', '-c', 'CMD ["sh"]', '-', ref], { input: fixtureTar(busybox()) });
  if (r.exitCode !== 0) throw new Error(`importing busybox failed: ${r.stderr}`);
}

/** GET http://127.0.0.1:PORT/PATH's body: a published port, as a user on the host reaches it. */
export function loopbackGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}
