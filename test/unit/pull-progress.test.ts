// Pull progress: plain lines off a terminal (one per state change, never per
// chunk), and Docker's redrawn per-layer bars on one.
import { describe, expect, it } from 'vitest';
import { progressBar, pullReporter } from '../../src/cli/pull-progress.js';

function sink(isTTY: boolean) {
  const out = { isTTY, text: '', write(s: string) { this.text += s; return true; } };
  return out as typeof out & NodeJS.WritableStream;
}

describe('pullReporter', () => {
  it('off a terminal prints one line per layer state', () => {
    const out = sink(false);
    const on = pullReporter(out, "Unable to find image 'alpine' locally");
    on({ type: 'resolved', reference: 'docker.io/library/alpine:latest', manifestDigest: 'sha256:x', layers: [{ id: 'aaa', size: 10 }] });
    on({ type: 'layer', id: 'aaa', status: 'Waiting' });
    for (let i = 1; i <= 10; i++) on({ type: 'layer', id: 'aaa', status: 'Downloading', current: i, total: 10 });
    on({ type: 'layer', id: 'aaa', status: 'Download complete' });
    on({ type: 'layer', id: 'aaa', status: 'Pull complete' });
    expect(out.text).toBe(
      "Unable to find image 'alpine' locally\nlatest: Pulling from library/alpine\naaa: Pulling fs layer\naaa: Downloading\naaa: Download complete\naaa: Pull complete\n",
    );
  });

  it('on a terminal redraws the layer\'s own line with a bar', () => {
    const out = sink(true);
    const on = pullReporter(out);
    on({ type: 'layer', id: 'aaa', status: 'Waiting' });
    on({ type: 'layer', id: 'bbb', status: 'Waiting' });
    out.text = '';
    on({ type: 'layer', id: 'aaa', status: 'Downloading', current: 5_000_000, total: 10_000_000 });
    // Two lines up (aaa is the first of two), rewrite, two lines down.
    expect(out.text).toBe(`\x1b[2A\r\x1b[2Kaaa: Downloading ${progressBar(5_000_000, 10_000_000)}\x1b[2B\r`);
    expect(progressBar(5_000_000, 10_000_000)).toBe(`[${'='.repeat(24)}>${' '.repeat(25)}]  5MB/10MB`);
  });
});
