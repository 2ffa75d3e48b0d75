// The events journal (src/events): Docker's message shape, appends from
// parallel processes that never interleave, rotation that keeps the file
// bounded while readers still see every event, filters, time bounds, and
// following the journal as it grows.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { containerEvent, eventMessage, imageEvent, networkEvent, signalNumber, volumeEvent } from '../../src/events/emit.js';
import { parseEventFilters, parseEventTime, parseEventTimes } from '../../src/events/filters.js';
import { followEvents, JournalTail } from '../../src/events/follow.js';
import { appendEvent, journalPaths, MAX_LINE_BYTES, readJournal } from '../../src/events/journal.js';
import type { EventMessage } from '../../src/events/types.js';
import { thrown } from '../helpers/expect-error.js';

const repo = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsrun-events-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// No addon needed: a lock only this process takes.
const flock = () => true;
const web = { id: 'a'.repeat(64), name: 'web', image: 'busybox', labels: { tier: 'front', name: 'label-name' } };

describe('messages', () => {
  it("have Docker's fields: legacy status/id/from for containers, attributes with labels, image and name", () => {
    const m = eventMessage('container', 'die', { ID: web.id, Attributes: { image: 'busybox', name: 'web', exitCode: '3' } }, 1_733_354_755_266);
    expect(m).toEqual({
      status: 'die', id: web.id, from: 'busybox', Type: 'container', Action: 'die',
      Actor: { ID: web.id, Attributes: { image: 'busybox', name: 'web', exitCode: '3' } },
      scope: 'local', time: 1_733_354_755, timeNano: 1_733_354_755_266_000_000,
    });
    // Exact in JSON: a whole number of ms × 10^6.
    expect(JSON.stringify(m)).toContain('"timeNano":1733354755266000000');
    expect(eventMessage('image', 'tag', { ID: 'sha256:x' })).toMatchObject({ status: 'tag', id: 'sha256:x' });
    expect(eventMessage('network', 'create', { ID: 'n' })).not.toHaveProperty('status');
  });

  it('container, image, network and volume events land in the journal in order', () => {
    const r = root();
    containerEvent(r, 'kill', web, { signal: 'SIGTERM' }, { flock });
    imageEvent(r, 'pull', 'busybox:latest', 'busybox');
    networkEvent(r, 'connect', { Id: 'n1', Name: 'app' }, { container: web.id });
    volumeEvent(r, 'create', 'data');
    const evs = readJournal(r);
    expect(evs.map((e) => `${e.Type} ${e.Action}`)).toEqual(['container kill', 'image pull', 'network connect', 'volume create']);
    // image and name win over labels of those names; signal as a number.
    expect(evs[0].Actor.Attributes).toEqual({ tier: 'front', name: 'web', image: 'busybox', signal: '15' });
    expect(evs[2].Actor.Attributes).toEqual({ name: 'app', type: 'bridge', container: web.id });
    expect(evs[3].Actor).toEqual({ ID: 'data', Attributes: { driver: 'local' } });
    const lines = readFileSync(journalPaths(r).current, 'utf8').split('\n');
    expect(lines).toHaveLength(5); // four lines and the final newline
    expect(statSync(journalPaths(r).current).mode & 0o777).toBe(0o600);
  });

  it('a line stays under 4 KiB: labels go first, Docker attributes stay', () => {
    const r = root();
    const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`label.${i}`, 'x'.repeat(40)]));
    containerEvent(r, 'start', { ...web, labels }, undefined, { flock });
    const line = readFileSync(journalPaths(r).current, 'utf8');
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(readJournal(r)[0].Actor.Attributes).toMatchObject({ name: 'web', image: 'busybox' });
  });

  it('a root that is gone is not made again (a monitor exit command after the root was removed)', () => {
    const r = join(root(), 'removed');
    containerEvent(r, 'die', web, { exitCode: 0 }, { flock });
    expect(existsSync(r)).toBe(false);
  });

  it('signals are shown as numbers', () => {
    expect(signalNumber('SIGKILL')).toBe('9');
    expect(signalNumber('TERM')).toBe('15');
    expect(signalNumber(2)).toBe('2');
  });
});

describe('concurrent appends', () => {
  it('4 processes × 200 appends give 800 whole lines, each process in its order', async () => {
    const journal = join(repo, 'dist/events/emit.js');
    if (!existsSync(journal)) throw new Error(`build first (npx tsc -p tsconfig.json): ${journal} is missing`);
    const r = root();
    const script = `
      const { containerEvent } = await import(process.argv[1]);
      const [root, who] = process.argv.slice(2);
      const labels = { pad: 'p'.repeat(800) }; // long lines (1 KiB; 800 of them stay under the rotation size)
      for (let i = 0; i < 200; i++) containerEvent(root, 'start', { id: who, name: who + '-' + i, image: 'busybox', labels }, { seq: i });
    `;
    const run = promisify(execFile);
    await Promise.all([0, 1, 2, 3].map((w) => run(process.execPath, ['--input-type=module', '-e', script, journal, r, `w${w}`])));
    const lines = readFileSync(journalPaths(r).current, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(800);
    const seen = new Map<string, number[]>();
    for (const line of lines) {
      const ev = JSON.parse(line) as EventMessage; // throws on an interleaved line
      seen.set(ev.Actor.ID, [...(seen.get(ev.Actor.ID) ?? []), Number(ev.Actor.Attributes.seq)]);
    }
    for (const w of [0, 1, 2, 3]) expect(seen.get(`w${w}`)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  }, 30_000);
});

describe('rotation', () => {
  it('keeps the journal bounded, and readers see every event across rotations', () => {
    const r = root();
    const maxBytes = 8 * 1024;
    const p = journalPaths(r);
    const tail = new JournalTail(r);
    const got: EventMessage[] = [];
    for (let i = 0; i < 300; i++) {
      containerEvent(r, 'start', { ...web, name: `c${i}` }, undefined, { maxBytes, flock });
      expect(statSync(p.current, { throwIfNoEntry: false })?.size ?? 0).toBeLessThanOrEqual(maxBytes + MAX_LINE_BYTES);
      if (i % 7 === 0) got.push(...tail.read());
    }
    got.push(...tail.read());
    tail.close();
    expect(existsSync(p.previous)).toBe(true);
    // The tail saw all 300, in order, across every rotation.
    expect(got.map((e) => e.Actor.Attributes.name)).toEqual(Array.from({ length: 300 }, (_, i) => `c${i}`));
    // A fresh read: the old file then the current, the newest events last, nothing out of order.
    const names = readJournal(r).map((e) => Number(e.Actor.Attributes.name.slice(1)));
    expect(names.at(-1)).toBe(299);
    expect(names).toEqual(names.slice().sort((a, b) => a - b));
    expect(names.length).toBeGreaterThan(maxBytes / 400);
  });

  it('a rotation that another process holds the lock for is left to it', () => {
    const r = root();
    for (let i = 0; i < 50; i++) containerEvent(r, 'start', web, undefined, { maxBytes: 1024, flock: () => false });
    expect(existsSync(journalPaths(r).previous)).toBe(false);
    expect(readJournal(r)).toHaveLength(50);
  });
});

describe('filters', () => {
  const ev = (type: EventMessage['Type'], action: string, id: string, attrs: Record<string, string>) =>
    eventMessage(type, action, { ID: id, Attributes: attrs });
  const events = [
    ev('container', 'create', web.id, { name: 'web', image: 'busybox:1.36', tier: 'front' }),
    ev('container', 'die', 'b'.repeat(64), { name: 'db', image: 'postgres', exitCode: '3' }),
    ev('container', 'exec_start: sh -c true', web.id, { name: 'web', image: 'busybox:1.36', execID: 'e1' }),
    ev('image', 'pull', 'busybox:1.36', { name: 'busybox' }),
    ev('network', 'connect', 'n1', { name: 'app', type: 'bridge', container: web.id }),
    ev('volume', 'create', 'data', { driver: 'local' }),
  ];
  const pick = (...flags: string[]) => events.filter(parseEventFilters(flags)).map((e) => `${e.Type} ${e.Action.split(':')[0]} ${e.Actor.Attributes.name ?? e.Actor.ID}`);

  it("match as Docker's do: same key OR, different keys AND", () => {
    expect(pick('event=die')).toEqual(['container die db']);
    expect(pick('event=die', 'event=create')).toEqual(['container create web', 'container die db', 'volume create data']);
    expect(pick('event=exec_start')).toEqual(['container exec_start web']);
    expect(pick('container=web')).toEqual(['container create web', 'container exec_start web']);
    expect(pick('container=bbbb')).toEqual(['container die db']); // an id prefix
    expect(pick('container=web', 'event=create')).toEqual(['container create web']);
    expect(pick('type=image', 'type=volume')).toEqual(['image pull busybox', 'volume create data']);
    expect(pick('label=tier')).toEqual(['container create web']);
    expect(pick('label=tier=back')).toEqual([]);
    expect(pick('image=busybox')).toEqual(['container create web', 'container exec_start web', 'image pull busybox']);
    expect(pick('image=postgres')).toEqual(['container die db']);
    expect(pick('network=app')).toEqual(['network connect app']);
    expect(pick('volume=data')).toEqual(['volume create data']);
  });

  it('refuse a bad key, type or shape with a clear message', () => {
    expect(thrown(() => parseEventFilters(['colour=red'])).message).toBe("invalid filter 'colour'");
    expect(thrown(() => parseEventFilters(['type=car'])).message).toBe("invalid filter 'type=car'");
    expect(thrown(() => parseEventFilters(['event'])).message).toMatch(/bad format of filter/);
  });

  it('times: Unix seconds, RFC 3339, Go durations back from now; since after until is refused', () => {
    const now = 1_800_000_000_000;
    expect(parseEventTime('1700000000', 'since', now)).toBe(1_700_000_000_000);
    expect(parseEventTime('1700000000.5', 'since', now)).toBe(1_700_000_000_500);
    expect(parseEventTime('2026-12-04T23:25:55Z', 'since', now)).toBe(Date.parse('2026-12-04T23:25:55Z'));
    expect(parseEventTime('10m', 'since', now)).toBe(now - 600_000);
    expect(parseEventTime('1h30m', 'until', now)).toBe(now - 5_400_000);
    expect(thrown(() => parseEventTime('soon', 'since', now)).message).toMatch(/^invalid value for --since: "soon"/);
    expect(thrown(() => parseEventTimes('1m', '10m', now)).message).toMatch(/--until .* is before --since/);
    expect(parseEventTimes(undefined, '0', now)).toEqual({ until: 0 });
  });
});

describe('following', () => {
  it('prints the events between since and until, and returns when until has passed', async () => {
    const r = root();
    for (const [i, t] of [1000, 2000, 3000, 4000].entries()) {
      appendEvent(r, eventMessage('container', `a${i}`, { ID: 'x', Attributes: { name: 'x' } }, t), { flock });
    }
    const got: string[] = [];
    await followEvents(r, (e) => got.push(e.Action), { since: 2000, until: 3000 });
    expect(got).toEqual(['a1', 'a2']);
    const all: string[] = [];
    await followEvents(r, (e) => all.push(e.Action), { until: 10_000, filter: parseEventFilters(['event=a3', 'event=a0']) });
    expect(all).toEqual(['a0', 'a3']);
  });

  it('follows live: only new events without --since, each as it is appended, until aborted', async () => {
    const r = root();
    appendEvent(r, eventMessage('container', 'old', { ID: 'x' }, Date.now() - 60_000), { flock });
    const ac = new AbortController();
    const got: string[] = [];
    const done = followEvents(r, (e) => {
      got.push(e.Action);
      if (got.length === 2) ac.abort();
    }, { signal: ac.signal });
    await new Promise((res) => setTimeout(res, 50));
    containerEvent(r, 'create', web, undefined, { flock });
    await new Promise((res) => setTimeout(res, 50));
    containerEvent(r, 'start', web, undefined, { flock });
    await done;
    expect(got).toEqual(['create', 'start']);
  });
});
