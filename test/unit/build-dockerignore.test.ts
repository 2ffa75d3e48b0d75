// .dockerignore parsing and matching (src/build/context/dockerignore.ts),
// against the rules of moby/patternmatcher and its ignorefile reader.
import { describe, expect, it } from 'vitest';
import { IgnoreMatcher, cleanPath, dockerignorePathFor, parseDockerignore } from '../../src/build/context/dockerignore.js';
import { TsrunError } from '../../src/errors.js';

const matcher = (...lines: string[]): IgnoreMatcher => new IgnoreMatcher(parseDockerignore(lines.join('\n')));

describe('parseDockerignore', () => {
  it('skips comments and blank lines, trims, cleans and drops a leading slash', () => {
    const rules = parseDockerignore('test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n  ./spaced/../x/  \n');
    expect(rules.map((r) => [r.negate ? `!${r.pattern}` : r.pattern, r.line])).toEqual([
      ['test1', 1], ['test2', 2], ['a/file/here', 3], ['lastfile', 5], ['!inverted/abs/path', 7], ['x', 8],
    ]);
  });

  it('treats # as a comment only at the start of the line', () => {
    expect(parseDockerignore(' #notcomment').map((r) => r.pattern)).toEqual(['#notcomment']);
  });

  it('handles CRLF and a byte-order mark', () => {
    expect(parseDockerignore('\uFEFFa\r\nb\r\n').map((r) => r.pattern)).toEqual(['a', 'b']);
  });

  it('rejects a lone ! naming the line', () => {
    expect(() => parseDockerignore('a\n!\n')).toThrow(TsrunError);
    expect(() => parseDockerignore('a\n! \n')).toThrow('.dockerignore line 2: illegal exclusion pattern: "!"');
  });

  it('rejects a malformed character class', () => {
    expect(() => parseDockerignore('ok\n[a-\n')).toThrow(/line 2: syntax error in pattern/);
  });
});

describe('cleanPath', () => {
  it('behaves like Go filepath.Clean', () => {
    expect(cleanPath('')).toBe('.');
    expect(cleanPath('./a//b/./c/')).toBe('a/b/c');
    expect(cleanPath('a/../../b')).toBe('../b');
    expect(cleanPath('/../a')).toBe('/a');
    expect(cleanPath('/')).toBe('/');
  });
});

describe('IgnoreMatcher.ignores', () => {
  it('matches exact paths, and everything below a matched directory', () => {
    const m = matcher('node_modules', 'build/out');
    expect(m.ignores('node_modules', true)).toBe(true);
    expect(m.ignores('node_modules/a/b/c.js', false)).toBe(true);
    expect(m.ignores('build/out/x', false)).toBe(true);
    expect(m.ignores('build/other', false)).toBe(false);
    expect(m.ignores('src/node_modules', true)).toBe(false); // patterns are anchored at the context root
    expect(m.ignores('node_modules_x', false)).toBe(false);
  });

  it('* and ? stay inside one path element', () => {
    const m = matcher('*.log', 'tmp?', 'docs/*.md');
    expect(m.ignores('a.log', false)).toBe(true);
    expect(m.ignores('dir/a.log', false)).toBe(false);
    expect(m.ignores('tmp1', false)).toBe(true);
    expect(m.ignores('tmp12', false)).toBe(false);
    expect(m.ignores('docs/readme.md', false)).toBe(true);
    expect(m.ignores('docs/sub/readme.md', false)).toBe(false);
  });

  it('** matches any number of directories, including none', () => {
    const m = matcher('**/*.go', 'a/**/z', 'cache/**');
    expect(m.ignores('main.go', false)).toBe(true);
    expect(m.ignores('x/y/main.go', false)).toBe(true);
    expect(m.ignores('a/z', false)).toBe(true);
    expect(m.ignores('a/b/c/z', false)).toBe(true);
    expect(m.ignores('b/z', false)).toBe(false);
    expect(m.ignores('cache/x/y', false)).toBe(true);
    expect(m.ignores('cachex', false)).toBe(false);
  });

  it('**/name matches the name at any depth and at the top', () => {
    const m = matcher('**/.git');
    expect(m.ignores('.git', true)).toBe(true);
    expect(m.ignores('sub/.git', true)).toBe(true);
    expect(m.ignores('sub/.git/config', false)).toBe(true);
    expect(m.ignores('sub/x.git', false)).toBe(false);
  });

  it('supports character classes, negated with !', () => {
    const m = matcher('file[0-9].txt', 'x[!a].c');
    expect(m.ignores('file3.txt', false)).toBe(true);
    expect(m.ignores('filea.txt', false)).toBe(false);
    expect(m.ignores('xb.c', false)).toBe(true);
    expect(m.ignores('xa.c', false)).toBe(false);
  });

  it('takes regexp characters literally and \\ as an escape', () => {
    const m = matcher('a+b(1).txt', 'star\\*');
    expect(m.ignores('a+b(1).txt', false)).toBe(true);
    expect(m.ignores('aab(1).txt', false)).toBe(false);
    expect(m.ignores('star*', false)).toBe(true);
    expect(m.ignores('starx', false)).toBe(false);
  });

  it('lets the last matching rule win, with ! exceptions', () => {
    const m = matcher('*.md', '!README.md', 'README.md');
    expect(m.ignores('README.md', false)).toBe(true);
    const m2 = matcher('*.md', '!README*.md', 'README-secret.md');
    expect(m2.ignores('README.md', false)).toBe(false);
    expect(m2.ignores('README-secret.md', false)).toBe(true);
    expect(m2.ignores('other.md', false)).toBe(true);
  });

  it('an exception re-includes part of an excluded directory', () => {
    const m = matcher('dir', '!dir/keep');
    expect(m.ignores('dir', true)).toBe(true);
    expect(m.ignores('dir/other', false)).toBe(true);
    expect(m.ignores('dir/keep', false)).toBe(false);
    expect(m.ignores('dir/keep/deep/file', false)).toBe(false);
  });

  it('a later exclusion beats an earlier exception', () => {
    const m = matcher('*', '!src', 'src/**/*.tmp');
    expect(m.ignores('Dockerfile', false)).toBe(true);
    expect(m.ignores('src/main.c', false)).toBe(false);
    expect(m.ignores('src/a/b.tmp', false)).toBe(true);
  });

  it('cleans the path it is asked about and never ignores the root', () => {
    const m = matcher('*');
    expect(m.ignores('./a/', false)).toBe(true);
    expect(m.ignores('.', true)).toBe(false);
    expect(m.ignores('', true)).toBe(false);
  });

  it('ignores nothing without rules', () => {
    expect(new IgnoreMatcher([]).ignores('anything', false)).toBe(false);
  });
});

describe('IgnoreMatcher.canSkipDir', () => {
  it('is true for an excluded directory when there are no exceptions', () => {
    const m = matcher('node_modules');
    expect(m.canSkipDir('node_modules')).toBe(true);
    expect(m.canSkipDir('src')).toBe(false);
  });

  it('is false when a later exception could re-include something below', () => {
    const m = matcher('dir', '!dir/keep');
    expect(m.canSkipDir('dir')).toBe(false);
    expect(m.canSkipDir('dir/other')).toBe(true); // !dir/keep cannot reach below dir/other
    expect(m.canSkipDir('dir/keep')).toBe(false); // not excluded at all
  });

  it('stays conservative for exceptions with **', () => {
    expect(matcher('vendor', '!**/*.go').canSkipDir('vendor')).toBe(false);
    expect(matcher('vendor', '!other/**/*.go').canSkipDir('vendor')).toBe(true);
  });

  it('an exception matching the directory itself decides for the whole subtree', () => {
    const m = matcher('a', '!a', 'a');
    expect(m.canSkipDir('a')).toBe(true);
  });
});

describe('dockerignorePathFor', () => {
  it('puts <Dockerfile name>.dockerignore beside the Dockerfile', () => {
    expect(dockerignorePathFor('/ctx/Dockerfile')).toBe('/ctx/Dockerfile.dockerignore');
    expect(dockerignorePathFor('/ctx/docker/app.Dockerfile')).toBe('/ctx/docker/app.Dockerfile.dockerignore');
    expect(dockerignorePathFor('Containerfile')).toBe('Containerfile.dockerignore');
  });
});
