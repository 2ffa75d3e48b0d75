// COPY's source side (sources.ts) on a context made in a temp dir: globs,
// .dockerignore, escapes refused, and a content digest that ignores times.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IgnoreMatcher, parseDockerignore } from '../../src/build/context/dockerignore.js';
import { matchSources, sourcesDigest, type SourceRoot } from '../../src/build/sources.js';

describe('COPY sources', () => {
  let dir: string;
  let ctx: SourceRoot;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-src-'));
    for (const f of ['a.txt', 'b.txt', 'c.md', 'sub/d.txt', 'sub/deep/e.txt', 'ignored/x']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), f);
    }
    symlinkSync('sub', join(dir, 'inside'));
    symlinkSync('/etc', join(dir, 'outside'));
    symlinkSync('../..', join(dir, 'sub/up'));
    ctx = { dir, kind: 'context', filter: new IgnoreMatcher(parseDockerignore('ignored\n*.md\n')) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const names = async (patterns: string[]) => (await matchSources(ctx, patterns)).map((s) => s.name);

  it('globs match one component each, sorted; .dockerignore hides files from them', async () => {
    expect(await names(['*.txt'])).toEqual(['a.txt', 'b.txt']);
    expect(await names(['*.md', 'a.txt'])).toEqual(['a.txt']);
    expect(await names(['sub/*.txt', '[ab].txt'])).toEqual(['sub/d.txt', 'a.txt', 'b.txt']);
    await expect(matchSources(ctx, ['c.md'])).rejects.toThrow(/"c\.md": not found in the build context/);
    // A glob that matches nothing is fine while another source matches (BuildKit), not alone.
    await expect(matchSources(ctx, ['*.md'])).rejects.toThrow(/no source files were specified/);
  });

  it('a directory brings its tree (ignored paths left out); a symlink inside the context is followed', async () => {
    const [all] = await matchSources(ctx, ['.']);
    const rels = all.entries.map((e) => e.rel);
    expect(rels).toContain('sub/deep/e.txt');
    expect(rels).not.toContain('ignored/x');
    expect(rels).not.toContain('c.md');
    const [viaLink] = await matchSources(ctx, ['inside/d.txt']);
    expect(viaLink.entries[0].path).toBe(join(dir, 'sub/d.txt'));
  });

  it('refuses paths that leave the context, by .. or through a symlink', async () => {
    await expect(matchSources(ctx, ['../x'])).rejects.toThrow(/outside the build context: \.\.\/x/);
    await expect(matchSources(ctx, ['outside/passwd'])).rejects.toThrow(/outside the build context.*outside -> \/etc/);
    await expect(matchSources(ctx, ['sub/up/x'])).rejects.toThrow(/outside the build context/);
  });

  it('a rootfs root resolves absolute symlinks at its own root', async () => {
    const root: SourceRoot = { dir, kind: 'rootfs' };
    symlinkSync('/sub/deep', join(dir, 'abs'));
    const [s] = await matchSources(root, ['/abs/e.txt']);
    expect(s.entries[0].path).toBe(join(dir, 'sub/deep/e.txt'));
  });

  it('the digest changes with content and mode, not with times', async () => {
    const digest = async () => sourcesDigest(await matchSources(ctx, ['sub']), false);
    const before = await digest();
    utimesSync(join(dir, 'sub/d.txt'), new Date(0), new Date(0));
    expect(await digest()).toBe(before);
    writeFileSync(join(dir, 'sub/d.txt'), 'changed');
    const changed = await digest();
    expect(changed).not.toBe(before);
    const { chmodSync } = await import('node:fs');
    chmodSync(join(dir, 'sub/d.txt'), 0o600);
    expect(await digest()).not.toBe(changed);
  });
});
