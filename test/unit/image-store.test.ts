// The image stores on a temp dir: content verification and resumable
// ingest, layers appearing whole or not at all, and Docker's rules for
// names, lookups and removal over the index.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Images } from '../../src/image/images.js';
import { ContentStore } from '../../src/image/store/content.js';
import { LayerStore } from '../../src/image/store/layers.js';
import type { Locker } from '../../src/util/lock.js';
import { FakeNative } from '../helpers/fake-native.js';
import { rejection } from '../helpers/expect-error.js';

// One process: a promise chain per lock path is enough to serialise.
function memoryLocker(): Locker {
  const chains = new Map<string, Promise<unknown>>();
  return (path, fn) => {
    const prev = chains.get(path) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    chains.set(path, next);
    return next;
  };
}

const digestOf = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ContentStore', () => {
  it('stores a verified blob under its digest and refuses a wrong one', async () => {
    const cs = new ContentStore(dir, memoryLocker());
    const data = Buffer.from('hello');
    await cs.put(digestOf(data), data);
    expect((await cs.read(digestOf(data))).toString()).toBe('hello');
    const err = await rejection(cs.put(digestOf('other'), data));
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await cs.has(digestOf('other'))).toBe(false);
  });

  it('ingest resumes a partial file, verifies, and leaves nothing on a mismatch', async () => {
    const cs = new ContentStore(dir, memoryLocker());
    const data = Buffer.from('0123456789');
    const digest = digestOf(data);
    await mkdir(cs.ingestDir, { recursive: true });
    // A killed pull left the first half.
    writeFileSync(join(cs.ingestDir, `${digest.slice(7)}.partial`), data.subarray(0, 5));
    let sawBytes = -1;
    await cs.ingest(digest, data.length, async (partial) => {
      sawBytes = readFileSync(partial).length;
      await writeFile(partial, data.subarray(5), { flag: 'a' });
    });
    expect(sawBytes).toBe(5);
    expect((await cs.read(digest)).equals(data)).toBe(true);
    expect(await cs.ingest(digest, data.length, async () => { throw new Error('not called'); })).toBe('exists');

    const bad = digestOf('expected');
    const err = await rejection(cs.ingest(bad, 8, async (partial) => writeFile(partial, 'tampered')));
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await cs.has(bad)).toBe(false);
    expect(existsSync(join(cs.ingestDir, `${bad.slice(7)}.partial`))).toBe(false);
  });

  it('two ingests of one blob at once download it once', async () => {
    const cs = new ContentStore(dir, memoryLocker());
    const data = Buffer.from('shared layer');
    let calls = 0;
    const fetch = async (partial: string) => {
      calls++;
      await writeFile(partial, data);
    };
    const results = await Promise.all([cs.ingest(digestOf(data), data.length, fetch), cs.ingest(digestOf(data), data.length, fetch)]);
    expect(calls).toBe(1);
    expect(results.sort()).toEqual(['exists', 'stored']);
  });

  it('refuses a digest that could name another path', async () => {
    const cs = new ContentStore(dir, memoryLocker());
    expect(() => cs.path('sha256:../../etc/passwd')).toThrow(/malformed digest/);
  });
});

describe('LayerStore', () => {
  const diffId = digestOf('layer');

  it('a failed unpack leaves no layer and no work dir; a good one gets a short link', async () => {
    const ls = new LayerStore(dir, memoryLocker());
    await expect(ls.add(diffId, async (d) => {
      writeFileSync(join(d, 'half'), 'x');
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await ls.has(diffId)).toBe(false);
    expect(readdirSync(ls.tmpDir).filter((n) => !n.endsWith('.lock'))).toEqual([]);

    const wrong = await rejection(ls.add(diffId, async () => ({ diffId: digestOf('else'), size: 1 })));
    expect(wrong).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await ls.has(diffId)).toBe(false);

    expect(await ls.add(diffId, async (d) => {
      writeFileSync(join(d, 'file'), 'content');
      return { diffId, size: 7 };
    })).toBe('stored');
    const link = await ls.link(diffId);
    expect(link).toMatch(/^l\/[A-Z2-7]{26}$/);
    expect(readFileSync(join(dir, link, 'file'), 'utf8')).toBe('content');
    expect(await ls.size(diffId)).toBe(7);

    await ls.remove(diffId);
    expect(await ls.has(diffId)).toBe(false);
    expect(existsSync(join(dir, link))).toBe(false);
  });

  it('sweep removes a dead pull\'s work dir but not a live one', async () => {
    const ls = new LayerStore(dir, memoryLocker());
    await mkdir(ls.tmpDir, { recursive: true });
    const hex = diffId.slice(7);
    const dead = join(ls.tmpDir, `${hex}.999999999.1.abcd`);
    const { pidStartTime } = await import('../../src/runtime/proc.js');
    const live = join(ls.tmpDir, `${hex}.${process.pid}.${pidStartTime(process.pid)}.abcd`);
    await mkdir(dead);
    await mkdir(live);
    await ls.sweep();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});

describe('Images index rules', () => {
  // Seeds the stores as a pull would, without a registry.
  async function seed(images: Images, name: string, content: string): Promise<string> {
    const layerDiff = digestOf(`diff-${content}`);
    const layerBlob = digestOf(`blob-${content}`);
    await images.layers.add(layerDiff, async () => ({ diffId: layerDiff, size: 100 }));
    await images.content.put(layerBlob, Buffer.from(`blob-${content}`));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: [layerDiff] } }));
    const id = digestOf(config);
    await images.content.put(id, config);
    const manifest = Buffer.from(`manifest-${content}`);
    await images.content.put(digestOf(manifest), manifest);
    await images.index.update((data) => {
      data.images[id] = {
        id, manifestDigest: digestOf(manifest), manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        repoDigests: [`docker.io/library/${name.split(':')[0]}@${digestOf(manifest)}`],
        layers: [{ diffId: layerDiff, digest: layerBlob, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 10 }],
        added: new Date().toISOString(),
      };
      data.tags[`docker.io/library/${name}`] = id;
    });
    return id;
  }

  function images(inUse = new Map<string, string[]>()): Images {
    return new Images({ root: dir, native: new FakeNative(), lock: memoryLocker(), imagesInUse: async () => inUse });
  }

  it('looks images up by name, familiar name, digest and id prefix', async () => {
    const im = images();
    const id = await seed(im, 'alpine:latest', 'a');
    for (const ref of ['alpine', 'alpine:latest', 'docker.io/library/alpine:latest', id, id.slice(7, 19)]) {
      expect((await im.get(ref)).record.id).toBe(id);
    }
    const byDigest = (await im.get('alpine')).record.repoDigests[0];
    expect((await im.get(byDigest)).record.id).toBe(id);
    expect(await rejection(im.get('alpine:3'))).toMatchObject({ code: 'IMAGE_NOT_FOUND', message: 'No such image: alpine:3' });
    expect(await rejection(im.get('Bad//Name'))).toMatchObject({ code: 'INVALID_REFERENCE' });
  });

  it('rmi of one of two names only untags; the last name deletes the image and its layers', async () => {
    const im = images();
    const id = await seed(im, 'alpine:latest', 'a');
    await im.tag('alpine', 'myrepo/alpine:v1');
    expect((await im.get('myrepo/alpine:v1')).record.id).toBe(id);
    expect(await im.remove('alpine')).toEqual(['Untagged: alpine:latest']);
    const layers = (await im.get(id)).record.layers;
    const out = await im.remove('myrepo/alpine:v1');
    expect(out).toContain('Untagged: myrepo/alpine:v1');
    expect(out).toContain(`Deleted: ${id}`);
    expect(await im.layers.has(layers[0].diffId)).toBe(false);
    expect(await im.content.has(layers[0].digest)).toBe(false);
    expect(await im.content.has(id)).toBe(false);
  });

  it('rmi refuses an image a container uses and changes nothing', async () => {
    const seeded = images();
    const id = await seed(seeded, 'alpine:latest', 'a');
    const im = images(new Map([[id, ['c0ffee'.padEnd(64, '0')]]]));
    const err = await rejection(im.remove('alpine'));
    expect(err).toMatchObject({ code: 'IMAGE_IN_USE' });
    expect(err.message).toMatch(/being used by container c0ffee/);
    expect((await im.get('alpine')).record.id).toBe(id);
  });

  it('a shared layer survives the removal of one of the images that has it', async () => {
    const im = images();
    const a = await seed(im, 'one:latest', 'x');
    await seed(im, 'two:latest', 'y');
    // Make image two share image one's layer.
    const layer = (await im.get(a)).record.layers[0];
    await im.index.update((data) => {
      const two = data.tags['docker.io/library/two:latest'];
      data.images[two].layers.push(layer);
    });
    await im.remove('one');
    expect(await im.layers.has(layer.diffId)).toBe(true);
    expect(await im.content.has(layer.digest)).toBe(true);
  });

  it('image prune removes only untagged images unless -a', async () => {
    const im = images();
    const a = await seed(im, 'keep:latest', 'k');
    const b = await seed(im, 'dangling:latest', 'd');
    await im.index.update((data) => void delete data.tags['docker.io/library/dangling:latest']);
    expect((await im.prune(false)).deleted).toEqual([b]);
    expect((await im.get('keep')).record.id).toBe(a);
    expect((await im.prune(true)).deleted).toEqual([a]);
  });
});

describe('Semaphore (pull download slots)', () => {
  it('lets at most `limit` run at once and the rest in order', async () => {
    const { Semaphore } = await import('../../src/image/pull.js');
    const sem = new Semaphore(2);
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        sem.run(async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 5));
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    // A failure frees its slot.
    await expect(sem.run(async () => { throw new Error('x'); })).rejects.toThrow('x');
    expect(await Promise.all([sem.run(async () => 1), sem.run(async () => 2)])).toEqual([1, 2]);
  });
});
