// Environment variables for the container process, with Docker's rules:
// --env-file parsing (docker/cli opts/envfile.go), -e parsing
// (opts.ValidateEnv) and the merge where later definitions win
// (moby container/env.go ReplaceOrAppendEnvValues).
//
// Every entry that leaves this module is `KEY=VALUE` with a non-empty key
// and no NUL byte: the native side hands them to execve as C strings, where
// a NUL would silently cut the value short.

import { readFile } from 'node:fs/promises';
import { TsrunError } from '../errors.js';
import { DEFAULT_PATH_ENV } from './defaults.js';

export type HostEnv = Record<string, string | undefined>;

const UTF8_BOM = '\uFEFF';
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** process.env-like lookup that cannot be fooled by keys like `constructor`. */
function lookupHost(hostEnv: HostEnv, key: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(hostEnv, key)) return undefined;
  const value = hostEnv[key];
  return typeof value === 'string' ? value : undefined;
}

function keyOf(entry: string): string {
  const eq = entry.indexOf('=');
  return eq === -1 ? entry : entry.slice(0, eq);
}

/** Splits raw file content into lines, decoding each strictly so a bad byte is reported with its line. */
function splitLines(content: string | Uint8Array, file: string): string[] {
  if (typeof content === 'string') return content.split('\n');
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i <= content.length; i++) {
    if (i < content.length && content[i] !== 0x0a) continue;
    try {
      lines.push(strictUtf8.decode(content.subarray(start, i)));
    } catch {
      throw new TsrunError('ENV_FILE_INVALID', `env file ${file} contains invalid utf8 bytes at line ${lines.length + 1}`);
    }
    start = i + 1;
  }
  return lines;
}

/**
 * Parses the content of an --env-file. `content` may be the raw bytes
 * (preferred: invalid UTF-8 is then detected) or already-decoded text.
 *
 * - blank lines and lines starting with `#` (after leading whitespace) are skipped
 * - `KEY=VALUE` is kept verbatim: no trimming or unquoting of the value
 * - `KEY` alone takes the host's value, or is dropped when the host lacks it
 * - an empty key, a key containing space/tab, a NUL byte or invalid UTF-8
 *   is a TsrunError('ENV_FILE_INVALID') naming the file and line
 */
export function parseEnvFile(content: string | Uint8Array, file: string, hostEnv: HostEnv): string[] {
  const out: string[] = [];
  const lines = splitLines(content, file);
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const fail = (why: string): never => {
      throw new TsrunError('ENV_FILE_INVALID', `env file ${file} line ${lineNo}: ${why}`);
    };
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (index === 0 && line.startsWith(UTF8_BOM)) line = line.slice(1);
    // A lone surrogate can only come from text that was not valid UTF-8 to
    // begin with (with the u flag, a valid surrogate pair does not match).
    if (LONE_SURROGATE.test(line)) fail('invalid utf8');
    if (line.includes('\0')) fail('contains a NUL byte');
    line = line.trimStart();
    if (line === '' || line.startsWith('#')) return;

    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq);
    if (key === '') fail('no variable name');
    if (/[ \t]/.test(key)) fail(`variable ${JSON.stringify(key)} contains whitespaces`);
    if (eq !== -1) {
      out.push(line);
      return;
    }
    const value = lookupHost(hostEnv, key);
    if (value !== undefined) out.push(`${key}=${value}`);
  });
  return out;
}

/** Reads and parses an --env-file; a read failure is ENV_FILE_INVALID too, with the fs error as cause. */
export async function readEnvFile(file: string, hostEnv: HostEnv): Promise<string[]> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    const why = code === 'ENOENT' ? 'no such file or directory' : code;
    throw new TsrunError('ENV_FILE_INVALID', `cannot read env file ${file}: ${why}`, { cause: err });
  }
  return parseEnvFile(bytes, file, hostEnv);
}

/**
 * Parses one `-e` value. `KEY=VALUE` is returned as is; `KEY` alone becomes
 * `KEY=<host value>`, or stays a bare `KEY` when the host lacks it, which
 * mergeEnv reads as "unset KEY" (Docker: `-e FOO` with FOO unset removes an
 * image's FOO).
 */
export function parseEnvOption(value: string, hostEnv: HostEnv): string {
  const key = keyOf(value);
  if (key === '') throw new TsrunError('INVALID_ARGUMENT', `invalid environment variable: ${value}`);
  if (value.includes('\0')) throw new TsrunError('INVALID_ARGUMENT', `invalid environment variable ${key}: contains a NUL byte`);
  if (value.includes('=')) return value;
  const host = lookupHost(hostEnv, key);
  return host === undefined ? key : `${key}=${host}`;
}

/**
 * Applies `overrides` on top of `base`, in order. An entry whose key is
 * already present replaces it in place (so the first definition's position
 * is kept); a new key is appended; a bare `KEY` without `=` removes KEY.
 * PATH is set to DEFAULT_PATH_ENV, first, when nothing defines it.
 * Throws INVALID_ARGUMENT for an empty key or a NUL byte.
 */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const merged = new Map<string, string>();
  for (const entry of [...base, ...overrides]) {
    const key = keyOf(entry);
    if (key === '') throw new TsrunError('INVALID_ARGUMENT', `invalid environment variable: ${entry}`);
    if (entry.includes('\0')) throw new TsrunError('INVALID_ARGUMENT', `invalid environment variable ${key}: contains a NUL byte`);
    if (entry.length === key.length) merged.delete(key);
    else merged.set(key, entry); // Map.set on an existing key keeps its insertion position.
  }
  const out = [...merged.values()];
  if (!merged.has('PATH')) out.unshift(DEFAULT_PATH_ENV);
  return out;
}

/** The value of `key` in a `KEY=VALUE` list, or undefined. */
export function getEnv(env: readonly string[], key: string): string | undefined {
  for (const entry of env) {
    if (keyOf(entry) === key && entry.length > key.length) return entry.slice(key.length + 1);
  }
  return undefined;
}
