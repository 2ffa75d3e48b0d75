// Pull progress the way Docker prints it: on a terminal, one line per layer
// redrawn in place with a progress bar; otherwise a plain line each time a
// layer changes state (never one per chunk, so logs stay short).
import type { PullEvent } from '../image/pull.js';
import { decimalSize } from './format.js';

const LABELS: Record<string, string> = { Waiting: 'Pulling fs layer' };
const BAR_WIDTH = 50;
const REDRAW_MS = 100;


export function progressBar(current: number, total: number): string {
  const frac = total > 0 ? Math.min(1, current / total) : 0;
  const filled = Math.floor(frac * BAR_WIDTH);
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(BAR_WIDTH - filled);
  return `[${bar}]  ${decimalSize(current)}/${decimalSize(total)}`;
}

/** Returns a pull's onEvent callback writing to `out`; `intro` is printed first when a pull starts. */
export function pullReporter(out: NodeJS.WritableStream & { isTTY?: boolean }, intro?: string): (e: PullEvent) => void {
  const order: string[] = [];
  const lines = new Map<string, string>();
  const statuses = new Map<string, string>();
  const lastDraw = new Map<string, number>();
  const tty = !!out.isTTY;

  const draw = (id: string): void => {
    // Cursor up to the layer's line, rewrite it, back down (Docker's jsonmessage does the same).
    const up = order.length - order.indexOf(id);
    out.write(`\x1b[${up}A\r\x1b[2K${id}: ${lines.get(id)}\x1b[${up}B\r`);
  };

  return (e) => {
    if (e.type === 'resolved') {
      if (intro) out.write(`${intro}\n`);
      const at = e.reference.lastIndexOf(':');
      const tag = at > e.reference.lastIndexOf('/') ? e.reference.slice(at + 1) : e.manifestDigest;
      out.write(`${tag}: Pulling from ${e.reference.slice(0, at > e.reference.lastIndexOf('/') ? at : undefined).replace(/^docker\.io\//, '')}\n`);
      return;
    }
    const label = LABELS[e.status] ?? e.status;
    const withBar = (e.status === 'Downloading' || e.status === 'Extracting') && e.total !== undefined && e.current !== undefined;
    const text = withBar && tty ? `${label} ${progressBar(e.current!, e.total!)}` : label;
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
