// Go's fmt.Sprintf for the verbs templates use: %v %s %d %q %t %x %X %o %b
// %c %f %e %g %%, with the flags - + 0 space #, width and precision.
// Mismatches print as Go's do: %!d(string=x), %!s(MISSING), %!(EXTRA ...).
import { formatNumber, formatValue, typeName } from './values.js';

interface Spec { minus: boolean; plus: boolean; zero: boolean; space: boolean; sharp: boolean; width?: number; prec?: number }

export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const spec: Spec = { minus: false, plus: false, zero: false, space: false, sharp: false };
    let j = i + 1;
    for (; j < format.length; j++) {
      const f = format[j];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === '0') spec.zero = true;
      else if (f === ' ') spec.space = true;
      else if (f === '#') spec.sharp = true;
      else break;
    }
    const num = (): number | undefined => {
      if (format[j] === '*') {
        j++;
        const a = args[argi++];
        return typeof a === 'number' ? Math.trunc(a) : undefined;
      }
      const m = /^\d+/.exec(format.slice(j));
      if (!m) return undefined;
      j += m[0].length;
      return Number(m[0]);
    };
    spec.width = num();
    if (format[j] === '.') {
      j++;
      spec.prec = num() ?? 0;
    }
    const verb = format[j];
    i = j;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, args[argi++], spec);
  }
  if (argi < args.length) out += `%!(EXTRA ${args.slice(argi).map((a) => `${typeName(a)}=${formatValue(a)}`).join(', ')})`;
  return out;
}

function bad(verb: string, v: unknown): string {
  return v === undefined || v === null ? `%!${verb}(<nil>)` : `%!${verb}(${typeName(v)}=${formatValue(v)})`;
}

function pad(s: string, spec: Spec, numeric = false): string {
  const w = spec.width ?? 0;
  const len = [...s].length;
  if (len >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - len);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(w - len) + s.slice(sign.length);
  }
  return ' '.repeat(w - len) + s;
}

function signed(s: string, n: number, spec: Spec): string {
  if (n < 0 || Object.is(n, -0)) return s;
  return spec.plus ? `+${s}` : spec.space ? ` ${s}` : s;
}

/** strconv.Quote: Go's double-quoted form. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const esc: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
    if (esc[ch]) out += esc[ch];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function formatOne(verb: string, v: unknown, spec: Spec): string {
  const isInt = typeof v === 'number' && Number.isInteger(v);
  switch (verb) {
    case 'v':
      if (typeof v === 'number') return pad(signed(formatNumber(v), v, spec), spec, true);
      return pad(formatValue(v === undefined ? null : v), spec);
    case 's':
      if (typeof v === 'string') return pad(spec.prec !== undefined ? [...v].slice(0, spec.prec).join('') : v, spec);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return pad(`[${v.join(' ')}]`, spec);
      return bad(verb, v);
    case 'q':
      if (typeof v === 'string') return pad(spec.sharp && !v.includes('`') ? `\`${v}\`` : goQuote(v), spec);
      if (isInt) return pad(`'${String.fromCodePoint(v as number)}'`, spec);
      return bad(verb, v);
    case 't':
      return typeof v === 'boolean' ? pad(String(v), spec) : bad(verb, v);
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'b': {
      if ((verb === 'x' || verb === 'X') && typeof v === 'string') {
        const hex = Buffer.from(v).toString('hex');
        return pad(verb === 'X' ? hex.toUpperCase() : hex, spec);
      }
      if (!isInt) return bad(verb, v);
      const n = v as number;
      const radix = { d: 10, x: 16, X: 16, o: 8, b: 2 }[verb];
      let digits = Math.abs(n).toString(radix);
      if (verb === 'X') digits = digits.toUpperCase();
      if (spec.prec !== undefined) digits = digits.padStart(spec.prec, '0');
      if (spec.sharp) digits = ({ x: '0x', X: '0X', o: '0', b: '', d: '' }[verb] ?? '') + digits;
      return pad(signed(n < 0 ? `-${digits}` : digits, n, spec), spec, spec.prec === undefined);
    }
    case 'c':
      return isInt ? pad(String.fromCodePoint(v as number), spec) : bad(verb, v);
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      if (typeof v !== 'number') return bad(verb, v);
      const prec = spec.prec ?? 6;
      let s: string;
      if (verb === 'f' || verb === 'F') s = Math.abs(v).toFixed(prec);
      else if (verb === 'e' || verb === 'E') s = goExp(Math.abs(v).toExponential(prec));
      else s = spec.prec === undefined ? formatNumber(Math.abs(v)) : goExp(String(Number(Math.abs(v).toPrecision(prec || 1))));
      if (verb === 'E' || verb === 'G') s = s.toUpperCase();
      return pad(signed(v < 0 ? `-${s}` : s, v, spec), spec, true);
    }
    default:
      return bad(verb, v);
  }
}

/** JS exponent form (1e+5) → Go's (1e+05). */
function goExp(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}
