// Container images for pull tests, built in Node as OCI image layouts (no
// podman or docker needed) and pushed to a real registry (registry.ts):
//
//   buildImage(layout, spec)           one image (OCI or Docker schema2 media types)
//   buildIndex(layout, images, opts)   an OCI index / Docker manifest list
//   pushImage(layout, reg, 'library/alpine:latest')   via skopeo, digests preserved
//   pushRaw(reg, repo, { manifest, mediaType, blobs }) via the HTTP API, for
//                                      crafted content skopeo would refuse
//   corruptBlob / truncateBlob         damage what the registry stores
//   fixtureAlpine / fixtureMultiArch   standard fixtures, cached per work dir
//
// Directory layers are tarred by GNU tar (`tar --numeric-owner -C DIR -c .`)
// so owners, modes, hardlinks and devices are the real ones: build them as
// root. Raw tar Buffers (e.g. from tar-writer.ts) go in unchanged.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync,
  symlinkSync, truncateSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { registryFetch, sha256, type TestRegistry } from './registry.js';

export { sha256 };

export type Compression = 'gzip' | 'none' | 'zstd';
export type ImageFormat = 'oci' | 'docker';

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/**
 * A directory to tar (GNU tar, numeric owners), a raw tar Buffer, or either
 * with per-layer options. `xattrs` tars with `--xattrs --xattrs-include=*`
 * (GNU tar then writes a POSIX/pax archive instead of its default GNU format).
 */
export type LayerSpec =
  | string
  | Buffer
  | { dir: string; xattrs?: boolean; compression?: Compression; createdBy?: string }
  | { tar: Buffer; compression?: Compression; createdBy?: string };

export interface ImageConfigSpec {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageSpec {
  layers: LayerSpec[];
  config?: ImageConfigSpec;
  /** Default 'amd64'. */
  architecture?: string;
  variant?: string;
  /** Default 'linux'. */
  os?: string;
  /** Default 'gzip'; per-layer `compression` wins. Docker format allows only gzip. */
  compression?: Compression;
  /** Default 'oci'. */
  format?: ImageFormat;
  /** The layout's ref name in index.json (org.opencontainers.image.ref.name). Default 'latest'. */
  tag?: string;
  /** Extra history entries with empty_layer: true (like ENV/CMD lines), put before the layer entries. */
  emptyHistory?: string[];
}

export interface BuiltLayer {
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  diffId: string;
  mediaType: string;
  compression: Compression;
}

export interface BuiltImage {
  layoutDir: string;
  tag: string;
  format: ImageFormat;
  platform: Platform;
  manifestDigest: string;
  manifestMediaType: string;
  manifestSize: number;
  configDigest: string;
  configMediaType: string;
  configSize: number;
  /** The config JSON as written. */
  config: Record<string, unknown>;
  layers: BuiltLayer[];
}

export interface BuiltIndex {
  layoutDir: string;
  tag: string;
  format: ImageFormat;
  digest: string;
  mediaType: string;
  size: number;
  images: BuiltImage[];
}

export const CREATED = '2026-01-01T00:00:00Z';

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new Error(`not a sha256 digest: ${digest}`);
  return m[1];
}

/** Writes a blob into the layout and returns its digest. */
export function writeBlob(layoutDir: string, data: Buffer): string {
  const digest = sha256(data);
  const dir = join(layoutDir, 'blobs', 'sha256');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, hexOf(digest));
  if (!existsSync(file)) writeFileSync(file, data);
  return digest;
}

export function readBlob(layoutDir: string, digest: string): Buffer {
  return readFileSync(join(layoutDir, 'blobs', 'sha256', hexOf(digest)));
}

function initLayout(layoutDir: string): void {
  mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

/** Adds (or replaces) `tag` in the layout's index.json. */
function tagInLayout(layoutDir: string, desc: { mediaType: string; digest: string; size: number; platform?: Platform }, tag: string): void {
  const file = join(layoutDir, 'index.json');
  const index = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { manifests: { annotations?: Record<string, string> }[] })
    : { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] };
  index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
  index.manifests.push({ ...desc, annotations: { 'org.opencontainers.image.ref.name': tag } });
  writeFileSync(file, JSON.stringify(index, null, 2));
}

/** GNU tar of a directory: numeric owners, entries `./...`, sorted by name. */
export function tarDirectory(dir: string, opts: { xattrs?: boolean } = {}): Buffer {
  const args = ['--numeric-owner', '--sort=name'];
  if (opts.xattrs) args.push('--xattrs', '--xattrs-include=*', '--pax-option=delete=atime,delete=ctime');
  return execFileSync('tar', [...args, '-C', dir, '-c', '.'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function compress(data: Buffer, how: Compression): Buffer {
  if (how === 'none') return data;
  if (how === 'gzip') return gzipSync(data);
  return execFileSync('zstd', ['-q', '-c', '--no-progress'], { input: data, maxBuffer: 1 << 30 });
}

function layerMediaType(format: ImageFormat, how: Compression): string {
  if (format === 'docker') {
    if (how !== 'gzip') throw new Error(`Docker schema2 layers are gzip; ${how} needs format 'oci' (or pushRaw)`);
    return MT.dockerLayerGzip;
  }
  return how === 'gzip' ? MT.ociLayerGzip : how === 'zstd' ? MT.ociLayerZstd : MT.ociLayer;
}

/** Writes an image's blobs (layers, config, manifest) into the layout without tagging it. */
function writeImage(layoutDir: string, spec: ImageSpec): Omit<BuiltImage, 'tag'> {
  initLayout(layoutDir);
  const format = spec.format ?? 'oci';
  const layers: BuiltLayer[] = [];
  const history: Record<string, unknown>[] = (spec.emptyHistory ?? []).map((line) => ({
    created: CREATED,
    created_by: line,
    empty_layer: true,
  }));
  spec.layers.forEach((l, i) => {
    let tar: Buffer;
    let how = spec.compression ?? 'gzip';
    let createdBy = `tsrun fixture layer ${i + 1}`;
    if (typeof l === 'string') tar = tarDirectory(l);
    else if (Buffer.isBuffer(l)) tar = l;
    else {
      tar = 'dir' in l ? tarDirectory(l.dir, { xattrs: l.xattrs }) : l.tar;
      how = l.compression ?? how;
      createdBy = l.createdBy ?? createdBy;
    }
    const blob = compress(tar, how);
    const digest = writeBlob(layoutDir, blob);
    layers.push({ digest, size: blob.length, diffId: sha256(tar), mediaType: layerMediaType(format, how), compression: how });
    history.push({ created: CREATED, created_by: createdBy });
  });
  const platform: Platform = { os: spec.os ?? 'linux', architecture: spec.architecture ?? 'amd64' };
  if (spec.variant) platform.variant = spec.variant;
  const config: Record<string, unknown> = {
    created: CREATED,
    author: 'tsrun tests',
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: { ...(spec.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history,
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = writeBlob(layoutDir, configBytes);
  const configMediaType = format === 'docker' ? MT.dockerConfig : MT.ociConfig;
  const manifestMediaType = format === 'docker' ? MT.dockerManifest : MT.ociManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: { mediaType: configMediaType, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
  const manifestDigest = writeBlob(layoutDir, manifestBytes);
  return {
    layoutDir,
    format,
    platform,
    manifestDigest,
    manifestMediaType,
    manifestSize: manifestBytes.length,
    configDigest,
    configMediaType,
    configSize: configBytes.length,
    config,
    layers,
  };
}

/** One image in an OCI image layout, tagged `spec.tag` (default 'latest') in index.json. */
export function buildImage(layoutDir: string, spec: ImageSpec): BuiltImage {
  const tag = spec.tag ?? 'latest';
  const img = writeImage(layoutDir, spec);
  tagInLayout(layoutDir, { mediaType: img.manifestMediaType, digest: img.manifestDigest, size: img.manifestSize }, tag);
  return { ...img, tag };
}

export type IndexImageSpec = Omit<ImageSpec, 'architecture' | 'variant' | 'os' | 'format' | 'tag'> & { platform: Platform };

/**
 * A multi-platform image: every image's manifest, then an OCI index (or a
 * Docker manifest list) of them as a blob, tagged in index.json.
 */
export function buildIndex(
  layoutDir: string,
  images: IndexImageSpec[],
  opts: { format?: ImageFormat; tag?: string; annotations?: Record<string, string> } = {},
): BuiltIndex {
  const format = opts.format ?? 'oci';
  const tag = opts.tag ?? 'latest';
  const built = images.map((spec) =>
    writeImage(layoutDir, {
      ...spec,
      os: spec.platform.os,
      architecture: spec.platform.architecture,
      variant: spec.platform.variant,
      format,
    }),
  );
  const mediaType = format === 'docker' ? MT.dockerList : MT.ociIndex;
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: built.map((b) => ({ mediaType: b.manifestMediaType, digest: b.manifestDigest, size: b.manifestSize, platform: b.platform })),
    ...(opts.annotations && format === 'oci' ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(index, null, 2));
  const digest = writeBlob(layoutDir, bytes);
  tagInLayout(layoutDir, { mediaType, digest, size: bytes.length }, tag);
  return { layoutDir, tag, format, digest, mediaType, size: bytes.length, images: built.map((b) => ({ ...b, tag })) };
}

// ---------------------------------------------------------------------------
// Pushing

/**
 * `skopeo copy --preserve-digests oci:LAYOUT:TAG docker://HOST/REPO:TAG`:
 * manifests, indexes and media types (OCI or Docker) arrive byte for byte.
 * `all` copies every image of an index (otherwise skopeo picks the host's
 * platform). `creds` defaults to the registry's first user; '' pushes
 * anonymously. Returns the pushed manifest's (or index's) digest.
 */
export async function pushImage(
  layoutDir: string,
  registry: TestRegistry,
  repoTag: string,
  opts: { all?: boolean; creds?: string; layoutTag?: string } = {},
): Promise<string> {
  const top = layoutDescriptor(layoutDir, opts.layoutTag ?? 'latest');
  // skopeo 1.9's oci: transport only reads OCI media types ("no descriptor
  // found for reference" otherwise), and its --format converts (new
  // digests), so Docker schema2 layouts go up through the HTTP API.
  if (top.mediaType === MT.dockerManifest || top.mediaType === MT.dockerList) return pushLayoutHttp(layoutDir, registry, repoTag, opts);
  const { execa } = await import('execa');
  const tmp = mkdtempSync(join(dirname(layoutDir), '.skopeo-'));
  try {
    const creds = opts.creds ?? registry.creds;
    const args = [
      '--insecure-policy', 'copy', '--quiet', '--retry-times', '0',
      '--dest-tls-verify=false', '--preserve-digests',
      '--dest-authfile', join(tmp, 'no-auth.json'),
      '--digestfile', join(tmp, 'digest'),
      ...(opts.all ? ['--all'] : []),
      ...(creds ? ['--dest-creds', creds] : ['--dest-no-creds']),
      `oci:${layoutDir}:${opts.layoutTag ?? 'latest'}`,
      `docker://${registry.host}/${repoTag}`,
    ];
    const r = await execa('skopeo', args, { reject: false, stdin: 'ignore', env: { TMPDIR: tmp } });
    if (r.exitCode !== 0) throw new Error(`skopeo ${args.join(' ')} failed (${r.exitCode}):\n${r.stderr}`);
    return readFileSync(join(tmp, 'digest'), 'utf8').trim();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** The descriptor index.json gives for `tag`. */
export function layoutDescriptor(layoutDir: string, tag = 'latest'): Descriptor {
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!d) throw new Error(`${layoutDir}: no image tagged ${tag}`);
  return d;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/**
 * Pushes a layout's tagged image (blobs, then manifests, then the index)
 * through the registry's HTTP API, byte for byte and with each manifest's
 * own media type. Without `all`, an index pushes only the host platform's
 * manifest under the tag (as skopeo does). Returns the tagged digest.
 */
export async function pushLayoutHttp(
  layoutDir: string,
  registry: TestRegistry,
  repoTag: string,
  opts: { all?: boolean; creds?: string; layoutTag?: string } = {},
): Promise<string> {
  const colon = repoTag.lastIndexOf(':');
  const [repo, tag] = colon > repoTag.lastIndexOf('/') ? [repoTag.slice(0, colon), repoTag.slice(colon + 1)] : [repoTag, 'latest'];
  const creds = opts.creds ?? registry.creds;
  const pushManifest = async (d: Descriptor, ref: string) => {
    const bytes = readBlob(layoutDir, d.digest);
    const m = JSON.parse(bytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    for (const b of [m.config, ...m.layers]) await pushBlob(registry, repo, readBlob(layoutDir, b.digest), creds);
    return pushRaw(registry, repo, { manifest: bytes, mediaType: d.mediaType, blobs: [], tag: ref, creds });
  };
  const top = layoutDescriptor(layoutDir, opts.layoutTag ?? 'latest');
  if (top.mediaType !== MT.dockerList && top.mediaType !== MT.ociIndex) return pushManifest(top, tag);
  const bytes = readBlob(layoutDir, top.digest);
  const list = JSON.parse(bytes.toString('utf8')) as { manifests: Descriptor[] };
  if (!opts.all) {
    const arch = GO_ARCH[process.arch] ?? process.arch;
    const mine = list.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
    if (!mine) throw new Error(`${layoutDir}: no linux/${arch} image in the index`);
    return pushManifest(mine, tag);
  }
  for (const m of list.manifests) await pushManifest(m, m.digest);
  return pushRaw(registry, repo, { manifest: bytes, mediaType: top.mediaType, blobs: [], tag, creds });
}

async function expectStatus(res: Response, want: number[], what: string): Promise<void> {
  if (!want.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
}

/** Uploads one blob with the monolithic POST-then-PUT flow; returns its digest. */
export async function pushBlob(registry: TestRegistry, repo: string, blob: Buffer, creds = registry.creds): Promise<string> {
  const digest = sha256(blob);
  const start = await registryFetch(registry, `/v2/${repo}/blobs/uploads/`, { method: 'POST' }, creds);
  await expectStatus(start, [202], `POST /v2/${repo}/blobs/uploads/`);
  await start.arrayBuffer();
  const loc = new URL(start.headers.get('location')!, registry.url);
  loc.searchParams.set('digest', digest);
  const put = await registryFetch(
    registry,
    loc.toString(),
    { method: 'PUT', body: new Uint8Array(blob), headers: { 'content-type': 'application/octet-stream' } },
    creds,
  );
  await expectStatus(put, [201], `PUT blob ${digest}`);
  await put.arrayBuffer();
  return digest;
}

/**
 * Pushes blobs and then a manifest exactly as given (for crafted content
 * skopeo would refuse). `tag` defaults to the manifest's digest. Note the
 * registry itself still insists that a manifest's config and layers exist
 * as blobs, and parses it by `mediaType`. Returns the manifest digest.
 */
export async function pushRaw(
  registry: TestRegistry,
  repo: string,
  content: { manifest: Buffer; mediaType: string; blobs: Buffer[]; tag?: string; creds?: string },
): Promise<string> {
  const creds = content.creds ?? registry.creds;
  for (const b of content.blobs) await pushBlob(registry, repo, b, creds);
  const digest = sha256(content.manifest);
  const ref = content.tag ?? digest;
  const put = await registryFetch(
    registry,
    `/v2/${repo}/manifests/${ref}`,
    { method: 'PUT', body: new Uint8Array(content.manifest), headers: { 'content-type': content.mediaType } },
    creds,
  );
  await expectStatus(put, [201], `PUT manifest ${repo}:${ref}`);
  await put.arrayBuffer();
  return digest;
}

// ---------------------------------------------------------------------------
// Damaging the registry's storage

/** The file the registry serves a blob from. */
export function registryBlobPath(registry: TestRegistry, digest: string): string {
  const hex = hexOf(digest);
  return join(registry.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/**
 * Makes the registry serve bytes that do not hash to `digest`: by default
 * the same length with one byte (in the middle) flipped, so only a digest
 * check notices; or `replacement` bytes.
 */
export function corruptBlob(registry: TestRegistry, digest: string, replacement?: Buffer): void {
  const file = registryBlobPath(registry, digest);
  let data: Buffer;
  if (replacement) data = replacement;
  else {
    data = readFileSync(file);
    if (data.length === 0) data = Buffer.from([0]);
    else data[data.length >> 1] ^= 0xff;
  }
  writeFileSync(file, data);
}

/** Cuts the stored blob to its first `bytes` bytes (the registry then serves the short blob). */
export function truncateBlob(registry: TestRegistry, digest: string, bytes: number): void {
  truncateSync(registryBlobPath(registry, digest), bytes);
}

// ---------------------------------------------------------------------------
// Standard fixtures

// Bump when a fixture's layout changes. Cache names also carry a hash of
// the busybox rootfs's build stamp, so a rebuilt busybox means new images.
const FIXTURE_VERSION = 1;

/** A work dir for fixtures shared by test files and runs (gitignored, like the busybox rootfs). */
export const IMAGE_FIXTURE_DIR = fileURLToPath(new URL('../../rootfs-fixtures/out/images', import.meta.url));

function busyboxKey(busyboxRootfs: string): string {
  let stamp = busyboxRootfs;
  try {
    stamp = readFileSync(join(busyboxRootfs, '.tsrun-fixture'), 'utf8');
  } catch {
    // not the stamped fixture: key by its path
  }
  return createHash('sha256').update(stamp).digest('hex').slice(0, 12);
}

/**
 * What fixtureAlpine's image holds (paths without the leading '/'), for
 * assertions in pull tests.
 *   layer 1: the busybox rootfs; etc/os-release (NAME="tsrun fixture",
 *            ID=tsrun-fixture); etc/motd; opt/data/{old-1.txt,old-2.txt,sub/old-3.txt}
 *   layer 2: usr/share/tsrun/hello.txt; hard-a + hard-b (one inode);
 *            link-to-hello -> hello.txt; abs-link -> /etc/os-release;
 *            xattr.txt (user.tsrun=fixture, when the work dir's fs has
 *            user xattrs); usr/bin/tsrun-suid mode 4755;
 *            home/tsuser/owned.txt 1000:1000 mode 0600; usr/share/tsrun/private/ mode 0700
 *   layer 3: whiteout etc/.wh.motd; opaque opt/data/.wh..wh..opq with opt/data/new.txt
 */
export const ALPINE = {
  tag: 'latest',
  osRelease: 'NAME="tsrun fixture"\nID=tsrun-fixture\nVERSION_ID=1\nPRETTY_NAME="tsrun fixture image"\n',
  hello: 'hello from layer 2\n',
  hard: 'one inode, two names\n',
  newData: 'new in layer 3\n',
  xattr: { name: 'user.tsrun', value: 'fixture' },
  config: {
    Cmd: ['sh'],
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TSRUN_FIXTURE=alpine'],
    WorkingDir: '/usr/share/tsrun',
    Labels: { 'org.opencontainers.image.title': 'tsrun fixture', 'tsrun.fixture': 'alpine' },
    ExposedPorts: { '80/tcp': {} },
    StopSignal: 'SIGINT',
  } satisfies ImageConfigSpec,
};

export interface FixtureAlpine extends BuiltImage {
  /** Whether layer 2's xattr.txt carries ALPINE.xattr (false when the fs refused user xattrs). */
  hasXattr: boolean;
}

function file(path: string, content: string, mode = 0o644, uid = 0, gid = 0): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
  chownSync(path, uid, gid);
}

function dir(path: string, mode = 0o755, uid = 0, gid = 0): void {
  mkdirSync(path, { recursive: true });
  chmodSync(path, mode);
  chownSync(path, uid, gid);
}

/**
 * Builds `name` once under workDir: in a temp dir renamed into place, with
 * the result recorded in tsrun-fixture.json; a finished fixture is reused
 * (also by parallel workers, one of whose builds wins the rename).
 */
function cachedFixture<T extends { layoutDir: string }>(workDir: string, name: string, build: (layoutDir: string, scratch: string) => T): T {
  const final = join(workDir, name);
  const record = join(final, 'tsrun-fixture.json');
  const load = (): T | undefined => {
    try {
      return { ...(JSON.parse(readFileSync(record, 'utf8')) as T), layoutDir: final };
    } catch {
      return undefined;
    }
  };
  const done = load();
  if (done) return done;
  mkdirSync(workDir, { recursive: true });
  const tmp = mkdtempSync(`${final}.tmp-`);
  try {
    const layout = join(tmp, 'layout');
    const scratch = join(tmp, 'scratch');
    mkdirSync(scratch);
    const result = build(layout, scratch);
    writeFileSync(join(layout, 'tsrun-fixture.json'), JSON.stringify({ ...result, layoutDir: final }));
    try {
      renameSync(layout, final);
    } catch (e) {
      const other = load();
      if (other) return other;
      throw e;
    }
    return load()!;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `cp -a` (owners, modes, links kept) of the busybox rootfs, without its build stamp. */
function copyTree(from: string, to: string): void {
  execFileSync('cp', ['-a', '--', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
  rmSync(join(to, '.tsrun-fixture'), { force: true });
}

function setXattr(path: string, name: string, value: string): boolean {
  try {
    execFileSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())', path, name, value], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * The standard multi-layer image (see ALPINE for its contents), an OCI
 * layout under workDir tagged 'latest'. Build as root.
 */
export function fixtureAlpine(
  workDir: string,
  busyboxRootfs: string,
  opts: { format?: ImageFormat; compression?: Compression } = {},
): FixtureAlpine {
  const format = opts.format ?? 'oci';
  const compression = opts.compression ?? 'gzip';
  return cachedFixture(workDir, `alpine-v${FIXTURE_VERSION}-${busyboxKey(busyboxRootfs)}-${format}-${compression}`, (layout, scratch) => {
    const l1 = join(scratch, 'l1');
    copyTree(busyboxRootfs, l1);
    file(join(l1, 'etc/os-release'), ALPINE.osRelease);
    file(join(l1, 'etc/motd'), 'deleted by layer 3\n');
    dir(join(l1, 'opt'));
    dir(join(l1, 'opt/data'));
    file(join(l1, 'opt/data/old-1.txt'), 'old 1\n');
    file(join(l1, 'opt/data/old-2.txt'), 'old 2\n');
    file(join(l1, 'opt/data/sub/old-3.txt'), 'old 3\n');

    const l2 = join(scratch, 'l2');
    dir(l2);
    for (const d of ['usr', 'usr/share', 'usr/share/tsrun', 'usr/bin', 'home']) dir(join(l2, d));
    dir(join(l2, 'home/tsuser'), 0o755, 1000, 1000);
    dir(join(l2, 'usr/share/tsrun/private'), 0o700);
    file(join(l2, 'usr/share/tsrun/hello.txt'), ALPINE.hello);
    file(join(l2, 'usr/share/tsrun/hard-a'), ALPINE.hard);
    linkSync(join(l2, 'usr/share/tsrun/hard-a'), join(l2, 'usr/share/tsrun/hard-b'));
    symlinkSync('hello.txt', join(l2, 'usr/share/tsrun/link-to-hello'));
    symlinkSync('/etc/os-release', join(l2, 'usr/share/tsrun/abs-link'));
    file(join(l2, 'usr/share/tsrun/xattr.txt'), 'has an xattr\n');
    const hasXattr = setXattr(join(l2, 'usr/share/tsrun/xattr.txt'), ALPINE.xattr.name, ALPINE.xattr.value);
    file(join(l2, 'usr/bin/tsrun-suid'), '#!/bin/sh\nid\n', 0o755);
    chmodSync(join(l2, 'usr/bin/tsrun-suid'), 0o4755); // after chown, which clears set-id bits
    file(join(l2, 'home/tsuser/owned.txt'), 'tsuser owns this\n', 0o600, 1000, 1000);

    const l3 = join(scratch, 'l3');
    dir(l3);
    dir(join(l3, 'etc'));
    dir(join(l3, 'opt'));
    dir(join(l3, 'opt/data'));
    file(join(l3, 'etc/.wh.motd'), '');
    file(join(l3, 'opt/data/.wh..wh..opq'), '');
    file(join(l3, 'opt/data/new.txt'), ALPINE.newData);

    const img = buildImage(layout, {
      format,
      compression,
      tag: ALPINE.tag,
      layers: [
        { dir: l1, createdBy: 'COPY busybox rootfs /' },
        { dir: l2, xattrs: true, createdBy: 'COPY files, links, setuid, xattr /' },
        { dir: l3, createdBy: 'RUN rm /etc/motd && rm -rf /opt/data/* && echo new > /opt/data/new.txt' },
      ],
      config: ALPINE.config,
      emptyHistory: ['LABEL tsrun.fixture=alpine'],
    });
    return { ...img, hasXattr };
  });
}

/**
 * A two-platform image (linux/amd64 and linux/arm64/v8) tagged 'latest':
 * both share the busybox layer; a second layer's /etc/arch says 'amd64' or
 * 'arm64' (content only; the arm64 image's binaries are still amd64).
 */
export function fixtureMultiArch(workDir: string, busyboxRootfs: string, opts: { format?: ImageFormat } = {}): BuiltIndex {
  const format = opts.format ?? 'oci';
  return cachedFixture(workDir, `multiarch-v${FIXTURE_VERSION}-${busyboxKey(busyboxRootfs)}-${format}`, (layout, scratch) => {
    const base = join(scratch, 'base');
    copyTree(busyboxRootfs, base);
    const archLayer = (arch: string) => {
      const d = join(scratch, arch);
      dir(d);
      dir(join(d, 'etc'));
      file(join(d, 'etc/arch'), `${arch}\n`);
      return d;
    };
    const config: ImageConfigSpec = { Cmd: ['cat', '/etc/arch'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] };
    return buildIndex(
      layout,
      [
        { platform: { os: 'linux', architecture: 'amd64' }, layers: [base, archLayer('amd64')], config },
        { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: [base, archLayer('arm64')], config },
      ],
      { format, tag: 'latest' },
    );
  });
}
