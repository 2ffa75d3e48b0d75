// Unpacked layers, each once, shared by every image that has it:
//   layers/<diffid hex>/diff    the layer's files (an OverlayFS lower dir)
//   layers/<diffid hex>/link    its short name
//   l/<short>                   -> ../layers/<hex>/diff
// The short names keep the overlay mount's lowerdir option under the
// kernel's one-page limit for images with 100+ layers (Docker's overlay2
// does the same). A layer is unpacked in tmp/ and appears in layers/ with
// one rename, so a killed pull never leaves a half layer where a mount could
// use it; tmp/ leftovers are swept by the next pull.
import { nodeCrypto } from '../../util/lazy-builtins.js';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../../errors.js';
import type { Locker } from '../../util/lock.js';
import { pidStartTime } from '../../runtime/proc.js';
import { digestHex } from './content.js';

// Base32 without padding, like Docker's overlay2 link ids (26 characters).
const SHORT_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function shortId(): string {
  const bytes = nodeCrypto().randomBytes(26);
  let s = '';
  for (const b of bytes) s += SHORT_ALPHABET[b & 31];
  return s;
}

export class LayerStore {
  readonly layersDir: string;
  readonly linksDir: string;
  readonly tmpDir: string;

  constructor(readonly dir: string, private readonly lock: Locker) {
    this.layersDir = join(dir, 'layers');
    this.linksDir = join(dir, 'l');
    this.tmpDir = join(dir, 'tmp');
  }

  diffDir(diffId: string): string {
    return join(this.layersDir, digestHex(diffId), 'diff');
  }

  async has(diffId: string): Promise<boolean> {
    try {
      await stat(join(this.layersDir, digestHex(diffId), 'link'));
      return true;
    } catch {
      return false;
    }
  }

  /** The lowerdir entry for a layer, relative to this store's dir (`l/<short>`). */
  // link and size: a few bytes each, read synchronously (every `create` reads both of each layer).
  async link(diffId: string): Promise<string> {
    const short = readFileSync(join(this.layersDir, digestHex(diffId), 'link'), 'utf8').trim();
    return `l/${short}`;
  }

  /**
   * Unpacks a layer unless it is there: `unpack(dir)` fills an empty
   * directory and returns the diffID it computed, which must equal `diffId`,
   * and the size of the uncompressed tar.
   * Parallel pulls of the same layer wait for each other.
   */
  async add(diffId: string, unpack: (dir: string) => Promise<{ diffId: string; size: number }>): Promise<'stored' | 'exists'> {
    const hex = digestHex(diffId);
    if (await this.has(diffId)) return 'exists';
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.linksDir, { recursive: true });
    await mkdir(this.layersDir, { recursive: true });
    return this.lock(join(this.tmpDir, `${hex}.lock`), async () => {
      if (await this.has(diffId)) return 'exists';
      // The pid in the name lets a later sweep tell a dead pull's leftovers from a live one's.
      const work = join(this.tmpDir, `${hex}.${process.pid}.${pidStartTime(process.pid) ?? 0}.${nodeCrypto().randomBytes(4).toString('hex')}`);
      await mkdir(join(work, 'diff'), { recursive: true, mode: 0o755 });
      try {
        const { diffId: actual, size } = await unpack(join(work, 'diff'));
        if (actual !== diffId) {
          throw new TsrunError('DIGEST_MISMATCH', `layer content has diffID ${actual}, but the image config says ${diffId}`);
        }
        const short = shortId();
        await writeFile(join(work, 'size'), String(size));
        await writeFile(join(work, 'link'), short);
        // Dangling until the rename below; a crash in between leaves only a dead link.
        await symlink(`../layers/${hex}/diff`, join(this.linksDir, short));
        await rename(work, join(this.layersDir, hex));
      } catch (err) {
        await rm(work, { recursive: true, force: true });
        throw err;
      }
      return 'stored';
    });
  }

  /** The uncompressed size recorded when the layer was unpacked (0 if unknown). */
  async size(diffId: string): Promise<number> {
    try {
      return Number(readFileSync(join(this.layersDir, digestHex(diffId), 'size'), 'utf8')) || 0;
    } catch {
      return 0;
    }
  }

  async remove(diffId: string): Promise<void> {
    const hex = digestHex(diffId);
    const dir = join(this.layersDir, hex);
    const short = await readFile(join(dir, 'link'), 'utf8').catch(() => '');
    // Out of layers/ first (one rename), so nothing can mount a half-deleted layer.
    const doomed = join(this.tmpDir, `${hex}.removing.${nodeCrypto().randomBytes(4).toString('hex')}`);
    await mkdir(this.tmpDir, { recursive: true });
    try {
      await rename(dir, doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (short.trim()) await rm(join(this.linksDir, short.trim()), { force: true });
    await rm(doomed, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.layersDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
    } catch {
      return [];
    }
  }

  /** Removes what killed pulls and removals left in tmp/ (work dirs of live processes stay). */
  async sweep(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.tmpDir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = /^[a-f0-9]{64}\.(?:(\d+)\.(\d+)\.[a-f0-9]+|removing\.[a-f0-9]+)$/.exec(name);
      if (!m) continue;
      if (m[1] && pidStartTime(Number(m[1])) === m[2]) continue; // still being unpacked
      await rm(join(this.tmpDir, name), { recursive: true, force: true });
    }
  }
}
