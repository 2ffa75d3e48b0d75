// The Dockerfile parser: text → directives, RawInstructions grouped into
// stages. It follows BuildKit's frontend/dockerfile/parser (parser.go,
// split_command.go, line_parsers.go) line for line where the rules are
// subtle: where directives may stand, how continuations and comments inside
// them join, how flags split off, when `[...]` is exec form, how heredoc
// bodies are collected. Nothing is expanded here (that needs the stage's
// variables, see decode.ts), but every check that does not depend on a
// variable runs now, so a broken Dockerfile fails before any step runs.
import { lex, type EscapeChar } from './expand.js';
import { checkInstruction, dockerfileError, INSTRUCTION_NAMES, unknownInstructionMessage } from './decode.js';
import type { Dockerfile, Heredoc, RawInstruction, RawStage } from './types.js';

// `# key=value` at the very top; only these keys are directives (BuildKit
// also knows `check`, accepted here and ignored, so it cannot end the block).
const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const DIRECTIVES = new Set(['escape', 'syntax', 'check']);
// A heredoc word as BuildKit sees it: optional fd, <<, optional -, a word with no '<'.
const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;
// Instructions whose arguments may open heredocs (ONBUILD counts through its trigger).
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);
// parseMaybeJSON / parseMaybeJSONToList in line_parsers.go.
const JSON_INSTRUCTIONS = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'VOLUME', 'COPY', 'ADD']);
const KNOWN = new Set<string>(INSTRUCTION_NAMES);

interface Line {
  text: string; // without the line ending
  raw: string; // with '\r' if the file had CRLF, as a heredoc body keeps it
  newline: boolean; // a '\n' followed it
}

function splitLines(text: string): Line[] {
  const parts = text.split('\n');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  else if (parts.length === 1 && parts[0] === '') return [];
  const endsWithNewline = text.endsWith('\n');
  return parts.map((raw, i) => ({
    raw,
    text: raw.endsWith('\r') ? raw.slice(0, -1) : raw,
    newline: i < parts.length - 1 || endsWithNewline,
  }));
}

const isComment = (line: string): boolean => line.trimStart().startsWith('#');
const escapeRe = (ch: string): string => ch.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/**
 * The continuation test of parser.go: the escape char, then only blanks, at
 * the end of the line, and not itself preceded by an escape char (so `\\` at
 * the end is a literal backslash). Returns the line without it.
 */
function continuationRegExp(escape: EscapeChar): RegExp {
  const e = escapeRe(escape);
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

/** Splits leading `--flag[=value]` words off, as split_command.go's extractBuilderFlags. */
export function splitFlags(rest: string): { flags: string[]; args: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < rest.length && /\s/.test(rest[pos]!)) pos++;
    if (pos >= rest.length) return { flags, args: '' };
    if (!rest.startsWith('--', pos)) return { flags, args: rest.slice(pos).trim() };
    // One flag word: quotes group and are removed, backslash quotes the next char.
    let word = '';
    let quote = '';
    while (pos < rest.length) {
      const ch = rest[pos]!;
      if (!quote && /\s/.test(ch)) break;
      pos++;
      if (quote) {
        if (ch === quote) quote = '';
        else if (ch === '\\' && pos < rest.length) word += rest[pos++]!;
        else if (ch !== '\\') word += ch;
        continue;
      }
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\') {
        if (pos < rest.length) word += rest[pos++]!;
      } else word += ch;
    }
    if (word === '--') return { flags, args: rest.slice(pos).trim() }; // `--` ends the flags
    flags.push(word);
  }
}

/** Exec form: a JSON array of strings. Invalid JSON is shell form, as in Docker; non-strings are an error. */
export function parseJsonArray(args: string): string[] | undefined {
  const text = args.trimStart();
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) {
    throw new Error('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return value as string[];
}

/**
 * Shell words of a line with quotes and backslashes kept, the way BuildKit
 * looks for heredoc openers (a lexer with raw quotes and raw escapes; its
 * escape is always the backslash, whatever `# escape=` says).
 */
function rawShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      word += ch;
      if (ch === quote) quote = '';
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]!;
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    word += ch;
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '\\' && i + 1 < line.length) word += line[++i]!;
  }
  if (inWord) words.push(word);
  return words;
}

/** The heredoc a word opens (`<<EOF`, `<<-"EOF"`, `3<<EOF`), or undefined. Docker's ParseHeredoc. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m) return undefined;
  const [, fd, dash, rest] = m as unknown as [string, string, string, string];
  if (rest === '') return undefined;
  const none = (): undefined => undefined;
  // Lexed with and without quotes: if the counts of quote characters differ,
  // part of the delimiter was quoted and the body is not expanded.
  const plain = lex(rest, none, { skipUnsetEnv: true }).words;
  if (plain.length !== 1) return undefined;
  const raw = lex(rest, none, { skipUnsetEnv: true, rawQuotes: true }).words;
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  const heredoc: Omit<Heredoc, 'content'> = {
    name: plain[0]!,
    expand: quotes(plain[0]!) === quotes(raw[0] ?? ''),
    chomp: dash === '-',
  };
  if (fd !== '') heredoc.fileDescriptor = Number(fd);
  return heredoc;
}

/** Levenshtein distance, for "did you mean" on unknown instructions. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

function suggest(keyword: string): string | undefined {
  let best: string | undefined;
  // One edit per four letters (at least one): COPPY → COPY, not FOO → FROM.
  let bestDistance = Math.max(1, Math.floor(keyword.length / 4)) + 1;
  for (const name of INSTRUCTION_NAMES) {
    const dist = distance(keyword.toUpperCase(), name);
    if (dist < bestDistance) {
      best = name;
      bestDistance = dist;
    }
  }
  return best;
}

/** Parses a whole Dockerfile. Throws TsrunError('DOCKERFILE_INVALID') naming the line. */
export function parseDockerfile(text: string): Dockerfile {
  const lines = splitLines(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const result: Dockerfile = { escape: '\\', globalArgs: [], stages: [], warnings: [] };
  let continuation = continuationRegExp('\\');
  let directivesDone = false;
  const seenDirectives = new Set<string>();
  const instructions: RawInstruction[] = [];

  const trimContinuation = (line: string): { text: string; more: boolean } => {
    if (continuation.test(line)) return { text: line.replace(continuation, '$1'), more: true };
    return { text: line, more: false };
  };

  let i = 0;
  while (i < lines.length) {
    const lineNo = i + 1;
    const first = lines[i++]!.text.trimStart();

    if (!directivesDone) {
      const m = DIRECTIVE_RE.exec(first);
      const key = m?.[1]?.toLowerCase();
      if (!m || !key || !DIRECTIVES.has(key)) {
        directivesDone = true; // anything else (also a blank line or comment) ends the directive block
      } else {
        if (seenDirectives.has(key)) throw dockerfileError(lineNo, `only one ${key} parser directive can be used`);
        seenDirectives.add(key);
        const value = m[2]!;
        if (key === 'escape') {
          if (value !== '\\' && value !== '`') {
            throw dockerfileError(lineNo, `invalid escape token '${value}' does not match \` or \\`);
          }
          result.escape = value;
          continuation = continuationRegExp(value);
        } else if (key === 'syntax') {
          result.syntax = value;
        }
        continue;
      }
    }

    if (first === '' || isComment(first)) continue;

    // Join continuation lines. Comment lines inside are dropped; blank ones
    // are dropped with a warning (BuildKit: "Empty continuation line").
    const start = trimContinuation(first);
    let joined = start.text;
    let more = start.more;
    let endLine = lineNo;
    let emptyContinuation = false;
    while (more && i < lines.length) {
      const next = lines[i++]!.text;
      endLine = i;
      if (isComment(next)) continue;
      if (next.trim() === '') {
        emptyContinuation = true;
        continue;
      }
      const part = trimContinuation(next);
      joined += part.text;
      more = part.more;
    }
    if (joined.trim() === '') continue; // a lone escape char, for instance

    const original = joined.trim();
    if (emptyContinuation) {
      result.warnings.push(`line ${lineNo}: empty continuation line found in: ${original} (empty continuation lines will become errors in a future release)`);
    }

    const kw = /^(\S+)\s*([\s\S]*)$/.exec(original)!;
    const keyword = kw[1]!;
    const cmd = keyword.toUpperCase();
    if (!KNOWN.has(cmd)) throw dockerfileError(lineNo, unknownInstructionMessage(keyword, suggest(keyword)));

    const { flags, args } = splitFlags(kw[2]!);
    const raw: RawInstruction = { cmd, original, line: lineNo, endLine, flags, args, heredocs: [] };
    try {
      if (JSON_INSTRUCTIONS.has(cmd)) {
        const json = parseJsonArray(args);
        if (json) raw.json = json;
      } else if (cmd === 'HEALTHCHECK') {
        // HEALTHCHECK [flags] CMD ["exec", "form"]: the form of what follows the type word.
        const json = parseJsonArray(args.replace(/^\S+\s*/, ''));
        if (json) raw.json = json;
      }
    } catch (err) {
      throw dockerfileError(lineNo, (err as Error).message);
    }

    // Heredocs: RUN/COPY/ADD in shell form (and ONBUILD with such a trigger).
    if (canContainHeredoc(raw)) {
      for (const word of rawShellWords(original)) {
        const opener = parseHeredocWord(word);
        if (!opener) continue;
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const line = lines[i++]!;
          endLine = i;
          const candidate = opener.chomp ? line.text.replace(/^\t+/, '') : line.text;
          if (candidate === opener.name) {
            terminated = true;
            break;
          }
          content += line.raw + (line.newline ? '\n' : '');
        }
        if (!terminated) {
          throw dockerfileError(lineNo, `unterminated heredoc: no line "${opener.name}" closes the heredoc <<${opener.chomp ? '-' : ''}${opener.name} opened here`);
        }
        if (opener.chomp) content = content.replace(/^\t+/gm, '');
        raw.heredocs.push({ ...opener, content });
      }
      raw.endLine = endLine;
    }

    checkInstruction(raw, result.escape);
    instructions.push(raw);
  }

  if (instructions.length === 0) {
    throw dockerfileError(Math.max(1, lines.length), 'file with no instructions');
  }

  let stage: RawStage | undefined;
  for (const raw of instructions) {
    if (raw.cmd === 'FROM') {
      stage = { index: result.stages.length, from: raw, instructions: [] };
      result.stages.push(stage);
    } else if (stage) {
      stage.instructions.push(raw);
    } else if (raw.cmd === 'ARG') {
      result.globalArgs.push(raw);
    } else {
      throw dockerfileError(raw.line, `no build stage in current context: ${raw.cmd} before the first FROM (only ARG may come before FROM)`);
    }
  }
  if (result.stages.length === 0) {
    throw dockerfileError(1, 'dockerfile contains no stages to build: the Dockerfile has no FROM instruction');
  }
  return result;
}

function canContainHeredoc(raw: RawInstruction): boolean {
  if (HEREDOC_INSTRUCTIONS.has(raw.cmd)) return raw.json === undefined;
  if (raw.cmd !== 'ONBUILD') return false;
  const m = /^(\S+)\s*([\s\S]*)$/.exec(raw.args);
  if (!m || !HEREDOC_INSTRUCTIONS.has(m[1]!.toUpperCase())) return false;
  try {
    return parseJsonArray(splitFlags(m[2]!).args) === undefined;
  } catch {
    return false; // reported when the trigger runs
  }
}
