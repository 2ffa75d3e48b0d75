// Pull progress the way Docker prints it: on a terminal, one line per layer
// redrawn in place with a progress bar; otherwise a plain line each time a
// layer changes state (never one per chunk, so logs stay short).
import type { PullEvent } from '../image/pull.js';
import { LayerLines } from './layer-lines.js';

export { progressBar } from './layer-lines.js';

const LABELS: Record<string, string> = { Waiting: 'Pulling fs layer' };

/** Returns a pull's onEvent callback writing to `out`; `intro` is printed first when a pull starts. */
export function pullReporter(out: NodeJS.WritableStream & { isTTY?: boolean }, intro?: string): (e: PullEvent) => void {
  const layers = new LayerLines(out);
  return (e) => {
    if (e.type === 'resolved') {
      if (intro) out.write(`${intro}\n`);
      const at = e.reference.lastIndexOf(':');
      const tag = at > e.reference.lastIndexOf('/') ? e.reference.slice(at + 1) : e.manifestDigest;
      out.write(`${tag}: Pulling from ${e.reference.slice(0, at > e.reference.lastIndexOf('/') ? at : undefined).replace(/^docker\.io\//, '')}\n`);
      return;
    }
    const bar = e.status === 'Downloading' || e.status === 'Extracting';
    layers.update(e.id, e.status, LABELS[e.status] ?? e.status, bar ? e : undefined);
  };
}
