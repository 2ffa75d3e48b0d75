// .dockerignore: reading the file (moby/patternmatcher ignorefile.ReadAll)
// and matching context paths against it (patternmatcher's
// MatchesOrParentMatches). The rules users rely on:
//  - `#` at the start of a line is a comment; blank lines are skipped;
//    surrounding whitespace is trimmed; patterns are cleaned like
//    filepath.Clean and a leading `/` is dropped (the context is the root);
//  - `*` and `?` stay within one path element, `[...]` is a class, `**`
//    spans any number of elements, `\` quotes the next character;
//  - `!pattern` re-includes; the last matching rule wins;
//  - a rule matching a directory matches everything below it, so `dir`
//    excludes `dir/a/b` unless a later `!` rule re-includes it.
// Pure: the builder reads the file (dockerignorePathFor says which one).
import path from 'node:path';
import { TsrunError } from '../../errors.js';

export interface IgnoreRule {
  /** The cleaned pattern, without the `!`. */
  pattern: string;
  /** A `!` rule: re-includes what it matches. */
  negate: boolean;
  /** 1-based line in the ignore file (0 when made from a list, e.g. COPY --exclude). */
  line: number;
}

/** Go's filepath.Clean for slash paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Parses a .dockerignore text into rules. Throws on `!` alone or a malformed `[` class. */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n');
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    if (rawLine.startsWith('#')) return; // only at column 0, as in ReadAll
    let pattern = rawLine.trim();
    if (pattern === '') return;
    const negate = pattern.startsWith('!');
    if (negate) pattern = pattern.slice(1).trim();
    if (negate && pattern === '') {
      throw new TsrunError('INVALID_ARGUMENT', `.dockerignore line ${line}: illegal exclusion pattern: "!"`);
    }
    pattern = cleanPath(pattern);
    if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    try {
      compilePattern(pattern);
    } catch {
      throw new TsrunError('INVALID_ARGUMENT', `.dockerignore line ${line}: syntax error in pattern ${JSON.stringify(pattern)}`);
    }
    rules.push({ pattern, negate, line });
  });
  return rules;
}

type Matcher = (p: string) => boolean;

/**
 * A pattern as patternmatcher compiles it: exact, prefix (`dir/**`),
 * suffix (`**` + literal) or a regular expression.
 */
function compilePattern(pattern: string): Matcher {
  const chars = Array.from(pattern);
  let re = '^';
  let type: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  for (let i = 0, step = 0; i < chars.length; step++) {
    const ch = chars[i++]!;
    if (ch === '*') {
      if (chars[i] === '*') {
        i++;
        if (chars[i] === '/') i++; // `**/` is `**`
        if (i >= chars.length) {
          // A trailing `**` matches everything below (and, as in .gitignore, at) that point.
          if (type === 'exact') type = 'prefix';
          else {
            re += '[^]*';
            type = 'regexp';
          }
        } else {
          re += '(?:[^]*/)?';
          type = 'regexp';
        }
        if (step === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (ch === '\\') {
      if (i < chars.length) {
        const next = chars[i++]!;
        re += escapeRegExp(next);
        type = 'regexp';
      } else {
        re += '\\\\';
      }
    } else if (ch === '[') {
      // `[!a]` is Go's negated class; JavaScript spells it `[^a]`.
      if (chars[i] === '!') {
        i++;
        re += '[^';
      } else re += '[';
      type = 'regexp';
    } else if (ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += escapeRegExp(ch);
    }
  }

  switch (type) {
    case 'exact':
      return (p) => p === pattern;
    case 'prefix': {
      const prefix = pattern.slice(0, -2);
      return (p) => p.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = pattern.slice(2);
      // `**/foo` also matches `foo` at the top.
      return (p) => p.endsWith(suffix) || (suffix.startsWith('/') && p === suffix.slice(1));
    }
    default: {
      const regexp = new RegExp(`${re}$`, 'u');
      return (p) => regexp.test(p);
    }
  }
}

function escapeRegExp(ch: string): string {
  return /[.+()|{}$^*?\\/]/.test(ch) ? `\\${ch}` : ch;
}

/** One path element against one element of a pattern (no `**`), for canSkipDir. */
function elementMatcher(element: string): Matcher {
  return compilePattern(element);
}

interface Compiled extends IgnoreRule {
  match: Matcher;
  elements: string[];
}

export class IgnoreMatcher {
  private readonly rules: Compiled[];
  private readonly hasExceptions: boolean;

  constructor(rules: IgnoreRule[]) {
    this.rules = rules.map((r) => ({ ...r, match: compilePattern(r.pattern), elements: r.pattern.split('/') }));
    this.hasExceptions = rules.some((r) => r.negate);
  }

  /**
   * Whether a context path (relative, slash-separated) is excluded. isDir is
   * accepted for callers walking a tree; Docker's rules do not depend on it
   * (a trailing `/` in a pattern is cleaned away).
   */
  ignores(relPath: string, _isDir = false): boolean {
    const file = cleanPath(relPath.replace(/^\/+/, ''));
    if (file === '.') return false; // the context root itself is never excluded
    const parents = file.split('/').slice(0, -1);
    let matched = false;
    for (const rule of this.rules) {
      // Only a rule that could change the outcome is tried (patternmatcher does the same).
      if (rule.negate !== matched) continue;
      let hit = rule.match(file);
      for (let i = 0; !hit && i < parents.length; i++) hit = rule.match(parents.slice(0, i + 1).join('/'));
      if (hit) matched = !rule.negate;
    }
    return matched;
  }

  /**
   * True when a directory is excluded and no `!` rule could re-include
   * anything below it, so a walker need not descend. Conservative: a `!`
   * rule with `**` that could reach below keeps the directory walked.
   */
  canSkipDir(relPath: string): boolean {
    if (!this.ignores(relPath, true)) return false;
    if (!this.hasExceptions) return true;
    const dir = cleanPath(relPath.replace(/^\/+/, '')).split('/');
    return !this.rules.some((r) => r.negate && mayMatchBelow(r.elements, dir));
  }
}

/**
 * Whether a pattern (split into elements) could match some path strictly
 * below dir. Rules that match dir or one of its parents already decided
 * ignores(dir) and apply alike to everything below; only deeper ones matter.
 */
function mayMatchBelow(elements: string[], dir: string[]): boolean {
  for (let i = 0; i < elements.length; i++) {
    const element = elements[i]!;
    if (element.includes('**')) return true;
    if (i >= dir.length) return true; // more elements than dir: matches something below it
    if (!elementMatcher(element)(dir[i]!)) return false;
  }
  return false;
}

/**
 * `<Dockerfile name>.dockerignore` beside the Dockerfile (Docker's
 * per-Dockerfile ignore file); the builder falls back to CONTEXT/.dockerignore.
 */
export function dockerignorePathFor(dockerfilePath: string): string {
  return path.join(path.dirname(dockerfilePath), `${path.basename(dockerfilePath)}.dockerignore`);
}
