// Docker's list filters (its api/types/filters package): a key and its
// values, from the CLI's repeated `--filter key=value` or the Engine API's
// `filters` query parameter. Values of one key are alternatives (OR),
// different keys must all hold (AND); `label` is Docker's exception: every
// label filter must hold. runtime/container-filters.ts and
// image/image-filters.ts say what each key means.
import { TsrunError } from '../errors.js';

/** Key → its values, in the order given, without repeats. */
export type FilterArgs = Map<string, string[]>;

function add(args: FilterArgs, key: string, value: string): void {
  const values = args.get(key) ?? [];
  if (!values.includes(value)) values.push(value);
  args.set(key, values);
}

/** The CLI's `--filter key=value` flags (Docker's ParseFlag: the key lower-cased, both sides trimmed). */
export function parseFilterFlags(flags: string[]): FilterArgs {
  const args: FilterArgs = new Map();
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new TsrunError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${f}`);
    add(args, f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1).trim());
  }
  return args;
}

/** The Engine API's `filters` JSON: `{"label":["a=1"]}` or the older `{"label":{"a=1":true}}`. */
export function parseFilterJson(text: string): FilterArgs {
  const args: FilterArgs = new Map();
  if (text.trim() === '') return args;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid filter: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TsrunError('INVALID_ARGUMENT', 'invalid filter: not a JSON object');
  for (const [key, values] of Object.entries(doc)) {
    if (Array.isArray(values) && values.every((v) => typeof v === 'string')) values.forEach((v) => add(args, key, v));
    else if (typeof values === 'object' && values !== null && Object.values(values).every((v) => typeof v === 'boolean')) {
      for (const [v, on] of Object.entries(values)) if (on) add(args, key, v);
    } else throw new TsrunError('INVALID_ARGUMENT', `invalid filter '${key}'`);
  }
  return args;
}

/** Docker's invalidFilter error: `invalid filter 'key'` or `invalid filter 'key=value'`. */
export function invalidFilter(key: string, value?: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', `invalid filter '${key}${value === undefined ? '' : `=${value}`}'`);
}

/** Refuses a key outside `accepted` (Docker's Validate). */
export function checkFilterKeys(args: FilterArgs, accepted: readonly string[]): void {
  for (const key of args.keys()) if (!accepted.includes(key)) throw invalidFilter(key);
}

/** Docker's MatchKVList: every `key` or `key=value` among `filters` is in `labels`. */
export function matchLabels(filters: readonly string[] | undefined, labels: Record<string, string> | undefined): boolean {
  if (!filters?.length) return true;
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (!labels || !Object.hasOwn(labels, key)) return false;
    if (eq >= 0 && labels[key] !== f.slice(eq + 1)) return false;
  }
  return true;
}

/** Docker's filters.Match (`name` and `id` of networks and volumes): a value equal to `source` or, as an unanchored regular expression, found in it; one that does not compile is skipped. */
export function filterMatch(values: readonly string[], source: string): boolean {
  return values.some((v) => {
    if (v === source) return true;
    try {
      return new RegExp(v).test(source);
    } catch {
      return false;
    }
  });
}

/** Docker's GetBoolOrDefault: true/1 or false/0 (any case); anything else is an invalid filter. */
export function filterBool(args: FilterArgs, key: string): boolean | undefined {
  const values = args.get(key);
  if (!values?.length) return undefined;
  const parsed = values.map((v) => (/^(true|1)$/i.test(v) ? true : /^(false|0)$/i.test(v) ? false : undefined));
  if (parsed.some((p) => p === undefined) || new Set(parsed).size > 1) throw invalidFilter(key, values.join(','));
  return parsed[0];
}

/** Go's path.Match: `*` any run of characters but `/`, `?` one, `[a-z]`/`[^a-z]` a class, `\` escapes. A malformed pattern throws. */
export function globMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) throw new TsrunError('INVALID_ARGUMENT', `syntax error in pattern: ${pattern}`);
      re += escapeRe(pattern[++i]);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new TsrunError('INVALID_ARGUMENT', `syntax error in pattern: ${pattern}`);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      if (!body) throw new TsrunError('INVALID_ARGUMENT', `syntax error in pattern: ${pattern}`);
      re += `[${negate ? '^/' : ''}${body.replace(/[\]\\]/g, '\\$&')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`${re}$`, 'u').test(name);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
