// `tsrun system service` itself (issue 15): where and how it listens — the
// socket's mode, a stale socket replaced and a live one kept, TCP only with
// mutual TLS, systemd socket activation, the --time idle exit — and the
// protocol's edges every client meets first (version prefixes, errors).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, startService, type ApiService } from '../helpers/api-service.js';
import { freePort } from '../helpers/registry.js';
import { cli, hasTool, integrationSkipReason, repo, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('api-service');

// Every service a test starts; afterAll stops those a failed test left running.
const started: ReturnType<typeof spawn>[] = [];

function service(sb: Sandbox, args: string[]) {
  const child = spawn('node', ['--', cli, '--root', sb.root, '--runroot', sb.runroot, 'system', 'service', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  started.push(child);
  return { child, exited, output: () => output };
}

async function waitFor(fn: () => boolean, what: string, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !fn(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

describe.skipIf(skip)('tsrun system service', () => {
  let sb: Sandbox;
  let svc: ApiService;
  let dir: string;
  beforeAll(async () => {
    sb = sandbox();
    await importBusybox(sb);
    svc = await startService(sb);
    dir = mkdtempSync(join(tmpdir(), 'tsrun-api-svc-'));
  }, 60_000);
  afterAll(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await svc?.stop();
    sb?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps serving what it started with when the install is upgraded under it (every bundle chunk loaded at start)', async () => {
    // A copy of the install, so its bundle can be replaced while the service runs.
    const install = join(dir, 'install');
    for (const d of ['bin', 'dist']) cpSync(join(repo, d), join(install, d), { recursive: true, preserveTimestamps: true });
    for (const l of ['node_modules', 'build', 'package.json']) symlinkSync(join(repo, l), join(install, l));
    const chunks = readdirSync(join(install, 'dist/bundle')).filter((f) => /^tsrun-[a-z]+\.cjs$/.test(f));
    expect(chunks).toEqual(expect.arrayContaining(['tsrun-core.cjs', 'tsrun-cold.cjs', 'tsrun-template.cjs']));
    const old = await startService(sb, [], join(install, 'bin/tsrun'));
    try {
      // The "new build": every chunk the verbs load on demand now throws.
      for (const f of chunks) writeFileSync(join(install, 'dist/bundle', f), '(function () { throw new Error("a newer build"); })');
      const df = await old.fetch('GET', '/system/df'); // system/ is in the cold chunk
      expect(df.status, df.body).toBe(200);
      expect(df.json().Images.length).toBeGreaterThan(0);
      for (const path of ['/info', '/containers/json?all=1', '/images/json', '/networks', '/volumes']) {
        const r = await old.fetch('GET', path);
        expect(r.status, `${path}: ${r.body}`).toBe(200);
      }
    } finally {
      await old.stop();
    }
  });

  it('answers /_ping (GET and HEAD) with the API version and no BuildKit header, with and without a version prefix', async () => {
    for (const path of ['/_ping', '/v1.41/_ping', '/v1.24/_ping', '/v1.44/_ping']) {
      const r = await svc.fetch('GET', path);
      expect(r.status).toBe(200);
      expect(r.body).toBe('OK');
      expect(r.headers['api-version']).toBe('1.41');
      expect(r.headers['ostype']).toBe('linux');
      expect(r.headers['builder-version']).toBeUndefined();
    }
    const head = await svc.fetch('HEAD', '/_ping');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('refuses API versions outside 1.24-1.44 with Docker\'s message, and unknown paths with 404 JSON', async () => {
    const old = await svc.fetch('GET', '/v1.23/version');
    expect(old.status).toBe(400);
    expect(old.json().message).toMatch(/client version 1\.23 is too old\. Minimum supported API version is 1\.24/);
    const nu = await svc.fetch('GET', '/v1.45/version');
    expect(nu.status).toBe(400);
    expect(nu.json().message).toMatch(/too new/);
    const missing = await svc.fetch('GET', '/v1.41/no/such/thing');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ message: 'page not found' });
    const method = await svc.fetch('DELETE', '/version');
    expect(method.status).toBe(405);
  });

  it('answers swarm endpoints as a Docker host outside swarm mode does, /plugins empty, and keeps serving', async () => {
    const swarm = await svc.fetch('GET', '/v1.41/swarm');
    expect(swarm.status).toBe(503);
    expect(swarm.json().message).toMatch(/not a swarm manager/);
    expect((await svc.fetch('GET', '/v1.41/services')).status).toBe(503);
    const plugins = await svc.fetch('GET', '/v1.41/plugins');
    expect(plugins.status).toBe(200);
    expect(plugins.json()).toEqual([]);
    expect((await svc.fetch('POST', '/v1.41/plugins/pull?remote=x')).status).toBe(501);
    expect((await svc.fetch('GET', '/_ping')).status).toBe(200);
  });

  it('the docker CLI reads /version and /info (Swarm an inactive object, never null)', async () => {
    const v = await svc.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    expect(v.stderr).toBe('');
    expect(v.stdout).toBe('1.41 linux');
    const info = await svc.docker(['info', '--format', '{{json .Swarm}} {{.Driver}}']);
    expect(info.exitCode).toBe(0);
    expect(JSON.parse(info.stdout.split(' ')[0]).LocalNodeState).toBe('inactive');
    expect(info.stdout).toMatch(/ overlay$/);
  });

  it('serves many clients at once while long streams (events, logs -f) stay open, and they keep streaming', async () => {
    const IMAGE = 'localhost/busybox:latest';
    const ticker = (await svc.docker(['run', '-d', '--network', 'none', IMAGE, 'sh', '-c', 'while :; do echo tick; sleep 0.2; done'])).stdout.trim();
    expect(ticker).toMatch(/^[0-9a-f]{64}$/);
    const events = spawn('/usr/bin/docker', ['events', '--filter', 'type=container', '--filter', 'event=start', '--format', '{{.Actor.Attributes.name}}'], { env: { ...process.env, ...svc.env } });
    const logs = spawn('/usr/bin/docker', ['logs', '-f', '--tail', '0', ticker], { env: { ...process.env, ...svc.env } });
    let seenEvents = '';
    let seenLogs = '';
    events.stdout.on('data', (d) => (seenEvents += d));
    logs.stdout.on('data', (d) => (seenLogs += d));
    try {
      await waitFor(() => seenLogs.includes('tick'), 'the log stream');
      // Six runs, a ps and an info at once, with both streams open.
      const runs = await Promise.all([
        ...Array.from({ length: 6 }, (_, i) => svc.docker(['run', '--rm', '--network', 'none', '--name', `many-${i}`, IMAGE, 'echo', `hello-${i}`])),
        svc.docker(['ps', '-q']),
        svc.docker(['info', '--format', '{{.ContainersRunning}}']),
      ]);
      runs.slice(0, 6).forEach((r, i) => expect({ code: r.exitCode, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: `hello-${i}`, err: '' }));
      expect(runs[6].exitCode).toBe(0);
      expect(Number(runs[7].stdout)).toBeGreaterThanOrEqual(1);
      // The event stream saw every start as it happened, and the logs go on.
      await waitFor(() => Array.from({ length: 6 }, (_, i) => `many-${i}`).every((n) => seenEvents.split('\n').includes(n)), 'six start events');
      const before = seenLogs.length;
      await waitFor(() => seenLogs.length > before, 'more log lines');
      expect(events.exitCode).toBeNull();
      expect(logs.exitCode).toBeNull();
    } finally {
      events.kill();
      logs.kill();
      await svc.docker(['rm', '-f', ticker]);
    }
    expect((await svc.docker(['ps', '-aq'])).stdout).toBe('');
  }, 60_000);

  it('makes its socket 0660 for the group docker (or 0600 without one) and says access to it is root-equivalent', async () => {
    const st = statSync(svc.socket);
    expect(st.isSocket()).toBe(true);
    const docker = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('docker:'));
    if (docker) {
      expect(st.mode & 0o777).toBe(0o660);
      expect(st.gid).toBe(Number(docker.split(':')[2]));
    } else {
      expect(st.mode & 0o777).toBe(0o600);
    }
    expect(svc.log()).toMatch(/can do anything root can/);
  });

  it('replaces a stale socket file, refuses one another service answers on, and refuses a plain file', async () => {
    const stale = join(dir, 'stale.sock');
    // A socket file nobody listens on any more (a service that was killed).
    await new Promise<void>((resolve) => {
      const srv = createServer().listen(stale, () => srv.close(() => resolve()));
    });
    const a = service(sb, ['--time', '0', `unix://${stale}`]);
    await waitFor(() => /listening on/.test(a.output()), 'the service on the stale socket');
    const b = service(sb, ['--time', '0', `unix://${stale}`]);
    expect(await b.exited).toBe(1);
    expect(b.output()).toMatch(/is in use: another service answers on it/);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'keep me');
    const c = service(sb, ['--time', '0', `unix://${plain}`]);
    expect(await c.exited).toBe(1);
    expect(c.output()).toMatch(/exists and is not a socket/);
    expect(readFileSync(plain, 'utf8')).toBe('keep me');
  });

  it('exits after --time seconds without a connection, and not while a client is connected', async () => {
    const sock = join(dir, 'idle.sock');
    const s = service(sb, ['--time', '1', `unix://${sock}`]);
    await waitFor(() => /listening on/.test(s.output()), 'the idle service');
    // A connection held open (as an events stream would) keeps it up past its --time.
    const { connect } = await import('node:net');
    const held = connect(sock);
    await new Promise((r) => held.once('connect', r));
    await new Promise((r) => setTimeout(r, 1800));
    expect(s.child.exitCode).toBeNull();
    held.destroy();
    expect(await s.exited).toBe(0);
  }, 20_000);

  it('refuses TCP without mutual TLS, and serves it with a client certificate only', async () => {
    const plain = service(sb, ['--time', '0', 'tcp://127.0.0.1:2399']);
    expect(await plain.exited).toBe(1);
    expect(plain.output()).toMatch(/needs --tls-cert, --tls-key and --tls-client-ca/);
    const half = service(sb, ['--time', '0', '--tls-cert', '/nonexistent', 'tcp://127.0.0.1:2399']);
    expect(await half.exited).toBe(1);
    expect(half.output()).toMatch(/go together/);

    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tsrun-test-ca');
    for (const who of ['server', 'client']) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'client'}`);
      writeFileSync(join(dir, `${who}.ext`), who === 'server' ? 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
      ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`);
    }
    const port = await freePort();
    const tls = service(sb, ['--time', '0', '--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'server.key'), '--tls-client-ca', join(dir, 'ca.pem'), `tcp://127.0.0.1:${port}`]);
    try {
      await waitFor(() => /listening on tcp:\/\/127\.0\.0\.1/.test(tls.output()), 'the TLS service');
      const get = (withCert: boolean) =>
        new Promise<string>((resolve, reject) => {
          const req = httpsRequest({
            host: '127.0.0.1', port, path: '/_ping', ca: readFileSync(join(dir, 'ca.pem')),
            ...(withCert ? { cert: readFileSync(join(dir, 'client.pem')), key: readFileSync(join(dir, 'client.key')) } : {}),
          }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve(`${res.statusCode} ${body}`));
          });
          req.on('error', reject);
          req.end();
        });
      expect(await get(true)).toBe('200 OK');
      await expect(get(false)).rejects.toThrow();
      // The docker CLI with its usual TLS variables.
      const v = await svc.docker(['version', '--format', '{{.Server.APIVersion}}'], {
        env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir(dir) },
      });
      expect(v.stdout).toBe('1.41');
    } finally {
      tls.child.kill('SIGTERM');
      await tls.exited;
    }
  }, 60_000);

  it.skipIf(!hasTool('systemd-socket-activate'))('takes its socket from systemd (LISTEN_FDS) when socket-activated', async () => {
    const sock = join(dir, 'activated.sock');
    const child = spawn('systemd-socket-activate', ['-l', sock, 'node', '--', cli, '--root', sb.root, '--runroot', sb.runroot, 'system', 'service', '--time', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let output = '';
    child.stderr!.on('data', (d) => (output += d));
    try {
      await waitFor(() => { try { return statSync(sock).isSocket(); } catch { return false; } }, 'the activation socket');
      // The first connection starts the service, which serves it on the inherited fd.
      const r = await new Promise<string>((resolve, reject) => {
        const { request } = require('node:http') as typeof import('node:http');
        const req = request({ socketPath: sock, path: '/v1.41/_ping' }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(`${res.statusCode} ${body}`));
        });
        req.on('error', reject);
        req.end();
      });
      expect(r).toBe('200 OK');
      // It serves the inherited fd, and makes no socket of its own at the default path.
      expect(output).toMatch(/listening on fd 3 \(systemd socket activation\)/);
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);
});

// The docker CLI wants ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH.
function certDir(dir: string): string {
  const d = join(dir, 'client-certs');
  execFileSync('mkdir', ['-p', d]);
  writeFileSync(join(d, 'ca.pem'), readFileSync(join(dir, 'ca.pem')));
  writeFileSync(join(d, 'cert.pem'), readFileSync(join(dir, 'client.pem')));
  writeFileSync(join(d, 'key.pem'), readFileSync(join(dir, 'client.key')));
  return d;
}
