// Docker's JSON message streams (pull, push, import, load, build): one JSON
// object per line, `{"status": ..., "id": ..., "progressDetail": ...}` or
// `{"stream": ...}` or `{"aux": ...}`, and a failure after the stream began
// as a last `{"errorDetail": {...}, "error": ...}` line under the 200
// already sent. As in moby (its WriteFlusher's Flushed()), the headers go
// out with the first message: a failure before any is an ordinary error
// answer with its status (404 for a manifest that is not there, 400 for a
// bad reference), which is what the clients test for.
import type { ServerResponse } from 'node:http';
import type { PullEvent } from '../image/pull.js';
import type { PushEvent } from '../image/push.js';
import { messageOf } from './errors.js';
import { startStream } from './http.js';

export class JsonMessageStream {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  get begun(): boolean {
    return this.started;
  }

  send(msg: object): void {
    if (!this.started) {
      startStream(this.res, 'application/json');
      this.started = true;
    }
    // A client that went away gets nothing more; the work it asked for finishes (and leaves a consistent store).
    if (!this.res.destroyed && !this.res.writableEnded) this.res.write(`${JSON.stringify(msg)}\r\n`);
  }

  /** Ends the stream with an error line, or throws `err` for the dispatcher when nothing was sent yet. */
  fail(err: unknown, code?: number): void {
    if (!this.started) throw err;
    this.error(err, code);
  }

  /** Ends the stream with an error line, whatever was sent before (load answers every failure so, as moby). */
  error(err: unknown, code?: number): void {
    const message = messageOf(err);
    this.send({ errorDetail: { ...(code !== undefined ? { code } : {}), message }, error: message });
    this.end();
  }

  end(): void {
    if (!this.started) {
      startStream(this.res, 'application/json');
      this.started = true;
    }
    if (!this.res.writableEnded) this.res.end();
  }
}

/** go-units' HumanSize: decimal units, 4 significant digits (2.048kB, 1.234MB). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/** jsonmessage's JSONProgress.String() at its default width: `[=====>     ]  1.2MB/3.4MB`. */
export function progressText(current: number, total: number): string {
  if (total <= 0) return current > 0 ? humanSize(current).padStart(8) : '';
  const filled = Math.min(50, Math.floor((current / total) * 100 / 2));
  const bar = `[${'='.repeat(filled)}>${' '.repeat(Math.max(0, 50 - filled))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

// Progress of one layer goes out at most this often (and always when complete): a chunk each would flood the client.
const PROGRESS_MS = 100;

/** A throttle per layer id for progress messages. */
function progressGate(): (id: string, current: number, total: number) => boolean {
  const last = new Map<string, number>();
  return (id, current, total) => {
    const now = Date.now();
    if (current < total && now - (last.get(id) ?? 0) < PROGRESS_MS) return false;
    last.set(id, now);
    return true;
  };
}

const PULL_LABELS: Record<string, string> = { Waiting: 'Pulling fs layer' };

/**
 * A pull's events as Docker's messages: `Pulling from PATH` (id: the tag
 * or digest), then per layer `Pulling fs layer`, `Downloading` with
 * progressDetail, `Download complete`, `Extracting`, `Pull complete` or
 * `Already exists`.
 */
export function pullMessages(out: JsonMessageStream, path: string, tagOrDigest: string): (e: PullEvent) => void {
  const gate = progressGate();
  return (e) => {
    if (e.type === 'resolved') return out.send({ status: `Pulling from ${path}`, id: tagOrDigest });
    if (e.status === 'Downloading' || e.status === 'Extracting') {
      const current = e.current ?? 0;
      const total = e.total ?? 0;
      if (!gate(`${e.status}:${e.id}`, current, total)) return;
      return out.send({ status: e.status, progressDetail: { current, total }, progress: progressText(current, total), id: e.id });
    }
    out.send({ status: PULL_LABELS[e.status] ?? e.status, progressDetail: {}, id: e.id });
  };
}

/**
 * A push's events as Docker's messages: per layer `Preparing`, `Waiting`,
 * `Pushing` with progressDetail, `Pushed`, `Layer already exists`,
 * `Mounted from REPO`; then `TAG: digest: D size: N` and its aux.
 * `The push refers to repository [NAME]` is sent by the caller before the
 * push starts (as moby does, so an image that is not here fails in-stream)
 * and again only when --all-tags moves to another repository.
 */
export function pushMessages(out: JsonMessageStream, introduced: string): (e: PushEvent) => void {
  const gate = progressGate();
  let intro = introduced;
  return (e) => {
    if (e.type === 'start') {
      if (e.repository !== intro) out.send({ status: `The push refers to repository [${e.repository}]` });
      intro = e.repository;
      return;
    }
    if (e.type === 'pushed') {
      out.send({ status: `${e.tag}: digest: ${e.digest} size: ${e.size}` });
      out.send({ progressDetail: {}, aux: { Tag: e.tag, Digest: e.digest, Size: e.size } });
      return;
    }
    if (e.status === 'Pushing') {
      const current = e.current ?? 0;
      const total = e.total ?? 0;
      if (!gate(e.id, current, total)) return;
      return out.send({ status: 'Pushing', progressDetail: { current, total }, progress: progressText(current, total), id: e.id });
    }
    out.send({ status: e.status === 'Mounted from' ? `Mounted from ${e.from ?? ''}` : e.status, progressDetail: {}, id: e.id });
  };
}
