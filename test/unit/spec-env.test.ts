import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { DEFAULT_PATH_ENV } from '../../src/spec/defaults.js';
import { getEnv, mergeEnv, parseEnvFile, parseEnvOption, readEnvFile } from '../../src/spec/env.js';

const host = { HOSTVAR: 'from host', EMPTY: '', PATH: '/host/bin' };

function envFileError(fn: () => unknown): TsrunError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TsrunError);
    expect((err as TsrunError).code).toBe('ENV_FILE_INVALID');
    expect((err as TsrunError).message).not.toContain('\n');
    return err as TsrunError;
  }
  throw new Error('expected an ENV_FILE_INVALID error');
}

describe('parseEnvFile', () => {
  it('keeps KEY=VAL lines verbatim, skipping comments and blank lines', () => {
    const text = [
      '# a comment',
      '   # indented comment',
      '',
      '   ',
      'A=1',
      'B= spaced value ',
      'C="quoted"',
      'D=x=y',
      'E=',
      '   F=leading ws trimmed from the key side only',
    ].join('\n');
    expect(parseEnvFile(text, 'f.env', {})).toEqual([
      'A=1',
      'B= spaced value ',
      'C="quoted"',
      'D=x=y',
      'E=',
      'F=leading ws trimmed from the key side only',
    ]);
  });

  it('takes bare keys from the host and drops them when unset', () => {
    expect(parseEnvFile('HOSTVAR\nMISSING\nEMPTY\n', 'f.env', host)).toEqual(['HOSTVAR=from host', 'EMPTY=']);
  });

  it('is not fooled by Object.prototype keys in the host env', () => {
    expect(parseEnvFile('constructor\ntoString\n__proto__\n', 'f.env', {})).toEqual([]);
  });

  it('strips CRLF line ends and a leading UTF-8 BOM', () => {
    expect(parseEnvFile('\uFEFFA=1\r\nB=2\r\n', 'f.env', {})).toEqual(['A=1', 'B=2']);
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('A=1\n')]);
    expect(parseEnvFile(bytes, 'f.env', {})).toEqual(['A=1']);
  });

  it('rejects keys with whitespace and empty keys, naming file and line', () => {
    expect(envFileError(() => parseEnvFile('A=1\nBAD KEY=2\n', 'my.env', {})).message).toMatch(/my\.env line 2.*"BAD KEY".*whitespace/);
    expect(envFileError(() => parseEnvFile('A=1\nB=2\n=3\n', 'my.env', {})).message).toMatch(/my\.env line 3: no variable name/);
    expect(envFileError(() => parseEnvFile('TAB\tKEY\n', 'my.env', host)).message).toMatch(/line 1/);
    expect(envFileError(() => parseEnvFile('TRAILING \n', 'my.env', host)).message).toMatch(/line 1/);
  });

  it('rejects invalid UTF-8 bytes with the line number and without echoing the bytes', () => {
    const bytes = Buffer.concat([Buffer.from('A=1\nB=2\nC='), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]);
    const err = envFileError(() => parseEnvFile(bytes, 'bad.env', {}));
    expect(err.message).toBe('env file bad.env contains invalid utf8 bytes at line 3');
    // Text that already holds a lone surrogate cannot have come from valid UTF-8.
    expect(envFileError(() => parseEnvFile('A=\uD800\n', 'bad.env', {})).message).toMatch(/line 1: invalid utf8/);
  });

  it('rejects NUL bytes', () => {
    expect(envFileError(() => parseEnvFile('A=1\nB=x\0y\n', 'nul.env', {})).message).toMatch(/nul\.env line 2: contains a NUL byte/);
    expect(envFileError(() => parseEnvFile(Buffer.from('A\0=1'), 'nul.env', {})).message).toMatch(/line 1/);
  });
});

describe('readEnvFile', () => {
  it('reads bytes from disk and reports a missing file as ENV_FILE_INVALID', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-env-'));
    try {
      const file = path.join(dir, 'a.env');
      await writeFile(file, 'A=1\nHOSTVAR\n');
      expect(await readEnvFile(file, host)).toEqual(['A=1', 'HOSTVAR=from host']);
      await expect(readEnvFile(path.join(dir, 'missing.env'), host)).rejects.toMatchObject({
        code: 'ENV_FILE_INVALID',
        message: expect.stringContaining('missing.env'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseEnvOption', () => {
  it('passes KEY=VAL through and looks bare keys up on the host', () => {
    expect(parseEnvOption('A=b c', host)).toBe('A=b c');
    expect(parseEnvOption('A=', host)).toBe('A=');
    expect(parseEnvOption('HOSTVAR', host)).toBe('HOSTVAR=from host');
    expect(parseEnvOption('EMPTY', host)).toBe('EMPTY=');
    // Unset on the host: stays bare, which mergeEnv reads as "unset".
    expect(parseEnvOption('MISSING', host)).toBe('MISSING');
    expect(parseEnvOption('constructor', {})).toBe('constructor');
  });

  it('rejects an empty key and NUL bytes', () => {
    for (const bad of ['', '=value', '=', 'A=x\0y']) {
      expect(() => parseEnvOption(bad, host)).toThrow(TsrunError);
    }
  });
});

describe('mergeEnv', () => {
  it('replaces earlier keys in place and appends new ones', () => {
    expect(mergeEnv(['PATH=/p', 'A=1', 'B=2'], ['B=20', 'C=3', 'A=10'])).toEqual(['PATH=/p', 'A=10', 'B=20', 'C=3']);
  });

  it('lets later duplicates within base win too', () => {
    expect(mergeEnv(['PATH=/p', 'A=1', 'A=2'], [])).toEqual(['PATH=/p', 'A=2']);
  });

  it('removes a key given bare', () => {
    expect(mergeEnv(['PATH=/p', 'A=1', 'B=2'], ['A'])).toEqual(['PATH=/p', 'B=2']);
    expect(mergeEnv(['PATH=/p'], ['NOPE'])).toEqual(['PATH=/p']);
  });

  it('adds the default PATH first when nothing sets it', () => {
    expect(mergeEnv(['A=1'], ['B=2'])).toEqual([DEFAULT_PATH_ENV, 'A=1', 'B=2']);
    expect(mergeEnv(['PATH=/x'], ['PATH'])).toEqual([DEFAULT_PATH_ENV]);
  });

  it('keeps empty values and values containing =', () => {
    expect(mergeEnv(['PATH=/p'], ['E=', 'F=a=b'])).toEqual(['PATH=/p', 'E=', 'F=a=b']);
  });

  it('rejects empty keys and NUL bytes', () => {
    expect(() => mergeEnv(['=x'], [])).toThrow(TsrunError);
    expect(() => mergeEnv([], ['A=\0'])).toThrow(TsrunError);
  });

  it('does not mutate its inputs', () => {
    const base = ['PATH=/p', 'A=1'];
    mergeEnv(base, ['A=2', 'PATH']);
    expect(base).toEqual(['PATH=/p', 'A=1']);
  });
});

describe('getEnv', () => {
  it('finds values by exact key', () => {
    expect(getEnv(['HOMEX=1', 'HOME=/root'], 'HOME')).toBe('/root');
    expect(getEnv(['HOME='], 'HOME')).toBe('');
    expect(getEnv(['HOME'], 'HOME')).toBeUndefined();
    expect(getEnv([], 'HOME')).toBeUndefined();
  });
});
