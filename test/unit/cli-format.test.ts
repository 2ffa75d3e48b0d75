// Docker's output shapes (src/cli/format.ts, src/util/human-duration.ts,
// src/runtime/status-text.ts), signal names
// (src/runtime/signals.ts) and `ps --filter` (src/cli/commands/ps.ts).
import { describe, expect, it } from 'vitest';
import { bytesSize, commandText, table } from '../../src/cli/format.js';
import type { ContainerView, DockerStatus } from '../../src/runtime/containers.js';
import { parseSignal } from '../../src/runtime/signals.js';
import { statusText } from '../../src/runtime/status-text.js';
import type { OciSpec } from '../../src/spec/oci.js';
import { humanDuration } from '../../src/util/human-duration.js';
import { thrown } from '../helpers/expect-error.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

describe('humanDuration', () => {
  // go-units duration_test.go TestHumanDuration, case for case.
  it.each([
    ['Less than a second', 450],
    ['1 second', 1 * SECOND],
    ['45 seconds', 45 * SECOND],
    ['46 seconds', 46 * SECOND],
    ['59 seconds', 59 * SECOND],
    ['About a minute', 60 * SECOND],
    ['About a minute', 1 * MINUTE],
    ['3 minutes', 3 * MINUTE],
    ['35 minutes', 35 * MINUTE],
    ['35 minutes', 35 * MINUTE + 40 * SECOND],
    ['45 minutes', 45 * MINUTE],
    ['45 minutes', 45 * MINUTE + 40 * SECOND],
    ['46 minutes', 46 * MINUTE],
    ['59 minutes', 59 * MINUTE],
    ['About an hour', 1 * HOUR],
    ['About an hour', 1 * HOUR + 29 * MINUTE],
    ['2 hours', 1 * HOUR + 31 * MINUTE],
    ['2 hours', 1 * HOUR + 59 * MINUTE],
    ['3 hours', 3 * HOUR],
    ['3 hours', 3 * HOUR + 29 * MINUTE],
    ['4 hours', 3 * HOUR + 31 * MINUTE],
    ['4 hours', 3 * HOUR + 59 * MINUTE],
    ['4 hours', 3 * HOUR + 60 * MINUTE],
    ['24 hours', 24 * HOUR],
    ['36 hours', 1 * DAY + 12 * HOUR],
    ['2 days', 2 * DAY],
    ['7 days', 7 * DAY],
    ['13 days', 13 * DAY + 5 * HOUR],
    ['2 weeks', 2 * WEEK],
    ['2 weeks', 2 * WEEK + 4 * DAY],
    ['3 weeks', 3 * WEEK],
    ['4 weeks', 4 * WEEK],
    ['4 weeks', 4 * WEEK + 3 * DAY],
    ['4 weeks', 1 * MONTH],
    ['6 weeks', 1 * MONTH + 2 * WEEK],
    ['2 months', 2 * MONTH],
    ['2 months', 2 * MONTH + 2 * WEEK],
    ['3 months', 3 * MONTH],
    ['3 months', 3 * MONTH + 1 * WEEK],
    ['5 months', 5 * MONTH + 2 * WEEK],
    ['13 months', 13 * MONTH],
    ['23 months', 23 * MONTH],
    ['24 months', 24 * MONTH],
    ['2 years', 24 * MONTH + 2 * WEEK],
    ['3 years', 3 * YEAR + 2 * MONTH],
  ])('%s for %i ms', (text, ms) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('a negative duration (clock skew) is less than a second', () => {
    expect(humanDuration(-5000)).toBe('Less than a second');
  });

  // go-units truncates (int(d.Seconds()), int(d.Minutes())); format.ts
  // rounds, so a fraction of a second past a boundary reads one unit early.
  it('truncates fractions of a second as go-units does', () => {
    expect(humanDuration(999)).toBe('Less than a second');
    expect(humanDuration(1500)).toBe('1 second');
    expect(humanDuration(59 * SECOND + 600)).toBe('59 seconds');
    expect(humanDuration(119 * SECOND + 600)).toBe('About a minute');
  });
});

function view(status: DockerStatus, fields: Partial<ContainerView> = {}): ContainerView {
  return {
    record: { id: 'a'.repeat(64), name: 'web', status: 'created', created: new Date(NOW - HOUR).toISOString() },
    spec: { process: { args: ['sh'] } } as OciSpec,
    status,
    pid: 0,
    exitCode: 0,
    oomKilled: false,
    ...fields,
  };
}
const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('statusText', () => {
  it('running: Up and how long', () => {
    expect(statusText(view('running', { startedAt: ago(5 * SECOND) }), NOW)).toBe('Up 5 seconds');
    expect(statusText(view('running', { startedAt: ago(3 * DAY) }), NOW)).toBe('Up 3 days');
  });

  it('paused: Up … (Paused)', () => {
    expect(statusText(view('paused', { startedAt: ago(2 * MINUTE) }), NOW)).toBe('Up 2 minutes (Paused)');
  });

  it('created: Created', () => {
    expect(statusText(view('created'), NOW)).toBe('Created');
  });

  it('exited: the code and how long ago it finished', () => {
    expect(statusText(view('exited', { exitCode: 0, startedAt: ago(HOUR), finishedAt: ago(3 * SECOND) }), NOW)).toBe('Exited (0) 3 seconds ago');
    expect(statusText(view('exited', { exitCode: 137, finishedAt: ago(HOUR) }), NOW)).toBe('Exited (137) About an hour ago');
  });

  it('exited without a finish time falls back to the start, then to the creation', () => {
    expect(statusText(view('exited', { exitCode: 255, startedAt: ago(10 * MINUTE) }), NOW)).toBe('Exited (255) 10 minutes ago');
    expect(statusText(view('exited', { exitCode: 1 }), NOW)).toBe('Exited (1) About an hour ago');
  });
});

describe('commandText', () => {
  it('quotes the command', () => {
    expect(commandText(['sh', '-c', 'echo hi'], true)).toBe('"sh -c echo hi"');
    expect(commandText(['echo', 'say "hi"'], false)).toBe('"echo say \\"hi\\""');
  });

  it('cuts a command over 20 characters to 19 and an ellipsis', () => {
    const exactly20 = ['/bin/sleep', '123456789']; // "/bin/sleep 123456789" is 20 characters
    expect(commandText(exactly20, true)).toBe('"/bin/sleep 123456789"');
    expect(commandText(['/bin/sleep', '1234567890'], true)).toBe('"/bin/sleep 12345678…"');
    expect(commandText(['/bin/sleep', '1234567890'], false)).toBe('"/bin/sleep 1234567890"');
  });
});

describe('table', () => {
  it('pads every column but the last to its widest cell plus three spaces', () => {
    expect(table(['A', 'LONGER', 'C'], [['xxxx', 'y', 'z'], ['1', '', '3']])).toBe(
      ['A      LONGER   C', 'xxxx   y        z', '1               3', ''].join('\n'),
    );
  });

  it('trims trailing blanks (an empty last column) and prints the header alone without rows', () => {
    expect(table(['ID', 'PORTS'], [['abc', '']])).toBe('ID    PORTS\nabc\n');
    expect(table(['CONTAINER ID', 'IMAGE'], [])).toBe('CONTAINER ID   IMAGE\n');
  });
});

describe('bytesSize', () => {
  it.each([
    [0, '0B'],
    [512, '512B'],
    [1023, '1023B'],
    [1024, '1KiB'],
    [1536, '1.5KiB'],
    [1024 * 1024, '1MiB'],
    [2 * 1024 * 1024, '2MiB'],
    [3.42 * 1024 ** 3, '3.42GiB'],
  ])('%i → %s', (n, text) => {
    expect(bytesSize(n)).toBe(text);
  });

  // go-units formats with %.4g (4 significant digits) and goes on to PiB,
  // EiB, ...; format.ts keeps 2 decimals and stops at TiB.
  it('4 significant digits and units past TiB, as go-units BytesSize', () => {
    expect(bytesSize(5.372 * 1024 ** 4)).toBe('5.372TiB');
    expect(bytesSize(2.22 * 1024 ** 5)).toBe('2.22PiB');
  });
});

describe('parseSignal', () => {
  it.each([
    ['KILL', 9],
    ['SIGKILL', 9],
    ['sigterm', 15],
    ['term', 15],
    ['Hup', 1],
    ['9', 9],
    ['1', 1],
    ['64', 64],
  ])('%s → %i', (value, n) => {
    expect(parseSignal(value)).toBe(n);
  });

  it.each(['0', '65', '-9', '9x', 'BOGUS', 'SIGBOGUS', 'SIG', ''])('refuses %j', (value) => {
    const err = thrown(() => parseSignal(value));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(`invalid signal: ${value}`);
  });
});
