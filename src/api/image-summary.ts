// Docker's ImageSummary, for GET /images/json and GET /system/df.
import type { ImageView } from '../image/images.js';
import { imageInspectDocument } from '../image/inspect.js';

/** Unix seconds of an RFC 3339 time (0 when absent or unreadable), as the API's `Created` fields. */
export const unixSeconds = (iso: string | undefined): number => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
};

/** An image with no name and no digest is `<none>:<none>`/`<none>@<none>` (what the docker CLI tests for dangling). */
export function imageSummary(v: ImageView, tags: string[]): Record<string, unknown> {
  // Docker's short repository digests (busybox@sha256:..., as inspect shows them).
  const digests = imageInspectDocument(v).RepoDigests as string[];
  const none = tags.length === 0 && digests.length === 0;
  return {
    Containers: -1,
    Created: unixSeconds(v.config.created ?? v.record.added),
    Id: v.record.id,
    Labels: v.config.config?.Labels ?? null,
    ParentId: '',
    RepoDigests: none ? ['<none>@<none>'] : digests,
    RepoTags: none ? ['<none>:<none>'] : tags,
    SharedSize: -1,
    Size: v.size,
    VirtualSize: v.size,
  };
}
