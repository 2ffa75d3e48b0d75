import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { parseManifestDocument, selectPlatform, type IndexDocument } from '../../src/image/manifest.js';
import {
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
  layerCompression,
} from '../../src/image/media-types.js';
import { hostPlatform, parsePlatform, platformMatches, formatPlatform } from '../../src/image/platform.js';

const d = (c: string) => 'sha256:' + c.repeat(64);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function ociManifest(extra: Record<string, unknown> = {}) {
  return {
    schemaVersion: 2,
    config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: d('c'), size: 100 },
    layers: [{ mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: d('1'), size: 1000 }],
    ...extra,
  };
}

function entry(os: string, architecture: string, variant?: string, c = '0') {
  return {
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    digest: d(c),
    size: 500,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
  };
}

function err(fn: () => unknown): TsrunError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TsrunError);
    return e as TsrunError;
  }
  throw new Error('did not throw');
}

describe('parseManifestDocument', () => {
  it('parses an OCI manifest', () => {
    const doc = parseManifestDocument(json(ociManifest({ mediaType: MEDIA_TYPE_OCI_MANIFEST })), MEDIA_TYPE_OCI_MANIFEST);
    expect(doc.kind).toBe('manifest');
    if (doc.kind !== 'manifest') return;
    expect(doc.mediaType).toBe(MEDIA_TYPE_OCI_MANIFEST);
    expect(doc.config.digest).toBe(d('c'));
    expect(doc.layers).toEqual([{ mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: d('1'), size: 1000 }]);
  });

  it('parses a Docker schema 2 manifest, ignoring Content-Type parameters', () => {
    const m = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_DOCKER_MANIFEST,
      config: { mediaType: MEDIA_TYPE_DOCKER_CONFIG, digest: d('c'), size: 10 },
      layers: [{ mediaType: MEDIA_TYPE_DOCKER_LAYER_GZIP, digest: d('1'), size: 5 }],
    };
    const doc = parseManifestDocument(json(m), `${MEDIA_TYPE_DOCKER_MANIFEST}; charset=utf-8`);
    expect(doc).toMatchObject({ kind: 'manifest', mediaType: MEDIA_TYPE_DOCKER_MANIFEST });
  });

  it('parses OCI and Docker indexes', () => {
    const idx = { schemaVersion: 2, manifests: [entry('linux', 'amd64')] };
    expect(parseManifestDocument(json(idx), MEDIA_TYPE_OCI_INDEX)).toMatchObject({ kind: 'index', mediaType: MEDIA_TYPE_OCI_INDEX });
    const list = { ...idx, mediaType: MEDIA_TYPE_DOCKER_MANIFEST_LIST };
    expect(parseManifestDocument(json(list), MEDIA_TYPE_DOCKER_MANIFEST_LIST)).toMatchObject({
      kind: 'index',
      manifests: [{ platform: { os: 'linux', architecture: 'amd64' } }],
    });
  });

  it('tolerates a generic Content-Type, using the mediaType field or the shape (as containerd does)', () => {
    expect(parseManifestDocument(json(ociManifest()), 'application/json').mediaType).toBe(MEDIA_TYPE_OCI_MANIFEST);
    expect(parseManifestDocument(json({ schemaVersion: 2, manifests: [] }), 'application/octet-stream')).toMatchObject({
      kind: 'index',
      mediaType: MEDIA_TYPE_OCI_INDEX,
    });
    const withType = ociManifest({ mediaType: MEDIA_TYPE_DOCKER_MANIFEST });
    expect(parseManifestDocument(json(withType), 'application/json').mediaType).toBe(MEDIA_TYPE_DOCKER_MANIFEST);
  });

  it('refuses schema 1 by Content-Type and by schemaVersion, saying what to do', () => {
    for (const ct of ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/vnd.docker.distribution.manifest.v1+json']) {
      const e = err(() => parseManifestDocument(json({ schemaVersion: 1, name: 'x', fsLayers: [] }), ct, 'old/image:1'));
      expect(e.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(e.message).toMatch(/old\/image:1 uses the deprecated Docker schema 1 manifest format.*push it again/);
    }
    expect(err(() => parseManifestDocument(json({ schemaVersion: 1 }), 'application/json')).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a mediaType that disagrees with the Content-Type', () => {
    const e = err(() => parseManifestDocument(json(ociManifest({ mediaType: MEDIA_TYPE_OCI_INDEX })), MEDIA_TYPE_OCI_MANIFEST));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toMatch(/disagrees with Content-Type/);
    const e2 = err(() => parseManifestDocument(json(ociManifest({ mediaType: MEDIA_TYPE_DOCKER_MANIFEST })), MEDIA_TYPE_OCI_MANIFEST));
    expect(e2.code).toBe('MANIFEST_INVALID');
  });

  it('refuses a document that is both an index and a manifest', () => {
    const e = err(() => parseManifestDocument(json({ ...ociManifest(), manifests: [] }), MEDIA_TYPE_OCI_INDEX));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(err(() => parseManifestDocument(json({ ...ociManifest(), manifests: [] }), MEDIA_TYPE_OCI_MANIFEST)).code).toBe('MANIFEST_INVALID');
  });

  it('validates descriptors', () => {
    const bad = [
      ociManifest({ config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: 'sha256:abc', size: 1 } }),
      ociManifest({ config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: d('c'), size: -1 } }),
      ociManifest({ config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: d('c'), size: 1.5 } }),
      ociManifest({ config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: d('c') } }),
      ociManifest({ layers: [{ mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: d('1'), size: '5' }] }),
      ociManifest({ layers: 'nope' }),
      ociManifest({ schemaVersion: 3 }),
    ];
    for (const m of bad) expect(err(() => parseManifestDocument(json(m), MEDIA_TYPE_OCI_MANIFEST)).code).toBe('MANIFEST_INVALID');
    expect(err(() => parseManifestDocument(Buffer.from('{not json'), MEDIA_TYPE_OCI_MANIFEST)).code).toBe('MANIFEST_INVALID');
    expect(err(() => parseManifestDocument(Buffer.from('[]'), MEDIA_TYPE_OCI_MANIFEST)).code).toBe('MANIFEST_INVALID');
  });

  it('refuses artifacts, unknown layer types, foreign layers and unknown Content-Types', () => {
    const helm = ociManifest({ config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: d('c'), size: 1 } });
    expect(err(() => parseManifestDocument(json(helm), MEDIA_TYPE_OCI_MANIFEST)).message).toMatch(/not a container image/);
    const odd = ociManifest({ layers: [{ mediaType: 'application/x-weird', digest: d('1'), size: 1 }] });
    expect(err(() => parseManifestDocument(json(odd), MEDIA_TYPE_OCI_MANIFEST)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const foreign = ociManifest({
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('1'), size: 1, urls: ['https://x'] }],
    });
    expect(err(() => parseManifestDocument(json(foreign), MEDIA_TYPE_OCI_MANIFEST)).message).toMatch(/foreign/);
    expect(err(() => parseManifestDocument(json(ociManifest()), 'text/html')).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('platforms', () => {
  it('maps Node architectures to OCI', () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(hostPlatform('arm', '6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(hostPlatform('arm', undefined)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(hostPlatform('ia32')).toEqual({ os: 'linux', architecture: '386' });
    expect(hostPlatform('ppc64')).toEqual({ os: 'linux', architecture: 'ppc64le' });
    expect(hostPlatform('s390x')).toEqual({ os: 'linux', architecture: 's390x' });
    expect(hostPlatform().os).toBe('linux');
  });

  it('parses and validates platform strings', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    for (const bad of ['', 'linux/', 'linux/amd64/v2/x', 'windows/amd64', 'linux/am d64']) {
      expect(err(() => parsePlatform(bad)).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('platformMatches follows variant compatibility', () => {
    const arm7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
    expect(platformMatches(arm7, { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(true);
    expect(platformMatches(arm7, { os: 'linux', architecture: 'arm', variant: 'v8' })).toBe(false);
    expect(platformMatches(arm7, { os: 'linux', architecture: 'arm' })).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'aarch64', variant: 'v8' })).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' })).toBe(false);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64' })).toBe(false);
  });

  it('formatPlatform', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
    expect(formatPlatform({ os: 'linux', architecture: 'amd64' })).toBe('linux/amd64');
  });
});

describe('selectPlatform', () => {
  const index = (...manifests: unknown[]): IndexDocument =>
    parseManifestDocument(json({ schemaVersion: 2, manifests }), MEDIA_TYPE_OCI_INDEX) as IndexDocument;

  it('picks the exact architecture', () => {
    const idx = index(entry('linux', 'amd64', undefined, '1'), entry('linux', 'arm64', 'v8', '2'), entry('windows', 'amd64', undefined, '3'));
    expect(selectPlatform(idx, { os: 'linux', architecture: 'amd64' }).digest).toBe(d('1'));
    expect(selectPlatform(idx, hostPlatform('arm64')).digest).toBe(d('2'));
  });

  it('an arm64 entry without variant matches an arm64/v8 host', () => {
    const idx = index(entry('linux', 'amd64', undefined, '1'), entry('linux', 'arm64', undefined, '2'));
    expect(selectPlatform(idx, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest).toBe(d('2'));
  });

  it('prefers the best arm variant and falls back to older ones', () => {
    const idx = index(entry('linux', 'arm', 'v6', '6'), entry('linux', 'arm', 'v7', '7'), entry('linux', 'arm', 'v5', '5'));
    expect(selectPlatform(idx, hostPlatform('arm', '7')).digest).toBe(d('7'));
    expect(selectPlatform(idx, hostPlatform('arm', '8')).digest).toBe(d('7'));
    expect(selectPlatform(idx, hostPlatform('arm', '6')).digest).toBe(d('6'));
    const only6 = index(entry('linux', 'arm', 'v6', '6'));
    expect(selectPlatform(only6, hostPlatform('arm', '7')).digest).toBe(d('6'));
  });

  it('skips attestation entries', () => {
    const att = { ...entry('unknown', 'unknown', undefined, '9'), annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } };
    const idx = index(att, entry('linux', 'amd64', undefined, '1'));
    expect(selectPlatform(idx, { os: 'linux', architecture: 'amd64' }).digest).toBe(d('1'));
  });

  it('PLATFORM_NOT_FOUND lists what is available', () => {
    const att = { ...entry('unknown', 'unknown', undefined, '9') };
    const idx = index(entry('linux', 'amd64', undefined, '1'), entry('linux', 'arm', 'v7', '2'), att);
    const e = err(() => selectPlatform(idx, hostPlatform('arm64'), 'alpine:latest'));
    expect(e.code).toBe('PLATFORM_NOT_FOUND');
    expect(e.message).toBe(
      'no matching manifest for linux/arm64/v8 in the manifest list entries of alpine:latest (available: linux/amd64, linux/arm/v7)',
    );
    expect(err(() => selectPlatform(index(), hostPlatform('x64'))).message).toMatch(/lists no platforms/);
  });
});

describe('media types', () => {
  it('layerCompression', () => {
    expect(layerCompression(MEDIA_TYPE_OCI_LAYER_GZIP)).toBe('gzip');
    expect(layerCompression(MEDIA_TYPE_DOCKER_LAYER_GZIP)).toBe('gzip');
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd')).toBe('zstd');
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar')).toBe('none');
    expect(layerCompression(MEDIA_TYPE_OCI_CONFIG)).toBeUndefined();
  });
});
