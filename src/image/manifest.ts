// Parsing and validating manifests and indexes fetched from a registry.
// Everything a registry sends is untrusted: the shape is checked here so the
// rest of tsrun can rely on digests and sizes being well formed.
import { TsrunError } from '../errors.js';
import { isDigest } from './digest.js';
import {
  CONFIG_MEDIA_TYPES,
  FOREIGN_LAYER_MEDIA_TYPES,
  IMAGE_MANIFEST_MEDIA_TYPES,
  INDEX_MEDIA_TYPES,
  LAYER_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  SCHEMA1_MEDIA_TYPES,
  baseMediaType,
} from './media-types.js';
import { compatiblePlatforms, formatPlatform, normalizePlatform, platformRank, type Platform } from './platform.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface IndexDocument {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ManifestDocument {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedDocument = IndexDocument | ManifestDocument;

export const SCHEMA1_MESSAGE =
  'uses the deprecated Docker schema 1 manifest format, which tsrun does not support; push it again with a current client';

// Content types some registries (and OCI layouts served as files) use for
// documents whose real type is in their mediaType field; containerd accepts these.
const GENERIC_CONTENT_TYPES = ['', 'application/json', 'application/octet-stream', 'text/plain'];

function invalid(what: string, why: string): TsrunError {
  return new TsrunError('MANIFEST_INVALID', `invalid ${what}: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw invalid(what, 'annotations must map strings to strings');
  return v as Record<string, string>;
}

/** Validates one descriptor; `what` names it in errors ("layer 2 of ..."). */
export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw invalid(what, 'descriptor is not an object');
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(what, 'missing mediaType');
  if (!isDigest(digest)) throw invalid(what, `bad digest ${JSON.stringify(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(what, `bad size ${JSON.stringify(size)}`);
  const d: Descriptor = { mediaType, digest, size };
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw invalid(what, 'platform needs string "os" and "architecture"');
    }
    if (p.variant !== undefined && typeof p.variant !== 'string') throw invalid(what, 'platform variant must be a string');
    d.platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === 'string' && p.variant !== '') d.platform.variant = p.variant;
    if (typeof p['os.version'] === 'string') d.platform['os.version'] = p['os.version'];
    if (Array.isArray(p['os.features'])) d.platform['os.features'] = p['os.features'].map(String);
  }
  const annotations = stringMap(v.annotations, what);
  if (annotations) d.annotations = annotations;
  if (v.urls !== undefined) {
    if (!Array.isArray(v.urls) || v.urls.some((u) => typeof u !== 'string')) throw invalid(what, 'urls must be strings');
    d.urls = v.urls as string[];
  }
  return d;
}

/**
 * Parses a manifest or index as fetched: `bytes` is the body, `contentType`
 * the response's Content-Type. Refuses schema 1, artifacts that are not
 * container images, and documents whose mediaType contradicts the Content-Type.
 */
export function parseManifestDocument(bytes: Buffer, contentType: string, name = 'the image'): ParsedDocument {
  const ct = baseMediaType(contentType);
  if (SCHEMA1_MEDIA_TYPES.includes(ct)) throw new TsrunError('UNSUPPORTED_MEDIA_TYPE', `${name} ${SCHEMA1_MESSAGE}`);

  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new TsrunError('MANIFEST_INVALID', `invalid manifest for ${name}: not JSON (${(err as Error).message})`, { cause: err });
  }
  const what = `manifest for ${name}`;
  if (!isObject(doc)) throw invalid(what, 'not a JSON object');
  if (doc.schemaVersion === 1) throw new TsrunError('UNSUPPORTED_MEDIA_TYPE', `${name} ${SCHEMA1_MESSAGE}`);
  if (doc.schemaVersion !== 2) throw invalid(what, `unsupported schemaVersion ${JSON.stringify(doc.schemaVersion)}`);
  if (doc.mediaType !== undefined && typeof doc.mediaType !== 'string') throw invalid(what, 'mediaType is not a string');
  const declared = typeof doc.mediaType === 'string' ? baseMediaType(doc.mediaType) : undefined;

  let mediaType: string;
  if (MANIFEST_MEDIA_TYPES.includes(ct)) {
    // The document must agree with what the registry said it is: a mismatch
    // is how a manifest can be smuggled in as an index or vice versa.
    if (declared !== undefined && declared !== ct) {
      throw invalid(what, `mediaType "${declared}" in the document disagrees with Content-Type "${ct}"`);
    }
    mediaType = ct;
  } else if (GENERIC_CONTENT_TYPES.includes(ct)) {
    if (declared !== undefined) mediaType = declared;
    else if ('manifests' in doc) mediaType = MEDIA_TYPE_OCI_INDEX;
    else if ('config' in doc || 'layers' in doc) mediaType = MEDIA_TYPE_OCI_MANIFEST;
    else throw invalid(what, 'neither a manifest nor an index');
  } else {
    throw new TsrunError('UNSUPPORTED_MEDIA_TYPE', `${name}: unsupported manifest media type "${ct}"`);
  }
  if (SCHEMA1_MEDIA_TYPES.includes(mediaType)) throw new TsrunError('UNSUPPORTED_MEDIA_TYPE', `${name} ${SCHEMA1_MESSAGE}`);
  const annotations = stringMap(doc.annotations, what);

  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    // The OCI spec's security note: an index must not also look like a manifest.
    if ('config' in doc || 'layers' in doc) throw invalid(what, 'an index must not have "config" or "layers"');
    if (!Array.isArray(doc.manifests)) throw invalid(what, '"manifests" is not an array');
    const manifests = doc.manifests.map((m, i) => parseDescriptor(m, `entry ${i} of the index for ${name}`));
    const out: IndexDocument = { kind: 'index', mediaType, manifests };
    if (annotations) out.annotations = annotations;
    return out;
  }
  if (!IMAGE_MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new TsrunError('UNSUPPORTED_MEDIA_TYPE', `${name}: unsupported manifest media type "${mediaType}"`);
  }
  if ('manifests' in doc) throw invalid(what, 'a manifest must not have "manifests"');
  const config = parseDescriptor(doc.config, `config descriptor of ${name}`);
  if (!CONFIG_MEDIA_TYPES.includes(baseMediaType(config.mediaType))) {
    throw new TsrunError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${name} is not a container image (its config has media type "${config.mediaType}")`,
    );
  }
  if (!Array.isArray(doc.layers)) throw invalid(what, '"layers" is not an array');
  const layers = doc.layers.map((l, i) => {
    const d = parseDescriptor(l, `layer ${i} of ${name}`);
    const lt = baseMediaType(d.mediaType);
    if (FOREIGN_LAYER_MEDIA_TYPES.includes(lt)) {
      throw new TsrunError('UNSUPPORTED_MEDIA_TYPE', `${name} has a non-distributable (foreign) layer ${d.digest}; these are Windows-only`);
    }
    if (!LAYER_MEDIA_TYPES.includes(lt)) {
      throw new TsrunError('UNSUPPORTED_MEDIA_TYPE', `${name}: layer ${d.digest} has unsupported media type "${d.mediaType}"`);
    }
    return d;
  });
  const out: ManifestDocument = { kind: 'manifest', mediaType, config, layers };
  if (annotations) out.annotations = annotations;
  return out;
}

// BuildKit stores attestations in the index as unknown/unknown entries.
function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
  );
}

/**
 * Picks the index entry for `platform`, best variant first (arm/v7 host:
 * v7, then v6, v5; arm64 entries with no variant count as v8).
 */
export function selectPlatform(index: IndexDocument, platform: Platform, name = 'the image'): Descriptor {
  let best: Descriptor | undefined;
  let bestRank = Infinity;
  for (const d of index.manifests) {
    if (!d.platform || isAttestation(d) || !MANIFEST_MEDIA_TYPES.includes(baseMediaType(d.mediaType))) continue;
    const rank = platformRank(platform, d.platform);
    if (rank !== -1 && rank < bestRank) {
      best = d;
      bestRank = rank;
    }
  }
  if (best) return best;
  const available = [
    ...new Set(index.manifests.filter((d) => d.platform && !isAttestation(d)).map((d) => formatPlatform(normalizePlatform(d.platform!)))),
  ];
  const wanted = formatPlatform(compatiblePlatforms(platform)[0]!);
  throw new TsrunError(
    'PLATFORM_NOT_FOUND',
    `no matching manifest for ${wanted} in the manifest list entries of ${name}` +
      (available.length > 0 ? ` (available: ${available.join(', ')})` : ' (it lists no platforms)'),
  );
}
