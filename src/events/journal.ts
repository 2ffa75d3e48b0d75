// The one events journal of a --root: ROOT/events/events.jsonl, one JSON
// event a line, appended by every process that changes state (the CLI,
// the monitor's exit command, a later API service). There is no daemon
// to hand events to, so the file is the bus.
//
// - Append: open(O_APPEND|O_CREAT), one write() of one whole line, close.
//   O_APPEND makes the kernel pick the offset and write under the inode
//   lock, so lines of concurrent writers never interleave; lines are kept
//   under 4 KiB (MAX_LINE_BYTES) so that even a reader never sees more
//   than a page boundary's worth of a torn line. No fsync: an event costs
//   a few µs, and a crash may lose the last events, not corrupt earlier
//   ones (a reader skips a torn last line).
// - Opening per event (not keeping an fd) means a writer always appends to
//   the current file, even after another process rotated it.
// - Rotation: a write that takes the file past maxBytes (1 MiB) renames it
//   to events.1.jsonl (replacing the older one) under an flock on
//   events/rotate.lock, taken without waiting (whoever holds it is rotating
//   already) and re-checked once held, so one rotation happens per
//   crossing. Readers read events.1.jsonl, then events.jsonl (follow.ts).
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { native } from '../native/binding.js';
import type { EventMessage } from './types.js';

/** The journal is rotated once it passes this size. */
export const JOURNAL_MAX_BYTES = 1 << 20;

/** A line never exceeds this (attributes are trimmed to fit): one write well under PIPE_BUF-sized atomicity concerns. */
export const MAX_LINE_BYTES = 4000;

export interface JournalPaths {
  dir: string;
  current: string;
  previous: string;
  lock: string;
}

export function journalPaths(root: string): JournalPaths {
  const dir = `${root}/events`;
  return { dir, current: `${dir}/events.jsonl`, previous: `${dir}/events.1.jsonl`, lock: `${dir}/rotate.lock` };
}

export interface AppendOptions {
  /** Rotate past this size (default JOURNAL_MAX_BYTES; tests use less). */
  maxBytes?: number;
  /** Non-blocking flock (default the addon's). */
  flock?: (fd: number, exclusive: boolean) => boolean;
}

/**
 * Appends one event. Never throws: an event that cannot be written (a
 * read-only or vanished root) must not fail the operation it reports. A
 * root that does not exist (removed while a monitor's exit command ran) is
 * not made again.
 */
export function appendEvent(root: string, ev: EventMessage, opts: AppendOptions = {}): void {
  try {
    const p = journalPaths(root);
    const line = Buffer.from(eventLine(ev));
    const fd = openJournal(root, p);
    if (fd === null) return;
    let size: number;
    try {
      writeSync(fd, line);
      size = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
    const max = opts.maxBytes ?? JOURNAL_MAX_BYTES;
    if (size > max) rotate(p, max, opts.flock ?? ((fd, ex) => native.flock(fd, ex)));
  } catch {
    // A journal that cannot be written loses this event; the operation stands.
  }
}

function openJournal(root: string, p: JournalPaths): number | null {
  try {
    return openSync(p.current, 'a', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(root)) return null;
  }
  try {
    mkdirSync(p.dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return openSync(p.current, 'a', 0o600);
}

function rotate(p: JournalPaths, max: number, flock: (fd: number, exclusive: boolean) => boolean): void {
  const fd = openSync(p.lock, 'a', 0o600);
  try {
    if (!flock(fd, true)) return; // another process is rotating it now
    const st = statSync(p.current, { throwIfNoEntry: false });
    if (!st || st.size <= max) return; // rotated meanwhile
    renameSync(p.current, p.previous);
  } finally {
    closeSync(fd);
  }
}

/** One event as its journal line, attributes trimmed (labels first, then long values) to keep it under MAX_LINE_BYTES. */
export function eventLine(ev: EventMessage): string {
  let line = `${JSON.stringify(ev)}\n`;
  if (Buffer.byteLength(line) <= MAX_LINE_BYTES) return line;
  // Docker's own attributes stay; the container's labels go first.
  const KEEP = new Set(['name', 'image', 'exitCode', 'signal', 'container', 'execID', 'oldName', 'type', 'driver', 'destination']);
  const attrs = { ...ev.Actor.Attributes };
  for (const k of Object.keys(attrs)) {
    if (KEEP.has(k)) continue;
    delete attrs[k];
    line = `${JSON.stringify({ ...ev, Actor: { ...ev.Actor, Attributes: attrs } })}\n`;
    if (Buffer.byteLength(line) <= MAX_LINE_BYTES) return line;
  }
  const cut = (s: string) => (s.length > 256 ? `${s.slice(0, 255)}…` : s);
  const short = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [cut(k), cut(v)]));
  return `${JSON.stringify({ ...ev, Action: cut(ev.Action), Actor: { ID: cut(ev.Actor.ID), Attributes: short } })}\n`;
}

/** A journal line → its event; null for a torn or foreign line. */
export function parseEventLine(line: string): EventMessage | null {
  if (!line) return null;
  try {
    const ev = JSON.parse(line) as EventMessage;
    return typeof ev?.Type === 'string' && typeof ev.Action === 'string' && typeof ev.timeNano === 'number' && ev.Actor ? ev : null;
  } catch {
    return null;
  }
}

/**
 * The journal's two files open for reading, the old one first. The current
 * file is opened first: had a rotation renamed it in between, the "old"
 * fd is that same file, and the current one is opened again (the older
 * file that rotation dropped is gone either way).
 */
export function openJournalFiles(root: string): { previous: number | null; current: number | null } {
  const p = journalPaths(root);
  const tryOpen = (f: string) => {
    try {
      return openSync(f, 'r');
    } catch {
      return null;
    }
  };
  let current = tryOpen(p.current);
  const previous = tryOpen(p.previous);
  if (current !== null && previous !== null && fstatSync(current).ino === fstatSync(previous).ino) {
    closeSync(current);
    current = tryOpen(p.current);
  }
  return { previous, current };
}

/** Every event in the journal, oldest first: events.1.jsonl, then events.jsonl. */
export function readJournal(root: string): EventMessage[] {
  const { previous, current } = openJournalFiles(root);
  const out: EventMessage[] = [];
  for (const fd of [previous, current]) {
    if (fd === null) continue;
    try {
      for (const line of readFileSync(fd, 'utf8').split('\n')) {
        const ev = parseEventLine(line);
        if (ev) out.push(ev);
      }
    } finally {
      closeSync(fd);
    }
  }
  return out;
}
