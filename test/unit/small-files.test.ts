import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readText, removeDir, removeFile } from '../../src/util/small-files.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-rmdir-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readText, removeDir and removeFile', () => {
  it('removes a state directory: its files, a nested directory, a symlink (not what it points to)', () => {
    const state = join(dir, 'c1');
    mkdirSync(join(state, 'sub/deeper'), { recursive: true });
    // Empty ones too, one inside a directory that is not (as an overlay's work/work).
    mkdirSync(join(state, 'merged'));
    mkdirSync(join(state, 'work/work'), { recursive: true });
    writeFileSync(join(state, 'state.json'), '{}');
    writeFileSync(join(state, 'sub/deeper/f'), 'x');
    const outside = join(dir, 'keep');
    writeFileSync(outside, 'kept');
    symlinkSync(outside, join(state, 'link'));
    removeDir(state);
    expect(existsSync(state)).toBe(false);
    expect(existsSync(outside)).toBe(true);
  });

  it('is quiet about what is not there, and says what else goes wrong', () => {
    expect(() => removeDir(join(dir, 'nope'))).not.toThrow();
    expect(() => removeFile(join(dir, 'nope'))).not.toThrow();
    writeFileSync(join(dir, 'file'), '');
    expect(() => removeDir(join(dir, 'file'))).toThrow(/ENOTDIR/);
    mkdirSync(join(dir, 'adir'));
    expect(() => removeFile(join(dir, 'adir'))).toThrow(/EISDIR|EPERM/);
    expect(readText(join(dir, 'file'))).toBe('');
    expect(readText(join(dir, 'nope'))).toBeNull();
    removeFile(join(dir, 'file'));
    expect(existsSync(join(dir, 'file'))).toBe(false);
  });
});
