// Reading the journal as a stream: what is there (events.1.jsonl, then
// events.jsonl), then what is appended, across rotations. A rotation is
// seen as the path naming another inode: the old file is read to its end
// and kept open for a grace period (a writer that opened it just before
// the rename may still append its line there), and the new one is read
// from its start. New lines are noticed by fs.watch on the directory, and
// by a poll every POLL_MS in case the watch misses one (or the directory
// does not exist yet).
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { journalPaths, openJournalFiles, parseEventLine } from './journal.js';
import type { EventFilter } from './filters.js';
import type { EventMessage } from './types.js';

const POLL_MS = 250;
// How long a rotated-away file is still read for late lines.
const ROTATED_GRACE_MS = 2000;

interface OpenFile {
  fd: number;
  ino: number;
  offset: number;
  /** A line not yet complete. */
  rest: string;
  /** When a rotated-away file is closed. */
  closeAt?: number;
}

/** The journal of a root, read from its beginning and then as it grows. */
export class JournalTail {
  private current: OpenFile | null = null;
  private rotated: OpenFile[] = [];
  private readonly path: string;

  constructor(root: string, private readonly now: () => number = Date.now) {
    this.path = journalPaths(root).current;
    const { previous, current } = openJournalFiles(root);
    if (previous !== null) this.rotated.push({ ...this.file(previous), closeAt: 0 });
    if (current !== null) this.current = this.file(current);
  }

  private file(fd: number): OpenFile {
    return { fd, ino: fstatSync(fd).ino, offset: 0, rest: '' };
  }

  /** The events appended since the last call (the first call: every event there is), oldest first. */
  read(): EventMessage[] {
    const out: EventMessage[] = [];
    const st = statSync(this.path, { throwIfNoEntry: false });
    if (this.current && st?.ino !== this.current.ino) {
      // Rotated (or removed): finish the old file, keep it a while for late writers.
      this.rotated.push({ ...this.current, closeAt: this.now() + ROTATED_GRACE_MS });
      this.current = null;
    }
    for (const f of this.rotated) this.drain(f, out);
    this.rotated = this.rotated.filter((f) => {
      if ((f.closeAt ?? 0) > this.now()) return true;
      closeSync(f.fd);
      return false;
    });
    if (!this.current && st) {
      try {
        this.current = this.file(openSync(this.path, 'r'));
      } catch {
        this.current = null; // rotated again meanwhile: the next read opens it
      }
    }
    if (this.current) this.drain(this.current, out);
    return out;
  }

  private drain(f: OpenFile, out: EventMessage[]): void {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let text = f.rest;
    for (;;) {
      const n = readSync(f.fd, buf, 0, buf.length, f.offset);
      if (n <= 0) break;
      f.offset += n;
      text += buf.toString('utf8', 0, n);
    }
    const end = text.lastIndexOf('\n');
    f.rest = text.slice(end + 1);
    if (end < 0) return;
    for (const line of text.slice(0, end).split('\n')) {
      const ev = parseEventLine(line);
      if (ev) out.push(ev);
    }
  }

  close(): void {
    for (const f of [...this.rotated, ...(this.current ? [this.current] : [])]) closeSync(f.fd);
    this.rotated = [];
    this.current = null;
  }
}

export interface FollowOptions {
  /** Only events at or after this time (ms); without it, and without `until`, only events from now on (Docker's default). */
  since?: number;
  /** Only events at or before this time (ms); when it is in the past, the call returns once the journal is read. */
  until?: number;
  filter?: EventFilter;
  /** Stops following. */
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Calls `onEvent` for each event from `since` to `until`, oldest first:
 * those in the journal, then (unless `until` has passed) each one as it is
 * appended, until `until` passes or `signal` aborts.
 */
export async function followEvents(root: string, onEvent: (ev: EventMessage) => void, opts: FollowOptions = {}): Promise<void> {
  const now = opts.now ?? Date.now;
  // Docker's default: no bounds, only new events.
  const since = opts.since ?? (opts.until === undefined ? now() : undefined);
  const inRange = (ev: EventMessage) => {
    const ms = Math.round(ev.timeNano / 1e6); // whole ms (a double holds timeNano only to 256 ns)
    return (since === undefined || ms >= since) && (opts.until === undefined || ms <= opts.until);
  };
  const tail = new JournalTail(root, now);
  const emit = (evs: EventMessage[]) => {
    for (const ev of evs) if (inRange(ev) && (!opts.filter || opts.filter(ev))) onEvent(ev);
  };
  try {
    emit(tail.read());
    if ((opts.until !== undefined && opts.until <= now()) || opts.signal?.aborted) return;
    await new Promise<void>((resolve, reject) => {
      let watcher: FSWatcher | undefined;
      const finish = (err?: unknown) => {
        clearInterval(poll);
        clearTimeout(deadline);
        watcher?.close();
        opts.signal?.removeEventListener('abort', stop);
        if (err) reject(err);
        else resolve();
      };
      const stop = () => finish();
      // onEvent (a template that fails on an event, a closed pipe) ends the stream with its error.
      const check = () => {
        try {
          emit(tail.read());
          if (opts.until !== undefined && now() >= opts.until) finish();
        } catch (err) {
          finish(err);
        }
      };
      const poll = setInterval(check, POLL_MS);
      const deadline = opts.until !== undefined ? setTimeout(check, Math.max(0, opts.until - now()) + 1) : undefined;
      try {
        watcher = watch(journalPaths(root).dir, { persistent: false }, check);
        watcher.on('error', () => watcher?.close());
      } catch {
        // No directory yet: the poll finds the journal once it exists.
      }
      opts.signal?.addEventListener('abort', stop, { once: true });
    });
    emit(tail.read());
  } finally {
    tail.close();
  }
}
