// Images, build, push and login through the Engine API (issue 15), driven
// by the real docker CLI 20.10 against `tsrun system service`, with real
// docker-registry servers on loopback (one open, one behind htpasswd):
// pull with Docker's progress, tag, push and pull back, build of a small
// Dockerfile with the classic builder's stream, history, rmi (and the
// conflict of an image in use), save | load, import and prune, commit
// (also with a Config body), login then push (and a build FROM the locked
// registry) with the credentials the CLI stored, builder prune;
// and bad input: a missing image, a broken Dockerfile, a failing RUN,
// malformed build args, each leaving nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, dockerCliSkipReason, importBusybox, startService, type ApiService } from '../helpers/api-service.js';
import { IMAGE_FIXTURE_DIR, buildImage, corruptBlob, fixtureAlpine, pushImage, type FixtureAlpine } from '../helpers/image-fixtures.js';
import { registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { busybox, fixtureTar, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = registryTestSkipReason('api-images') || dockerCliSkipReason('api-images');

const lines = (s: string) => s.split('\n').filter(Boolean);

describe.skipIf(skip)('images, build, push and login through the Engine API', () => {
  let sb: Sandbox;
  let svc: ApiService;
  let reg: TestRegistry;
  let locked: TestRegistry;
  let alpine: FixtureAlpine;
  let dir: string;
  let busyboxId: string;
  // The helper's stdin is 'ignore' unless a test gives input.
  const docker = (args: string[], opts: Parameters<ApiService['docker']>[1] = {}) => svc.docker(args, opts.input !== undefined ? { stdin: undefined, ...opts } : opts);
  /** The sandbox's image index: what a failed operation must leave as it was. */
  const index = () => readFileSync(join(sb.root, 'images', 'index.json'), 'utf8');
  // Built, loaded and committed images run as a user runs them: docker run --rm through the service.
  const runImage = (name: string) => docker(['run', '--rm', name]);
  /** A raw POST with a binary body (a context tar). */
  const post = (path: string, body: Buffer, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: svc.socket, method: 'POST', path, headers: { ...headers, 'Content-Length': body.length } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const inspect = async (name: string) => {
    const r = await docker(['image', 'inspect', name]);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout)[0];
  };

  beforeAll(async () => {
    sb = sandbox();
    dir = mkdtempSync(join(tmpdir(), 'tsrun-api-images-'));
    [reg, locked] = await Promise.all([startRegistry(), startRegistry({ auth: 'htpasswd', users: { alice: 'wonderland' } })]);
    alpine = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox());
    await pushImage(alpine.layoutDir, reg, 'library/alpine:latest');
    await importBusybox(sb);
    // No bridge for these tests' containers: RUN steps and runs get no network.
    svc = await startService(sb, ['--insecure-registry', reg.host, '--insecure-registry', locked.host, '--default-network', 'none']);
    busyboxId = (await inspect('localhost/busybox:latest')).Id;
  }, 120_000);

  afterAll(async () => {
    await svc?.stop();
    sb?.cleanup();
    await Promise.all([reg?.stop(), locked?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('docker pull prints Docker\'s progress and images lists what it pulled; a second pull is up to date', async () => {
    const ref = `${reg.host}/library/alpine:latest`;
    const r = await docker(['pull', ref]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('latest: Pulling from library/alpine');
    for (const l of alpine.layers) {
      for (const status of ['Pulling fs layer', 'Download complete', 'Pull complete']) expect(r.stdout).toContain(`${l.digest.slice(7, 19)}: ${status}`);
    }
    expect(r.stdout).toContain(`Digest: ${alpine.manifestDigest}`);
    expect(r.stdout).toContain(`Status: Downloaded newer image for ${ref}`);
    expect(lines(r.stdout).at(-1)).toBe(ref);

    const ls = await docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    expect(ls.exitCode, ls.stderr).toBe(0);
    expect(lines(ls.stdout)).toContain(`${ref} ${alpine.configDigest.slice(7, 19)}`);
    expect((await inspect(ref)).RepoDigests).toEqual([`${reg.host}/library/alpine@${alpine.manifestDigest}`]);

    const again = await docker(['pull', ref]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Status: Image is up to date for ${ref}`);
  });

  it('a pull that cannot be done is Docker\'s error and changes nothing', async () => {
    const before = index();
    const missing = await docker(['pull', `${reg.host}/library/nope:1`]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^Error response from daemon: .*nope.*not found/m);
    // A registry that is not there (a closed port on loopback).
    const unreachable = await docker(['pull', '127.0.0.1:1/library/nope:1']);
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stderr).toContain('Error response from daemon:');
    const bad = await svc.fetch('POST', '/v1.41/images/create?fromImage=library%2FBad&tag=1');
    expect(bad.status).toBe(400);
    expect(bad.json().message).toMatch(/invalid reference format/);
    expect(index()).toBe(before);
    // No half-pulled state: nothing in the stores' scratch places.
    const scratch = (sub: string) => (existsSync(join(sb.root, 'images', sub)) ? readdirSync(join(sb.root, 'images', sub)).filter((n) => !n.endsWith('.lock')) : []);
    expect([...scratch('tmp'), ...scratch('ingest')]).toEqual([]);
  });

  it('a pull that fails once its stream began ends the 200 with Docker\'s error line, and stores nothing of it', async () => {
    const layer = join(dir, 'unique-layer');
    mkdirSync(layer, { recursive: true });
    writeFileSync(join(layer, 'only-here.txt'), `${Math.random()}\n`.repeat(2000));
    const img = buildImage(join(dir, 'unique-layout'), { layers: [layer], config: { Cmd: ['sh'] } });
    await pushImage(img.layoutDir, reg, 'broken/img:1');
    corruptBlob(reg, img.layers[0].digest);
    const before = index();
    const r = await svc.fetch('POST', `/v1.41/images/create?fromImage=${encodeURIComponent(`${reg.host}/broken/img`)}&tag=1`);
    expect(r.status).toBe(200);
    const messages = lines(r.body).map((l) => JSON.parse(l));
    expect(messages[0]).toEqual({ status: 'Pulling from broken/img', id: '1' });
    const last = messages.at(-1);
    expect(last.error).toBeTruthy();
    expect(last.errorDetail.message).toBe(last.error);
    const cli = await docker(['pull', `${reg.host}/broken/img:1`]);
    expect(cli.exitCode).toBe(1);
    expect(cli.stdout).toContain('1: Pulling from broken/img');
    expect(cli.stderr).toContain(last.error);
    expect(index()).toBe(before);
    expect(existsSync(join(sb.root, 'images/blobs/sha256', img.layers[0].digest.slice(7)))).toBe(false);
    expect(existsSync(join(sb.root, 'images/layers', img.layers[0].diffId.slice(7)))).toBe(false);
  });

  it('docker tag and push to the registry, rmi, then pull it back with the same id; a second push finds the layers there', async () => {
    const ref = `${reg.host}/team/bb:1`;
    const tag = await docker(['tag', 'localhost/busybox:latest', ref]);
    expect(tag.exitCode, tag.stderr).toBe(0);
    const push = await docker(['push', ref]);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stdout).toContain(`The push refers to repository [${ref.replace(/:1$/, '')}]`);
    expect(push.stdout).toMatch(/: Pushed$/m);
    const m = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(push.stdout);
    expect(m, push.stdout).not.toBeNull();

    const rmi = await docker(['rmi', ref]);
    expect(rmi.exitCode, rmi.stderr).toBe(0);
    expect(rmi.stdout).toContain(`Untagged: ${ref}`);
    const pull = await docker(['pull', ref]);
    expect(pull.exitCode, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${m![1]}`);
    expect((await inspect(ref)).Id).toBe(busyboxId);

    const again = await docker(['push', ref]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/: Layer already exists$/m);
    expect(again.stdout).not.toMatch(/: Pushed$/m);
    // The raw stream ends with the aux the SDKs read the digest from.
    const raw = await svc.fetch('POST', `/v1.41/images/${ref.replace(/:1$/, '')}/push?tag=1`);
    expect(raw.status).toBe(200);
    const messages = lines(raw.body).map((l) => JSON.parse(l));
    expect(messages[0]).toEqual({ status: `The push refers to repository [${ref.replace(/:1$/, '')}]` });
    expect(messages.at(-1)).toEqual({ progressDetail: {}, aux: { Tag: '1', Digest: m![1], Size: Number(m![2]) } });
    // A name that is not here fails in the stream, as Docker's does.
    const none = await svc.fetch('POST', `/v1.41/images/${reg.host}/team/none/push?tag=1`);
    expect(none.status).toBe(200);
    expect(JSON.parse(lines(none.body).at(-1)!).error).toBe(`An image does not exist locally with the tag: ${reg.host}/team/none`);
  });

  it('docker build with the classic builder\'s output; the image runs what the Dockerfile says; -q prints only the id', async () => {
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'msg.txt'), 'copied file\n');
    writeFileSync(join(ctx, 'Dockerfile'), [
      'FROM localhost/busybox',
      'ARG GREETING=hello',
      'ENV WHO=world',
      'COPY msg.txt /msg.txt',
      'RUN echo "$GREETING from run" > /run.txt && echo building-now',
      'CMD ["sh", "-c", "cat /msg.txt /run.txt; echo $WHO"]',
      '',
    ].join('\n'));
    const r = await docker(['build', '-t', 'built:1', '--build-arg', 'GREETING=hi', '--label', 'made-by=api-test', ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Step 1/5 : FROM localhost/busybox');
    expect(r.stdout).toContain('Step 4/5 : RUN echo "$GREETING from run" > /run.txt && echo building-now');
    expect(r.stdout).toMatch(/^building-now$/m);
    const built = /^Successfully built ([0-9a-f]{12})$/m.exec(r.stdout);
    expect(built, r.stdout).not.toBeNull();
    expect(r.stdout).toContain('Successfully tagged built:1');
    const doc = await inspect('built:1');
    expect(doc.Id.slice(7, 19)).toBe(built![1]);
    expect(doc.Config.Labels).toEqual({ 'made-by': 'api-test' });
    expect(doc.Config.Env).toContain('WHO=world');

    const run = await runImage('built:1');
    expect(run.stdout).toBe('copied file\nhi from run\nworld');
    expect(run.exitCode, run.stderr).toBe(0);

    const quiet = await docker(['build', '-q', '-t', 'built:1', '--build-arg', 'GREETING=hi', '--label', 'made-by=api-test', ctx]);
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.stdout.trim()).toBe(doc.Id);

    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'built:1']);
    expect(history.exitCode, history.stderr).toBe(0);
    expect(lines(history.stdout)[0]).toContain('CMD ["sh", "-c", "cat /msg.txt /run.txt; echo $WHO"]');
    expect(history.stdout).toContain('COPY msg.txt /msg.txt');
  });

  it('a broken Dockerfile and a failing RUN are errors with Docker\'s exit codes, leaving no context, container or image', async () => {
    const before = index();
    const bad = join(dir, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'Dockerfile'), 'FROM localhost/busybox\nFOO bar\n');
    const r = await docker(['build', '-t', 'broken:1', bad]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/unknown instruction: FOO/i);

    writeFileSync(join(bad, 'Dockerfile'), 'FROM localhost/busybox\nRUN echo about-to-fail && exit 3\n');
    const f = await docker(['build', '-t', 'broken:1', bad]);
    expect(f.stdout).toContain('about-to-fail');
    expect(f.stderr).toContain('exit code: 3');
    expect(f.exitCode).toBe(3);

    expect(index()).toBe(before);
    expect(readdirSync(join(sb.root, 'build', 'work'))).toEqual([]);
    const ps = await sb.tsrun(['ps', '-a', '-q']);
    expect(ps.stdout).toBe('');
  });

  it('malformed build options are 400s naming the option, before the context is read', async () => {
    const args = await svc.fetch('POST', `/v1.41/build?buildargs=${encodeURIComponent('{"A":')}`, '');
    expect(args.status).toBe(400);
    expect(args.json().message).toContain('buildargs');
    const notStrings = await svc.fetch('POST', `/v1.41/build?labels=${encodeURIComponent('{"A":1}')}`, '');
    expect(notStrings.status).toBe(400);
    const tag = await svc.fetch('POST', '/v1.41/build?t=Bad%20Tag', '');
    expect(tag.status).toBe(400);
    expect(tag.json().message).toMatch(/invalid reference format/);
    expect(readdirSync(join(sb.root, 'build', 'work'))).toEqual([]);
  });

  it('the Dockerfile of a context tar is looked up inside it: a path or symlink leading out finds nothing', async () => {
    const ctx = join(dir, 'escape');
    mkdirSync(ctx, { recursive: true });
    symlinkSync('/etc/passwd', join(ctx, 'Dockerfile'));
    const tar = execFileSync('tar', ['-c', '-C', ctx, '.']);
    for (const query of ['', '?dockerfile=..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd']) {
      const r = await post(`/v1.41/build${query}`, tar, { 'Content-Type': 'application/x-tar' });
      expect(r.status).toBe(400);
      expect(r.body).toMatch(/Dockerfile|etc\/passwd/);
      expect(r.body).not.toContain('root:');
    }
    // The same tar with a real Dockerfile: the classic builder's stream, with the aux the SDKs read the id from.
    rmSync(join(ctx, 'Dockerfile'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM localhost/busybox\nLABEL raw=1\n');
    const ok = await post('/v1.41/build?t=raw%3A1', execFileSync('tar', ['-c', '-C', ctx, '.']), { 'Content-Type': 'application/x-tar' });
    expect(ok.status).toBe(200);
    const messages = lines(ok.body).map((l) => JSON.parse(l));
    const id = (await inspect('raw:1')).Id;
    expect(messages).toEqual([
      { stream: 'Step 1/2 : FROM localhost/busybox\n' },
      { stream: 'Step 2/2 : LABEL raw=1\n' },
      { aux: { ID: id } },
      { stream: `Successfully built ${id.slice(7, 19)}\n` },
      { stream: 'Successfully tagged raw:1\n' },
    ]);
    expect(readdirSync(join(sb.root, 'build', 'work'))).toEqual([]);
  });

  it('rmi refuses an image a container uses (409), and removes it once the container is gone', async () => {
    const c = await sb.tsrun(['create', '--name', 'user-of-built', 'built:1']);
    expect(c.exitCode, c.stderr).toBe(0);
    const refused = await docker(['rmi', 'built:1']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^Error response from daemon: conflict: unable to remove built:1/m);
    const http = await svc.fetch('DELETE', '/v1.41/images/built:1');
    expect(http.status).toBe(409);
    expect((await sb.tsrun(['rm', 'user-of-built'])).exitCode).toBe(0);
    // Still there after the refusals: save it before it goes.
    const save = await execa('sh', ['-c', `${DOCKER} save built:1 > ${join(dir, 'built.tar')}`], { env: svc.env, reject: false });
    expect(save.exitCode, save.stderr).toBe(0);
    const id = (await inspect('built:1')).Id;
    const rmi = await docker(['rmi', 'built:1']);
    expect(rmi.exitCode, rmi.stderr).toBe(0);
    expect(lines(rmi.stdout)).toEqual(['Untagged: built:1', `Deleted: ${id}`]);
    expect((await docker(['image', 'inspect', 'built:1'])).exitCode).toBe(1);
  });

  it('docker save | docker load brings an image back under its name and id', async () => {
    const id = (await inspect('localhost/busybox:latest')).Id;
    const load = await docker(['load', '-i', join(dir, 'built.tar')]);
    expect(load.exitCode, load.stderr).toBe(0);
    expect(load.stdout).toContain('Loaded image: built:1');
    expect((await runImage('built:1')).stdout).toBe('copied file\nhi from run\nworld');

    const piped = await execa('sh', ['-c', `${DOCKER} save localhost/busybox:latest | ${DOCKER} load`], { env: svc.env, reject: false });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(piped.stdout).toContain('Loaded image: localhost/busybox:latest');
    expect((await inspect('localhost/busybox:latest')).Id).toBe(id);
    // docker-py's image.save() asks for one image by name in the path.
    const one = await svc.fetch('GET', '/v1.41/images/localhost/busybox:latest/get');
    expect(one.status).toBe(200);
    expect(one.headers['content-type']).toBe('application/x-tar');
    expect(one.body).toContain('manifest.json');
    expect(one.body).toContain('"localhost/busybox:latest"');
    const missing = await svc.fetch('GET', '/v1.41/images/get?names=nothere:1');
    expect(missing.status).toBe(404);
    const garbage = await docker(['load'], { input: 'not a tar archive at all' });
    expect(garbage.exitCode).toBe(1);
  });

  it('docker import makes a nameless image; image prune -f removes it and reports what it freed', async () => {
    const imp = await docker(['import', '-'], { input: fixtureTar(busybox()) });
    expect(imp.exitCode, imp.stderr).toBe(0);
    const id = imp.stdout.trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const dangling = await svc.fetch('GET', `/v1.41/images/json?filters=${encodeURIComponent('{"dangling":["true"]}')}`);
    expect(dangling.status).toBe(200);
    expect(dangling.json()).toEqual([expect.objectContaining({ Id: id, RepoTags: ['<none>:<none>'], RepoDigests: ['<none>@<none>'], Containers: -1, SharedSize: -1, ParentId: '' })]);
    const prune = await docker(['image', 'prune', '-f']);
    expect(prune.exitCode, prune.stderr).toBe(0);
    expect(prune.stdout).toContain(`deleted: ${id}`);
    expect(prune.stdout).toMatch(/^Total reclaimed space: /m);
    expect((await docker(['image', 'inspect', id])).exitCode).toBe(1);
    expect((await docker(['images', '-q', '--filter', 'dangling=true'])).stdout).toBe('');
  });

  it('docker commit makes an image of a container\'s changes; a Config body is merged into it', async () => {
    const run = await sb.tsrun(['run', '--name', 'to-commit', 'localhost/busybox', 'sh', '-c', 'echo committed-content > /committed']);
    expect(run.exitCode, run.stderr).toBe(0);
    const c = await docker(['commit', '-c', 'CMD ["cat", "/committed"]', '-m', 'via the API', 'to-commit', 'committed:1']);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await runImage('committed:1')).stdout).toBe('committed-content');
    expect((await inspect('committed:1')).Comment).toBe('via the API');

    const body = { Env: ['ADDED=1'], Labels: { from: 'body' }, Cmd: null };
    const r = await svc.fetch('POST', '/v1.41/commit?container=to-commit&repo=committed&tag=2&changes=EXPOSE%208080', body);
    expect(r.status, r.body).toBe(201);
    const doc = await inspect('committed:2');
    expect(doc.Id).toBe(r.json().Id);
    expect(doc.Config.Env).toContain('ADDED=1');
    expect(doc.Config.Labels).toEqual({ from: 'body' });
    expect(Object.keys(doc.Config.ExposedPorts)).toEqual(['8080/tcp']);
    const badBody = await svc.fetch('POST', '/v1.41/commit?container=to-commit', { Env: 'A=1' });
    expect(badBody.status).toBe(400);
    const noContainer = await svc.fetch('POST', '/v1.41/commit?container=nothere');
    expect(noContainer.status).toBe(404);
    expect((await sb.tsrun(['rm', 'to-commit'])).exitCode).toBe(0);
  });

  it('docker login checks the credentials with the registry; push then uses what the CLI stored', async () => {
    const ref = `${locked.host}/private/bb:1`;
    expect((await docker(['tag', 'localhost/busybox:latest', ref])).exitCode).toBe(0);
    const anonymous = await docker(['push', ref]);
    expect(anonymous.exitCode).toBe(1);

    const wrong = await docker(['login', '-u', 'alice', '--password-stdin', locked.host], { input: 'not-it\n' });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(/Error response from daemon: .*incorrect username or password/);
    const bad = await svc.fetch('POST', '/v1.41/auth', { username: 'alice', password: 'nope', serveraddress: locked.host });
    expect(bad.status).toBe(401);

    const login = await docker(['login', '-u', 'alice', '--password-stdin', locked.host], { input: 'wonderland\n' });
    expect(login.exitCode, login.stderr).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
    // The CLI keeps the credentials; the service stored none of its own.
    const stored = JSON.parse(readFileSync(join(svc.env.DOCKER_CONFIG, 'config.json'), 'utf8'));
    expect(Object.keys(stored.auths)).toContain(locked.host);

    const push = await docker(['push', ref]);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    // Pulled back with them too (and refused without).
    expect((await docker(['rmi', ref])).exitCode).toBe(0);
    const noAuth = await svc.fetch('POST', `/v1.41/images/create?fromImage=${encodeURIComponent(`${locked.host}/private/bb`)}&tag=1`);
    expect(noAuth.status).not.toBe(200);
    const pull = await docker(['pull', ref]);
    expect(pull.exitCode, pull.stderr).toBe(0);
    // A build's FROM pulls with the credentials the CLI sends in X-Registry-Config.
    const ctx = join(dir, 'from-locked');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${ref}\nCMD ["echo", "from the locked registry"]\n`);
    const build = await docker(['build', '--pull', '-t', 'from-locked:1', ctx]);
    expect(build.exitCode, build.stderr).toBe(0);
    expect(build.stdout).toContain('Successfully tagged from-locked:1');
    expect((await runImage('from-locked:1')).stdout).toBe('from the locked registry');
  });

  it('answers search with 501 and a reason; list filters are checked', async () => {
    const search = await svc.fetch('GET', '/v1.41/images/search?term=busybox');
    expect(search.status).toBe(501);
    expect(search.json().message).toMatch(/search/);
    const badFilter = await svc.fetch('GET', `/v1.41/images/json?filters=${encodeURIComponent('{"nope":["x"]}')}`);
    expect(badFilter.status).toBe(400);
    expect(badFilter.json().message).toBe("invalid filter 'nope'");
    const byRef = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=committed:*']);
    expect(lines(byRef.stdout).sort()).toEqual(['committed:1', 'committed:2']);
  });

  it('docker builder prune empties the build cache: the next build runs its RUN again', async () => {
    const build = () => docker(['build', '-t', 'built:1', '--build-arg', 'GREETING=hi', '--label', 'made-by=api-test', join(dir, 'ctx')]);
    const cached = await build();
    expect(cached.exitCode, cached.stderr).toBe(0);
    expect(cached.stdout).toContain(' ---> Using cache');
    expect(cached.stdout).not.toMatch(/^building-now$/m);
    const prune = await docker(['builder', 'prune', '-f']);
    expect(prune.exitCode, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(/^Total reclaimed space: /m);
    const rebuilt = await build();
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toMatch(/^building-now$/m);
    expect(rebuilt.stdout).not.toContain('Using cache');
  });
});
