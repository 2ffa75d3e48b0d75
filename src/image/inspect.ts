// `image inspect`: Docker's document for an image.
import type { ImageView } from './images.js';

export function imageInspectDocument(v: ImageView): Record<string, unknown> {
  const c = v.config;
  return {
    Id: v.record.id,
    RepoTags: v.repoTags,
    RepoDigests: v.record.repoDigests.map((d) => d.replace(/^docker\.io\/(library\/)?/, '')),
    Parent: '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: c.created ?? '',
    Author: c.author ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: v.size,
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: v.record.added },
    Descriptor: { mediaType: v.record.manifestMediaType, digest: v.record.manifestDigest },
  };
}
