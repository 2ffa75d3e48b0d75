// `events --filter` and `--since/--until`, as Docker's daemon/events/filter.go
// matches them: values of one key are alternatives, different keys must
// all hold, every `label` must hold. `container`, `network`, `volume`
// match the actor's id or name by prefix (Docker's FuzzyMatch); `image`
// the image's name or id, with or without its tag; `event` the action, or
// its part before `:` (`exec_start: sh` is an exec_start).
import { TsrunError } from '../errors.js';
import { checkFilterKeys, invalidFilter, matchLabels, parseFilterJson, parseFilterFlags, type FilterArgs } from '../util/filters.js';
import { parseUntil } from '../util/prune-filters.js';
import type { EventMessage } from './types.js';

export const EVENT_FILTER_KEYS = ['container', 'event', 'image', 'label', 'network', 'scope', 'type', 'volume'] as const;

// Docker's event types; tsrun journals the first four.
const TYPES = ['container', 'image', 'network', 'volume', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'];

export type EventFilter = (ev: EventMessage) => boolean;

/** `--filter key=value` flags → a predicate; an unknown key or type is an error naming it. */
export function parseEventFilters(flags: string[] = []): EventFilter {
  return eventFilter(parseFilterFlags(flags));
}

/** The Engine API's `filters` JSON → a predicate. */
export function parseEventFilterJson(text: string): EventFilter {
  return eventFilter(parseFilterJson(text));
}

export function eventFilter(args: FilterArgs): EventFilter {
  checkFilterKeys(args, EVENT_FILTER_KEYS);
  for (const t of args.get('type') ?? []) if (!TYPES.includes(t)) throw invalidFilter('type', t);
  for (const s of args.get('scope') ?? []) if (s !== 'local' && s !== 'swarm') throw invalidFilter('scope', s);
  const has = (key: string) => (args.get(key)?.length ?? 0) > 0;
  const exact = (key: string, ...candidates: (string | undefined)[]) =>
    !has(key) || args.get(key)!.some((v) => candidates.includes(v));
  // Docker's FuzzyMatch: equal, or the source starts with the value.
  const fuzzy = (key: string, ...sources: (string | undefined)[]) =>
    !has(key) || args.get(key)!.some((v) => sources.some((s) => s !== undefined && s !== '' && s.startsWith(v)));
  return (ev) => {
    const attrs = ev.Actor.Attributes ?? {};
    const imageName = ev.Type === 'image' ? attrs.name : attrs.image;
    return (
      exact('event', ev.Action, ev.Action.split(':')[0].trim()) &&
      exact('type', ev.Type) &&
      exact('scope', ev.scope) &&
      fuzzy('container', ...(ev.Type === 'container' ? [ev.Actor.ID, attrs.name] : [undefined])) &&
      fuzzy('network', ...(ev.Type === 'network' ? [ev.Actor.ID, attrs.name] : [undefined])) &&
      fuzzy('volume', ...(ev.Type === 'volume' ? [ev.Actor.ID, attrs.name] : [undefined])) &&
      exact('image', ev.Actor.ID, imageName, stripTag(ev.Actor.ID), stripTag(imageName)) &&
      matchLabels(args.get('label'), attrs)
    );
  };
}

/** `name:tag` → `name` (a `:` before the last `/` is a registry port); ids and digests stay. */
function stripTag(ref: string | undefined): string | undefined {
  if (!ref || ref.includes('@') || /^sha256:/.test(ref)) return ref;
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

/**
 * `--since`/`--until` (Docker's GetTimestamp): Unix seconds
 * (`1700000000.5`), an RFC 3339 date or time (local time without a zone),
 * or a Go duration back from now (`10m`, `1h30m`). Returns ms.
 */
export function parseEventTime(value: string, flag: 'since' | 'until', now = Date.now()): number {
  try {
    return parseUntil(value.trim(), now);
  } catch {
    throw new TsrunError(
      'INVALID_ARGUMENT',
      `invalid value for --${flag}: ${JSON.stringify(value)} (use Unix seconds, a time like 2024-01-31T12:00:00Z, or a duration like 10m)`,
    );
  }
}

/** Both bounds, checked against each other. */
export function parseEventTimes(since: string | undefined, until: string | undefined, now = Date.now()): { since?: number; until?: number } {
  const s = since === undefined ? undefined : parseEventTime(since, 'since', now);
  const u = until === undefined ? undefined : parseEventTime(until, 'until', now);
  if (s !== undefined && u !== undefined && u < s) throw new TsrunError('INVALID_ARGUMENT', `--until (${until}) is before --since (${since})`);
  return { ...(s !== undefined ? { since: s } : {}), ...(u !== undefined ? { until: u } : {}) };
}
