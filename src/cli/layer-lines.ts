// One line per layer, as Docker prints pull and push progress: on a
// terminal each layer's line is redrawn in place (its bar at most every
// 100 ms); otherwise a plain line each time a layer changes state, never
// one per chunk, so logs stay short.
import { decimalSize } from './format.js';

const BAR_WIDTH = 50;
const REDRAW_MS = 100;

export function progressBar(current: number, total: number): string {
  const frac = total > 0 ? Math.min(1, current / total) : 0;
  const filled = Math.floor(frac * BAR_WIDTH);
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(BAR_WIDTH - filled);
  return `[${bar}]  ${decimalSize(current)}/${decimalSize(total)}`;
}

export class LayerLines {
  private order: string[] = [];
  private readonly lines = new Map<string, string>();
  private readonly statuses = new Map<string, string>();
  private readonly lastDraw = new Map<string, number>();
  readonly tty: boolean;

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean }) {
    this.tty = !!out.isTTY;
  }

  /** Forgets the lines drawn so far (the next image's layers start below them). */
  reset(): void {
    this.order = [];
    this.lines.clear();
    this.statuses.clear();
    this.lastDraw.clear();
  }

  /** `label` is the state's words; a progress bar is added on a terminal when current and total are known. */
  update(id: string, status: string, label: string, progress?: { current?: number; total?: number }): void {
    const bar = this.tty && progress?.current !== undefined && progress.total !== undefined;
    const text = bar ? `${label} ${progressBar(progress.current!, progress.total!)}` : label;
    if (!this.order.includes(id)) {
      this.order.push(id);
      this.lines.set(id, text);
      this.statuses.set(id, status);
      this.out.write(`${id}: ${text}\n`);
      return;
    }
    const changed = this.statuses.get(id) !== status;
    this.statuses.set(id, status);
    if (!this.tty) {
      if (changed) this.out.write(`${id}: ${label}\n`);
      return;
    }
    const now = Date.now();
    if (!changed && now - (this.lastDraw.get(id) ?? 0) < REDRAW_MS) return;
    this.lastDraw.set(id, now);
    this.lines.set(id, text);
    // Cursor up to the layer's line, rewrite it, back down (Docker's jsonmessage does the same).
    const up = this.order.length - this.order.indexOf(id);
    this.out.write(`\x1b[${up}A\r\x1b[2K${id}: ${text}\x1b[${up}B\r`);
  }
}
