// native/src/files/: the launcher's files, mapped (mapped.c), and many small
// files read in one call (read_texts.c).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const mapped = createRequire(import.meta.url)('../../build/Release/tsrun-files.node') as {
  text(path: string): string | undefined;
  bytes(path: string): Buffer | undefined;
  readTexts(paths: unknown): (string | null)[];
};
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-files-'));
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

describe('readTexts', () => {
  it('reads each file whole, in order: large ones, empty ones, UTF-8, and procfs files whose size reads as 0', () => {
    const big = 'é'.repeat(40_000) + 'end'; // past the first 16 KB buffer
    writeFileSync(join(dir, 'big'), big);
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'small'), '{"a":1}');
    const texts = mapped.readTexts([join(dir, 'small'), join(dir, 'big'), join(dir, 'empty'), '/proc/self/status', join(dir, 'small')]);
    expect(texts.slice(0, 3)).toEqual(['{"a":1}', big, '']);
    // Read to the end: its last line (a few hundred bytes in) is there whole.
    expect(texts[3]).toContain(`\nPid:\t${process.pid}\n`);
    expect(texts[3]).toMatch(/\nnonvoluntary_ctxt_switches:\t\d+\n$/);
    expect(texts[3]!.endsWith('\n')).toBe(true);
    expect(texts[4]).toBe('{"a":1}');
  });

  it('gives null for what it cannot read, and reads the rest', () => {
    writeFileSync(join(dir, 'ok'), 'ok');
    const tooLong = `/${'x'.repeat(5000)}`;
    const texts = mapped.readTexts([join(dir, 'missing'), dir, `${join(dir, 'ok')}\0junk`, tooLong, 7, join(dir, 'ok/below'), join(dir, 'ok')]);
    expect(texts).toEqual([null, null, null, null, null, null, 'ok']);
  });

  it('gives null for a fifo without waiting for a writer', () => {
    const fifo = join(dir, 'exec.fifo');
    execFileSync('mkfifo', [fifo]);
    // A blocking open would hang the test here.
    expect(mapped.readTexts([fifo, '/dev/null'])).toEqual([null, null]);
  });

  it('refuses anything but an array', () => {
    expect(() => mapped.readTexts('/etc/hostname')).toThrow(TypeError);
  });
});

describe('the facade over its system calls (flock, umount2)', () => {
  it('flock: taken, then held by another open of the file, then free again; a bad fd is a NativeSystemError', async () => {
    const { native } = await import('../../src/native/binding.js');
    const { NativeSystemError } = await import('../../src/errors.js');
    const file = join(dir, 'lock');
    writeFileSync(file, '');
    const a = openSync(file, 'r');
    const b = openSync(file, 'r');
    try {
      expect(native.flock(a, true)).toBe(true);
      expect(native.flock(b, true)).toBe(false);
      expect(native.flock(b, false)).toBe(false);
      closeSync(a);
      expect(native.flock(b, true)).toBe(true);
    } finally {
      closeSync(b);
    }
    const err = (() => {
      try {
        native.flock(1_000_000, true);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NativeSystemError);
    expect(err).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'flock', step: 'lock', message: 'flock: Bad file descriptor' });
  });

  it('umount of what is no mount point: a NativeSystemError naming umount2 and the path', async () => {
    const { native } = await import('../../src/native/binding.js');
    const { NativeSystemError } = await import('../../src/errors.js');
    let err: unknown;
    try {
      native.umount(dir, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeSystemError);
    // EINVAL as root (not a mount point), EPERM without CAP_SYS_ADMIN.
    const e = err as InstanceType<typeof NativeSystemError>;
    expect(['EINVAL', 'EPERM']).toContain(e.code);
    expect(e).toMatchObject({ syscall: 'umount2', step: 'mount', path: dir });
    expect(e.message).toMatch(new RegExp(`^umount2 ${dir}: (Invalid argument|Operation not permitted)$`));
    expect(() => native.umount('', 0)).toThrow(TypeError);
  });
});
