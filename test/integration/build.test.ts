// `tsrun build` end to end through the CLI, as a Docker user drives it:
// Dockerfiles over the busybox image, the cache, multi-stage graphs,
// .dockerignore, heredocs, RUN mounts, ADD's archives and URLs, ownership
// and links, deletions, stdin contexts, ONBUILD, and bad input that tags
// nothing and leaves nothing behind (also after a SIGKILL).
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busybox, cli, integrationSkipReason, sandbox, fixtureTar } from '../helpers/tsrun.js';

const skip = integrationSkipReason('build');

describe.skipIf(skip)('tsrun build', () => {
  const sb = sandbox();
  let dir: string;
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-build-'));
    const tar = fixtureTar(busybox(), ['--exclude=./.tsrun-fixture']);
    const imp = await sb.tsrun(['import', '-c', 'CMD ["sh"]', '-', 'localhost/busybox:latest'], { input: tar });
    expect(imp.exitCode, imp.stderr).toBe(0);
    server = createServer((req, res) => {
      if (req.url === '/file.txt') {
        res.setHeader('last-modified', 'Wed, 01 Jan 2025 00:00:00 GMT');
        res.end('downloaded\n');
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  }, 120_000);
  afterAll(() => {
    server?.close();
    sb.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh context directory with these files (a string is a file's content). */
  function context(name: string, files: Record<string, string>): string {
    const ctx = join(dir, name);
    rmSync(ctx, { recursive: true, force: true });
    mkdirSync(ctx, { recursive: true });
    for (const [p, content] of Object.entries(files)) {
      mkdirSync(join(ctx, p, '..'), { recursive: true });
      writeFileSync(join(ctx, p), content);
    }
    return ctx;
  }
  const build = (args: string[], opts = {}) => sb.tsrun(['build', '--progress', 'plain', ...args], opts);
  const runOut = async (image: string, script: string) => {
    const r = await sb.tsrun(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c', script], { stripFinalNewline: false });
    expect(r.stderr).toBe('');
    return r.stdout;
  };
  const inspect = async (image: string) => JSON.parse((await sb.tsrun(['image', 'inspect', image])).stdout)[0];
  const buildContainers = () => {
    try {
      return readdirSync(join(sb.root, 'containers')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return [];
    }
  };
  const buildOverlays = () => {
    try {
      return readdirSync(join(sb.root, 'overlay')).filter((n) => n.startsWith('build-'));
    } catch {
      return [];
    }
  };
  const mountsUnderRoot = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(sb.root));

  it('builds an image whose config and files follow the Dockerfile', async () => {
    const ctx = context('basic', {
      Dockerfile: [
        'FROM localhost/busybox',
        'ARG GREETING=hello',
        'ENV APP=/app NAME="tsrun build"',
        'WORKDIR $APP',
        'COPY hello.txt ./',
        'RUN echo "$GREETING from RUN" > made.txt && rm /bin/vi',
        'LABEL org.example.name="demo app" version=1',
        'EXPOSE 8080 53/udp',
        'VOLUME /data',
        'STOPSIGNAL SIGINT',
        'USER 1000:1000',
        'ENTRYPOINT ["sh", "-c"]',
        'CMD ["cat made.txt hello.txt; id -u"]',
      ].join('\n'),
      'hello.txt': 'hello file\n',
    });
    const r = await build(['-t', 'demo:1', ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/#\d+ \[stage-0 6\/13\] RUN echo/);
    const img = await inspect('demo:1');
    const c = img.Config;
    expect(c.Env).toEqual(expect.arrayContaining(['APP=/app', 'NAME=tsrun build']));
    expect(c.Env.some((e: string) => e.startsWith('GREETING'))).toBe(false);
    expect(c.WorkingDir).toBe('/app');
    expect(c.Labels).toEqual({ 'org.example.name': 'demo app', version: '1' });
    expect(Object.keys(c.ExposedPorts).sort()).toEqual(['53/udp', '8080/tcp']);
    expect(Object.keys(c.Volumes)).toEqual(['/data']);
    expect(c.StopSignal).toBe('SIGINT');
    expect(c.User).toBe('1000:1000');
    expect(c.Entrypoint).toEqual(['sh', '-c']);
    expect(c.Cmd).toEqual(['cat made.txt hello.txt; id -u']);
    const run = await sb.tsrun(['run', '--rm', '--network', 'none', 'demo:1'], { stripFinalNewline: false });
    expect(run.stdout).toBe('hello from RUN\nhello file\n1000\n');
    // The deleted file is gone from the image (a whiteout in the RUN layer).
    expect(await runOut('demo:1', 'test -e /bin/vi && echo present || echo gone')).toBe('gone\n');
    const history = (await sb.tsrun(['history', '--no-trunc', 'demo:1'])).stdout;
    expect(history).toContain('RUN /bin/sh -c echo "$GREETING from RUN"');
  });

  it('an unchanged rebuild is all CACHED with the same id; a changed file rebuilds from its COPY on', async () => {
    const ctx = context('cache', {
      Dockerfile: 'FROM localhost/busybox\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\nCOPY b.txt /b.txt\n',
      'a.txt': 'A1\n',
      'b.txt': 'B\n',
    });
    const first = await build(['-q', ctx]);
    expect(first.exitCode, first.stderr).toBe(0);
    const id = first.stdout.trim();
    const again = await build([ctx]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr.match(/CACHED/g)?.length).toBe(4);
    expect(again.stderr).not.toMatch(/#\d+ \d+\.\d+ /); // no RUN output: nothing ran
    const second = await build(['-q', ctx]);
    expect(second.stdout.trim()).toBe(id);
    writeFileSync(join(ctx, 'a.txt'), 'A2\n');
    const changed = await build([ctx]);
    expect(changed.exitCode, changed.stderr).toBe(0);
    const steps = changed.stderr.split('\n');
    const cachedSteps = steps.filter((l) => /CACHED/.test(l)).map((l) => l.split(' ')[0]);
    const stepOf = (text: string) => steps.find((l) => l.includes(text))!.split(' ')[0];
    expect(cachedSteps).toEqual([stepOf('RUN echo one')]);
    const changedId = (await build(['-q', ctx])).stdout.trim();
    expect(changedId).not.toBe(id);
    expect(await runOut(changedId, 'cat /copy /b.txt')).toBe('A2\nB\n');
    // Touching a file without changing it still hits the cache (content, not mtime).
    execFileSync('touch', ['-d', '2001-01-01', join(ctx, 'b.txt')]);
    expect((await build(['-q', ctx])).stdout.trim()).toBe(changedId);
    // --no-cache runs everything again.
    const nocache = await build(['--no-cache', ctx]);
    expect(nocache.stderr).not.toContain('CACHED');
  });

  it('multi-stage: only what the target needs is built; a late build arg invalidates only its stage', async () => {
    const ctx = context('stages', {
      Dockerfile: [
        'ARG BASE=localhost/busybox',
        'FROM $BASE AS builder',
        'RUN echo built > /artifact',
        'FROM localhost/busybox AS broken',
        'RUN exit 3',
        'FROM ${BASE} AS final',
        'ARG FLAVOUR=plain',
        'COPY --from=builder /artifact /artifact',
        'RUN echo "$FLAVOUR" > /flavour',
      ].join('\n'),
    });
    const r = await build(['-t', 'stages:1', ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('exit 3');
    expect(await runOut('stages:1', 'cat /artifact /flavour')).toBe('built\nplain\n');
    const arg = await build(['--build-arg', 'FLAVOUR=spicy', '-t', 'stages:2', ctx]);
    expect(arg.exitCode, arg.stderr).toBe(0);
    const lines = arg.stderr.split('\n');
    const stepOf = (text: string) => lines.find((l) => l.includes(text))!.split(' ')[0];
    expect(lines).toContain(`${stepOf('RUN echo built')} CACHED`);
    expect(lines).toContain(`${stepOf('COPY --from=builder')} CACHED`);
    expect(lines).not.toContain(`${stepOf('RUN echo "$FLAVOUR"')} CACHED`);
    expect(await runOut('stages:2', 'cat /flavour')).toBe('spicy\n');
    const target = await build(['--target', 'builder', '-t', 'stages:builder', ctx]);
    expect(target.exitCode, target.stderr).toBe(0);
    expect(await runOut('stages:builder', 'cat /artifact; test -e /flavour || echo no-flavour')).toBe('built\nno-flavour\n');
  });

  it('a writable bind mount of another stage writes to its own view: later steps never see it', async () => {
    const ctx = context('rw-stage-bind', {
      Dockerfile: [
        'FROM localhost/busybox AS builder',
        'RUN echo built > /artifact',
        'FROM localhost/busybox',
        'RUN --mount=type=bind,from=builder,rw,target=/b echo scribbled > /b/scribble && echo changed > /b/artifact',
        'RUN --mount=type=bind,from=builder,target=/b cat /b/artifact > /seen && (test -e /b/scribble && echo leaked || echo clean) >> /seen',
        'COPY --from=builder /artifact /copied',
      ].join('\n'),
    });
    const r = await build(['--network', 'none', '-t', 'rwbind:1', ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await runOut('rwbind:1', 'cat /seen /copied')).toBe('built\nclean\nbuilt\n');
  });

  it('.dockerignore and <Dockerfile>.dockerignore decide what COPY sees', async () => {
    const ctx = context('ignore', {
      Dockerfile: 'FROM localhost/busybox\nCOPY . /ctx/\nRUN cd /ctx && find . -type f | sort\n',
      '.dockerignore': '# comment\n*.log\nsecret/\n!keep.log\n**/tmp\n',
      'a.log': 'x',
      'keep.log': 'k',
      'secret/key': 's',
      'src/main.c': 'm',
      'src/deep/tmp': 't',
    });
    const r = await build(['-t', 'ign:1', ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await runOut('ign:1', 'cd /ctx && find . -type f | sort')).toBe('./.dockerignore\n./Dockerfile\n./keep.log\n./src/main.c\n');
    mkdirSync(join(ctx, 'df'));
    writeFileSync(join(ctx, 'df/Special'), 'FROM localhost/busybox\nCOPY . /ctx/\n');
    writeFileSync(join(ctx, 'df/Special.dockerignore'), 'src\n');
    const s = await build(['-f', join(ctx, 'df/Special'), '-t', 'ign:2', ctx]);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(await runOut('ign:2', 'test -e /ctx/src && echo src || echo no-src; test -e /ctx/a.log && echo log')).toBe('no-src\nlog\n');
  });

  it('heredocs, SHELL, ONBUILD, COPY --chown/--chmod, links and a symlinked destination', async () => {
    const ctx = context('features', {
      Dockerfile: [
        'FROM localhost/busybox',
        'RUN <<EOF',
        'echo first > /h1',
        'echo second >> /h1',
        'EOF',
        'RUN cat <<A > /h2 && cat <<-B >> /h2',
        'alpha $HOME',
        'A',
        '\tbeta',
        '\tB',
        'COPY <<EOF /etc/greeting',
        'hi from a heredoc',
        'EOF',
        "RUN echo grp:x:2000: >> /etc/group && echo usr:x:2000:2000::/home/usr:/bin/sh >> /etc/passwd && ln -s /srv/real /linked && mkdir -p /srv/real && ln -s ../../../../etc /escape",
        'COPY --chown=usr:grp --chmod=0750 tree/ /linked/',
        'COPY --chown=1234 tree/f /numeric',
        'COPY tree/f /escape/',
        'SHELL ["/bin/sh", "-ec"]',
        'RUN echo shell-ok > /shell',
        'ONBUILD RUN echo triggered > /onbuild',
      ].join('\n'),
      'tree/f': 'file\n',
      'tree/sub/g': 'g\n',
    });
    symlinkSync('f', join(ctx, 'tree/link'));
    linkSync(join(ctx, 'tree/f'), join(ctx, 'tree/hard'));
    const r = await build(['-t', 'feat:1', ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await runOut('feat:1', 'cat /h1 /h2 /etc/greeting /shell')).toBe('first\nsecond\nalpha /root\nbeta\nhi from a heredoc\nshell-ok\n');
    const ls = await runOut('feat:1', [
      'cd /srv/real',
      'stat -c "%n %u %g %a" f sub sub/g',
      'readlink link',
      'test "$(stat -c %i f)" = "$(stat -c %i hard)" && echo hardlinked',
      'stat -c "%u %g" /numeric',
      'cat /etc/f',
    ].join('; '));
    expect(ls).toBe('f 2000 2000 750\nsub 2000 2000 750\nsub/g 2000 2000 750\nf\nhardlinked\n1234 1234\nfile\n');
    const cfg = (await inspect('feat:1')).Config;
    expect(cfg.Shell).toEqual(['/bin/sh', '-ec']);
    expect(cfg.OnBuild).toEqual(['RUN echo triggered > /onbuild']);
    const child = context('onbuild-child', { Dockerfile: 'FROM feat:1\nRUN cat /onbuild\n' });
    const c = await build(['-t', 'feat:child', child]);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(await runOut('feat:child', 'cat /onbuild')).toBe('triggered\n');
    expect((await inspect('feat:child')).Config.OnBuild ?? null).toBeNull();
  });

  it('RUN --mount cache, secret and bind; ADD unpacks archives and downloads URLs', async () => {
    const ctx = context('mounts', {
      Dockerfile: [
        'FROM localhost/busybox',
        'RUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /count',
        'RUN --mount=type=secret,id=token cat /run/secrets/token > /seen-secret-length && test ! -e /run/secrets/token-left',
        'RUN --mount=type=bind,source=data,target=/mnt cat /mnt/d > /bound',
        'RUN --mount=type=bind,rw,target=/ctx rm /ctx/data/d && ls /ctx > /listed',
        'ADD arch.tar.gz /unpacked/',
        'ADD plain.tar /plain/',
        `ADD --checksum=sha256:${createHash('sha256').update('downloaded\n').digest('hex')} http://127.0.0.1:${port}/file.txt /downloads/`,
        'ADD notarchive.gz /raw/',
      ].join('\n'),
      'data/d': 'bound data\n',
      'notarchive.gz': 'not really gzip\n',
      'private.key': 'ignored\n',
      '.dockerignore': 'private.key\n',
    });
    mkdirSync(join(ctx, 'arch/inner'), { recursive: true });
    writeFileSync(join(ctx, 'arch/inner/x'), 'from tar.gz\n');
    execFileSync('tar', ['-C', join(ctx, 'arch'), '-czf', join(ctx, 'arch.tar.gz'), '.']);
    execFileSync('tar', ['-C', join(ctx, 'arch'), '-cf', join(ctx, 'plain.tar'), 'inner']);
    rmSync(join(ctx, 'arch'), { recursive: true });
    const secret = join(dir, 'token.txt');
    writeFileSync(secret, 's3cret\n');
    const r = await build(['--secret', `id=token,src=${secret}`, '-t', 'mnt:1', ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    // A writable bind of the context writes to a copy; .dockerignore applies to it.
    expect(readFileSync(join(ctx, 'data/d'), 'utf8')).toBe('bound data\n');
    expect(await runOut('mnt:1', 'cat /listed')).not.toContain('private.key');
    expect(await runOut('mnt:1', 'cat /listed')).toContain('notarchive.gz');
    expect(await runOut('mnt:1', 'cat /count /seen-secret-length /bound /unpacked/inner/x /plain/inner/x /downloads/file.txt /raw/notarchive.gz; ls /run/secrets 2>/dev/null | wc -l; ls /cache 2>/dev/null | wc -l'))
      .toBe('1\ns3cret\nbound data\nfrom tar.gz\nfrom tar.gz\ndownloaded\nnot really gzip\n0\n0\n');
    // The cache mount outlives the build; the secret never enters the image (only what the RUN wrote did).
    const again = await build(['--no-cache', '--secret', `id=token,src=${secret}`, '-t', 'mnt:2', ctx]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await runOut('mnt:2', 'cat /count')).toBe('2\n');
    const bad = context('bad-url', { Dockerfile: 'FROM localhost/busybox\nADD http://127.0.0.1:1/nothing.txt /x\n' });
    const u = await build(['-t', 'badurl:1', bad]);
    expect(u.exitCode).toBe(1);
    expect(u.stderr).toMatch(/Dockerfile:2: .*failed to download http:\/\/127\.0\.0\.1:1\/nothing\.txt/);
    const sum = context('bad-sum', { Dockerfile: `FROM localhost/busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/file.txt /x\n` });
    const s = await build([sum]);
    expect(s.exitCode).toBe(1);
    expect(s.stderr).toContain('checksum mismatch');
  });

  it('a cache mount with sharing=locked is held by one RUN at a time, also across parallel stages', async () => {
    const run = 'RUN --mount=type=cache,id=shared-cache,sharing=locked,target=/c test ! -e /c/busy && touch /c/busy && sleep 1 && rm /c/busy && echo ran >> /c/log';
    const ctx = context('locked-cache', {
      Dockerfile: [
        'FROM localhost/busybox AS a', run, 'FROM localhost/busybox AS b', run,
        'FROM localhost/busybox', 'COPY --from=a /etc/passwd /a', 'COPY --from=b /etc/passwd /b',
        'RUN --mount=type=cache,id=shared-cache,target=/c cat /c/log > /log',
      ].join('\n'),
    });
    const r = await build(['--network', 'none', '-t', 'locked:1', ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await runOut('locked:1', 'wc -l < /log')).toBe('2\n');
  });

  it('takes the context as a tar on stdin, a bare Dockerfile on stdin, and -f -', async () => {
    const ctx = context('stdin', { Dockerfile: 'FROM localhost/busybox\nCOPY x /x\n', x: 'from tar\n' });
    const tar = execFileSync('tar', ['-C', ctx, '-cz', '.']);
    const t = await build(['-t', 'stdin:tar', '-'], { input: tar });
    expect(t.exitCode, t.stderr).toBe(0);
    expect(await runOut('stdin:tar', 'cat /x')).toBe('from tar\n');
    const bare = await build(['-t', 'stdin:bare', '-'], { input: 'FROM localhost/busybox\nRUN echo bare > /bare\n' });
    expect(bare.exitCode, bare.stderr).toBe(0);
    expect(await runOut('stdin:bare', 'cat /bare')).toBe('bare\n');
    const f = await build(['-f', '-', '-t', 'stdin:f', ctx], { input: 'FROM localhost/busybox\nCOPY x /y\n' });
    expect(f.exitCode, f.stderr).toBe(0);
    expect(await runOut('stdin:f', 'cat /y')).toBe('from tar\n');
  });

  describe('bad input: one clear line, exit 1, nothing tagged, nothing left behind', () => {
    const cases: Array<[string, Record<string, string>, RegExp, (ctx: string) => void]> = [
      ['an unknown instruction', { Dockerfile: 'FROM localhost/busybox\nRUN true\nFOO bar\n' }, /line 3: unknown instruction: FOO/i, () => {}],
      ['no FROM', { Dockerfile: '# nothing\n' }, /file with no instructions/, () => {}],
      ['COPY ../x', { Dockerfile: 'FROM localhost/busybox\nCOPY ../x /x\n' }, /Dockerfile:2: .*outside the build context/, () => {}],
      ['COPY through a symlink that points out', { Dockerfile: 'FROM localhost/busybox\nCOPY out/passwd /x\n' }, /Dockerfile:2: .*outside the build context/, (ctx) => symlinkSync('/etc', join(ctx, 'out'))],
      ['a failing RUN', { Dockerfile: 'FROM localhost/busybox\nRUN echo before > /f\nRUN exit 7\n' }, /Dockerfile:3: RUN exit 7: .*exit code: 7/, () => {}],
      ['FROM an image that does not exist', { Dockerfile: 'FROM localhost/nope:1\n' }, /Dockerfile:1: .*localhost\/nope/, () => {}],
      ['a source that is not there', { Dockerfile: 'FROM localhost/busybox\nCOPY missing.txt /x\n' }, /Dockerfile:2: .*missing\.txt.*not found/, () => {}],
    ];
    for (const [what, files, message, setup] of cases) {
      it(what, async () => {
        const ctx = context(`bad-${what.replace(/\W+/g, '-')}`, files);
        setup(ctx);
        const before = buildContainers();
        const r = await build(['-t', 'bad:1', ctx]);
        expect(r.exitCode).toBe(1);
        const errors = r.stderr.split('\n').filter((l) => l.startsWith('tsrun: '));
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatch(message);
        expect((await sb.tsrun(['images', '-q', 'bad:1'])).stdout).toBe('');
        expect(buildContainers()).toEqual(before);
        expect(mountsUnderRoot().filter((l) => l.includes('/overlay/build-'))).toEqual([]);
        expect(buildOverlays()).toEqual([]);
      });
    }
  });

  it('a full disk under --root fails the build with ENOSPC: one line, nothing tagged, no step left behind', async () => {
    const ctx = context('full-disk', { Dockerfile: 'FROM localhost/busybox\nRUN echo before > /before\nCOPY big /big\n' });
    writeFileSync(join(ctx, 'big'), randomBytes(40 << 20));
    // A 24 MiB tmpfs as --root, in a mount namespace of its own so the host's mount table never sees it.
    const script = `
      set -u
      mkdir -p "$ROOT" && mount -t tmpfs -o size=24m tsrun-buildfull "$ROOT" || exit 99
      T="node -- $CLI --root $ROOT --runroot $ROOT/run"
      tar -C "$BUSYBOX" --exclude=./.tsrun-fixture -c . | $T import - localhost/busybox >/dev/null || exit 98
      $T build --network none -t full:1 "$CTX" >/dev/null 2>"$ROOT/../stderr"
      echo "exit=$?"
      echo "tagged=$($T images -q full:1 | grep -c .)"
      echo "step-overlays=$(ls "$ROOT/overlay" | grep -c '^build-')"
      echo "containers=$(ls "$ROOT/containers" 2>/dev/null | grep -c .)"
      echo "work=$(ls -A "$ROOT/build/work" | grep -c .)"
      echo "layer-scratch=$(ls -A "$ROOT/images/tmp" 2>/dev/null | grep -v '\\.lock$' | grep -c .)"`;
    const base = join(dir, 'full-disk-root');
    mkdirSync(base, { recursive: true });
    const r = await execa('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
      env: { ROOT: join(base, 'root'), CLI: cli, CTX: ctx, BUSYBOX: busybox(), PATH: process.env.PATH },
      reject: false,
    });
    expect(r.stdout.split('\n'), r.stderr).toEqual(['exit=1', 'tagged=0', 'step-overlays=0', 'containers=0', 'work=0', 'layer-scratch=0']);
    const stderr = readFileSync(join(base, 'stderr'), 'utf8');
    expect(stderr.split('\n').filter((l) => l.startsWith('tsrun: '))).toEqual([expect.stringMatching(/^tsrun: Dockerfile:3: COPY big \/big: .*ENOSPC/)]);
  });

  it('a build killed with SIGKILL leaves nothing the next build does not clean', async () => {
    const ctx = context('killed', { Dockerfile: 'FROM localhost/busybox\nRUN echo started; sleep 60\n' });
    const child = spawn('node', ['--', cli, '--root', sb.root, '--runroot', sb.runroot, 'build', '--progress', 'plain', '--network', 'none', ctx], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`build did not start: ${err}`)), 60_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/#\d+ \d+\.\d+ started/.test(err)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The RUN container's own process dies with its owner; its record and overlay are still there.
    expect(buildOverlays().length).toBeGreaterThan(0);
    const next = await build(['-q', context('after-kill', { Dockerfile: 'FROM localhost/busybox\n' })]);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(buildOverlays()).toEqual([]);
    expect(mountsUnderRoot().filter((l) => l.includes('/overlay/build-'))).toEqual([]);
    const ps = await sb.tsrun(['ps', '-a']);
    expect(ps.stdout).not.toContain('tsrun-build-');
    expect(readdirSync(join(sb.root, 'build', 'work'))).toEqual([]);
  });

  it('builder prune drops the cache: the next build runs every step', async () => {
    const ctx = context('prune', { Dockerfile: 'FROM localhost/busybox\nRUN echo pruned > /p\n' });
    expect((await build(['-t', 'pruned:1', ctx])).exitCode).toBe(0);
    // The cache keeps its layers when no image names them any more.
    expect((await sb.tsrun(['rmi', 'pruned:1'])).exitCode).toBe(0);
    const cached = await build(['-t', 'pruned:1', ctx]);
    expect(cached.stderr).toContain('CACHED');
    expect(await runOut('pruned:1', 'cat /p')).toBe('pruned\n');
    expect((await sb.tsrun(['rmi', 'pruned:1'])).exitCode).toBe(0);
    const p = await sb.tsrun(['builder', 'prune', '-f']);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Total reclaimed space/);
    expect((await build([ctx])).stderr).not.toContain('CACHED');
  });
});

