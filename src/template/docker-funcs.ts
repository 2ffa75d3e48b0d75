// The functions Docker adds to every --format template (docker/cli's
// templates.basicFunctions), and their header forms: a table's header row
// runs the same template over the column names, where these functions
// leave the names as they are (templates.HeaderFunctions).
import { def, type FuncMap } from './funcs.js';
import { entries, formatValue, isMap } from './values.js';

/** Go's encoding/json (HTML left unescaped, as Docker sets it): map keys sorted, struct fields in order. */
export function goJson(v: unknown): string {
  return JSON.stringify(v === undefined ? null : v, (_k, x: unknown) => (isMap(x) ? Object.fromEntries(entries(x)) : x)) ?? 'null';
}

/** strings.Title: a letter after a separator (ASCII other than letters, digits and _, or a space) upper-cased. */
function title(s: string): string {
  return s.replace(/(^|[\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\s])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

export const DOCKER_FUNCS: FuncMap = {
  json: def(['any'], goJson),
  split: def(['string', 'string'], (s: string, sep: string) => (sep === '' ? [...s] : s.split(sep))),
  join: def(['strings', 'string'], (list: string[], sep: string) => list.join(sep)),
  title: def(['string'], title),
  lower: def(['string'], (s: string) => s.toLowerCase()),
  upper: def(['string'], (s: string) => s.toUpperCase()),
  pad: def(['string', 'int', 'int'], (s: string, prefix: number, suffix: number) => (s === '' ? s : ' '.repeat(Math.max(0, prefix)) + s + ' '.repeat(Math.max(0, suffix)))),
  truncate: def(['string', 'int'], (s: string, n: number) => ([...s].length < n ? s : [...s].slice(0, Math.max(0, n)).join(''))),
};

const same = (v: unknown) => (typeof v === 'string' ? v : formatValue(v));

/** The header row's versions: the column name passes through (pad still pads, to keep the columns aligned). */
export const HEADER_FUNCS: FuncMap = {
  json: def(['any'], same),
  split: def(['any', 'any'], same),
  join: def(['any', 'any'], same),
  title: def(['any'], same),
  lower: def(['any'], same),
  upper: def(['any'], same),
  truncate: def(['any', 'any'], same),
};
