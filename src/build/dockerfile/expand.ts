// Shell-style word processing for Dockerfiles: quote removal, escapes, and
// `$var` / `${var...}` substitution with the rules of BuildKit's
// frontend/dockerfile/shell/lex.go (itself a small subset of POSIX sh).
//
// Docker expands variables itself (not through a shell) in ADD, COPY, ENV,
// EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG and in flag
// values; decode.ts decides where, this file only knows how. Pure: no I/O.
import { TsrunError } from '../../errors.js';
import type { Lookup } from './types.js';

export type EscapeChar = '\\' | '`';

/** Knobs of the lexer; the defaults are what Dockerfile instructions use. */
export interface LexOptions {
  escape?: EscapeChar;
  /** Keep quote characters in the output (used to tell whether a heredoc delimiter was quoted). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (COPY heredoc bodies). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written (`$x`, `${x:-y}`). */
  skipUnsetEnv?: boolean;
  /** Called with every variable name looked up, set or not. */
  onLookup?: (name: string) => void;
  /** `${x?msg}` does not throw (used when only collecting names). */
  noUnsetErrors?: boolean;
}

export interface LexResult {
  /** The text with quotes and escapes processed and variables substituted, spaces kept. */
  word: string;
  /** The same split into words the way the shell would (after substitution). */
  words: string[];
}

/** A word that cannot be processed (unterminated quote, bad `${}`, `${x:?}` on an unset x). */
export class ExpandError extends TsrunError {
  constructor(message: string) {
    super('DOCKERFILE_INVALID', message);
    this.name = 'ExpandError';
  }
}

const EOF = '';

function isSpace(ch: string): boolean {
  return /^\s$/u.test(ch);
}
function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}
function isNameChar(ch: string): boolean {
  return ch !== EOF && (/^[\p{L}\p{N}_]$/u.test(ch));
}
// POSIX special parameters ($@, $*, $#, ...): a one-character name.
function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch) && ch !== EOF;
}

/** Accumulates the shell's word splitting next to the plain result. */
class Words {
  private word = '';
  private inWord = false;
  readonly words: string[] = [];

  // An unquoted character: whitespace separates words.
  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  finish(): string[] {
    // As in lex.go, an empty quoted string ("") does not make a word on its own.
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class Lexer {
  private readonly chars: string[];
  private pos = 0;
  private readonly escape: string;
  private rawEscapes: boolean;

  constructor(
    text: string,
    private readonly lookup: Lookup,
    private readonly opts: LexOptions,
  ) {
    this.chars = Array.from(text); // code points, so a name may hold any letter
    this.escape = opts.escape ?? '\\';
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  private peek(): string {
    return this.pos < this.chars.length ? this.chars[this.pos]! : EOF;
  }
  private next(): string {
    return this.pos < this.chars.length ? this.chars[this.pos++]! : EOF;
  }

  run(): LexResult {
    const { word, words } = this.processStopOn(EOF, this.rawEscapes);
    return { word, words };
  }

  private getEnv(name: string): string | undefined {
    this.opts.onLookup?.(name);
    return this.lookup(name);
  }

  // The main loop: runs to the end of the text, or to `stop` (for the word
  // part of `${x:-word}`), which must then be present.
  private processStopOn(stop: string, rawEscapes: boolean): { word: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      while (this.peek() !== EOF) {
        const ch = this.peek();
        if (stop !== EOF && ch === stop) {
          this.next();
          return { word: result, words: words.finish() };
        }
        if (ch === '$') {
          const value = this.processDollar();
          result += value;
          words.addString(value); // unquoted substitutions are split into words
        } else if (!this.opts.skipProcessQuotes && ch === "'") {
          const value = this.processSingleQuote();
          result += value;
          words.addRawString(value);
        } else if (!this.opts.skipProcessQuotes && ch === '"') {
          const value = this.processDoubleQuote();
          result += value;
          words.addRawString(value);
        } else {
          let c = this.next();
          if (c === this.escape) {
            if (this.rawEscapes) {
              words.addRawChar(c);
              result += c;
            }
            // The escape char quotes the next one; a trailing escape vanishes.
            c = this.next();
            if (c === EOF) break;
            words.addRawChar(c);
          } else {
            words.addChar(c);
          }
          result += c;
        }
      }
      if (stop !== EOF) {
        throw new ExpandError(`unexpected end of statement while looking for matching ${stop}`);
      }
      return { word: result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  // Everything up to the next ' is literal; a ' cannot be escaped inside.
  private processSingleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new ExpandError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  // Literal except `$` (substitution) and the escape char, which quotes only
  // `"`, `$` and itself (as sh's backslash does inside double quotes).
  private processDoubleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ExpandError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const close = this.next();
        if (this.opts.rawQuotes) result += close;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escape) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === EOF) continue; // reported as an unterminated quote on the next turn
        if (after === '"' || after === '$' || after === this.escape) ch = this.next();
      }
      result += ch;
    }
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        // Positional parameters ($1, $12): digits only.
        while (isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.next();
      if (!isNameChar(ch)) break;
      name += this.next();
    }
    return name;
  }

  private processDollar(): string {
    this.next(); // the $
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$'; // a lone $ is literal
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `$${name}`;
      return value ?? '';
    }

    this.next(); // the {
    const first = this.peek();
    if (first === EOF) throw new ExpandError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ExpandError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let modifier = ch;
    if (ch === EOF) throw new ExpandError("syntax error: missing '}'");

    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }

    if (ch === '/') return this.processReplace(name);

    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      modifier += ch;
    }
    if (!['+', '-', '?', '#', '%'].includes(ch)) {
      throw new ExpandError(`unsupported modifier (${modifier}) in substitution`);
    }

    // The word part is itself expanded (nested `${a:-${b}}`) before the test,
    // which is also how referencedVariables() sees names inside it.
    const rawEscapes = ch === '#' || ch === '%';
    let word: string;
    try {
      word = this.processStopOn('}', rawEscapes).word;
    } catch (err) {
      if (this.peek() === EOF) throw new ExpandError("syntax error: missing '}'");
      throw err;
    }

    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}${modifier}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');

    switch (ch) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      case '?':
        if (this.opts.noUnsetErrors) return value ?? '';
        if (value === undefined) throw new ExpandError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new ExpandError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      case '#': {
        const greedy = word.startsWith('#');
        return trimPrefix(greedy ? word.slice(1) : word, value ?? '', greedy);
      }
      default: {
        const greedy = word.startsWith('%');
        return trimSuffix(greedy ? word.slice(1) : word, value ?? '', greedy);
      }
    }
  }

  // ${name/pattern/replacement} and ${name//pattern/replacement}
  private processReplace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    let pattern: string;
    try {
      pattern = this.processStopOn('/', true).word;
    } catch (err) {
      if (this.peek() === EOF) throw new ExpandError("syntax error: missing '/' in ${}");
      throw err;
    }
    let replacement: string;
    try {
      replacement = this.processStopOn('}', true).word;
    } catch (err) {
      if (this.peek() === EOF) throw new ExpandError("syntax error: missing '}'");
      throw err;
    }
    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    const re = shellPatternToRegExp(pattern, all ? 'g' : '');
    // A function replacement so `$&` and friends in the replacement stay literal.
    return (value ?? '').replace(re, () => replacement);
  }
}

/**
 * A shell pattern (`*`, `?`, `\x`) as a regular expression source. Bracket
 * expressions are not supported, as in lex.go.
 */
function shellPatternSource(pattern: string): string {
  const chars = Array.from(pattern);
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') out += '[^]*';
    else if (c === '?') out += '[^]';
    else if (c === '\\') {
      const n = chars[i + 1];
      // `\}` and `\/` only protect the ${} syntax; they are not part of the pattern.
      if (n === '}' || n === '/') continue;
      if (n !== '*' && n !== '?' && n !== '\\') throw new ExpandError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${n ?? ''}'`);
      out += '\\' + n;
      i++;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return out;
}

function shellPatternToRegExp(pattern: string, flags: string): RegExp {
  return new RegExp(shellPatternSource(pattern), flags + 'u');
}

// Removes the shortest (or, greedy, longest) prefix of value matching pattern.
function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const re = new RegExp(`^(?:${shellPatternSource(pattern)})$`, 'u');
  if (greedy) {
    for (let j = value.length; j >= 0; j--) if (re.test(value.slice(0, j))) return value.slice(j);
  } else {
    for (let j = 0; j <= value.length; j++) if (re.test(value.slice(0, j))) return value.slice(j);
  }
  return value;
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const re = new RegExp(`^(?:${shellPatternSource(pattern)})$`, 'u');
  if (greedy) {
    for (let i = 0; i <= value.length; i++) if (re.test(value.slice(i))) return value.slice(0, i);
  } else {
    for (let i = value.length; i >= 0; i--) if (re.test(value.slice(i))) return value.slice(0, i);
  }
  return value;
}

function run(text: string, lookup: Lookup, opts: LexOptions): LexResult {
  try {
    return new Lexer(text, lookup, opts).run();
  } catch (err) {
    // Docker names the text it could not process.
    if (err instanceof ExpandError) throw new ExpandError(`failed to process ${JSON.stringify(text)}: ${err.message}`);
    throw err;
  }
}

/** The general entry point, for callers that need one of the LexOptions knobs. */
export function lex(text: string, lookup: Lookup, opts: LexOptions = {}): LexResult {
  return run(text, lookup, opts);
}

/**
 * One word: quotes removed, escapes applied, variables substituted; spaces
 * (quoted or not) are kept. Docker's ProcessWord.
 */
export function expandWord(word: string, lookup: Lookup, escape: EscapeChar = '\\'): string {
  return run(word, lookup, { escape }).word;
}

/**
 * The text split into words after substitution: quotes group, an unquoted
 * substitution is split at whitespace, a quoted one is not. Docker's ProcessWords.
 */
export function expandWords(text: string, lookup: Lookup, escape: EscapeChar = '\\'): string[] {
  return run(text, lookup, { escape }).words;
}

/**
 * Substitution in a heredoc body (COPY/ADD <<EOF with an unquoted delimiter),
 * as BuildKit's ExpandRaw does it: quotes are ordinary characters, but the
 * backslash still escapes the next character and is removed (`\$x` gives
 * `$x`, and also `\n` gives `n`). Quote the delimiter (<<"EOF") for a body
 * taken verbatim.
 */
export function expandHeredoc(body: string, lookup: Lookup): string {
  return run(body, lookup, { escape: '\\', skipProcessQuotes: true }).word;
}

/**
 * The names of the variables the text refers to, in `$v`, `${v}` and the
 * `${v:-...}` family, including names nested in the word part. References
 * in single quotes or behind the escape char are not references. Used by the
 * builder to key its cache on exactly the build args a step uses.
 */
export function referencedVariables(text: string, escape: EscapeChar = '\\'): Set<string> {
  const names = new Set<string>();
  try {
    run(text, () => undefined, { escape, onLookup: (n) => names.add(n), noUnsetErrors: true });
  } catch {
    // Unbalanced quotes and the like: fall back to a plain scan, which may
    // over-report (harmless for a cache key) but never misses a name.
    for (const m of text.matchAll(/\$\{?([\p{L}_][\p{L}\p{N}_]*)/gu)) names.add(m[1]!);
  }
  return names;
}
