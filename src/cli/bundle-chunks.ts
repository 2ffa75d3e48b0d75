// The chunks of the bundle this CLI runs from (scripts/bundle.mjs names
// them), for a process that lives long (the API service) to compile at
// once: a chunk loaded later could come from a newer build written
// meanwhile (an upgrade), whose modules do not match those in memory.
import { fileURLToPath } from 'node:url';

declare const __TSRUN_CHUNKS__: string[] | undefined;

export function preloadChunks(): void {
  const load = (globalThis as Record<symbol, ((file: string) => unknown) | undefined>)[Symbol.for('tsrun.load')];
  // Run from dist/'s modules (no bundle): nothing to load.
  if (typeof __TSRUN_CHUNKS__ === 'undefined' || !load) return;
  for (const file of __TSRUN_CHUNKS__) load(fileURLToPath(new URL(`../bundle/${file}`, import.meta.url)));
}
