// Go's value semantics over JavaScript data: what is true, how a value
// prints (fmt's %v), how values compare, and which objects are maps.
//
// Data is JSON-shaped. `undefined` is Go's "no value" (a missing map key:
// prints `<no value>`), `null` is nil. A plain object is a struct: asking
// it for a field it lacks is an error, as in Go. Objects that are maps in
// Docker's types (labels, options, port maps) are marked with markMap();
// a JS Map is a map too. Functions on an object are its methods.

const MAP = Symbol('template.map');

/** Marks `obj` as a Go map (missing keys are `<no value>`, not an error); `zero` is what `index` gives for one. Returns obj. */
export function markMap<T extends object>(obj: T, zero: unknown = undefined): T {
  Object.defineProperty(obj, MAP, { value: { zero }, enumerable: false, configurable: true });
  return obj;
}

export function isMap(v: unknown): v is Record<string, unknown> | Map<unknown, unknown> {
  return v instanceof Map || (typeof v === 'object' && v !== null && MAP in v);
}

/** The value `index` gives for a key a map lacks (Go: the element type's zero value). */
export function mapZero(v: object): unknown {
  return v instanceof Map ? undefined : (v as { [MAP]?: { zero: unknown } })[MAP]?.zero;
}

/** Sorted [key, value] pairs of a map or object (Go ranges and prints maps in key order). */
export function entries(v: object): Array<[string, unknown]> {
  const list: Array<[string, unknown]> = v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : Object.entries(v);
  return list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function isStruct(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isMap(v);
}

/** Go's type name of a value, for messages (`can't evaluate field X in type map[string]interface {}`). */
export function typeName(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return 'interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'function') return 'func';
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') && v.length ? '[]string' : '[]interface {}';
  if (isMap(v)) return 'map[string]interface {}';
  return 'struct';
}

/** Go's truth: false, 0, nil, no value, and empty strings, slices and maps are false; structs are true. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** A number as Go's %v prints it: integers whole (as Go's ints), other floats in shortest digits, exponent form below 1e-4 and from 1e6. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const [mant, exp] = n.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 6) return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return String(n);
}

/** fmt.Sprint of one value (%v): `[a b]` for slices, `map[k:v]` for maps, `{a b}` for structs, `<nil>` for nil. */
export function formatValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'function') return '<func>';
  if (Array.isArray(v)) return `[${v.map(inner).join(' ')}]`;
  if (isMap(v)) return `map[${entries(v).map(([k, x]) => `${k}:${inner(x)}`).join(' ')}]`;
  return `{${Object.values(v as object).filter((x) => typeof x !== 'function').map(inner).join(' ')}}`;
}

// Inside a composite, a missing value is nil.
const inner = (v: unknown): string => formatValue(v === undefined ? null : v);

export type BasicKind = 'bool' | 'number' | 'string' | 'nil' | 'invalid' | 'other';

export function basicKind(v: unknown): BasicKind {
  if (v === undefined) return 'invalid';
  if (v === null) return 'nil';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'number': return 'number';
    case 'string': return 'string';
    default: return 'other';
  }
}

/**
 * Marks the objects at these dotted paths of `doc` as maps (see markMap),
 * for documents whose map-valued fields are known: `Config.Labels`, or
 * `NetworkSettings.Networks`. A map absent from a present parent is added
 * empty, as a Go struct always has the field (a JSON document may omit it).
 */
export function markMapPaths<T>(doc: T, paths: ReadonlyArray<string | [path: string, zero: unknown]>): T {
  for (const p of paths) {
    const [path, zero] = typeof p === 'string' ? [p, undefined] : p;
    const keys = path.split('.');
    let parent: unknown = doc;
    for (const key of keys.slice(0, -1)) parent = typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>)[key] : undefined;
    if (typeof parent !== 'object' || parent === null || Array.isArray(parent)) continue;
    const last = keys[keys.length - 1];
    const holder = parent as Record<string, unknown>;
    if (holder[last] === undefined) holder[last] = {};
    const v = holder[last];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) markMap(v, zero);
  }
  return doc;
}
