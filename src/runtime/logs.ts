// Reading a container's json-file log (written by tsrun-monitor): --tail,
// --since, --until, --timestamps, and --follow until the container stops.
// With --log-opt max-size the monitor rotates the log (FILE → FILE.1 →
// … FILE.N, or FILE.k.gz with compress; native/src/monitor/log.cc): the
// rotated files are read first, oldest first, and a follower that sees a
// new file at FILE drains the old one and moves on to it.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsrunError } from '../errors.js';
import type { Containers } from './containers.js';
import type { ContainerState } from './store.js';

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
  /** Only entries at or before this time (ms since the epoch); following stops once it has passed. */
  untilMs?: number;
  follow?: boolean;
  /** Polled while following; following stops once it returns false and the file is drained. */
  running?: () => Promise<boolean>;
  /** Ends a follow early (the reader went away): nothing keeps polling or holds the file. */
  signal?: AbortSignal;
}

/** Docker's --since/--until: RFC 3339 date/time, Unix seconds (with fraction), or a duration back from now (10m, 1h30m). */
export function parseSince(value: string, nowMs = Date.now(), flag = '--since'): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Math.floor(Number(value) * 1000);
  const dur = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
  if (dur && value !== '') {
    const [, h, m, s] = dur;
    return nowMs - ((Number(h ?? 0) * 60 + Number(m ?? 0)) * 60 + Number(s ?? 0)) * 1000;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new TsrunError('INVALID_ARGUMENT', `invalid value for ${flag}: "${value}" (use a time like 2024-01-02T15:04:05Z, Unix seconds, or a duration like 10m)`);
  return t;
}

export function parseTail(value: string | undefined): number | undefined {
  if (value === undefined || value === 'all') return undefined;
  if (!/^\d+$/.test(value)) throw new TsrunError('INVALID_ARGUMENT', `invalid value for --tail: "${value}" (a number or "all")`);
  return Number(value);
}

/**
 * A container's log as `logs` shows it (the CLI's and the API's): refused
 * for --log-driver none; with `follow`, read until the container stops.
 */
export function containerLogs(c: Containers, id: string, record: Pick<ContainerState, 'request'>, opts: Omit<LogOptions, 'running'> = {}): AsyncGenerator<LogEntry> {
  checkReadable(record);
  const running = async (): Promise<boolean> => {
    const v = await c.view(id).catch(() => null);
    return v !== null && (v.status === 'running' || v.status === 'paused');
  };
  return readLogs(c.logPath(id), { ...opts, running });
}

/** Refuses `logs` of a container whose log driver keeps nothing (--log-driver none), as Docker does. */
export function checkReadable(record: Pick<ContainerState, 'request'>): void {
  if (record.request?.logConfig?.Type === 'none') {
    throw new TsrunError('UNSUPPORTED', 'configured logging driver does not support reading');
  }
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

/** A rotated file, opened while the names were stable: read through the fd whatever it is called by then. */
interface Rotated {
  fd: number;
  ino: number;
  gz: boolean;
}

const inode = (path: string): number | null => {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
};

const openOrNull = (path: string): number | null => {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
};

/**
 * FILE and its rotated files (oldest first: FILE.N … FILE.1, each FILE.k or,
 * once compressed, FILE.k.gz), opened as one consistent picture. A rotation
 * renames several files one after another: it makes FILE.tmp first and
 * ends by renaming it over FILE, so the picture is taken again while
 * FILE.tmp exists or when FILE changed meanwhile (for at most 0.1 s: a
 * FILE.tmp a killed monitor left does not stop a reader). A log that never
 * rotated costs four stats.
 */
async function openLog(path: string): Promise<{ fd: number | null; ino: number | null; rotated: Rotated[] }> {
  for (let attempt = 0; ; attempt++) {
    const settle = attempt < 50;
    const before = inode(path);
    if (settle && existsSync(`${path}.tmp`)) {
      await sleep(2);
      continue;
    }
    const fd = openOrNull(path);
    const ino = fd === null ? null : fstatSync(fd).ino;
    const rotated: Rotated[] = [];
    for (let k = 1; ; k++) {
      // The plain one while both exist: its compression is not done.
      let gz = false;
      let f = openOrNull(`${path}.${k}`);
      if (f === null) {
        gz = true;
        f = openOrNull(`${path}.${k}.gz`);
      }
      if (f === null) break;
      rotated.unshift({ fd: f, ino: fstatSync(f).ino, gz });
    }
    if (!settle || (ino === before && inode(path) === before && !existsSync(`${path}.tmp`))) return { fd, ino, rotated };
    if (fd !== null) closeSync(fd);
    for (const r of rotated) closeSync(r.fd);
    await sleep(2);
  }
}

/** A rotated file's text. */
async function rotatedText(f: Rotated): Promise<string> {
  const bytes = readFileSync(f.fd);
  if (!f.gz) return bytes.toString('utf8');
  // node:zlib loads only for a log that has compressed files.
  const { gunzipSync } = await import('node:zlib');
  return gunzipSync(bytes).toString('utf8');
}

/**
 * Yields log entries; with `follow`, keeps reading new ones until the
 * container stops. The file is read with synchronous calls: a read of 64 KiB
 * takes microseconds, where each thread-pool round trip costs more than
 * the whole of a short log.
 */
export async function* readLogs(path: string, opts: LogOptions = {}): AsyncGenerator<LogEntry> {
  let { fd, ino, rotated } = await openLog(path);
  const closeRotated = () => {
    for (const r of rotated.splice(0)) closeSync(r.fd);
  };
  if (fd === null && rotated.length === 0) return;
  const keep = (e: LogEntry): boolean => {
    if (opts.sinceMs === undefined && opts.untilMs === undefined) return true;
    const t = timeMs(e);
    return (opts.sinceMs === undefined || t >= opts.sinceMs) && (opts.untilMs === undefined || t <= opts.untilMs);
  };
  // The time of the last entry read. The monitor stamps entries as it
  // writes them, in file order, always with nine fraction digits: times
  // compare as strings, and order the entries of different files.
  let last = '';
  const take = (entries: LogEntry[]): LogEntry[] => {
    if (entries.length) last = entries[entries.length - 1].time;
    return entries.filter(keep);
  };
  const entriesOf = (text: string): LogEntry[] => text.split('\n').map(parseLine).filter((e): e is LogEntry => e !== null);
  try {
    let pos = 0;
    let rest = '';
    const buf = Buffer.alloc(64 * 1024);
    const readNew = (): LogEntry[] => {
      if (fd === null) return [];
      for (;;) {
        const bytesRead = readSync(fd, buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        rest += buf.toString('utf8', 0, bytesRead);
      }
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      return lines.map(parseLine).filter((e): e is LogEntry => e !== null);
    };
    // A new FILE: the old one is drained (the monitor may have written to
    // it after the last read, but not since the new FILE is in place), then
    // come the files rotated after it (several rotations between two
    // looks), then the new FILE. Those in between are the rotated files
    // after the old one (found by its inode), or, when it is gone (rotated
    // out, or compressed), the entries after the last one read.
    async function followRotation(): Promise<LogEntry[]> {
      const out = take(readNew());
      const oldIno = ino;
      const after = last;
      if (fd !== null) closeSync(fd);
      ({ fd, ino, rotated } = await openLog(path));
      pos = 0;
      rest = '';
      const old = rotated.findIndex((r) => !r.gz && r.ino === oldIno);
      const between: LogEntry[] = [];
      for (const r of old >= 0 ? rotated.slice(old + 1) : rotated) {
        for (const e of entriesOf(await rotatedText(r))) if (old >= 0 || e.time > after) between.push(e);
      }
      closeRotated();
      out.push(...take(between), ...take(readNew()));
      return out;
    }

    let first: LogEntry[] = [];
    for (const r of rotated) first.push(...take(entriesOf(await rotatedText(r))));
    closeRotated();
    first.push(...take(readNew()));
    if (opts.tail !== undefined) first = opts.tail === 0 ? [] : first.slice(-opts.tail);
    yield* first;
    if (!opts.follow) return;
    for (;;) {
      if (opts.signal?.aborted) return;
      const live = opts.running ? await opts.running() : false;
      yield* take(readNew());
      const now = inode(path);
      const rotating = now !== null && now !== ino;
      if (rotating) yield* await followRotation();
      if (!live) return;
      if (opts.untilMs !== undefined && Date.now() > opts.untilMs) return;
      // While rotations come fast, the next look comes sooner.
      await sleep(rotating ? 10 : 100, undefined, { signal: opts.signal }).catch(() => {});
    }
  } finally {
    closeRotated();
    if (fd !== null) closeSync(fd);
  }
}
