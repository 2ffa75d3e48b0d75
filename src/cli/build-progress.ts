// Build progress as BuildKit's plain output prints it: `#N [stage i/n]
// INSTRUCTION`, the command's output with each line's time into the step,
// `#N CACHED` or `#N DONE 1.2s`. On a terminal (--progress auto|tty) the
// steps' lines stay, and a RUN's output is shown dimmed.
import type { BuildEvent } from '../build/builder.js';

export function buildReporter(out: NodeJS.WritableStream & { isTTY?: boolean }, mode: 'auto' | 'plain' | 'tty' | 'quiet' = 'auto'): (e: BuildEvent) => void {
  const started = new Map<number, number>();
  const partial = new Map<number, string>();
  const tty = mode === 'tty' || (mode === 'auto' && !!out.isTTY);
  const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
  const flush = (step: number) => {
    const rest = partial.get(step);
    if (rest) out.write(dim(`#${step} ${elapsed(step)} ${rest}`) + '\n');
    partial.delete(step);
  };
  const elapsed = (step: number) => ((Date.now() - (started.get(step) ?? Date.now())) / 1000).toFixed(3);
  return (e) => {
    if (mode === 'quiet') return;
    switch (e.type) {
      case 'step':
        started.set(e.step, Date.now());
        out.write(`#${e.step} ${e.title}\n`);
        return;
      case 'output': {
        const text = (partial.get(e.step) ?? '') + e.data.toString('utf8');
        const lines = text.split('\n');
        partial.set(e.step, lines.pop() ?? '');
        for (const l of lines) out.write(dim(`#${e.step} ${elapsed(e.step)} ${l.replace(/\r$/, '')}`) + '\n');
        return;
      }
      case 'cached':
        out.write(`#${e.step} CACHED\n`);
        return;
      case 'done':
        flush(e.step);
        out.write(`#${e.step} DONE ${e.seconds.toFixed(1)}s\n`);
        return;
      case 'warning':
        out.write(`WARNING: ${e.message}\n`);
        return;
      case 'image':
        out.write(`writing image ${e.id} done\n`);
        for (const n of e.names) out.write(`naming to ${n} done\n`);
        return;
    }
  };
}
