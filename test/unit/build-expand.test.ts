// Shell-style expansion of Dockerfile words (src/build/dockerfile/expand.ts),
// checked against the behaviour of BuildKit's shell/lex.go.
import { describe, expect, it } from 'vitest';
import { ExpandError, expandHeredoc, expandWord, expandWords, lex, referencedVariables } from '../../src/build/dockerfile/expand.js';
import type { Lookup } from '../../src/build/dockerfile/types.js';

const env = (vars: Record<string, string>): Lookup => (name) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
const vars = env({ a: 'A', b: 'B', empty: '', spaced: 'one two', path: '/usr/local/bin/tool.tar.gz', num1: 'x' });

describe('expandWord: plain references', () => {
  it('substitutes $v and ${v}, unset as empty', () => {
    expect(expandWord('$a', vars)).toBe('A');
    expect(expandWord('${a}', vars)).toBe('A');
    expect(expandWord('x${a}y', vars)).toBe('xAy');
    expect(expandWord('$a$b', vars)).toBe('AB');
    expect(expandWord('[$nope]', vars)).toBe('[]');
  });

  it('reads names of letters, digits and underscores only', () => {
    expect(expandWord('$a.txt', vars)).toBe('A.txt');
    expect(expandWord('$a-b', vars)).toBe('A-b');
    expect(expandWord('$num1', vars)).toBe('x');
  });

  it('keeps a lone $ and a $ before a non-name character', () => {
    expect(expandWord('cost $', vars)).toBe('cost $');
    expect(expandWord('a$/b', vars)).toBe('a$/b');
  });

  it('treats digits after $ as a positional parameter', () => {
    expect(expandWord('$1x', env({ '1': 'P' }))).toBe('Px');
  });

  it('keeps spaces in the word (ProcessWord)', () => {
    expect(expandWord('a  b $spaced', vars)).toBe('a  b one two');
  });
});

describe('expandWord: modifiers', () => {
  it('${v:-w} uses w when v is unset or empty; ${v-w} only when unset', () => {
    expect(expandWord('${nope:-dflt}', vars)).toBe('dflt');
    expect(expandWord('${empty:-dflt}', vars)).toBe('dflt');
    expect(expandWord('${a:-dflt}', vars)).toBe('A');
    expect(expandWord('${nope-dflt}', vars)).toBe('dflt');
    expect(expandWord('${empty-dflt}', vars)).toBe('');
    expect(expandWord('${a-dflt}', vars)).toBe('A');
  });

  it('${v:+w} gives w when v is set and non-empty; ${v+w} when set at all', () => {
    expect(expandWord('${a:+alt}', vars)).toBe('alt');
    expect(expandWord('${empty:+alt}', vars)).toBe('');
    expect(expandWord('${nope:+alt}', vars)).toBe('');
    expect(expandWord('${empty+alt}', vars)).toBe('alt');
    expect(expandWord('${nope+alt}', vars)).toBe('');
  });

  it('${v:?msg} and ${v?msg} throw with the message when unset (or empty with :)', () => {
    expect(expandWord('${a:?must be set}', vars)).toBe('A');
    expect(() => expandWord('${nope:?must be set}', vars)).toThrow(/nope: must be set/);
    expect(() => expandWord('${empty:?}', vars)).toThrow(/empty: is not allowed to be empty/);
    expect(() => expandWord('${nope?}', vars)).toThrow(/nope: is not allowed to be unset/);
    expect(expandWord('${empty?oops}', vars)).toBe('');
    expect(() => expandWord('${nope?x}', vars)).toThrow(ExpandError);
  });

  it('expands the word part itself (nested references, quotes)', () => {
    expect(expandWord('${nope:-${a}-$b}', vars)).toBe('A-B');
    expect(expandWord('${a:+pre${b}post}', vars)).toBe('preBpost');
    expect(expandWord('${nope:-"x y"}', vars)).toBe('x y');
    expect(expandWord('${nope:-${nope2:-deep}}', vars)).toBe('deep');
  });

  it('removes prefixes and suffixes (#, ##, %, %%)', () => {
    expect(expandWord('${path#*/}', vars)).toBe('usr/local/bin/tool.tar.gz');
    expect(expandWord('${path##*/}', vars)).toBe('tool.tar.gz');
    expect(expandWord('${path%.*}', vars)).toBe('/usr/local/bin/tool.tar');
    expect(expandWord('${path%%.*}', vars)).toBe('/usr/local/bin/tool');
    expect(expandWord('${path%nomatch}', vars)).toBe('/usr/local/bin/tool.tar.gz');
  });

  it('replaces the first or every match (/ and //)', () => {
    expect(expandWord('${path/\\//:}', vars)).toBe(':usr/local/bin/tool.tar.gz');
    expect(expandWord('${path//\\//:}', vars)).toBe(':usr:local:bin:tool.tar.gz');
    expect(expandWord('${a/A/$b}', vars)).toBe('B');
  });

  it('rejects bad substitutions with Docker\'s messages', () => {
    expect(() => expandWord('${}', vars)).toThrow(/bad substitution/);
    expect(() => expandWord('${:a}', vars)).toThrow(/bad substitution/);
    expect(() => expandWord('${a', vars)).toThrow(/missing '}'/);
    expect(() => expandWord('${a:-x', vars)).toThrow(/missing '}'/);
    expect(() => expandWord('${a:=x}', vars)).toThrow(/unsupported modifier \(:=\)/);
    expect(() => expandWord('${a^}', vars)).toThrow(/unsupported modifier/);
  });

  it('names the text it failed on', () => {
    expect(() => expandWord('x${nope:?gone}', vars)).toThrow('failed to process "x${nope:?gone}": nope: gone');
  });
});

describe('expandWord: quotes and escapes', () => {
  it('removes double quotes and expands inside them', () => {
    expect(expandWord('"$a b"', vars)).toBe('A b');
    expect(expandWord('pre"$a"post', vars)).toBe('preApost');
  });

  it('removes single quotes and does not expand inside them', () => {
    expect(expandWord("'$a b'", vars)).toBe('$a b');
    expect(expandWord(`"it's"`, vars)).toBe("it's");
    expect(expandWord(`'say "hi"'`, vars)).toBe('say "hi"');
  });

  it('escaped $ is literal; the escape char quotes the next character', () => {
    expect(expandWord('\\$a', vars)).toBe('$a');
    expect(expandWord('\\${a}', vars)).toBe('${a}');
    expect(expandWord('a\\ b', vars)).toBe('a b');
    expect(expandWord('\\"q\\"', vars)).toBe('"q"');
  });

  it('inside double quotes the escape only quotes " $ and itself', () => {
    expect(expandWord('"\\$a"', vars)).toBe('$a');
    expect(expandWord('"\\"x\\""', vars)).toBe('"x"');
    expect(expandWord('"a\\\\b"', vars)).toBe('a\\b');
    expect(expandWord('"c:\\temp"', vars)).toBe('c:\\temp');
  });

  it('with escape=` the backtick escapes and a backslash is an ordinary character', () => {
    expect(expandWord('`$a', vars, '`')).toBe('$a');
    expect(expandWord('c:\\windows\\$a', vars, '`')).toBe('c:\\windows\\A');
    expect(expandWord('"c:\\dir `"x`""', vars, '`')).toBe('c:\\dir "x"');
    expect(expandWord('\\$a', vars, '\\')).toBe('$a');
  });

  it('drops a trailing escape char', () => {
    expect(expandWord('abc\\', vars)).toBe('abc');
  });

  it('reports unterminated quotes', () => {
    expect(() => expandWord('"abc', vars)).toThrow(/matching double-quote/);
    expect(() => expandWord("'abc", vars)).toThrow(/matching single-quote/);
  });
});

describe('expandWords', () => {
  it('splits at unquoted whitespace and groups quoted text', () => {
    expect(expandWords('a "b c" \'d e\'  f', vars)).toEqual(['a', 'b c', 'd e', 'f']);
  });

  it('splits an unquoted substitution, not a quoted one', () => {
    expect(expandWords('$spaced x', vars)).toEqual(['one', 'two', 'x']);
    expect(expandWords('"$spaced" x', vars)).toEqual(['one two', 'x']);
  });

  it('drops words that expand to nothing and empty quotes', () => {
    expect(expandWords('a $nope "" b', vars)).toEqual(['a', 'b']);
  });

  it('keeps escaped spaces inside a word', () => {
    expect(expandWords('my\\ file dst', vars)).toEqual(['my file', 'dst']);
  });
});

describe('lex options', () => {
  it('rawQuotes keeps the quote characters', () => {
    expect(lex('"EOF"', () => undefined, { rawQuotes: true }).word).toBe('"EOF"');
  });

  it('skipUnsetEnv leaves unset references as written', () => {
    expect(lex('$x ${y} ${z:-w} $a', vars, { skipUnsetEnv: true }).word).toBe('$x ${y} ${z:-w} A');
  });
});

describe('expandHeredoc', () => {
  it('expands variables and keeps quotes', () => {
    expect(expandHeredoc('hello "$a" \'$b\'\n', vars)).toBe("hello \"A\" 'B'\n");
  });

  it('processes backslashes as BuildKit does: the escaped character stays, the backslash goes', () => {
    expect(expandHeredoc('echo \\$a \\\\ \\n\n', vars)).toBe('echo $a \\ n\n');
  });
});

describe('referencedVariables', () => {
  it('lists every referenced name, including nested and modifier forms', () => {
    expect([...referencedVariables('$a ${b} ${c:-$d} ${e:+${f}} ${g#x}')].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('ignores single-quoted and escaped references', () => {
    expect([...referencedVariables("'$a' \\$b \"$c\"")]).toEqual(['c']);
  });

  it('uses the escape char of the Dockerfile', () => {
    expect([...referencedVariables('`$a $b', '`')]).toEqual(['b']);
    expect([...referencedVariables('\\$a', '`')]).toEqual(['a']);
  });

  it('does not fail on ${v?} and still sees later names', () => {
    expect([...referencedVariables('${a?} $b')].sort()).toEqual(['a', 'b']);
  });

  it('falls back to a scan on unbalanced quotes instead of throwing', () => {
    expect(referencedVariables('"$a $b').has('b')).toBe(true);
  });

  it('is empty for text without references', () => {
    expect(referencedVariables('echo hi $ 5').size).toBe(0);
  });
});
