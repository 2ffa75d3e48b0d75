// Push progress the way Docker prints it (on stdout): "The push refers to
// repository [NAME]", a line per layer (Preparing, Waiting, Pushing,
// Pushed, Layer already exists, Mounted from REPO), then "TAG: digest: D
// size: N". On a terminal each layer's line is redrawn in place with a
// progress bar while it uploads; otherwise a plain line each time a layer
// changes state (never one per chunk), as pull-progress.ts does.
import type { PushEvent } from '../image/push.js';
import { LayerLines } from './layer-lines.js';

/** Returns a push's onEvent callback writing to `out`. */
export function pushReporter(out: NodeJS.WritableStream & { isTTY?: boolean }): (e: PushEvent) => void {
  const layers = new LayerLines(out);
  let intro = '';
  return (e) => {
    if (e.type === 'start') {
      // --all-tags: one intro per repository, a fresh set of layer lines per tag.
      if (intro !== e.repository) out.write(`The push refers to repository [${e.repository}]\n`);
      intro = e.repository;
      layers.reset();
      return;
    }
    if (e.type === 'pushed') {
      out.write(`${e.tag}: digest: ${e.digest} size: ${e.size}\n`);
      return;
    }
    const label = e.status === 'Mounted from' ? `Mounted from ${e.from ?? ''}` : e.status;
    layers.update(e.id, e.status, label, e.status === 'Pushing' ? e : undefined);
  };
}
