// Build progress as BuildKit prints it. Plain (--progress plain, or not a
// terminal): `#N [stage i/n] INSTRUCTION`, the command's output with each
// line's time into the step, `#N CACHED` or `#N DONE 1.2s`. On a terminal:
// BuildKit's compact live view, one line per step redrawn in place
// (`=> [stage 2/5] RUN make  1.2s`), the running steps' last lines of
// output under them, collapsed when they finish.
import type { BuildEvent } from '../build/builder.js';

type Out = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export function buildReporter(out: Out, mode: 'auto' | 'plain' | 'tty' | 'quiet' = 'auto'): (e: BuildEvent) => void {
  if (mode === 'quiet') return () => {};
  return mode === 'tty' || (mode === 'auto' && out.isTTY) ? liveReporter(out) : plainReporter(out);
}

function plainReporter(out: Out): (e: BuildEvent) => void {
  const started = new Map<number, number>();
  const partial = new Map<number, string>();
  const elapsed = (step: number) => ((Date.now() - (started.get(step) ?? Date.now())) / 1000).toFixed(3);
  return (e) => {
    switch (e.type) {
      case 'step':
        started.set(e.step, Date.now());
        out.write(`#${e.step} ${e.title}\n`);
        return;
      case 'output': {
        const lines = ((partial.get(e.step) ?? '') + e.data.toString('utf8')).split('\n');
        partial.set(e.step, lines.pop() ?? '');
        for (const l of lines) out.write(`#${e.step} ${elapsed(e.step)} ${l.replace(/\r$/, '')}\n`);
        return;
      }
      case 'cached':
        out.write(`#${e.step} CACHED\n`);
        return;
      case 'done': {
        const rest = partial.get(e.step);
        if (rest) out.write(`#${e.step} ${elapsed(e.step)} ${rest}\n`);
        out.write(`#${e.step} DONE ${e.seconds.toFixed(1)}s\n`);
        return;
      }
      case 'error': {
        const rest = partial.get(e.step);
        if (rest) out.write(`#${e.step} ${elapsed(e.step)} ${rest}\n`);
        out.write(`#${e.step} ERROR: ${e.message}\n`);
        return;
      }
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

interface LiveStep {
  title: string;
  start: number;
  end?: number;
  cached?: boolean;
  error?: string;
  tail: string[];
}

const TAIL_LINES = 6;
const REDRAW_MS = 100;

function liveReporter(out: Out): (e: BuildEvent) => void {
  const begun = Date.now();
  const steps = new Map<number, LiveStep>();
  const notes: string[] = [];
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const width = () => Math.max(40, (out.columns ?? 80) - 1);
  const cut = (s: string) => (s.length > width() ? `${s.slice(0, width() - 3)}...` : s);
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  const draw = (final = false) => {
    const lines: string[] = [];
    const done = [...steps.values()].filter((s) => s.end !== undefined).length;
    lines.push(`[+] Building ${secs(Date.now() - begun)} (${done}/${steps.size})${final ? ' FINISHED' : ''}`);
    for (const s of steps.values()) {
      const time = s.cached ? '' : secs((s.end ?? Date.now()) - s.start);
      const text = `${s.cached ? '=> CACHED ' : s.error ? '=> ERROR ' : '=> '}${s.title}`;
      lines.push(`${cut(text).padEnd(Math.min(width() - 8, 72))} ${time}`.trimEnd());
      // A running step shows its last lines of output; a failed one keeps them, with the error.
      if (s.end === undefined || s.error) for (const t of s.tail) lines.push(`\x1b[2m${cut(`=> => ${t}`)}\x1b[0m`);
      if (s.error) lines.push(cut(`=> => ERROR: ${s.error}`));
    }
    lines.push(...notes);
    out.write(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\r\x1b[2K${l}`).join('\n')}\n\x1b[J`);
    drawn = lines.length;
  };
  const schedule = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      draw();
    }, REDRAW_MS);
    timer.unref();
  };
  return (e) => {
    switch (e.type) {
      case 'step':
        steps.set(e.step, { title: e.title, start: Date.now(), tail: [] });
        break;
      case 'output': {
        const s = steps.get(e.step);
        if (s) s.tail = [...s.tail, ...e.data.toString('utf8').split('\n').filter(Boolean)].slice(-TAIL_LINES);
        break;
      }
      case 'cached':
      case 'done': {
        const s = steps.get(e.step);
        if (s) {
          s.end = Date.now();
          if (e.type === 'cached') s.cached = true;
        }
        break;
      }
      case 'error': {
        const s = steps.get(e.step);
        if (s) {
          s.end = Date.now();
          s.error = e.message;
        }
        if (timer) clearTimeout(timer);
        timer = undefined;
        draw();
        return;
      }
      case 'warning':
        notes.push(`WARNING: ${e.message}`);
        break;
      case 'image':
        notes.push(`=> writing image ${e.id}`, ...e.names.map((n) => `=> naming to ${n}`));
        if (timer) clearTimeout(timer);
        timer = undefined;
        draw(true);
        return;
    }
    schedule();
  };
}
