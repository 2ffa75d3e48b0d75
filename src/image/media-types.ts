// Media types of the documents and blobs tsrun meets in registries
// (OCI image-spec media-types.md; Docker image manifest v2 schema 2).

// Manifests and indexes.
export const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_TYPE_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

// Schema 1 (deprecated, signed JWS). Requested only so that we can refuse it
// with a clear message instead of a confusing 404/406.
export const MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST = 'application/vnd.docker.distribution.manifest.v1+json';
export const MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const SCHEMA1_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST,
  MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST,
];

export const INDEX_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_DOCKER_MANIFEST_LIST];
export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST];
export const MANIFEST_MEDIA_TYPES: readonly string[] = [...INDEX_MEDIA_TYPES, ...IMAGE_MANIFEST_MEDIA_TYPES];

// Image configs.
export const MEDIA_TYPE_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MEDIA_TYPE_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const CONFIG_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_DOCKER_CONFIG];

// Layers.
export const MEDIA_TYPE_OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const MEDIA_TYPE_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
// What `docker load`/`import` record for an uncompressed layer; such images are pushed and pulled as they are.
export const MEDIA_TYPE_DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
// Non-distributable ("foreign") layers: Windows base layers, fetched from
// `urls` rather than the registry. Listed so they are recognised and refused.
export const MEDIA_TYPE_OCI_LAYER_NONDIST_TAR = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
export const MEDIA_TYPE_OCI_LAYER_NONDIST_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
export const MEDIA_TYPE_OCI_LAYER_NONDIST_ZSTD = 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd';
export const MEDIA_TYPE_DOCKER_LAYER_FOREIGN_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

export const LAYER_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPE_OCI_LAYER_TAR,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_LAYER_ZSTD,
  MEDIA_TYPE_DOCKER_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_LAYER_TAR,
];
export const FOREIGN_LAYER_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPE_OCI_LAYER_NONDIST_TAR,
  MEDIA_TYPE_OCI_LAYER_NONDIST_GZIP,
  MEDIA_TYPE_OCI_LAYER_NONDIST_ZSTD,
  MEDIA_TYPE_DOCKER_LAYER_FOREIGN_GZIP,
];

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** Compression of a layer media type, or undefined if it is not a layer type. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar')) return 'none';
  return undefined;
}

/** The media type without parameters ("; charset=utf-8"), lower-cased. */
export function baseMediaType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}
