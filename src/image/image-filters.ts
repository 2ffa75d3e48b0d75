// `images --filter` (and the Engine API's image list `filters`), with
// Docker's keys and meanings (daemon/images/image_list.go).
import { checkFilterKeys, filterBool, globMatch, matchLabels, type FilterArgs } from '../util/filters.js';
import type { ImageView } from './images.js';

export const IMAGE_FILTER_KEYS = ['before', 'dangling', 'label', 'reference', 'since'] as const;

export interface ImageFilter {
  /** Whether the image is listed at all. */
  keep(v: ImageView): boolean;
  /** The names it is listed under: with a reference filter, only the names that match. */
  tags(v: ImageView): string[];
}

/** Refuses unknown keys and bad values; call it before any I/O. */
export function checkImageFilters(args: FilterArgs): void {
  checkFilterKeys(args, IMAGE_FILTER_KEYS);
  filterBool(args, 'dangling');
  // A malformed glob is refused now, not at the first image it meets.
  for (const p of args.get('reference') ?? []) globMatch(p, '');
}

/** Docker's FamiliarMatch: the pattern against `name:tag`, then against `name`. */
function referenceMatches(pattern: string, tag: string): boolean {
  if (globMatch(pattern, tag)) return true;
  const at = tag.lastIndexOf(':');
  return at > tag.lastIndexOf('/') && globMatch(pattern, tag.slice(0, at));
}

const createdOf = (v: ImageView) => v.config.created ?? v.record.added;

/** One filter for all of `args`; `image` finds the image a before/since reference names (IMAGE_NOT_FOUND when none). */
export async function imageFilter(args: FilterArgs, image: (ref: string) => Promise<ImageView>): Promise<ImageFilter> {
  checkImageFilters(args);
  const dangling = filterBool(args, 'dangling');
  const labels = args.get('label') ?? [];
  const refs = args.get('reference') ?? [];
  const bounds: Array<(v: ImageView) => boolean> = [];
  for (const [key, after] of [['before', false], ['since', true]] as const) {
    for (const ref of args.get(key) ?? []) {
      const t = createdOf(await image(ref));
      bounds.push((v) => (after ? createdOf(v) > t : createdOf(v) < t));
    }
  }
  const tags = (v: ImageView) => (refs.length ? v.repoTags.filter((t) => refs.some((p) => referenceMatches(p, t))) : v.repoTags);
  return {
    tags,
    keep: (v) => {
      if (dangling !== undefined && (v.repoTags.length === 0) !== dangling) return false;
      if (refs.length && tags(v).length === 0) return false;
      if (!matchLabels(labels, v.config.config?.Labels)) return false;
      return bounds.every((b) => b(v));
    },
  };
}
