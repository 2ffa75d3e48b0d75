// Push progress: Docker's lines on stdout, plain off a terminal (one per
// state change, never per chunk) and redrawn bars on one; with --all-tags
// one intro per repository and fresh layer lines per tag.
import { describe, expect, it } from 'vitest';
import { progressBar } from '../../src/cli/layer-lines.js';
import { pushReporter } from '../../src/cli/push-progress.js';

function sink(isTTY: boolean) {
  const out = { isTTY, text: '', write(s: string) { this.text += s; return true; } };
  return out as typeof out & NodeJS.WritableStream;
}

const layers = [{ id: 'aaa', size: 10 }, { id: 'bbb', size: 20 }];

describe('pushReporter', () => {
  it('off a terminal prints Docker\'s lines, one per layer state', () => {
    const out = sink(false);
    const on = pushReporter(out);
    on({ type: 'start', repository: 'localhost:5000/team/app', tag: 'v1', layers });
    on({ type: 'layer', id: 'aaa', status: 'Preparing' });
    on({ type: 'layer', id: 'bbb', status: 'Preparing' });
    for (let i = 0; i <= 10; i++) on({ type: 'layer', id: 'aaa', status: 'Pushing', current: i, total: 10 });
    on({ type: 'layer', id: 'bbb', status: 'Mounted from', from: 'team/base' });
    on({ type: 'layer', id: 'aaa', status: 'Pushed' });
    on({ type: 'pushed', repository: 'localhost:5000/team/app', tag: 'v1', digest: 'sha256:abc', size: 525 });
    on({ type: 'start', repository: 'localhost:5000/team/app', tag: 'v2', layers });
    on({ type: 'layer', id: 'aaa', status: 'Layer already exists' });
    on({ type: 'pushed', repository: 'localhost:5000/team/app', tag: 'v2', digest: 'sha256:abc', size: 525 });
    expect(out.text).toBe(
      [
        'The push refers to repository [localhost:5000/team/app]',
        'aaa: Preparing',
        'bbb: Preparing',
        'aaa: Pushing',
        'bbb: Mounted from team/base',
        'aaa: Pushed',
        'v1: digest: sha256:abc size: 525',
        'aaa: Layer already exists',
        'v2: digest: sha256:abc size: 525',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal redraws the layer\'s own line with a bar while it uploads', () => {
    const out = sink(true);
    const on = pushReporter(out);
    on({ type: 'start', repository: 'r', tag: 't', layers });
    on({ type: 'layer', id: 'aaa', status: 'Preparing' });
    on({ type: 'layer', id: 'bbb', status: 'Preparing' });
    out.text = '';
    on({ type: 'layer', id: 'bbb', status: 'Pushing', current: 5_000_000, total: 10_000_000 });
    expect(out.text).toBe(`\x1b[1A\r\x1b[2Kbbb: Pushing ${progressBar(5_000_000, 10_000_000)}\x1b[1B\r`);
  });
});
