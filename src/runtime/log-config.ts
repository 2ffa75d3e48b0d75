// --log-driver and --log-opt: Docker's HostConfig.LogConfig, checked as the
// docker CLI and its json-file driver check them, and the rotation the
// monitor applies (native/src/monitor/log.cc).
import { TsrunError } from '../errors.js';

/** Docker's HostConfig.LogConfig. */
export interface LogConfig {
  Type: 'json-file' | 'none';
  Config: Record<string, string>;
}

/** What the monitor is told: rotate before max-size, keep max-file files in all, gzip the rotated ones. */
export interface LogRotation {
  maxSize: number;
  maxFile: number;
  compress: boolean;
}

export const DEFAULT_LOG_CONFIG: LogConfig = { Type: 'json-file', Config: {} };

const JSON_FILE_OPTS = ['max-size', 'max-file', 'compress'];

/** The flags' LogConfig (undefined: neither flag, Docker's default json-file), refused as Docker refuses it. */
export function parseLogFlags(driver: string | undefined, opts: string[] | undefined): LogConfig | undefined {
  if (driver === undefined && !opts?.length) return undefined;
  const type = driver ?? 'json-file';
  if (type !== 'json-file' && type !== 'none') {
    throw new TsrunError('INVALID_ARGUMENT', `unknown log driver '${type}': tsrun has json-file and none`);
  }
  if (type === 'none' && opts?.length) throw new TsrunError('INVALID_ARGUMENT', `invalid logging opts for driver none: ${opts.join(', ')}`);
  const config: Record<string, string> = {};
  for (const o of opts ?? []) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new TsrunError('INVALID_ARGUMENT', `invalid log opt '${o}': use KEY=VALUE (max-size, max-file or compress)`);
    const key = o.slice(0, eq);
    if (!JSON_FILE_OPTS.includes(key)) throw new TsrunError('INVALID_ARGUMENT', `unknown log opt '${key}' for ${type} log driver (it takes max-size, max-file and compress)`);
    config[key] = o.slice(eq + 1);
  }
  const cfg: LogConfig = { Type: type, Config: config };
  logRotation(cfg); // checks the values
  return cfg;
}

/** The monitor's rotation settings (undefined: the file only grows), checked as Docker's json-file driver does. */
export function logRotation(cfg: LogConfig | undefined): LogRotation | undefined {
  const c = cfg?.Config ?? {};
  if (cfg?.Type === 'none') return undefined;
  let maxSize = -1;
  if (c['max-size'] !== undefined) {
    maxSize = ramInBytes(c['max-size'], 'max-size');
    if (maxSize <= 0) throw new TsrunError('INVALID_ARGUMENT', `invalid log opt max-size=${c['max-size']}: max-size must be a positive number`);
  }
  let maxFile = 1;
  if (c['max-file'] !== undefined) {
    if (!/^\d+$/.test(c['max-file'])) throw new TsrunError('INVALID_ARGUMENT', `invalid log opt max-file=${c['max-file']}: a whole number is needed`);
    maxFile = Number(c['max-file']);
    if (maxFile < 1) throw new TsrunError('INVALID_ARGUMENT', 'invalid log opt max-file: max-file cannot be less than 1');
    if (maxFile > 1000) throw new TsrunError('INVALID_ARGUMENT', `invalid log opt max-file=${c['max-file']}: at most 1000 files`);
  }
  let compress = false;
  if (c.compress !== undefined) {
    const b = parseBool(c.compress);
    if (b === undefined) throw new TsrunError('INVALID_ARGUMENT', `invalid log opt compress=${c.compress}: use true or false`);
    compress = b;
    if (compress && (maxFile === 1 || maxSize === -1)) {
      throw new TsrunError('INVALID_ARGUMENT', 'invalid log opt compress=true: compress cannot be true when max-file is less than 2 or max-size is not set');
    }
  }
  if (maxSize === -1) return undefined;
  return { maxSize, maxFile, compress };
}

// Go's strconv.ParseBool.
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** go-units RAMInBytes: 10k, 2m, 1.5g, 512 (bytes), binary multiples, an optional i/b suffix. */
export function ramInBytes(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  if (!m) throw new TsrunError('INVALID_ARGUMENT', `invalid log opt ${what}=${v}: invalid size (use a number with an optional unit: 10k, 2m, 1g)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] ?? '').toLowerCase() as '' | 'k'];
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n)) throw new TsrunError('INVALID_ARGUMENT', `invalid log opt ${what}=${v}: too large`);
  return n;
}
