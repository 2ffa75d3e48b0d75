// Containers through the Docker Engine API (issue 15), driven by the real
// docker CLI 20.10 against `tsrun system service`: create/run -d, ps and
// its label filters, inspect, the lifecycle verbs, rm, rename, update, top,
// stats, diff, export, cp both ways, a published port on loopback,
// AutoRemove with nobody attached, prune; bad input answered with Docker's
// status codes and nothing left behind; the CLI and the service sharing
// containers that outlive the service.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCliSkipReason, importBusybox, startService, type ApiService } from '../helpers/api-service.js';
import { integrationSkipReason, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('api-containers') || dockerCliSkipReason('api-containers');
const IMAGE = 'localhost/busybox';

/** Polls `fn` until it returns something (no fixed sleeps: each check is cheap). */
async function until<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 20_000): Promise<T> {
  for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 50))) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

function httpGet(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', () => resolve(undefined));
  });
}

describe.skipIf(skip)('containers through the Docker Engine API (docker CLI 20.10)', () => {
  let sb: Sandbox;
  let svc: ApiService;
  let dir: string;
  const docker = (args: string[], opts = {}) => svc.docker(args, opts);
  const inspect = async (ref: string) => {
    const r = await docker(['inspect', ref]);
    expect(r.exitCode, r.stderr as string).toBe(0);
    return JSON.parse(r.stdout as string)[0];
  };
  const ids = async () => ((await sb.tsrun(['ps', '-a', '-q', '--no-trunc'])).stdout as string).split('\n').filter(Boolean).sort();
  const exited = (ref: string) => until(async () => (await inspect(ref)).State.Status === 'exited', `${ref} to exit`);

  beforeAll(async () => {
    sb = sandbox();
    await importBusybox(sb);
    svc = await startService(sb, ['--default-subnet', '10.173.0.0/24']);
    dir = mkdtempSync(join(tmpdir(), 'tsrun-api-ctr-'));
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    sb?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a detached container that ps, inspect and the tsrun CLI all see', async () => {
    const r = await docker(['run', '-d', '--name', 'web', '-l', 'app=web', '-e', 'FOO=bar', '-m', '64m', IMAGE, 'sleep', '300']);
    expect(r.exitCode, r.stderr as string).toBe(0);
    const id = (r.stdout as string).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ps = await docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Image}} {{.Status}} {{.Label "app"}}']);
    expect(ps.stdout).toMatch(new RegExp(`^${id.slice(0, 12)} web ${IMAGE} Up .+ web$`, 'm'));
    const doc = await inspect('web');
    expect(doc.Id).toBe(id);
    expect(doc.Name).toBe('/web');
    expect(doc.State.Running).toBe(true);
    expect(doc.Config.Env).toContain('FOO=bar');
    expect(doc.Config.Labels).toEqual({ app: 'web' });
    expect(doc.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect((await sb.tsrun(['ps'])).stdout).toMatch(/\bweb\b/);
  });

  it('creates and starts in two steps, lists with -a and filters by label (both filter shapes)', async () => {
    const c = await docker(['create', '--name', 'once', '-l', 'app=once', IMAGE, 'echo', 'hi']);
    expect(c.exitCode, c.stderr as string).toBe(0);
    expect((await inspect('once')).State.Status).toBe('created');
    expect((await docker(['ps', '-q'])).stdout).not.toContain((c.stdout as string).trim().slice(0, 12));
    const s = await docker(['start', 'once']);
    expect(s.exitCode, s.stderr as string).toBe(0);
    await exited('once');
    const all = await docker(['ps', '-a', '--format', '{{.Names}}|{{.Status}}']);
    expect(all.stdout).toMatch(/^once\|Exited \(0\) .+ ago$/m);
    const byLabel = await docker(['ps', '-a', '--filter', 'label=app=once', '--format', '{{.Names}}']);
    expect((byLabel.stdout as string).trim()).toBe('once');
    // compose's shape ({"label":["k=v"]}) and the CLI's ({"label":{"k=v":true}}) select the same.
    for (const f of [{ label: ['app=web'] }, { label: { 'app=web': true } }]) {
      const r = await svc.fetch('GET', `/v1.41/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(f))}`);
      expect(r.status).toBe(200);
      const list = r.json();
      expect(list.map((x: any) => x.Names[0])).toEqual(['/web']);
      expect(list[0]).toMatchObject({ Image: IMAGE, State: 'running', Labels: { app: 'web' }, Command: 'sleep 300' });
      expect(list[0].Status).toMatch(/^Up /);
      expect(typeof list[0].Created).toBe('number');
    }
  });

  it('pauses, unpauses, restarts, stops and kills, with 304 for a start or stop that has nothing to do', async () => {
    expect((await docker(['pause', 'web'])).exitCode).toBe(0);
    expect((await inspect('web')).State).toMatchObject({ Status: 'paused', Paused: true });
    expect((await docker(['unpause', 'web'])).exitCode).toBe(0);
    expect((await inspect('web')).State.Status).toBe('running');
    const before = (await inspect('web')).State.StartedAt;
    expect((await docker(['restart', '-t', '1', 'web'])).exitCode).toBe(0);
    const after = await inspect('web');
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).not.toBe(before);
    expect((await svc.fetch('POST', '/v1.41/containers/web/start')).status).toBe(304);
    expect((await docker(['stop', '-t', '1', 'web'])).exitCode).toBe(0);
    expect((await inspect('web')).State.Running).toBe(false);
    expect((await svc.fetch('POST', '/v1.41/containers/web/stop')).status).toBe(304);
    const kill = await docker(['kill', 'web']);
    expect(kill.exitCode).not.toBe(0);
    expect(kill.stderr).toMatch(/is not running/);
    expect((await svc.fetch('POST', '/v1.41/containers/web/kill')).status).toBe(409);
    expect((await docker(['start', 'web'])).exitCode).toBe(0);
    // A SIGKILL answers once the container is down, as Docker's (clients kill, then remove).
    expect((await docker(['kill', '-s', 'KILL', 'web'])).exitCode).toBe(0);
    expect((await inspect('web')).State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    expect((await docker(['start', 'web'])).exitCode).toBe(0);
  }, 30_000);

  it('renames, updates limits, and shows top and stats of a running container', async () => {
    expect((await docker(['rename', 'web', 'web2'])).exitCode).toBe(0);
    expect((await inspect('web2')).Name).toBe('/web2');
    const up = await docker(['update', '--memory', '128m', 'web2']);
    expect(up.exitCode, up.stderr as string).toBe(0);
    expect((await inspect('web2')).HostConfig.Memory).toBe(128 * 1024 * 1024);
    const top = await docker(['top', 'web2']);
    expect(top.exitCode, top.stderr as string).toBe(0);
    expect(top.stdout).toMatch(/PID/);
    expect(top.stdout).toMatch(/sleep 300/);
    const stats = await docker(['stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}', 'web2']);
    expect(stats.exitCode, stats.stderr as string).toBe(0);
    expect((stats.stdout as string).trim()).toMatch(/^web2 \d+\.\d\d% \S+ \/ 128MiB 1$/);
  }, 30_000);

  it('refuses to remove a running container without -f, removes it with -f', async () => {
    const id = (await inspect('web2')).Id;
    const rm = await docker(['rm', 'web2']);
    expect(rm.exitCode).not.toBe(0);
    expect(rm.stderr).toMatch(/stop the container before removing or force remove/);
    expect((await svc.fetch('DELETE', '/v1.41/containers/web2')).status).toBe(409);
    expect((await docker(['rm', '-f', 'web2'])).exitCode).toBe(0);
    expect(await ids()).not.toContain(id);
  });

  it('diffs, exports and copies files both ways (a stopped container)', async () => {
    const r = await docker(['run', '-d', '--name', 'files', IMAGE, 'sh', '-c', 'mkdir /apidata && echo made > /apidata/made.txt']);
    expect(r.exitCode, r.stderr as string).toBe(0);
    await exited('files');
    const diff = await docker(['diff', 'files']);
    expect(diff.stdout).toMatch(/^A \/apidata$/m);
    expect(diff.stdout).toMatch(/^A \/apidata\/made.txt$/m);
    const tar = join(dir, 'files.tar');
    expect((await docker(['export', '-o', tar, 'files'])).exitCode).toBe(0);
    const names = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' });
    expect(names).toMatch(/^apidata\/made.txt$/m);
    expect(names).toMatch(/^bin\/busybox$/m);
    // Out of the container: a file, then a directory.
    const out = await docker(['cp', 'files:/apidata/made.txt', join(dir, 'out.txt')]);
    expect(out.exitCode, out.stderr as string).toBe(0);
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('made\n');
    expect((await docker(['cp', 'files:/apidata', join(dir, 'datadir')])).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'datadir/made.txt'), 'utf8')).toBe('made\n');
    // Into it: into an existing directory, and as a new name.
    writeFileSync(join(dir, 'in.txt'), 'from host\n');
    expect((await docker(['cp', join(dir, 'in.txt'), 'files:/apidata/'])).exitCode).toBe(0);
    expect((await docker(['cp', join(dir, 'in.txt'), 'files:/apidata/renamed.txt'])).exitCode).toBe(0);
    expect((await docker(['cp', 'files:/apidata/renamed.txt', join(dir, 'back.txt')])).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'back.txt'), 'utf8')).toBe('from host\n');
    expect((await docker(['diff', 'files'])).stdout).toMatch(/^A \/apidata\/in.txt$/m);
    // The path stat header, and Docker's 404 for a path that is not there.
    const head = await svc.fetch('HEAD', '/v1.41/containers/files/archive?path=/apidata/made.txt');
    expect(head.status).toBe(200);
    const stat = JSON.parse(Buffer.from(head.headers['x-docker-container-path-stat'] as string, 'base64').toString());
    expect(stat).toMatchObject({ name: 'made.txt', size: 5, linkTarget: '' });
    const missing = await docker(['cp', 'files:/nope', join(dir, 'nope')]);
    expect(missing.exitCode).not.toBe(0);
    // (the docker CLI's own words for the 404)
    expect(missing.stderr).toMatch(/No such container:path: files:\/nope/);
    expect((await svc.fetch('GET', '/v1.41/containers/files/archive?path=/nope')).status).toBe(404);
  }, 30_000);

  it('publishes a port on loopback only: a busybox httpd answers on the published port, and cp reads its files', async () => {
    const r = await docker(['run', '-d', '--name', 'httpd', '-p', '127.0.0.1::80', IMAGE, 'sh', '-c', 'mkdir /apiwww && echo hello-api > /apiwww/index.html && exec httpd -f -p 80 -h /apiwww']);
    expect(r.exitCode, r.stderr as string).toBe(0);
    const doc = await inspect('httpd');
    const binding = doc.NetworkSettings.Ports['80/tcp'][0];
    expect(binding.HostIp).toBe('127.0.0.1');
    const port = Number(binding.HostPort);
    expect(port).toBeGreaterThan(0);
    expect((await docker(['port', 'httpd', '80'])).stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect((await docker(['ps', '--filter', 'name=httpd', '--format', '{{.Ports}}'])).stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp`));
    expect(await until(() => httpGet(port), 'httpd to answer')).toBe('hello-api\n');
    // cp out of a running container (through its process's root).
    expect((await docker(['cp', 'httpd:/apiwww/index.html', join(dir, 'index.html')])).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toBe('hello-api\n');
    expect((await docker(['rm', '-f', 'httpd'])).exitCode).toBe(0);
  }, 30_000);

  it('removes an AutoRemove container when it exits, with nobody attached', async () => {
    const r = await docker(['run', '-d', '--rm', IMAGE, 'true']);
    expect(r.exitCode, r.stderr as string).toBe(0);
    const id = (r.stdout as string).trim();
    await until(async () => !(await ids()).includes(id), 'the --rm container to be removed');
    expect((await svc.fetch('GET', `/v1.41/containers/${id}/json`)).status).toBe(404);
  });

  it('prunes stopped containers and keeps running ones', async () => {
    const keep = (await docker(['run', '-d', '--name', 'keeper', IMAGE, 'sleep', '300'])).stdout as string;
    const stopped = (await inspect('once')).Id;
    const r = await docker(['container', 'prune', '-f']);
    expect(r.exitCode, r.stderr as string).toBe(0);
    expect(r.stdout).toContain(stopped);
    const left = await ids();
    expect(left).toContain(keep.trim());
    expect(left).not.toContain(stopped);
    expect((await svc.fetch('GET', '/v1.41/containers/files/json')).status).toBe(404);
  });

  it('honours a compose-style create body: mounts, limits, restart policy, health check, DNS, a user network with an alias and an address', async () => {
    expect((await sb.tsrun(['network', 'create', '--subnet', '10.173.1.0/24', 'apinet'])).exitCode).toBe(0);
    const body = {
      Image: IMAGE, Cmd: ['sleep', '300'], Entrypoint: null, Env: ['A=1', 'NOVALUE'], WorkingDir: '/tmp', User: '', Hostname: 'apihost', Domainname: '',
      Labels: { 'com.docker.compose.project': 'proj' }, Tty: false, OpenStdin: false, StdinOnce: false, AttachStdin: false, AttachStdout: false, AttachStderr: false,
      ExposedPorts: { '8080/tcp': {} }, StopSignal: 'SIGINT', StopTimeout: 3, Volumes: { '/anon': {}, '/hostdir': {} }, MacAddress: null, NetworkDisabled: false,
      Healthcheck: { Test: ['CMD', 'true'], Interval: 30e9, Retries: 2 },
      HostConfig: {
        Binds: [`${dir}:/hostdir:ro`], Mounts: [{ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1 << 20 } }], Tmpfs: { '/run2': 'size=1m' },
        PortBindings: {}, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 }, Memory: 0, NanoCpus: 500_000_000, PidsLimit: 50,
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }], CapAdd: ['NET_ADMIN'], CapDrop: null, NetworkMode: 'apinet', Dns: ['10.173.1.1'], DnsSearch: ['example.test'],
        DnsOptions: [], ExtraHosts: ['db:10.173.1.50'], LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } }, ReadonlyRootfs: false, Init: true,
        ShmSize: 8 << 20, Sysctls: { 'net.ipv4.ip_forward': '1' }, Privileged: false, Links: [], VolumesFrom: [], MemorySwappiness: null, OomKillDisable: false,
        ConsoleSize: [0, 0], Isolation: '', CgroupnsMode: '', IpcMode: '',
      },
      NetworkingConfig: { EndpointsConfig: { apinet: { Aliases: ['svc'], IPAMConfig: { IPv4Address: '10.173.1.20' }, Links: null } } },
    };
    const r = await svc.fetch('POST', '/v1.41/containers/create?name=composed', body);
    expect(r.status, r.body).toBe(201);
    expect(r.json()).toEqual({ Id: expect.stringMatching(/^[0-9a-f]{64}$/), Warnings: [] });
    expect((await docker(['start', 'composed'])).exitCode).toBe(0);
    const doc = await inspect('composed');
    expect(doc.State.Running).toBe(true);
    expect(doc.Config).toMatchObject({ Hostname: 'apihost', WorkingDir: '/tmp', StopSignal: 'SIGINT', StopTimeout: 3, Healthcheck: { Test: ['CMD', 'true'], Retries: 2 } });
    expect(doc.Config.Env).toContain('A=1');
    expect(doc.Config.Env.some((e: string) => e.startsWith('NOVALUE'))).toBe(false);
    expect(doc.Config.ExposedPorts).toHaveProperty('8080/tcp');
    expect(doc.HostConfig).toMatchObject({
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 }, NanoCpus: 500_000_000, PidsLimit: 50, CapAdd: ['NET_ADMIN'], Init: true, ShmSize: 8 << 20,
      Sysctls: { 'net.ipv4.ip_forward': '1' }, Dns: ['10.173.1.1'], DnsSearch: ['example.test'], ExtraHosts: ['db:10.173.1.50'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } }, Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }], NetworkMode: 'apinet',
    });
    const mounts = Object.fromEntries(doc.Mounts.map((m: any) => [m.Destination, m]));
    expect(mounts['/hostdir']).toMatchObject({ Type: 'bind', Source: dir, RW: false });
    expect(mounts['/anon']).toMatchObject({ Type: 'volume' });
    expect(mounts['/scratch']).toMatchObject({ Type: 'tmpfs' });
    expect(doc.NetworkSettings.Networks.apinet).toMatchObject({ IPAddress: '10.173.1.20', NetworkID: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(doc.NetworkSettings.Networks.apinet.Aliases).toContain('svc');
    const listed = await svc.fetch('GET', `/v1.41/containers/json?filters=${encodeURIComponent('{"label":["com.docker.compose.project=proj"]}')}`);
    expect(listed.json().map((c: any) => c.Names[0])).toEqual(['/composed']);
    expect(listed.json()[0].NetworkSettings.Networks.apinet.IPAddress).toBe('10.173.1.20');
    expect((await docker(['rm', '-f', '-v', 'composed'])).exitCode).toBe(0);
    expect((await sb.tsrun(['network', 'rm', 'apinet'])).exitCode).toBe(0);
  }, 30_000);

  it('takes the seccomp profile the docker CLI sends inline (seccomp=FILE)', async () => {
    const profile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
    writeFileSync(join(dir, 'deny-mkdir.json'), JSON.stringify(profile));
    const run = async (opt: string[]) => {
      const r = await docker(['run', '-d', ...opt, IMAGE, 'mkdir', '/made-here']);
      expect(r.exitCode, r.stderr as string).toBe(0);
      const id = (r.stdout as string).trim();
      await exited(id);
      const code = (await inspect(id)).State.ExitCode;
      await docker(['rm', id]);
      return code;
    };
    expect(await run(['--security-opt', `seccomp=${join(dir, 'deny-mkdir.json')}`])).toBe(1);
    expect(await run([])).toBe(0);
  }, 30_000);

  it('answers bad input with Docker status codes and messages, leaving nothing behind', async () => {
    const before = await ids();
    const bad = await svc.fetch('POST', '/v1.41/containers/create', '{"Image": ');
    expect(bad.status).toBe(400);
    expect(bad.json().message).toMatch(/invalid JSON/);
    const typed = await svc.fetch('POST', '/v1.41/containers/create', { Image: IMAGE, HostConfig: { Memory: 'lots' } });
    expect(typed.status).toBe(400);
    expect(typed.json().message).toMatch(/HostConfig\.Memory/);
    const links = await svc.fetch('POST', '/v1.41/containers/create', { Image: IMAGE, HostConfig: { Links: ['a:b'] } });
    expect(links.status).toBe(400);
    const tooSmall = await docker(['create', '-m', '1m', IMAGE]);
    expect(tooSmall.exitCode).not.toBe(0);
    expect(tooSmall.stderr).toMatch(/Minimum memory limit allowed is 6MB/);
    const noImage = await svc.fetch('POST', '/v1.41/containers/create', { Image: 'localhost/no-such-image' });
    expect(noImage.status).toBe(404);
    expect(noImage.json().message).toBe('No such image: localhost/no-such-image');
    const cliNoImage = await docker(['create', '--pull', 'never', 'localhost/no-such-image']);
    expect(cliNoImage.exitCode).not.toBe(0);
    expect(cliNoImage.stderr).toMatch(/No such image/);
    const inUse = await docker(['create', '--name', 'keeper', IMAGE]);
    expect(inUse.exitCode).not.toBe(0);
    expect(inUse.stderr).toMatch(/Conflict\. The container name "\/keeper" is already in use by container "[0-9a-f]{64}"/);
    expect((await svc.fetch('POST', '/v1.41/containers/create?name=keeper', { Image: IMAGE })).status).toBe(409);
    for (const args of [['stop', 'ghost'], ['start', 'ghost'], ['rm', 'ghost'], ['top', 'ghost']]) {
      const r = await docker(args);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/No such container: ghost/);
    }
    expect((await svc.fetch('GET', '/v1.41/containers/ghost/json')).status).toBe(404);
    expect(await ids()).toEqual(before);
  });

  it('leaves a container started through the service running after the service stops', async () => {
    const id = (await inspect('keeper')).Id;
    await svc.stop();
    const ps = await sb.tsrun(['ps', '--no-trunc', '--format', '{{.ID}} {{.Status}}']);
    expect(ps.stdout).toMatch(new RegExp(`^${id} Up `, 'm'));
  });
});
