// Reading a log the monitor rotates (--log-opt max-size): FILE.N … FILE.1
// (or FILE.k.gz) then FILE, --until, and a follower that crosses rotations
// done as the monitor does them (link + rename of a new file over FILE).
import { appendFileSync, linkSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkReadable, readLogs, type LogEntry, type LogOptions } from '../../src/runtime/logs.js';
import { thrown } from '../helpers/expect-error.js';

const NOW = Date.UTC(2024, 0, 2, 15, 4, 5);

describe('readLogs over rotated files', () => {
  let tmp: string;
  let file: string;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-logrot-'));
    file = path.join(tmp, 'container.log');
  });

  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const line = (n: number) => `${JSON.stringify({ log: `line ${n}\n`, stream: 'stdout', time: new Date(NOW + n * 1000).toISOString() })}\n`;
  const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i)).join('');
  const nums = (entries: LogEntry[]) => entries.map((e) => Number(e.log.trim().slice(5)));

  async function read(opts: LogOptions = {}): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for await (const e of readLogs(file, opts)) out.push(e);
    return out;
  }

  // The monitor's rotation with max-file 3: .1 → .2, FILE → .1, a new FILE.
  function rotate(): void {
    try {
      renameSync(`${file}.1`, `${file}.2`);
    } catch {
      // no .1 yet
    }
    linkSync(file, `${file}.1`);
    writeFileSync(`${file}.tmp`, '');
    renameSync(`${file}.tmp`, file);
  }

  it('reads the oldest file first, compressed or not, and --tail counts across files', async () => {
    writeFileSync(`${file}.3.gz`, gzipSync(lines(1, 3)));
    writeFileSync(`${file}.2.gz`, gzipSync(lines(4, 6)));
    writeFileSync(`${file}.1`, lines(7, 9));
    writeFileSync(file, lines(10, 11));
    writeFileSync(`${file}.tmp`, line(99)); // a rotation's new file, not yet in place
    expect(nums(await read())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(nums(await read({ tail: 4 }))).toEqual([8, 9, 10, 11]);
    expect(nums(await read({ sinceMs: NOW + 5000, untilMs: NOW + 8000 }))).toEqual([5, 6, 7, 8]);
  });

  it('while FILE.1 is being compressed (both there), reads the plain one once', async () => {
    writeFileSync(`${file}.1`, lines(1, 2));
    writeFileSync(`${file}.1.gz`, gzipSync(lines(1, 2)));
    writeFileSync(file, lines(3, 3));
    expect(nums(await read())).toEqual([1, 2, 3]);
  });

  it('--follow moves to the new file after one rotation or several between two looks', async () => {
    writeFileSync(file, lines(1, 2));
    let polls = 0;
    const running = async () => {
      polls++;
      if (polls === 1) {
        appendFileSync(file, line(3));
        rotate();
        appendFileSync(file, line(4));
      }
      if (polls === 2) {
        appendFileSync(file, line(5));
        rotate();
        appendFileSync(file, line(6));
        rotate();
        appendFileSync(file, line(7));
      }
      return polls < 3;
    };
    expect(nums(await read({ follow: true, running }))).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('--follow after more rotations than files kept: the entries after the last one read, from what is left', async () => {
    // max-file 2 with compress: FILE.1 is gzipped, so the old file cannot be found by its inode.
    const rotateGz = () => {
      writeFileSync(`${file}.1.gz`, gzipSync(readFileSync(file)));
      writeFileSync(`${file}.tmp`, '');
      renameSync(`${file}.tmp`, file);
    };
    writeFileSync(file, lines(1, 2));
    let polls = 0;
    const running = async () => {
      polls++;
      if (polls === 1) {
        appendFileSync(file, line(3));
        rotateGz();
        appendFileSync(file, line(4));
        rotateGz(); // line 3's file is gone
        appendFileSync(file, line(5));
      }
      return polls < 2;
    };
    expect(nums(await read({ follow: true, running }))).toEqual([1, 2, 3, 4, 5]);
  });

  it('--until stops a follower once the time has passed', async () => {
    writeFileSync(file, lines(1, 2));
    // Entries after --until are left out; a container that runs on does not keep it following.
    expect(nums(await read({ follow: true, untilMs: Date.now() - 1, running: async () => true }))).toEqual([1, 2]);
    expect(nums(await read({ follow: true, untilMs: NOW + 1000, running: async () => true }))).toEqual([1]);
  });

  it('a container logging to none cannot be read', () => {
    expect(thrown(() => checkReadable({ request: { image: 'x', logConfig: { Type: 'none', Config: {} } } })).message).toBe(
      'configured logging driver does not support reading',
    );
    checkReadable({ request: { image: 'x' } });
  });
});
