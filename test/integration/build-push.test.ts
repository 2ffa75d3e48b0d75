// The loop Docker users live in, end to end against a real registry:
// build → push → rmi → pull → run gives the same output and the same
// digests; what tsrun builds and pushes, Podman pulls and runs; what Podman
// builds and pushes, tsrun pulls and runs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podmanBox, type PodmanBox } from '../helpers/podman-runc.js';
import { registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { busybox, integrationSkipReason, missingTools, sandbox, fixtureTar } from '../helpers/tsrun.js';

const skip = integrationSkipReason('build-push') || registryTestSkipReason('build-push');

describe.skipIf(skip)('build, push, pull, run', () => {
  const sb = sandbox();
  let reg: TestRegistry;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-build-push-'));
    reg = await startRegistry();
    const tar = fixtureTar(busybox(), ['--exclude=./.tsrun-fixture']);
    expect((await sb.tsrun(['import', '-c', 'CMD ["sh"]', '-', 'localhost/busybox:latest'], { input: tar })).exitCode).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    sb.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
    const ctx = join(dir, name);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    for (const [p, c] of Object.entries(files)) writeFileSync(join(ctx, p), c);
    return ctx;
  }
  const inspect = async (ref: string) => JSON.parse((await sb.tsrun(['image', 'inspect', ref])).stdout)[0];

  it('build, push, rmi, pull and run give the same output, id and layers', async () => {
    const ctx = context('app', 'FROM localhost/busybox\nCOPY msg /msg\nRUN rm /bin/vi && echo built >> /msg\nCMD ["cat", "/msg"]\n', { msg: 'hello\n' });
    const name = `${reg.host}/app/hello:1`;
    const b = await sb.tsrun(['build', '-q', '-t', name, ctx]);
    expect(b.exitCode, b.stderr).toBe(0);
    const before = await sb.tsrun(['run', '--rm', '--network', 'none', name]);
    expect(before.stdout).toBe('hello\nbuilt');
    const built = await inspect(name);
    const push = await sb.tsrun(['push', name]);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    expect((await sb.tsrun(['rmi', name])).exitCode).toBe(0);
    const pull = await sb.tsrun(['pull', name]);
    expect(pull.exitCode, pull.stderr).toBe(0);
    const pulled = await inspect(name);
    expect(pulled.Id).toBe(built.Id);
    expect(pulled.RootFS.Layers).toEqual(built.RootFS.Layers);
    const after = await sb.tsrun(['run', '--rm', '--network', 'none', name]);
    expect(after.stdout).toBe(before.stdout);
    expect((await sb.tsrun(['run', '--rm', '--network', 'none', name, 'sh', '-c', 'test -e /bin/vi || echo deleted'])).stdout).toBe('deleted');
  });

  describe('with Podman', () => {
    const missing = missingTools('build-push', ['podman', 'runc', 'conmon'], 'podman runc conmon');
    let box: PodmanBox;
    beforeAll(async () => {
      if (missing) return;
      box = podmanBox('tsrun-build-push-podman-');
      expect((await box.importTree(busybox(), 'localhost/busybox:latest')).exitCode).toBe(0);
    }, 120_000);
    afterAll(async () => box?.cleanup());

    it.skipIf(missing)('Podman pulls and runs what tsrun built and pushed', async () => {
      const ctx = context('to-podman', 'FROM localhost/busybox\nENV WHO=podman\nRUN echo "made by tsrun for $WHO" > /made\nENTRYPOINT ["cat"]\nCMD ["/made"]\n');
      const name = `${reg.host}/tsrun/made:1`;
      expect((await sb.tsrun(['build', '-q', '-t', name, ctx])).exitCode).toBe(0);
      expect((await sb.tsrun(['push', name])).exitCode).toBe(0);
      const pull = await box.podman(['pull', '-q', '--tls-verify=false', name]);
      expect(pull.exitCode, pull.stderr).toBe(0);
      const run = await box.podman(['run', '--rm', name]);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('made by tsrun for podman');
    });

    it.skipIf(missing)('tsrun pulls and runs what Podman built and pushed', async () => {
      const ctx = context('from-podman', 'FROM localhost/busybox\nRUN echo "made by podman" > /made && rm /bin/vi\nCMD ["cat", "/made"]\n');
      const name = `${reg.host}/podman/made:1`;
      const build = await box.podman(['build', '--format', 'docker', '--layers', '--network', 'none', '-t', name, ctx]);
      expect(build.exitCode, build.stderr).toBe(0);
      expect((await box.podman(['push', '--tls-verify=false', name])).exitCode).toBe(0);
      const pull = await sb.tsrun(['pull', name]);
      expect(pull.exitCode, pull.stderr).toBe(0);
      const run = await sb.tsrun(['run', '--rm', '--network', 'none', name]);
      expect(run.stdout).toBe('made by podman');
      expect((await sb.tsrun(['run', '--rm', '--network', 'none', name, 'sh', '-c', 'test -e /bin/vi || echo deleted'])).stdout).toBe('deleted');
    });
  });
});
