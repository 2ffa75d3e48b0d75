// Reading the json-file log the monitor writes: --since, --tail, --follow.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSince, parseTail, readLogs, type LogEntry, type LogOptions } from '../../src/runtime/logs.js';
import { rejection } from '../helpers/expect-error.js';

const NOW = Date.UTC(2024, 0, 2, 15, 4, 5);

describe('parseSince', () => {
  it.each([
    ['2024-01-02T15:04:05Z', Date.UTC(2024, 0, 2, 15, 4, 5)],
    ['2024-01-02T15:04:05.123456789Z', Date.UTC(2024, 0, 2, 15, 4, 5, 123)],
    ['2024-01-02T17:04:05+02:00', Date.UTC(2024, 0, 2, 15, 4, 5)],
  ])('RFC 3339 %s', (value, ms) => {
    expect(parseSince(value, NOW)).toBe(ms);
  });

  it.each([
    ['1704207845', 1704207845000],
    ['1704207845.5', 1704207845500],
    ['1704207845.123456789', 1704207845123],
    ['0', 0],
  ])('Unix seconds %s', (value, ms) => {
    expect(parseSince(value, NOW)).toBe(ms);
  });

  it.each([
    ['10m', 10 * 60_000],
    ['1h30m', 90 * 60_000],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1h', 3_600_000],
    ['1h2m3s', 3_723_000],
    ['0s', 0],
  ])('a duration back from now: %s', (value, back) => {
    expect(parseSince(value, NOW)).toBe(NOW - back);
  });

  it.each(['', 'yesterday', '10x', '-5m', '1d', '10 m', '2024-13-01'])('invalid %j → INVALID_ARGUMENT', async (value) => {
    const err = await rejection(Promise.resolve().then(() => parseSince(value, NOW)));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(`invalid value for --since: "${value}"`);
  });
});

describe('parseTail', () => {
  it('takes a count, or all', () => {
    expect(parseTail(undefined)).toBeUndefined();
    expect(parseTail('all')).toBeUndefined();
    expect(parseTail('0')).toBe(0);
    expect(parseTail('25')).toBe(25);
  });

  it.each(['-1', 'ten', '1.5', '', 'ALL'])('refuses %j', async (value) => {
    const err = await rejection(Promise.resolve().then(() => parseTail(value)));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(`invalid value for --tail: "${value}" (a number or "all")`);
  });
});

describe('readLogs', () => {
  let tmp: string;
  let file: string;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-logs-'));
    file = path.join(tmp, 'container.log');
  });

  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** Entry n: one second after the last, stdout for even n, stderr for odd. */
  const entry = (n: number): LogEntry => ({
    stream: n % 2 ? 'stderr' : 'stdout',
    time: new Date(NOW + n * 1000).toISOString().replace('Z', '123456Z'),
    log: `line ${n}\n`,
  });
  const line = (n: number) => `${JSON.stringify({ log: entry(n).log, stream: entry(n).stream, time: entry(n).time })}\n`;

  async function read(opts: LogOptions = {}): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for await (const e of readLogs(file, opts)) out.push(e);
    return out;
  }

  const logs = (entries: LogEntry[]) => entries.map((e) => e.log.trim());

  it('yields every entry in order, with its stream and time', async () => {
    await writeFile(file, [0, 1, 2].map(line).join(''));
    expect(await read()).toEqual([entry(0), entry(1), entry(2)]);
  });

  it('yields nothing for a container that never logged', async () => {
    expect(await read()).toEqual([]);
    expect(await read({ follow: true, running: async () => false })).toEqual([]);
  });

  it('--tail N keeps the last N; 0 none; more than there are, all', async () => {
    await writeFile(file, [0, 1, 2, 3, 4].map(line).join(''));
    expect(logs(await read({ tail: 2 }))).toEqual(['line 3', 'line 4']);
    expect(await read({ tail: 0 })).toEqual([]);
    expect(logs(await read({ tail: 10 }))).toHaveLength(5);
  });

  it('--since keeps entries at or after the time; --tail then counts from the end of those', async () => {
    await writeFile(file, [0, 1, 2, 3, 4].map(line).join(''));
    expect(logs(await read({ sinceMs: NOW + 2000 }))).toEqual(['line 2', 'line 3', 'line 4']);
    expect(logs(await read({ sinceMs: NOW + 2001 }))).toEqual(['line 3', 'line 4']);
    expect(logs(await read({ sinceMs: NOW + 2000, tail: 1 }))).toEqual(['line 4']);
    expect(await read({ sinceMs: NOW + 60_000 })).toEqual([]);
  });

  it('ignores a torn last line (the monitor is mid-write) and lines that are not entries', async () => {
    await writeFile(file, `${line(0)}not json\n${JSON.stringify({ log: 5, stream: 'stdout' })}\n${line(1)}${line(2).slice(0, 20)}`);
    expect(logs(await read())).toEqual(['line 0', 'line 1']);
  });

  it('--follow reads what is appended while running, completes torn lines, and stops once running() turns false and the file is drained', async () => {
    await writeFile(file, [0, 1, 2].map(line).join(''));
    let polls = 0;
    const running = async () => {
      polls++;
      if (polls === 2) await appendFile(file, line(3) + line(4).slice(0, 15));
      if (polls === 3) await appendFile(file, line(4).slice(15));
      if (polls === 4) {
        // Output written just before the container exited is still shown.
        await appendFile(file, line(5));
        return false;
      }
      return true;
    };
    const got = await read({ follow: true, tail: 1, sinceMs: NOW + 1000, running });
    expect(logs(got)).toEqual(['line 2', 'line 3', 'line 4', 'line 5']);
    expect(got[3]).toEqual(entry(5));
    expect(polls).toBe(4);
  });

  it('--follow without running() reads once and stops', async () => {
    await writeFile(file, line(0));
    expect(logs(await read({ follow: true }))).toEqual(['line 0']);
  });
});
