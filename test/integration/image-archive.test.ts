// save / load / import / export end to end through the CLI, and interop
// with a real Podman (runtime runc, its own --root/--runroot): archives
// Podman writes load into tsrun and run; archives tsrun writes load into
// Podman and run there. Broken archives fail with one clear line and leave
// the store as it was.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podmanBox, type PodmanBox } from '../helpers/podman-runc.js';
import { ALPINE, IMAGE_FIXTURE_DIR, fixtureAlpine, pushImage, type FixtureAlpine } from '../helpers/image-fixtures.js';
import { ALPINE_CHECK_SCRIPT, expectAlpineRun } from '../helpers/alpine-check.js';
import { podmanMissing } from '../helpers/oci-podman.js';
import { registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tarArchive, type TarWriterEntry } from '../helpers/tar-writer.js';
import { busybox, sandbox, type Sandbox, fixtureTar } from '../helpers/tsrun.js';

const skip = registryTestSkipReason('image-archive');
const noPodman = skip ? skip : podmanMissing() || (existsSync('/usr/sbin/runc') || existsSync('/usr/bin/runc') ? '' : 'runc is not installed');
if (!skip && noPodman) process.stderr.write(`[skip] image-archive podman interop: ${noPodman}\n`);

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Blobs, layers and the index of a root, for before/after comparisons. */
function storeState(sb: Sandbox): { blobs: string[]; layers: string[]; index: string } {
  const ls = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
  const index = join(sb.root, 'images/index.json');
  return {
    blobs: ls(join(sb.root, 'images/blobs/sha256')),
    layers: ls(join(sb.root, 'images/layers')),
    index: existsSync(index) ? readFileSync(index, 'utf8') : '',
  };
}

/** Scratch dirs load/import left in <root>/images/tmp (layer locks are the layer store's). */
function scratchLeft(sb: Sandbox): string[] {
  const d = join(sb.root, 'images/tmp');
  return existsSync(d) ? readdirSync(d).filter((n) => /^(?:load|import)-/.test(n)) : [];
}


/** A docker-archive (Docker < 25 layout) holding one image built from these layer tars. */
function dockerArchive(layers: Buffer[], opts: { diffIds?: string[]; gzipLayers?: boolean; tag?: string } = {}): Buffer {
  const diffIds = opts.diffIds ?? layers.map((l) => sha256(l));
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const cfgName = `${sha256(config).slice(7)}.json`;
  const entries: TarWriterEntry[] = [{ name: cfgName, body: config }];
  const names: string[] = [];
  layers.forEach((l, i) => {
    const n = `layer${i}/layer.tar`;
    entries.push({ name: `layer${i}/`, type: 'dir' }, { name: n, body: opts.gzipLayers ? gzipSync(l) : l });
    names.push(n);
  });
  entries.push({ name: 'manifest.json', body: JSON.stringify([{ Config: cfgName, RepoTags: [opts.tag ?? 'broken:latest'], Layers: names }]) });
  return tarArchive(entries);
}

describe.skipIf(skip)('save, load, import, export', () => {
  let reg: TestRegistry;
  let alpine: FixtureAlpine;
  let ref: string;
  let work: string;
  const sb = sandbox();
  const fresh: Sandbox[] = [];
  const newSandbox = () => {
    const s = sandbox();
    fresh.push(s);
    return s;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsrun-archive-'));
    reg = await startRegistry();
    alpine = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox());
    await pushImage(alpine.layoutDir, reg, 'library/alpine:latest');
    ref = `${reg.host}/library/alpine:latest`;
    const p = await sb.tsrun(['pull', '-q', ref]);
    expect(p.exitCode, p.stderr).toBe(0);
    expect((await sb.tsrun(['tag', ref, 'tsrun-test/alpine:v1'])).exitCode).toBe(0);
  }, 120_000);
  afterAll(async () => {
    for (const s of fresh) s.cleanup();
    sb.cleanup();
    await reg?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('save refuses a terminal and an unknown format', async () => {
    const bad = await sb.tsrun(['save', '--format', 'zip', '-o', join(work, 'x.tar'), ref]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/unsupported --format "zip"/);
    const missing = await sb.tsrun(['save', '-o', join(work, 'x.tar'), 'no-such-image:1']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('No such image: no-such-image:1');
    expect(existsSync(join(work, 'x.tar'))).toBe(false);
    // script(1) gives the CLI a pty for stdout.
    const tty = await execa('script', ['-qec', `node -- ${JSON.stringify(join(process.cwd(), 'bin/tsrun'))} --root ${sb.root} --runroot ${sb.runroot} save ${ref}`, '/dev/null'], { reject: false });
    expect(tty.stdout).toContain('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  });

  it('docker-archive: save → load into a fresh root keeps names, config and every layer, and the image runs', async () => {
    const file = join(work, 'alpine-docker.tar');
    const s = await sb.tsrun(['save', '-o', file, ref, 'tsrun-test/alpine:v1']);
    expect(s.stderr).toBe('');
    expect(s.exitCode).toBe(0);
    const list = execFileSync('tar', ['tf', file], { encoding: 'utf8' }).split('\n');
    expect(list).toEqual(expect.arrayContaining(['manifest.json', 'index.json', 'oci-layout', 'repositories']));
    // Docker's layers: uncompressed tars named by diffID.
    for (const l of alpine.layers) expect(list).toContain(`blobs/sha256/${l.diffId.slice(7)}`);
    const manifest = JSON.parse(execFileSync('tar', ['xOf', file, 'manifest.json'], { encoding: 'utf8' }));
    expect(manifest).toEqual([{
      Config: `blobs/sha256/${alpine.configDigest.slice(7)}`,
      RepoTags: [ref, 'tsrun-test/alpine:v1'],
      Layers: alpine.layers.map((l) => `blobs/sha256/${l.diffId.slice(7)}`),
    }]);

    const dst = newSandbox();
    const l = await dst.tsrun(['load', '-i', file]);
    expect(l.stderr).toBe('');
    expect(l.exitCode).toBe(0);
    expect(l.stdout.split('\n').sort()).toEqual([`Loaded image: ${ref}`, 'Loaded image: tsrun-test/alpine:v1']);
    expect((await dst.tsrun(['images', '-q', '--no-trunc'])).stdout.trim()).toBe(alpine.configDigest);
    const doc = JSON.parse((await dst.tsrun(['image', 'inspect', 'tsrun-test/alpine:v1'])).stdout)[0];
    expect(doc).toMatchObject({
      Id: alpine.configDigest,
      Config: { Cmd: ['sh'], WorkingDir: '/usr/share/tsrun', StopSignal: 'SIGINT', Labels: ALPINE.config.Labels },
      RootFS: { Type: 'layers', Layers: alpine.layers.map((x) => x.diffId) },
    });
    expectAlpineRun(await dst.tsrun(['run', '--rm', 'tsrun-test/alpine:v1', 'sh', '-c', ALPINE_CHECK_SCRIPT]));
    expect(scratchLeft(dst)).toEqual([]);

    // Loading again changes nothing; -q prints nothing.
    const before = storeState(dst);
    const again = await dst.tsrun(['load', '-q', '-i', file]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('');
    expect(storeState(dst).layers).toEqual(before.layers);
  });

  it('oci-archive: save → load keeps the manifest digest and compressed blobs; gzip\'d archives load from stdin', async () => {
    const file = join(work, 'alpine-oci.tar');
    expect((await sb.tsrun(['image', 'save', '--format', 'oci-archive', '-o', file, ref])).exitCode).toBe(0);
    const index = JSON.parse(execFileSync('tar', ['xOf', file, 'index.json'], { encoding: 'utf8' }));
    expect(index.manifests).toEqual([expect.objectContaining({
      digest: alpine.manifestDigest,
      annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': 'latest' },
    })]);
    const list = execFileSync('tar', ['tf', file], { encoding: 'utf8' }).split('\n');
    for (const l of alpine.layers) expect(list).toContain(`blobs/sha256/${l.digest.slice(7)}`);

    const dst = newSandbox();
    const l = await dst.tsrun(['load'], { input: gzipSync(readFileSync(file)) });
    expect(l.stderr).toBe('');
    expect(l.stdout).toBe(`Loaded image: ${ref}`);
    const rec = JSON.parse(readFileSync(join(dst.root, 'images/index.json'), 'utf8')).images[alpine.configDigest];
    expect(rec.manifestDigest).toBe(alpine.manifestDigest);
    expect(rec.layers.map((x: { digest: string }) => x.digest)).toEqual(alpine.layers.map((x) => x.digest));
    expectAlpineRun(await dst.tsrun(['run', '--rm', ref, 'sh', '-c', ALPINE_CHECK_SCRIPT]));
    // And back out as a docker-archive from the loaded copy.
    expect((await dst.tsrun(['save', '-o', join(work, 'again.tar'), ref])).exitCode).toBe(0);
  });

  it('save by id writes no names; load reports the id', async () => {
    const file = join(work, 'by-id.tar');
    expect((await sb.tsrun(['save', '-o', file, alpine.configDigest.slice(7, 19)])).exitCode).toBe(0);
    const dst = newSandbox();
    const l = await dst.tsrun(['load', '-i', file]);
    expect(l.stdout).toBe(`Loaded image ID: ${alpine.configDigest}`);
    expect((await dst.tsrun(['images', '-q', '--no-trunc'])).stdout.trim()).toBe(alpine.configDigest);
    // A layer blob gone from the content store (only the unpacked layer left): save says so and writes no file.
    // (loaded from a docker-archive, the stored blob is the uncompressed tar: digest = diffID)
    const blob = JSON.parse(readFileSync(join(dst.root, 'images/index.json'), 'utf8')).images[alpine.configDigest].layers[1].digest as string;
    expect(blob).toBe(alpine.layers[1].diffId);
    rmSync(join(dst.root, 'images/blobs/sha256', blob.slice(7)));
    const out = join(work, 'missing-blob.tar');
    const s = await dst.tsrun(['save', '-o', out, alpine.configDigest]);
    expect(s.exitCode).toBe(1);
    expect(s.stderr).toContain(`its layer blob ${blob} is not in the content store`);
    expect(readdirSync(work).filter((n) => n.startsWith('missing-blob'))).toEqual([]);
  });

  it('import: a rootfs tarball with --change becomes a runnable one-layer image', async () => {
    const tarball = fixtureTar(busybox(), ['--numeric-owner']);
    const dst = newSandbox();
    const r = await dst.tsrun(['import', '-c', 'CMD ["sh","-c","echo imported; echo A=$A"]', '-c', 'ENV A=b', '-c', 'WORKDIR /tmp', '-c', 'LABEL x=y "z z"=w',
      '-c', 'EXPOSE 8080/udp', '-m', 'from a test', '-', 'imported/busybox:1'], { input: gzipSync(tarball) });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const run = await dst.tsrun(['run', '--rm', 'imported/busybox:1']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('imported\nA=b');
    expect((await dst.tsrun(['run', '--rm', 'imported/busybox:1', 'pwd'])).stdout).toBe('/tmp');
    const doc = JSON.parse((await dst.tsrun(['image', 'inspect', 'imported/busybox:1'])).stdout)[0];
    expect(doc).toMatchObject({ Id: id, Config: { Labels: { x: 'y', 'z z': 'w' }, ExposedPorts: { '8080/udp': {} }, WorkingDir: '/tmp' } });
    expect(doc.RootFS.Layers).toEqual([sha256(tarball)]);
    const hist = await dst.tsrun(['history', '--no-trunc', 'imported/busybox:1']);
    expect(hist.stdout).toContain('from a test');
    // From a file, unnamed; a URL or a bad change is refused before reading.
    const file = join(work, 'rootfs.tar');
    writeFileSync(file, tarball);
    const f = await dst.tsrun(['import', file]);
    expect(f.exitCode).toBe(0);
    const url = await dst.tsrun(['import', 'http://127.0.0.1:1/rootfs.tar']);
    expect(url.exitCode).toBe(1);
    expect(url.stderr).toMatch(/importing from a URL .* is not supported/);
    const badChange = await dst.tsrun(['import', '-c', 'RUN echo x', file]);
    expect(badChange.exitCode).toBe(1);
    expect(badChange.stderr).toMatch(/RUN is not a valid change command/);
    expect(scratchLeft(dst)).toEqual([]);
  });

  it('export: the merged filesystem with the container\'s writes, no whiteouts, owners and links kept', async () => {
    const c = await sb.tsrun(['run', '--name', 'exp', ref, 'sh', '-c', 'echo written > /root/new.txt; rm /opt/data/new.txt; ln -s /x /root/sym']);
    expect(c.exitCode, c.stderr).toBe(0);
    const file = join(work, 'export.tar');
    const e = await sb.tsrun(['export', '-o', file, 'exp']);
    expect(e.stderr).toBe('');
    expect(e.exitCode).toBe(0);
    const verbose = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const names = execFileSync('tar', ['tf', file], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n');
    expect(names).toContain('root/new.txt');
    expect(names).toContain('bin/busybox');
    expect(names).toContain('usr/share/tsrun/hello.txt');
    expect(names).not.toContain('opt/data/new.txt');
    expect(names).not.toContain('etc/motd');
    expect(names.filter((n) => n.includes('.wh.'))).toEqual([]);
    expect(execFileSync('tar', ['xOf', file, 'root/new.txt'], { encoding: 'utf8' })).toBe('written\n');
    expect(verbose).toMatch(/^-rwsr-xr-x 0\/0 .* usr\/bin\/tsrun-suid$/m);
    expect(verbose).toMatch(/^-rw------- 1000\/1000 .* home\/tsuser\/owned.txt$/m);
    expect(verbose).toMatch(/^lrwxrwxrwx 0\/0 .* root\/sym -> \/x$/m);
    expect(verbose).toMatch(/^hrw-r--r-- 0\/0 .* usr\/share\/tsrun\/hard-b link to usr\/share\/tsrun\/hard-a$/m);
    // The export can be imported again and run.
    const imp = await sb.tsrun(['import', file, 'exported:1']);
    expect(imp.exitCode).toBe(0);
    expect((await sb.tsrun(['run', '--rm', 'exported:1', 'cat', '/root/new.txt'])).stdout).toBe('written');
    // Stdout works too (a pipe here).
    const piped = await sb.tsrun(['export', 'exp'], { encoding: 'buffer' });
    expect(piped.exitCode).toBe(0);
    expect((piped.stdout as unknown as Buffer).length).toBe(statSync(file).size);
    expect((await sb.tsrun(['rm', 'exp'])).exitCode).toBe(0);
  });

  it('export of a --rootfs container tars its root directory', async () => {
    const c = await sb.tsrun(['create', '--name', 'exp-rootfs', '--rootfs', busybox(), 'true']);
    expect(c.exitCode, c.stderr).toBe(0);
    const file = join(work, 'export-rootfs.tar');
    const e = await sb.tsrun(['export', '--output', file, 'exp-rootfs']);
    expect(e.stderr).toBe('');
    const names = execFileSync('tar', ['tf', file], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n');
    expect(names).toContain('bin/busybox');
    expect((await sb.tsrun(['rm', 'exp-rootfs'])).exitCode).toBe(0);
    expect((await sb.tsrun(['export', '-o', file, 'no-such-container'])).exitCode).toBe(1);
  });

  describe('broken archives fail clearly and change nothing', () => {
    const layer = tarArchive([{ name: 'etc/', type: 'dir' }, { name: 'etc/hello', body: 'hi\n' }]);
    const cases: Array<[string, () => Buffer, RegExp]> = [
      ['a truncated archive', () => {
        const whole = readFileSync(join(work, 'alpine-docker.tar'));
        return whole.subarray(0, Math.floor(whole.length / 2) + 7);
      }, /invalid archive: truncated tar archive/],
      ['a layer that does not match its diff_id', () => dockerArchive([layer], { diffIds: [sha256('something else')] }), /has diffID sha256:[0-9a-f]{64}, but the image config says/],
      ['a gzip\'d layer that does not match its diff_id', () => dockerArchive([layer], { diffIds: [sha256('something else')], gzipLayers: true }), /layer content has diffID .* but the image config says/],
      ['a layer that climbs out with ../../escape', () => dockerArchive([tarArchive([{ name: '../../escape', body: 'pwned' }])]), /leads outside the layer root/],
      ['a layer that is not a tar', () => dockerArchive([Buffer.alloc(1024, 7)], {}), /invalid tar archive/],
      ['an archive missing its layer', () => tarArchive([{ name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: ['l.tar'] }]) }, { name: 'c.json', body: JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256('x')] } }) }]), /the archive is missing layer l.tar/],
      ['a tar that is no image archive', () => tarArchive([{ name: 'hello.txt', body: 'hi' }]), /neither manifest.json .* nor index.json/],
    ];
    for (const [what, make, message] of cases) {
      it(what, async () => {
        const outside = ['escape', '../escape', '../../escape', '../../../escape'].map((p) => join(sb.root, 'images/tmp/x', p));
        const before = storeState(sb);
        const imagesBefore = (await sb.tsrun(['images', '-q', '--no-trunc'])).stdout;
        const r = await sb.tsrun(['load'], { input: make() });
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect((await sb.tsrun(['images', '-q', '--no-trunc'])).stdout).toBe(imagesBefore);
        expect(storeState(sb)).toEqual(before);
        expect(scratchLeft(sb)).toEqual([]);
        for (const p of outside) expect(existsSync(p), p).toBe(false);
        expect(existsSync('/escape')).toBe(false);
        expect(existsSync(join(tmpdir(), 'escape'))).toBe(false);
      });
    }
  });

  describe.skipIf(noPodman)('with Podman (runc)', () => {
    let pm: PodmanBox;
    beforeAll(async () => {
      pm = podmanBox('tsrun-archive-podman-');
      const tarball = fixtureTar(busybox());
      const r = await pm.podman(['import', '-c', 'CMD ["sh","-c","echo from podman"]', '-c', 'ENV P=1', '-', 'localhost/pbox:1'], { input: tarball });
      expect(r.exitCode, r.stderr).toBe(0);
    }, 120_000);
    afterAll(async () => {
      await pm?.cleanup();
    });

    for (const format of ['docker-archive', 'oci-archive']) {
      it(`podman save --format ${format} → tsrun load → run`, async () => {
        const file = join(pm.base, `p-${format}.tar`);
        const s = await pm.podman(['save', '--format', format, '-o', file, 'localhost/pbox:1']);
        expect(s.exitCode, s.stderr).toBe(0);
        const dst = newSandbox();
        const l = await dst.tsrun(['load', '-i', file]);
        expect(l.stderr).toBe('');
        expect(l.stdout).toBe('Loaded image: localhost/pbox:1');
        const run = await dst.tsrun(['run', '--rm', 'localhost/pbox:1']);
        expect(run.stderr).toBe('');
        expect(run.stdout).toBe('from podman');
        expect((await dst.tsrun(['run', '--rm', 'localhost/pbox:1', 'sh', '-c', 'echo P=$P'])).stdout).toBe('P=1');
      });
    }

    for (const format of ['docker-archive', 'oci-archive']) {
      it(`tsrun save --format ${format} → podman load → podman run`, async () => {
        const file = join(work, `for-podman-${format}.tar`);
        expect((await sb.tsrun(['save', '--format', format, '-o', file, 'tsrun-test/alpine:v1'])).exitCode).toBe(0);
        const l = await pm.podman(['load', '-i', file]);
        expect(l.exitCode, l.stderr).toBe(0);
        expect(l.stdout).toContain('Loaded image: docker.io/tsrun-test/alpine:v1');
        const inspect = JSON.parse((await pm.podman(['image', 'inspect', 'docker.io/tsrun-test/alpine:v1'])).stdout)[0];
        expect(inspect.Id).toBe(alpine.configDigest.slice(7));
        expect(inspect.RootFS.Layers).toEqual(alpine.layers.map((x) => x.diffId));
        expect(inspect.Config).toMatchObject({ Cmd: ['sh'], WorkingDir: '/usr/share/tsrun', StopSignal: 'SIGINT' });
        const run = await pm.podman(['run', '--rm', 'docker.io/tsrun-test/alpine:v1', 'sh', '-c', ALPINE_CHECK_SCRIPT]);
        expectAlpineRun(run);
        expect((await pm.podman(['rmi', 'docker.io/tsrun-test/alpine:v1'])).exitCode).toBe(0);
      });
    }
  });
});
