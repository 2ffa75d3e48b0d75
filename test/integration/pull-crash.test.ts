// A pull killed with SIGKILL at any moment leaves no half layer and no
// half image visible, and the next pull completes; two pulls of one image at
// once both succeed and store it once.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, pushImage, type BuiltImage } from '../helpers/image-fixtures.js';
import { registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { busybox, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = registryTestSkipReason('pull-crash');

/** What a reader of the store can see: every committed layer is whole, and the index names only complete images. */
function checkStoreConsistent(sb: Sandbox, img: BuiltImage): 'none' | 'complete' {
  const dir = join(sb.root, 'images');
  const layers = existsSync(join(dir, 'layers')) ? readdirSync(join(dir, 'layers')) : [];
  for (const l of layers) {
    // A layer dir appears by rename only after its link and size were written.
    expect(existsSync(join(dir, 'layers', l, 'link')), `layer ${l} has no link`).toBe(true);
    expect(existsSync(join(dir, 'layers', l, 'diff')), `layer ${l} has no diff`).toBe(true);
    const link = readFileSync(join(dir, 'layers', l, 'link'), 'utf8');
    expect(existsSync(join(dir, 'l', link)), `short link of ${l}`).toBe(true);
  }
  // Blobs under blobs/ are verified ones.
  const blobs = existsSync(join(dir, 'blobs/sha256')) ? readdirSync(join(dir, 'blobs/sha256')) : [];
  const known = new Set([img.configDigest, img.manifestDigest, ...img.layers.map((l) => l.digest)].map((d) => d.slice(7)));
  for (const b of blobs) expect(known.has(b), `unexpected blob ${b}`).toBe(true);
  if (!existsSync(join(dir, 'index.json'))) return 'none';
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const ids = Object.keys(index.images);
  if (ids.length === 0) return 'none';
  expect(ids).toEqual([img.configDigest]);
  for (const l of img.layers) expect(layers).toContain(l.diffId.slice(7));
  return 'complete';
}

describe.skipIf(skip)('pull under SIGKILL and in parallel', () => {
  let reg: TestRegistry;
  let img: BuiltImage;
  let ref: string;
  const scratch = mkdtempSync(join(tmpdir(), 'tsrun-crash-'));

  beforeAll(async () => {
    reg = await startRegistry();
    // Large, incompressible layers so a pull takes long enough to be caught mid-way.
    const layers: string[] = [busybox()];
    for (let i = 0; i < 3; i++) {
      const d = join(scratch, `layer${i}`);
      mkdirSync(join(d, 'data'), { recursive: true });
      for (let f = 0; f < 4; f++) writeFileSync(join(d, 'data', `blob-${i}-${f}`), randomBytes(6 << 20));
      layers.push(d);
    }
    img = buildImage(join(scratch, 'layout'), { layers, config: { Cmd: ['sh'] } });
    await pushImage(img.layoutDir, reg, 'crash/big:latest');
    ref = `${reg.host}/crash/big:latest`;
  });
  afterAll(async () => {
    await reg?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('SIGKILL at different moments, then a pull that completes', async () => {
    const sb = sandbox();
    try {
      // Kill later each round, so the kills land in resolve, download, unpack and commit.
      for (const delayMs of [150, 300, 450, 600, 800, 1000, 1300]) {
        const child = sb.tsrun(['pull', ref]);
        await new Promise((r) => setTimeout(r, delayMs));
        child.kill('SIGKILL');
        await child;
        const state = checkStoreConsistent(sb, img);
        if (process.env.TSRUN_TEST_DEBUG) process.stderr.write(`kill after ${delayMs} ms: ${state}, partial ${existsSync(join(sb.root, 'images/ingest')) ? readdirSync(join(sb.root, 'images/ingest')).join(',') : '-'}\n`);
        const q = await sb.tsrun(['images', '-q']);
        expect(q.stdout).toBe(state === 'complete' ? img.configDigest.slice(7, 19) : '');
      }
      const r = await sb.tsrun(['pull', ref]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(checkStoreConsistent(sb, img)).toBe('complete');
      const run = await sb.tsrun(['run', '--rm', ref, 'sh', '-c', 'ls /data | wc -l']);
      expect(run.stdout).toBe('12');
      // Nothing of the killed pulls is left once a pull has run: work dirs are swept, partial downloads completed.
      const tmp = join(sb.root, 'images/tmp');
      expect(existsSync(tmp) ? readdirSync(tmp).filter((n) => !n.endsWith('.lock')) : []).toEqual([]);
    } finally {
      sb.cleanup();
    }
  });

  it('a full disk under --root fails the pull with ENOSPC and names no image', async () => {
    const { execa } = await import('execa');
    const { cli } = await import('../helpers/tsrun.js');
    const base = mkdtempSync(join(tmpdir(), 'tsrun-pullfull-'));
    // A 16 MiB tmpfs as --root (the image is some 75 MiB), in a mount
    // namespace of its own so the host's mount table never sees it.
    const script = `
      set -u
      mkdir -p "$ROOT" && mount -t tmpfs -o size=16m tsrun-pullfull "$ROOT" || exit 99
      node -- "$CLI" --root "$ROOT" --runroot "$ROOT/run" pull "$REF" >/dev/null 2>"$BASE/stderr"
      echo "exit=$?"
      echo "images=$(node -- "$CLI" --root "$ROOT" --runroot "$ROOT/run" images -q | grep -c .)"
      echo "half-layers=$(for d in "$ROOT"/images/layers/*/; do [ -d "$d" ] && [ ! -e "$d/link" ] && echo "$d"; done | grep -c .)"
      echo "work-dirs=$(ls -A "$ROOT/images/tmp" 2>/dev/null | grep -v '\\.lock$' | grep -c .)"`;
    try {
      const r = await execa('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
        env: { ROOT: join(base, 'root'), BASE: base, CLI: cli, REF: ref },
        reject: false,
      });
      expect(r.stdout.split('\n')).toEqual(['exit=1', 'images=0', 'half-layers=0', 'work-dirs=0']);
      const stderr = readFileSync(join(base, 'stderr'), 'utf8');
      expect(stderr).toMatch(/^tsrun: .*ENOSPC/);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('two pulls of the same image at once both succeed and store it once', async () => {
    const sb = sandbox();
    try {
      const [a, b] = await Promise.all([sb.tsrun(['pull', '-q', ref]), sb.tsrun(['pull', '-q', ref])]);
      expect(a.exitCode, a.stderr).toBe(0);
      expect(b.exitCode, b.stderr).toBe(0);
      expect(checkStoreConsistent(sb, img)).toBe('complete');
      expect(readdirSync(join(sb.root, 'images/layers'))).toHaveLength(img.layers.length);
      expect(readdirSync(join(sb.root, 'images/l'))).toHaveLength(img.layers.length);
    } finally {
      sb.cleanup();
    }
  });
});
