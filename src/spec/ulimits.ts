// --ulimit NAME=SOFT[:HARD] → OCI process.rlimits, with Docker's names and
// rules (go-units ParseUlimit).

import { TsrunError } from '../errors.js';
import type { OciRlimit } from './oci.js';

/** One --ulimit as Docker keeps it (HostConfig.Ulimits); -1 is unlimited. */
export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

// go-units' names. "as" is left out there too: it breaks too much of a
// container's start to be useful.
const NAMES = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

export function parseUlimit(value: string): Ulimit {
  const bad = (why: string) => new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "--ulimit" flag: ${why}`);
  const at = value.indexOf('=');
  if (at < 0) throw bad('invalid ulimit argument (use NAME=SOFT[:HARD], e.g. nofile=1024:2048)');
  const name = value.slice(0, at);
  if (!NAMES.includes(name)) throw bad(`invalid ulimit type: ${name} (one of ${NAMES.join(', ')})`);
  const limits = value.slice(at + 1).split(':');
  if (limits.length > 2) throw bad('too many limit value arguments, can only have up to two, `soft[:hard]`');
  const num = (text: string) => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < -1) throw bad(`invalid ulimit value ${JSON.stringify(text)}: a number of at least 0, or -1 for unlimited`);
    return n;
  };
  const soft = num(limits[0]!);
  const hard = limits.length === 2 ? num(limits[1]!) : soft;
  const rank = (n: number) => (n === -1 ? Infinity : n);
  if (rank(soft) > rank(hard)) throw bad(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}

/** Every --ulimit, a later one for the same name replacing the earlier. */
export function parseUlimits(values: readonly string[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const v of values) {
    const u = parseUlimit(v);
    byName.delete(u.Name);
    byName.set(u.Name, u);
  }
  return [...byName.values()];
}

/**
 * The OCI rlimits. The spec's numbers are unsigned; unlimited (-1) is kept
 * as -1, which the native side reads as RLIM_INFINITY (a JSON number
 * cannot hold 2^64-1 exactly).
 */
export function toRlimits(ulimits: readonly Ulimit[]): OciRlimit[] {
  return ulimits.map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard }));
}
