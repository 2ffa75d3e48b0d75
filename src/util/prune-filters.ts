// Docker's prune filters (`--filter until=24h`, `label=k[=v]`, `label!=k[=v]`),
// parsed once and matched by every core prune function (containers,
// images, networks, volumes) so each applies them the same way. The
// parsing and label matching are the list filters' (util/filters.ts);
// `until` is prune's own.
import { TsrunError } from '../errors.js';
import { checkFilterKeys, matchLabels, parseFilterFlags } from './filters.js';

export interface PruneFilters {
  /** Only what was created before this time (ms since the epoch). */
  until?: number;
  /** label=: each `key` or `key=value` must be there. */
  labels: string[];
  /** label!=: what has them all is kept (Docker's rule). */
  notLabels: string[];
  /** The filters as given (`until=24h`), for prompts and messages. */
  given: string[];
}

/** What a prune filter looks at: when the object was created and its labels. */
export interface Prunable {
  created?: string;
  labels?: Record<string, string>;
}

export const PRUNE_FILTER_KEYS = ['until', 'label', 'label!'] as const;

/** Go's time.ParseDuration units, in ms. */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A Go duration (`90m`, `1h30m`, `1.5h`) in ms, or null when it is not one.
 * µ is written \u00b5: the bundle must stay ASCII (bin/launch.cjs reads it as latin1).
 */
function goDuration(text: string): number | null {
  const m = /^([-+]?)((?:\d*\.?\d+(?:ns|us|\u00b5s|ms|s|m|h))+)$/.exec(text);
  if (!m) return null;
  let total = 0;
  for (const [, n, unit] of m[2].matchAll(/(\d*\.?\d+)(ns|us|\u00b5s|ms|s|m|h)/g)) total += Number(n) * UNIT_MS[unit];
  return m[1] === '-' ? -total : total;
}

/**
 * Docker's timestamp rules for `until`: a Go duration before now, Unix
 * seconds (`1700000000[.5]`), or an RFC 3339 date or time (local time when
 * no zone is given).
 */
export function parseUntil(value: string, now = Date.now()): number {
  const d = value !== '0' ? goDuration(value) : null;
  if (d !== null) return now - d;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  if (/^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:\d\d)?$/.test(value)) {
    const t = Date.parse(/^\d{4}-\d\d-\d\d$/.test(value) ? `${value}T00:00:00` : value);
    if (!Number.isNaN(t)) return t;
  }
  throw new TsrunError('INVALID_ARGUMENT', `invalid until filter ${JSON.stringify(value)}: use a duration (24h, 90m) or a time (2024-01-31, 2024-01-31T12:00:00Z, Unix seconds)`);
}

/** `--filter` values → filters; a malformed or unknown one is an error naming it (before anything is removed). */
export function parsePruneFilters(values: string[] = [], now = Date.now()): PruneFilters {
  const args = parseFilterFlags(values);
  checkFilterKeys(args, PRUNE_FILTER_KEYS);
  const until = args.get('until') ?? [];
  if (until.length > 1) throw new TsrunError('INVALID_ARGUMENT', 'more than one until filter specified');
  return {
    ...(until.length ? { until: parseUntil(until[0], now) } : {}),
    labels: args.get('label') ?? [],
    notLabels: args.get('label!') ?? [],
    given: values,
  };
}

/** No filter at all (prune everything the verb prunes). */
export function noFilters(f: PruneFilters | undefined): boolean {
  return !f || (f.until === undefined && f.labels.length === 0 && f.notLabels.length === 0);
}

/**
 * Whether the filters let `item` be pruned (Docker's rules): created
 * before `until` (something whose creation time is unknown is kept), every
 * `label=` present, and not every `label!=` present.
 */
export function matchesPruneFilters(f: PruneFilters | undefined, item: Prunable): boolean {
  if (!f) return true;
  if (f.until !== undefined) {
    const t = item.created ? Date.parse(item.created) : NaN;
    if (Number.isNaN(t) || t > f.until) return false;
  }
  if (!matchLabels(f.labels, item.labels)) return false;
  return !(f.notLabels.length && matchLabels(f.notLabels, item.labels));
}
