// Go text/template's lexer: text and `{{ }}` actions, with `{{-`/`-}}` trim
// markers and `{{/* comments */}}`. Tokens carry their byte offset so
// errors can name line and column, as Go's do (`template: :1:5: ...`).
import { TemplateError } from './errors.js';

export type TokenType =
  | 'text' | 'left' | 'right' | 'space' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma'
  | 'string' | 'rawString' | 'char' | 'number' | 'bool' | 'nil' | 'dot' | 'field' | 'variable' | 'identifier' | 'keyword' | 'eof';

export interface Token {
  type: TokenType;
  /** The token's text (for strings, still quoted). */
  value: string;
  pos: number;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
const SPACE = /[ \t\r\n]/;
const ALNUM = /[\p{L}\p{Nd}_]/u;

/** Splits `src` into tokens; a lexical error (unclosed action, bad character) throws. */
export function lex(src: string): Token[] {
  const out: Token[] = [];
  let pos = 0;
  let trimNextText = false;
  while (pos < src.length) {
    let open = src.indexOf('{{', pos);
    if (open < 0) open = src.length;
    let text = src.slice(pos, open);
    const trimLeft = open < src.length && /^\{\{-[ \t\r\n]/.test(src.slice(open, open + 4));
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, '');
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
    trimNextText = false;
    if (text) out.push({ type: 'text', value: text, pos });
    if (open >= src.length) break;
    // The trim marker is `-` and one white space character.
    const r = lexAction(src, open, trimLeft ? open + 4 : open + 2, out);
    pos = r.pos;
    trimNextText = r.trimRight;
  }
  out.push({ type: 'eof', value: '', pos: src.length });
  return out;
}

/** Lexes one action from `start` (just past `{{` or `{{- `); returns where the text after it begins. */
function lexAction(src: string, open: number, start: number, out: Token[]): { pos: number; trimRight: boolean } {
  let pos = start;
  // A comment: the whole action, `{{/* ... */}}`.
  if (src.startsWith('/*', pos)) {
    const end = src.indexOf('*/', pos + 2);
    if (end < 0) throw new TemplateError(`unclosed comment`, src, open);
    pos = end + 2;
    const close = closeAt(src, pos);
    if (!close) throw new TemplateError(`comment ends before closing delimiter`, src, open);
    return close;
  }
  out.push({ type: 'left', value: '{{', pos: open });
  let parens = 0;
  for (;;) {
    const close = closeAt(src, pos);
    if (close && parens === 0) {
      out.push({ type: 'right', value: '}}', pos });
      return close;
    }
    if (pos >= src.length) throw new TemplateError('unclosed action', src, open);
    const c = src[pos];
    // Newlines inside an action are spaces (Go 1.16 on).
    if (SPACE.test(c)) {
      const s = pos;
      while (pos < src.length && SPACE.test(src[pos]) && !closeAt(src, pos)) pos++;
      out.push({ type: 'space', value: src.slice(s, pos), pos: s });
      continue;
    }
    if (close && parens > 0) throw new TemplateError('unclosed left paren', src, pos);
    if (src.startsWith(':=', pos)) {
      out.push({ type: 'declare', value: ':=', pos });
      pos += 2;
      continue;
    }
    switch (c) {
      case '=': out.push({ type: 'assign', value: '=', pos }); pos++; continue;
      case ',': out.push({ type: 'comma', value: ',', pos }); pos++; continue;
      case '|': out.push({ type: 'pipe', value: '|', pos }); pos++; continue;
      case '(': out.push({ type: 'lparen', value: '(', pos }); pos++; parens++; continue;
      case ')':
        if (--parens < 0) throw new TemplateError(`unexpected right paren`, src, pos);
        out.push({ type: 'rparen', value: ')', pos });
        pos++;
        continue;
      case '"': pos = quoted(src, pos, '"', 'string', out); continue;
      case "'": pos = quoted(src, pos, "'", 'char', out); continue;
      case '`': {
        const end = src.indexOf('`', pos + 1);
        if (end < 0) throw new TemplateError('unterminated raw quoted string', src, pos);
        out.push({ type: 'rawString', value: src.slice(pos, end + 1), pos });
        pos = end + 1;
        continue;
      }
      case '$': {
        const s = pos++;
        while (pos < src.length && ALNUM.test(src[pos])) pos++;
        out.push({ type: 'variable', value: src.slice(s, pos), pos: s });
        continue;
      }
      case '.': {
        // `.5` is a number; `.Name` a field; `.` alone the cursor.
        if (/[0-9]/.test(src[pos + 1] ?? '')) break;
        const s = pos++;
        if (!ALNUM.test(src[pos] ?? '')) {
          out.push({ type: 'dot', value: '.', pos: s });
          continue;
        }
        while (pos < src.length && ALNUM.test(src[pos])) pos++;
        out.push({ type: 'field', value: src.slice(s, pos), pos: s });
        continue;
      }
    }
    if (/[0-9+\-.]/.test(c)) {
      const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?|\d[\d_]*\.)/.exec(src.slice(pos));
      if (!m || !m[0] || /^[+-]$/.test(m[0])) throw new TemplateError(`bad number syntax: ${JSON.stringify(src.slice(pos, pos + 8).split(/[\s}]/)[0])}`, src, pos);
      if (ALNUM.test(src[pos + m[0].length] ?? '')) throw new TemplateError(`bad number syntax: ${JSON.stringify(src.slice(pos).split(/[\s})|]/)[0])}`, src, pos);
      out.push({ type: 'number', value: m[0], pos });
      pos += m[0].length;
      continue;
    }
    if (ALNUM.test(c)) {
      const s = pos;
      while (pos < src.length && ALNUM.test(src[pos])) pos++;
      const word = src.slice(s, pos);
      const type: TokenType = KEYWORDS.has(word) ? 'keyword' : word === 'true' || word === 'false' ? 'bool' : word === 'nil' ? 'nil' : 'identifier';
      out.push({ type, value: word, pos: s });
      continue;
    }
    throw new TemplateError(`unexpected ${JSON.stringify(c)} in command`, src, pos);
  }
}

/** At `}}` or ` -}}`: where the text after the action starts, and whether it is trimmed. */
function closeAt(src: string, pos: number): { pos: number; trimRight: boolean } | null {
  if (src.startsWith('}}', pos)) return { pos: pos + 2, trimRight: false };
  if (/^[ \t\r\n]-\}\}/.test(src.slice(pos, pos + 4))) return { pos: pos + 4, trimRight: true };
  return null;
}

function quoted(src: string, start: number, quote: string, type: TokenType, out: Token[]): number {
  let pos = start + 1;
  while (pos < src.length && src[pos] !== quote) {
    if (src[pos] === '\\') pos++;
    if (src[pos] === '\n') break;
    pos++;
  }
  if (pos >= src.length || src[pos] !== quote) throw new TemplateError(`unterminated ${type === 'char' ? 'character constant' : 'quoted string'}`, src, start);
  out.push({ type, value: src.slice(start, pos + 1), pos: start });
  return pos + 1;
}
