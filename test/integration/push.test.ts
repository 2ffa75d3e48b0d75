// `tsrun push` end to end against real docker-registry servers on
// 127.0.0.1: an image pulled from registry A pushed to registry B keeps
// every digest; a second tag uploads nothing; another repository of the
// same registry mounts; htpasswd and token registries refuse without a
// login and accept after one; a registry that refuses the manifest is one
// clear line; a self-signed TLS registry works with --insecure-registry
// only; and Podman/skopeo read what tsrun pushed and tsrun what they did.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Options, type Result } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podmanBox, type PodmanBox } from '../helpers/podman-runc.js';
import { ALPINE, IMAGE_FIXTURE_DIR, fixtureAlpine, fixtureMultiArch, pushImage, type FixtureAlpine } from '../helpers/image-fixtures.js';
import { REGISTRY_BIN, freePort, registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { busybox, missingTools, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = registryTestSkipReason('push');

const lines = (s: string) => s.split('\n').filter(Boolean);
const short = (digest: string) => digest.slice(7, 19);

/** The image id and manifest digest a sandbox has for a name. */
async function imageOf(sb: Sandbox, name: string): Promise<{ id: string; manifest: string }> {
  const r = await sb.tsrun(['image', 'inspect', name]);
  expect(r.exitCode, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout)[0];
  return { id: doc.Id, manifest: doc.Descriptor.digest };
}

/** A proxy in front of a registry that answers every manifest PUT 400 MANIFEST_INVALID. */
async function refusingProxy(target: TestRegistry): Promise<{ host: string; close(): Promise<void> }> {
  const [tHost, tPort] = target.host.split(':');
  const server = http.createServer((req, res) => {
    if (req.method === 'PUT' && /\/manifests\//.test(req.url ?? '')) {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: 'refused by the test proxy' }] }));
      return;
    }
    // The Host header goes through unchanged, so the registry's Locations name the proxy.
    const up = http.request({ host: tHost, port: Number(tPort), method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** docker-registry over https with a fresh self-signed certificate for 127.0.0.1. */
async function startTlsRegistry(): Promise<{ host: string; stop(): Promise<void> }> {
  const base = mkdtempSync(join(tmpdir(), 'tsrun-tls-registry-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(base, 'key.pem'), '-out', join(base, 'cert.pem'),
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await freePort();
  writeFileSync(join(base, 'config.yml'), [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(base, 'data')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    '  tls:',
    `    certificate: ${join(base, 'cert.pem')}`,
    `    key: ${join(base, 'key.pem')}`,
    '',
  ].join('\n'));
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(base, 'config.yml')], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(base, { recursive: true, force: true });
  };
  const { createHttpFetch } = await import('../../src/image/registry/http-fetch.js');
  const unverified = createHttpFetch({ skipTlsVerify: () => true });
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    try {
      const res = await unverified(`https://127.0.0.1:${port}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) return { host: `127.0.0.1:${port}`, stop };
    } catch {
      // not listening yet
    }
  }
  await stop();
  throw new Error('the TLS docker-registry did not start');
}

describe.skipIf(skip)('tsrun push', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let alpine: FixtureAlpine;
  let source: string;
  const home = mkdtempSync(join(tmpdir(), 'tsrun-push-home-'));
  // Credentials stay in this test's files, never the host's.
  const env = { HOME: home, TSRUN_AUTH_FILE: join(home, 'auth.json'), DOCKER_CONFIG: join(home, '.docker') };
  const sb = sandbox();
  const tsrun = (args: string[], opts: Options = {}) => sb.tsrun(args, { env, ...opts });
  const others: Sandbox[] = [];
  const fresh = () => {
    const s = sandbox();
    others.push(s);
    return (args: string[], opts: Options = {}) => s.tsrun(args, { env, ...opts });
  };

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    alpine = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox());
    await pushImage(alpine.layoutDir, a, 'library/alpine:latest');
    source = `${a.host}/library/alpine:latest`;
    const r = await tsrun(['pull', '-q', source]);
    expect(r.exitCode, r.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    for (const s of others) s.cleanup();
    sb.cleanup();
    await Promise.all([a?.stop(), b?.stop()]);
    rmSync(home, { recursive: true, force: true });
  });

  it('an image pulled from A and pushed to B keeps its id, its manifest digest and every blob', async () => {
    const target = `${b.host}/team/alpine:v1`;
    expect((await tsrun(['tag', source, target])).exitCode).toBe(0);
    const r = await tsrun(['push', target]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe(`The push refers to repository [${b.host}/team/alpine]`);
    // Docker's order: the top layer first.
    expect(out.filter((l) => l.endsWith(': Preparing'))).toEqual([...alpine.layers].reverse().map((l) => `${short(l.digest)}: Preparing`));
    for (const l of alpine.layers) expect(out).toContain(`${short(l.digest)}: Pushed`);
    expect(out.at(-1)).toBe(`v1: digest: ${alpine.manifestDigest} size: ${alpine.manifestSize}`);

    // Recorded as a repo digest of the local image.
    const inspect = JSON.parse((await tsrun(['image', 'inspect', target])).stdout)[0];
    expect(inspect.RepoDigests).toContain(`${b.host}/team/alpine@${alpine.manifestDigest}`);

    // From B into an empty store: the same image.
    const other = fresh();
    const p = await other(['pull', target]);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout).toContain(`Digest: ${alpine.manifestDigest}`);
    const rm = await tsrun(['rmi', '-f', alpine.configDigest]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    const again = await tsrun(['pull', '-q', target]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await imageOf(sb, target)).toEqual({ id: alpine.configDigest, manifest: alpine.manifestDigest });
    const run = await tsrun(['run', '--rm', target, 'cat', '/etc/os-release']);
    expect(run.stdout).toBe(ALPINE.osRelease.trim());
    // Put the source name back for the tests below.
    expect((await tsrun(['tag', target, source])).exitCode).toBe(0);
  });

  it('a second tag uploads no blob; another repository of the same registry mounts them', async () => {
    expect((await tsrun(['tag', `${b.host}/team/alpine:v1`, `${b.host}/team/alpine:v2`])).exitCode).toBe(0);
    const second = await tsrun(['push', `${b.host}/team/alpine:v2`]);
    expect(second.exitCode, second.stderr).toBe(0);
    const out = lines(second.stdout);
    for (const l of alpine.layers) expect(out).toContain(`${short(l.digest)}: Layer already exists`);
    expect(out.filter((l) => /Pushed|Pushing|Mounted/.test(l))).toEqual([]);
    expect(out.at(-1)).toBe(`v2: digest: ${alpine.manifestDigest} size: ${alpine.manifestSize}`);

    expect((await tsrun(['tag', `${b.host}/team/alpine:v1`, `${b.host}/other/alpine:v1`])).exitCode).toBe(0);
    const mounted = await tsrun(['push', `${b.host}/other/alpine:v1`]);
    expect(mounted.exitCode, mounted.stderr).toBe(0);
    for (const l of alpine.layers) expect(lines(mounted.stdout)).toContain(`${short(l.digest)}: Mounted from team/alpine`);
  });

  it('-a pushes every local tag of the repository; -q prints only the names; image push is the same verb', async () => {
    const all = await tsrun(['push', '-a', `${b.host}/team/alpine`]);
    expect(all.exitCode, all.stderr).toBe(0);
    const out = lines(all.stdout);
    expect(out.filter((l) => l.startsWith('The push refers to'))).toHaveLength(1);
    expect(out.filter((l) => / digest: /.test(l)).map((l) => l.split(':')[0])).toEqual(['v1', 'v2']);
    const q = await tsrun(['image', 'push', '-q', '--all-tags', `${b.host}/team/alpine`]);
    expect(q.stdout).toBe(`${b.host}/team/alpine:v1\n${b.host}/team/alpine:v2`);
    const withTag = await tsrun(['push', '-a', `${b.host}/team/alpine:v1`]);
    expect(withTag.exitCode).toBe(1);
    expect(withTag.stderr).toBe("tsrun: tag can't be used with --all-tags/-a");
  });

  it('an image that is not here is Docker\'s one line, exit 1', async () => {
    const r = await tsrun(['push', `${b.host}/team/nothing:v9`]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`tsrun: An image does not exist locally with the tag: ${b.host}/team/nothing`);
    expect(r.stdout).toBe('');
  });

  it('the platform manifest of an image pulled through an index is what goes up', async () => {
    const multi = fixtureMultiArch(IMAGE_FIXTURE_DIR, busybox());
    await pushImage(multi.layoutDir, a, 'library/multi:latest', { all: true });
    const amd64 = multi.images.find((i) => i.platform.architecture === 'amd64')!;
    expect((await tsrun(['pull', '-q', '--platform', 'linux/amd64', `${a.host}/library/multi`])).exitCode).toBe(0);
    expect((await tsrun(['tag', `${a.host}/library/multi`, `${b.host}/team/multi:latest`])).exitCode).toBe(0);
    const r = await tsrun(['push', `${b.host}/team/multi:latest`]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(r.stdout).at(-1)).toBe(`latest: digest: ${amd64.manifestDigest} size: ${amd64.manifestSize}`);
    const other = fresh();
    const p = await other(['pull', `${b.host}/team/multi:latest`]);
    expect(p.stdout).toContain(`Digest: ${amd64.manifestDigest}`);
  });

  it('a registry that refuses the manifest: its message, exit 1, nothing recorded here', async () => {
    const proxy = await refusingProxy(b);
    try {
      const target = `${proxy.host}/team/refused:v1`;
      expect((await tsrun(['tag', source, target])).exitCode).toBe(0);
      const index = readFileSync(join(sb.root, 'images/index.json'), 'utf8');
      const r = await tsrun(['push', target]);
      expect(r.exitCode).toBe(1);
      expect(lines(r.stderr)).toEqual([`tsrun: ${proxy.host} refused the manifest of ${proxy.host}/team/refused:v1: manifest invalid: manifest invalid`]);
      expect(readFileSync(join(sb.root, 'images/index.json'), 'utf8')).toBe(index);
    } finally {
      await proxy.close();
    }
  });

  describe('authentication', () => {
    it('htpasswd: without credentials one clear line and exit 1; after tsrun login the push works', async () => {
      const reg = await startRegistry({ auth: 'htpasswd', users: { alice: 'wonderland' } });
      try {
        const target = `${reg.host}/team/alpine:v1`;
        expect((await tsrun(['tag', source, target])).exitCode).toBe(0);
        const anon = await tsrun(['push', target]);
        expect(anon.exitCode).toBe(1);
        expect(lines(anon.stderr)).toEqual([
          `tsrun: push access denied for ${reg.host}/team/alpine: unauthorized: authentication required: run \`tsrun login ${reg.host}\``,
        ]);
        const login = await tsrun(['login', '-u', 'alice', '--password-stdin', reg.host], { input: 'wonderland\n' });
        expect(login.exitCode, login.stderr).toBe(0);
        const ok = await tsrun(['push', target]);
        expect(ok.exitCode, ok.stderr).toBe(0);
        expect(lines(ok.stdout).at(-1)).toBe(`v1: digest: ${alpine.manifestDigest} size: ${alpine.manifestSize}`);
        expect((await tsrun(['logout', reg.host])).exitCode).toBe(0);
      } finally {
        await reg.stop();
      }
    });

    it('token service: an anonymous push is refused; with a login the token grants pull,push', async () => {
      const reg = await startRegistry({ auth: 'token', users: { bob: 'builder' }, publicPrefixes: ['public/'] });
      try {
        const target = `${reg.host}/public/alpine:v1`;
        expect((await tsrun(['tag', source, target])).exitCode).toBe(0);
        const anon = await tsrun(['push', target]);
        expect(anon.exitCode).toBe(1);
        expect(lines(anon.stderr)).toHaveLength(1);
        expect(anon.stderr).toMatch(new RegExp(`^tsrun: push access denied for ${reg.host.replace(/\./g, '\\.')}/public/alpine: .*authentication required.*tsrun login`));

        expect((await tsrun(['login', '-u', 'bob', '-p', 'builder', reg.host])).exitCode).toBe(0);
        const before = reg.tokenRequests!();
        const ok = await tsrun(['push', target]);
        expect(ok.exitCode, ok.stderr).toBe(0);
        // One token for the whole push (all blobs and the manifest share the scope).
        expect(reg.tokenRequests!() - before).toBe(1);
        // Anyone may pull public/: the pushed image arrives whole.
        const other = fresh();
        expect((await other(['pull', '-q', target], { env: { HOME: home, TSRUN_AUTH_FILE: join(home, 'nobody.json') } })).exitCode).toBe(0);
        await tsrun(['logout', reg.host]);
      } finally {
        await reg.stop();
      }
    });
  });

  describe('self-signed TLS', () => {
    it('works with --insecure-registry; without it fails with a clear TLS error and never falls back to http', async () => {
      const tls = await startTlsRegistry();
      try {
        const target = `${tls.host}/tls/alpine:v1`;
        expect((await tsrun(['tag', source, target])).exitCode).toBe(0);
        const refused = await tsrun(['push', target]);
        expect(refused.exitCode).toBe(1);
        expect(lines(refused.stderr)).toHaveLength(1);
        expect(refused.stderr).toMatch(/cannot verify the TLS certificate of 127\.0\.0\.1:\d+ .*self.signed certificate.*use --insecure-registry 127\.0\.0\.1:\d+$/i);

        const ok = await tsrun(['--insecure-registry', tls.host, 'push', target]);
        expect(ok.exitCode, ok.stderr).toBe(0);
        expect(lines(ok.stdout).at(-1)).toBe(`v1: digest: ${alpine.manifestDigest} size: ${alpine.manifestSize}`);

        const other = fresh();
        const noFlag = await other(['pull', target]);
        expect(noFlag.exitCode).toBe(1);
        expect(noFlag.stderr).toMatch(/cannot verify the TLS certificate/);
        const pulled = await other(['--insecure-registry', tls.host, 'pull', target]);
        expect(pulled.exitCode, pulled.stderr).toBe(0);
        expect(pulled.stdout).toContain(`Digest: ${alpine.manifestDigest}`);
      } finally {
        await tls.stop();
      }
    });
  });

  describe('interop with Podman and skopeo', () => {
    const missing = missingTools('push', ['podman', 'runc', 'conmon', 'skopeo'], 'podman runc conmon skopeo');
    let box: PodmanBox;
    beforeAll(() => {
      if (!missing) box = podmanBox();
    });
    afterAll(async () => box?.cleanup());

    it.skipIf(missing)('podman pulls and runs what tsrun pushed; tsrun pulls and runs what podman pushed', async () => {
      const target = `${b.host}/team/alpine:v1`;
      const pull = await box.podman(['pull', '-q', '--tls-verify=false', target]);
      expect(pull.exitCode, pull.stderr).toBe(0);
      const run = await box.podman(['run', '--rm', target, 'cat', '/etc/os-release']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toBe(ALPINE.osRelease.trim());

      const theirs = `${b.host}/podman/alpine:v1`;
      const push = await box.podman(['push', '--tls-verify=false', target, theirs]);
      expect(push.exitCode, push.stderr).toBe(0);
      const other = fresh();
      const p = await other(['pull', '-q', theirs]);
      expect(p.exitCode, p.stderr).toBe(0);
      const r = await other(['run', '--rm', theirs, 'cat', '/usr/share/tsrun/hello.txt']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(ALPINE.hello.trim());
    });

    it.skipIf(missing)('tsrun pulls and runs what skopeo copied, and pushes it on unchanged', async () => {
      const digest = await pushImage(alpine.layoutDir, b, 'skopeo/alpine:v1');
      const other = fresh();
      expect((await other(['pull', '-q', `${b.host}/skopeo/alpine:v1`])).exitCode).toBe(0);
      const r = await other(['run', '--rm', `${b.host}/skopeo/alpine:v1`, 'cat', '/etc/os-release']);
      expect(r.stdout).toBe(ALPINE.osRelease.trim());
      expect((await other(['tag', `${b.host}/skopeo/alpine:v1`, `${b.host}/skopeo/again:v1`])).exitCode).toBe(0);
      const push = await other(['push', `${b.host}/skopeo/again:v1`]);
      expect(push.exitCode, push.stderr).toBe(0);
      expect(lines(push.stdout).at(-1)).toBe(`v1: digest: ${digest} size: ${alpine.manifestSize}`);
    });
  });
});
