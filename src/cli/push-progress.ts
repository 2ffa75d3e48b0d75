// Push progress the way Docker prints it (on stdout): "The push refers to
// repository [NAME]", a line per layer (Preparing, Waiting, Pushing,
// Pushed, Layer already exists, Mounted from REPO), then "TAG: digest: D
// size: N". On a terminal each layer's line is redrawn in place with a
// progress bar while it uploads; otherwise a plain line each time a layer
// changes state (never one per chunk), as pull-progress.ts does.
import type { PushEvent } from '../image/push.js';
import { progressBar } from './pull-progress.js';

const REDRAW_MS = 100;

/** Returns a push's onEvent callback writing to `out`. */
export function pushReporter(out: NodeJS.WritableStream & { isTTY?: boolean }): (e: PushEvent) => void {
  const tty = !!out.isTTY;
  let intro = '';
  let order: string[] = [];
  const lines = new Map<string, string>();
  const statuses = new Map<string, string>();
  const lastDraw = new Map<string, number>();

  const draw = (id: string): void => {
    const up = order.length - order.indexOf(id);
    out.write(`\x1b[${up}A\r\x1b[2K${id}: ${lines.get(id)}\x1b[${up}B\r`);
  };

  return (e) => {
    if (e.type === 'start') {
      // --all-tags: one intro per repository, a fresh set of layer lines per tag.
      if (intro !== e.repository) out.write(`The push refers to repository [${e.repository}]\n`);
      intro = e.repository;
      order = [];
      lines.clear();
      statuses.clear();
      lastDraw.clear();
      return;
    }
    if (e.type === 'pushed') {
      out.write(`${e.tag}: digest: ${e.digest} size: ${e.size}\n`);
      return;
    }
    const label = e.status === 'Mounted from' ? `Mounted from ${e.from ?? ''}` : e.status;
    const withBar = e.status === 'Pushing' && tty && e.total !== undefined && e.current !== undefined;
    const text = withBar ? `${label} ${progressBar(e.current!, e.total!)}` : label;
    if (!order.includes(e.id)) {
      order.push(e.id);
      lines.set(e.id, text);
      statuses.set(e.id, e.status);
      out.write(`${e.id}: ${text}\n`);
      return;
    }
    const changed = statuses.get(e.id) !== e.status;
    statuses.set(e.id, e.status);
    if (!tty) {
      if (changed) out.write(`${e.id}: ${label}\n`);
      return;
    }
    const now = Date.now();
    if (!changed && now - (lastDraw.get(e.id) ?? 0) < REDRAW_MS) return;
    lastDraw.set(e.id, now);
    lines.set(e.id, text);
    draw(e.id);
  };
}
