import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitCodeFor, messageFor } from '../../src/cli/errors.js';
import { NativeSystemError, TsrunError, type TsrunErrorCode } from '../../src/errors.js';

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-clierr-'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function nativeError(): NativeSystemError {
  return new NativeSystemError({
    message: "EPERM: operation not permitted, mount '/proc'",
    code: 'EPERM',
    errno: 1,
    syscall: 'mount',
    path: '/proc',
    step: 'mount',
  });
}

describe('exitCodeFor', () => {
  it('COMMAND_NOT_FOUND is 127', () => {
    expect(exitCodeFor(new TsrunError('COMMAND_NOT_FOUND', 'exec: "x": executable file not found in $PATH'))).toBe(127);
  });

  it('COMMAND_NOT_EXECUTABLE is 126', () => {
    expect(exitCodeFor(new TsrunError('COMMAND_NOT_EXECUTABLE', 'exec: "x": permission denied'))).toBe(126);
  });

  const others: TsrunErrorCode[] = [
    'INVALID_ARGUMENT',
    'ROOTFS_NOT_FOUND',
    'USER_NOT_FOUND',
    'ENV_FILE_INVALID',
    'CONTAINER_SETUP_FAILED',
    'CONTAINER_NOT_FOUND',
    'NAME_IN_USE',
    'INVALID_STATE',
    'UNSUPPORTED',
    'NATIVE_UNAVAILABLE',
  ];
  it.each(others)('any other TsrunError (%s) is 125', (code) => {
    expect(exitCodeFor(new TsrunError(code, 'x'))).toBe(125);
  });

  it('a plain Error, a NativeSystemError and a non-Error are 125', () => {
    expect(exitCodeFor(new Error('boom'))).toBe(125);
    expect(exitCodeFor(nativeError())).toBe(125);
    expect(exitCodeFor('a string')).toBe(125);
    expect(exitCodeFor(undefined)).toBe(125);
  });

  it('goes by the code, not by the message or the error class name', () => {
    const lookalike = Object.assign(new Error('exec: "x": executable file not found in $PATH'), { code: 'COMMAND_NOT_FOUND' });
    expect(exitCodeFor(lookalike)).toBe(125);
  });
});

describe('messageFor', () => {
  it("returns a TsrunError's message as it is", () => {
    const msg = 'the container name "web" is already in use by container "abc"; remove (or rename) that container to reuse the name';
    expect(messageFor(new TsrunError('NAME_IN_USE', msg))).toBe(msg);
  });

  it("passes a NativeSystemError's message through unchanged", () => {
    expect(messageFor(nativeError())).toBe("EPERM: operation not permitted, mount '/proc'");
    const bare = new NativeSystemError({ message: 'pivot_root failed', code: 'EINVAL', errno: 22, syscall: 'pivot_root', step: 'pivot_root' });
    expect(messageFor(bare)).toBe('pivot_root failed');
  });

  it("keeps a Node fs error's message, which already names its code and path", async () => {
    const missing = path.join(tmp, 'no-such-file');
    const err = await readFile(missing).then(
      () => undefined,
      (e: unknown) => e,
    );
    const msg = messageFor(err);
    expect(msg).toContain('ENOENT');
    expect(msg).toContain(missing);
    expect(msg).toBe((err as Error).message);
    expect(msg.match(/ENOENT/g)).toHaveLength(1);

    let syncErr: unknown;
    try {
      readFileSync(tmp); // a directory
    } catch (e) {
      syncErr = e;
    }
    expect(messageFor(syncErr)).toContain('EISDIR');
  });

  it("prefixes the code of an errno error whose message lacks it", () => {
    const err = Object.assign(new Error('permission denied on /var/lib/tsrun'), { code: 'EACCES' });
    expect(messageFor(err)).toBe('EACCES: permission denied on /var/lib/tsrun');
  });

  it('uses a plain Error message, and String() of anything else', () => {
    expect(messageFor(new Error('boom'))).toBe('boom');
    expect(messageFor('just text')).toBe('just text');
    expect(messageFor(42)).toBe('42');
  });
});
