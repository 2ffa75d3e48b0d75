// Build progress as the CLI prints it: BuildKit's plain lines, and the
// compact live view on a terminal, including a failed step.
import { describe, expect, it } from 'vitest';
import { buildReporter } from '../../src/cli/build-progress.js';

function sink(tty: boolean) {
  const out = { text: '', isTTY: tty, columns: 100, write(s: string) { out.text += s; return true; } };
  return out;
}

describe('build progress', () => {
  it('plain: #N title, output lines with their time, CACHED, DONE, ERROR, the image and names', () => {
    const out = sink(false);
    const report = buildReporter(out as unknown as NodeJS.WritableStream, 'auto');
    report({ type: 'step', step: 1, title: '[stage-0 1/3] FROM busybox' });
    report({ type: 'done', step: 1, seconds: 0.04 });
    report({ type: 'step', step: 2, title: '[stage-0 2/3] COPY . /' });
    report({ type: 'cached', step: 2 });
    report({ type: 'step', step: 3, title: '[stage-0 3/3] RUN make' });
    report({ type: 'output', step: 3, stream: 'stdout', data: Buffer.from('one\ntw') });
    report({ type: 'output', step: 3, stream: 'stderr', data: Buffer.from('o\n') });
    report({ type: 'done', step: 3, seconds: 1.25 });
    report({ type: 'warning', message: 'one or more build args were not consumed: [X]' });
    report({ type: 'image', id: 'sha256:abc', names: ['docker.io/library/app:1'] });
    const lines = out.text.split('\n').map((l) => l.replace(/^(#3) \d+\.\d{3} /, '$1 T '));
    expect(lines).toEqual([
      '#1 [stage-0 1/3] FROM busybox', '#1 DONE 0.0s',
      '#2 [stage-0 2/3] COPY . /', '#2 CACHED',
      '#3 [stage-0 3/3] RUN make', '#3 T one', '#3 T two', '#3 DONE 1.3s',
      'WARNING: one or more build args were not consumed: [X]',
      'writing image sha256:abc done', 'naming to docker.io/library/app:1 done', '',
    ]);
    const failed = sink(false);
    const r2 = buildReporter(failed as unknown as NodeJS.WritableStream, 'plain');
    r2({ type: 'step', step: 1, title: '[stage-0 2/2] RUN false' });
    r2({ type: 'output', step: 1, stream: 'stdout', data: Buffer.from('no newline') });
    r2({ type: 'error', step: 1, message: 'exit code: 1' });
    expect(failed.text).toMatch(/^#1 \[stage-0 2\/2\] RUN false\n#1 \d+\.\d{3} no newline\n#1 ERROR: exit code: 1\n$/);
  });

  it('terminal: one line per step redrawn in place, a failed step keeps its output and error', () => {
    const out = sink(true);
    const report = buildReporter(out as unknown as NodeJS.WritableStream, 'auto');
    report({ type: 'step', step: 1, title: '[stage-0 1/2] FROM busybox' });
    report({ type: 'cached', step: 1 });
    report({ type: 'step', step: 2, title: '[stage-0 2/2] RUN make' });
    report({ type: 'output', step: 2, stream: 'stdout', data: Buffer.from('compiling\n') });
    report({ type: 'error', step: 2, message: 'exit code: 2' });
    // The last frame: moved up over the previous one, every line cleared and rewritten.
    const frames = out.text.split('\x1b[J');
    const last = frames[frames.length - 2] ?? frames[0];
    const plain = last.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n').map((l) => l.replace(/^\r/, '').trimEnd());
    expect(plain[0]).toMatch(/^\[\+\] Building \d+\.\ds \(2\/2\)$/);
    expect(plain[1]).toMatch(/^=> CACHED \[stage-0 1\/2\] FROM busybox$/);
    expect(plain[2]).toMatch(/^=> ERROR \[stage-0 2\/2\] RUN make +\d+\.\ds$/);
    expect(plain.slice(3, 5)).toEqual(['=> => compiling', '=> => ERROR: exit code: 2']);
    expect(out.text).not.toMatch(/^#\d/m);
  });

  it('quiet prints nothing', () => {
    const out = sink(false);
    buildReporter(out as unknown as NodeJS.WritableStream, 'quiet')({ type: 'step', step: 1, title: 'x' });
    expect(out.text).toBe('');
  });
});
