// Reading a container's json-file log (written by tsrun-monitor): --tail,
// --since, --timestamps, and --follow until the container stops.
import { closeSync, openSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsrunError } from '../errors.js';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as the monitor wrote it. */
  time: string;
  log: string;
}

export interface LogOptions {
  /** Last N lines only ('all' or undefined: everything). */
  tail?: number;
  /** Only entries at or after this time (ms since the epoch). */
  sinceMs?: number;
  follow?: boolean;
  /** Polled while following; following stops once it returns false and the file is drained. */
  running?: () => Promise<boolean>;
}

/** Docker's --since: RFC 3339 date/time, Unix seconds (with fraction), or a duration back from now (10m, 1h30m). */
export function parseSince(value: string, nowMs = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Math.floor(Number(value) * 1000);
  const dur = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
  if (dur && value !== '') {
    const [, h, m, s] = dur;
    return nowMs - ((Number(h ?? 0) * 60 + Number(m ?? 0)) * 60 + Number(s ?? 0)) * 1000;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new TsrunError('INVALID_ARGUMENT', `invalid value for --since: "${value}" (use a time like 2024-01-02T15:04:05Z, Unix seconds, or a duration like 10m)`);
  return t;
}

export function parseTail(value: string | undefined): number | undefined {
  if (value === undefined || value === 'all') return undefined;
  if (!/^\d+$/.test(value)) throw new TsrunError('INVALID_ARGUMENT', `invalid value for --tail: "${value}" (a number or "all")`);
  return Number(value);
}

function parseLine(line: string): LogEntry | null {
  try {
    const e = JSON.parse(line) as LogEntry;
    return typeof e.log === 'string' ? e : null;
  } catch {
    return null; // a torn last line while the monitor writes; read again later
  }
}

const timeMs = (e: LogEntry): number => Date.parse(e.time);

/**
 * Yields log entries; with `follow`, keeps reading new ones until the
 * container stops. The file is read with synchronous calls: a read of 64 KiB
 * takes microseconds, where each thread-pool round trip costs more than
 * the whole of a short log.
 */
export async function* readLogs(path: string, opts: LogOptions = {}): AsyncGenerator<LogEntry> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    let pos = 0;
    let rest = '';
    const buf = Buffer.alloc(64 * 1024);
    const readNew = (): LogEntry[] => {
      const out: LogEntry[] = [];
      for (;;) {
        const bytesRead = readSync(fd, buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        rest += buf.toString('utf8', 0, bytesRead);
      }
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const e = parseLine(l);
        if (e && (opts.sinceMs === undefined || timeMs(e) >= opts.sinceMs)) out.push(e);
      }
      return out;
    };
    let first = readNew();
    if (opts.tail !== undefined) first = opts.tail === 0 ? [] : first.slice(-opts.tail);
    yield* first;
    if (!opts.follow) return;
    for (;;) {
      const live = opts.running ? await opts.running() : false;
      yield* readNew();
      if (!live) return;
      await sleep(100);
    }
  } finally {
    closeSync(fd);
  }
}
