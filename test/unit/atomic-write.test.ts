// Atomic replacement of state files: staged (written and fsynced) under a
// temp name, visible only once committed; a failed stage leaves nothing.
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicWriteFile, atomicWriteJson, replaceFileSync, stagedAll, stageFile } from '../../src/util/atomic-write.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-atomic-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('atomic writes', () => {
  it('replaces a file whole, with the mode asked for, and leaves no temp file', async () => {
    const file = path.join(tmp, 'state.json');
    await writeFile(file, 'old');
    await atomicWriteFile(file, 'new', 0o600);
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await atomicWriteJson(file, { a: 1 });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ a: 1 });
    expect(await readdir(tmp)).toEqual(['state.json']);
  });

  it('shows nothing at the target until commit, and the old content is kept by discard', async () => {
    const file = path.join(tmp, 'name');
    await writeFile(file, 'old');
    const staged = await stageFile(file, 'new', { syncDir: false });
    expect(await readFile(file, 'utf8')).toBe('old');
    expect((await readdir(tmp)).filter((e) => e.endsWith('.tmp'))).toHaveLength(1);
    staged.discard();
    expect(await readFile(file, 'utf8')).toBe('old');
    expect(await readdir(tmp)).toEqual(['name']);
    await (await stageFile(file, 'newer')).commit();
    expect(await readFile(file, 'utf8')).toBe('newer');
    expect(await readdir(tmp)).toEqual(['name']);
  });

  it('stagedAll: when one stage fails, the others are discarded and its error thrown', async () => {
    const good = path.join(tmp, 'good');
    const bad = path.join(tmp, 'missing-dir', 'bad');
    const err = await stagedAll([stageFile(good, 'x'), stageFile(bad, 'y')]).then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).toBe('ENOENT');
    expect(await readdir(tmp)).toEqual([]);
    expect(existsSync(good)).toBe(false);
  });

  it('stagedAll gives the staged files in order', async () => {
    const [a, b] = await stagedAll([stageFile(path.join(tmp, 'a'), 'A'), stageFile(path.join(tmp, 'b'), 'B')]);
    await b.commit();
    await a.commit();
    expect(await readFile(path.join(tmp, 'a'), 'utf8')).toBe('A');
    expect(await readFile(path.join(tmp, 'b'), 'utf8')).toBe('B');
  });

  it('replaceFileSync replaces whole with the mode asked for; a rename that fails keeps the old file and leaves no temp', async () => {
    const file = path.join(tmp, 'state.json');
    await writeFile(file, 'old');
    replaceFileSync(file, 'new', 0o600);
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await readdir(tmp)).toEqual(['state.json']);
    // A directory in the way: the rename fails (EISDIR), nothing else changes.
    const dir = path.join(tmp, 'busy');
    await mkdir(path.join(dir, 'inside'), { recursive: true });
    expect(() => replaceFileSync(dir, 'x')).toThrow(/EISDIR/);
    expect((await readdir(tmp)).sort()).toEqual(['busy', 'state.json']);
  });
});
