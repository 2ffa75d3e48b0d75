// native/src/launch/mapped_files.c: the launcher's files, mapped.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const mapped = createRequire(import.meta.url)('../../build/Release/tsrun-mapped.node') as {
  text(path: string): string | undefined;
  bytes(path: string): Buffer | undefined;
};
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-mapped-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('mapped files', () => {
  it('gives a file as a latin1 string and as bytes', () => {
    const file = join(dir, 'a.cjs');
    const body = Buffer.from(`exports.x = ${JSON.stringify('x'.repeat(70_000))}; // \xe9\n`, 'latin1');
    writeFileSync(file, body);
    expect(mapped.text(file)).toBe(body.toString('latin1'));
    expect(Buffer.compare(mapped.bytes(file)!, body)).toBe(0);
  });

  it('gives undefined for what it cannot map, for the caller to read', () => {
    writeFileSync(join(dir, 'empty'), '');
    for (const path of [join(dir, 'missing'), join(dir, 'empty'), dir, '/proc/self/stat', 'x'.repeat(5000)]) {
      expect(mapped.text(path)).toBeUndefined();
      expect(mapped.bytes(path)).toBeUndefined();
    }
  });

  it('keeps what it mapped when a new file is renamed over it (as the bundler and cache writes do)', () => {
    const file = join(dir, 'bundle.cjs');
    writeFileSync(file, 'old '.repeat(5000));
    const text = mapped.text(file)!;
    const bytes = mapped.bytes(file)!;
    writeFileSync(`${file}.new`, 'new '.repeat(6000));
    renameSync(`${file}.new`, file);
    expect(text).toBe('old '.repeat(5000));
    expect(bytes.toString('latin1')).toBe('old '.repeat(5000));
    expect(mapped.text(file)).toBe('new '.repeat(6000));
  });
});
