// Go text/template's predefined functions: and, or, not, len, index,
// slice, print, printf, println, eq, ne, lt, le, gt, ge, html, js,
// urlquery, call. (and/or short-circuit: exec.ts evaluates them itself.)
import { def, FuncError, type FuncMap } from './funcs.js';
import { sprintf } from './printf.js';
import { basicKind, formatValue, isMap, isTrue, mapZero, typeName } from './values.js';

/** fmt.Sprint: a space between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a === undefined ? null : a);
  });
  return out;
}

function indexOne(item: unknown, key: unknown): unknown {
  if (item === undefined || item === null) throw new FuncError('index of untyped nil');
  if (Array.isArray(item) || typeof item === 'string') {
    if (typeof key !== 'number' || !Number.isInteger(key)) throw new FuncError(`cannot index slice/array with type ${typeName(key)}`);
    const len = typeof item === 'string' ? Buffer.byteLength(item) : item.length;
    if (key < 0 || key >= len) throw new FuncError(`index out of range: ${key}`);
    return typeof item === 'string' ? Buffer.from(item)[key] : item[key];
  }
  if (item instanceof Map) return item.has(key) ? item.get(key) : undefined;
  if (typeof item === 'object') {
    if (typeof key !== 'string') throw new FuncError(`value has type ${typeName(key)}; should be string`);
    // Structs are indexed like maps: lenient where Go refuses, as Docker's raw-JSON fallback allows.
    return Object.hasOwn(item, key) ? (item as Record<string, unknown>)[key] : isMap(item) ? mapZero(item) : undefined;
  }
  throw new FuncError(`can't index item of type ${typeName(item)}`);
}

function sliceOf(item: unknown, idx: unknown[]): unknown {
  if (typeof item !== 'string' && !Array.isArray(item)) throw new FuncError(`can't slice item of type ${typeName(item)}`);
  if (idx.length > (typeof item === 'string' ? 2 : 3)) throw new FuncError(`too many slice indexes: ${idx.length}`);
  const len = typeof item === 'string' ? Buffer.byteLength(item) : item.length;
  const n = idx.map((i) => {
    if (typeof i !== 'number' || !Number.isInteger(i)) throw new FuncError(`cannot index slice/array with type ${typeName(i)}`);
    if (i < 0 || i > len) throw new FuncError(`index out of range: ${i}`);
    return i;
  });
  const [from = 0, to = len] = n;
  if (from > to) throw new FuncError(`invalid slice index: ${from} > ${to}`);
  return typeof item === 'string' ? Buffer.from(item).subarray(from, to).toString() : item.slice(from, to);
}

function compare(op: 'lt' | 'le' | 'gt' | 'ge', a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== 'number' && ka !== 'string') throw new FuncError('invalid type for comparison');
  if (ka !== kb) throw new FuncError('incompatible types for comparison');
  const x = a as number | string;
  const y = b as number | string;
  return op === 'lt' ? x < y : op === 'le' ? x <= y : op === 'gt' ? x > y : x >= y;
}

function eq(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  // Go passes nil and no value alike as an empty interface, which compares unequal to anything set.
  const ka = basicKind(a);
  for (const b of rest) {
    const kb = basicKind(b);
    if (a == null || b == null) {
      if (a == null && b == null) return true;
      continue;
    }
    if (ka === 'other' || kb === 'other') throw new FuncError(`non-comparable type ${formatValue(ka === 'other' ? a : b)}: ${typeName(ka === 'other' ? a : b)}`);
    if (ka !== kb) throw new FuncError('incompatible types for comparison');
    if (a === b) return true;
  }
  return false;
}

const escArgs = (args: unknown[]) => (args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args));

export const BUILTINS: FuncMap = {
  and: def(['any'], (...a: unknown[]) => a.find((x) => !isTrue(x)) ?? a.at(-1), 'any'),
  or: def(['any'], (...a: unknown[]) => a.find((x) => isTrue(x)) ?? a.at(-1), 'any'),
  not: def(['any'], (a: unknown) => !isTrue(a)),
  len: def(['any'], (a: unknown) => {
    if (typeof a === 'string') return Buffer.byteLength(a);
    if (Array.isArray(a)) return a.length;
    if (a instanceof Map) return a.size;
    if (typeof a === 'object' && a !== null) return Object.keys(a).length;
    throw new FuncError(a === undefined || a === null ? 'len of untyped nil' : `len of type ${typeName(a)}`);
  }),
  index: def(['any'], (item: unknown, ...keys: unknown[]) => keys.reduce(indexOne, item), 'any'),
  slice: def(['any'], (item: unknown, ...idx: unknown[]) => sliceOf(item, idx), 'any'),
  print: def([], (...a: unknown[]) => sprint(a), 'any'),
  println: def([], (...a: unknown[]) => `${a.map((x) => formatValue(x === undefined ? null : x)).join(' ')}\n`, 'any'),
  printf: def(['string'], (f: string, ...a: unknown[]) => sprintf(f, a), 'any'),
  eq: def(['any'], eq, 'any'),
  ne: def(['any', 'any'], (a: unknown, b: unknown) => !eq(a, b)),
  lt: def(['any', 'any'], (a: unknown, b: unknown) => compare('lt', a, b)),
  le: def(['any', 'any'], (a: unknown, b: unknown) => compare('le', a, b)),
  gt: def(['any', 'any'], (a: unknown, b: unknown) => compare('gt', a, b)),
  ge: def(['any', 'any'], (a: unknown, b: unknown) => compare('ge', a, b)),
  html: def([], (...a: unknown[]) => escArgs(a).replace(/[&'<>"\0]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\0': '\uFFFD' })[c]!), 'any'),
  js: def([], (...a: unknown[]) => escArgs(a).replace(/[\\'"<>&=\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!), 'any'),
  urlquery: def([], (...a: unknown[]) => encodeURIComponent(escArgs(a)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`), 'any'),
  call: def(['any'], (fn: unknown, ...a: unknown[]) => {
    if (typeof fn !== 'function') throw new FuncError(`non-function of type ${typeName(fn)}`);
    return (fn as (...x: unknown[]) => unknown)(...a);
  }, 'any'),
};
