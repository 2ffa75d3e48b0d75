// A container's root filesystem: an OverlayFS mount whose lower dirs are
// the image's shared, read-only layers and whose upper and work dirs are the
// container's own:
//   overlay/<id>/lower    the lowerdir value (l/<short> names, top layer first)
//   overlay/<id>/upper    what the container changed
//   overlay/<id>/work     OverlayFS's scratch dir
//   overlay/<id>/merged   the mount point, the spec's root.path
// It is mounted on the host (Node is not in any namespace; the container's
// mount namespace copies it at clone time) and stays mounted until the
// container is removed, or is mounted again on start after a reboot.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TsrunError } from '../errors.js';
import type { NativeBinding } from '../native/binding.js';
import { MNT_DETACH } from '../native/constants.js';
import type { RootfsLayers } from '../runtime/native-userns.js';
import type { LayerStore } from './store/layers.js';
import { removeDir } from '../util/small-files.js';

// The kernel copies mount options into one page.
const MOUNT_DATA_MAX = 4095;

export interface RootfsPaths {
  base: string;
  upper: string;
  work: string;
  merged: string;
}

export class ContainerRootfs {
  constructor(
    private readonly dir: string,
    private readonly layers: LayerStore,
    private readonly native: Pick<NativeBinding, 'mount' | 'umount'>,
  ) {}

  paths(id: string): RootfsPaths {
    const base = join(this.dir, id);
    return { base, upper: join(base, 'upper'), work: join(base, 'work'), merged: join(base, 'merged') };
  }

  /** Creates the container's dirs over these layers (bottom first, as in the image config) and mounts it. */
  async create(id: string, diffIds: string[]): Promise<string> {
    const p = this.paths(id);
    // OverlayFS lists the top-most lower dir first.
    const links = await Promise.all([...diffIds].reverse().map((d) => this.layers.link(d)));
    // A handful of mkdirs and one small write: synchronous calls of a few
    // µs each, where each thread-pool round trip costs more.
    if (links.length === 0) {
      // An image with no layers (FROM scratch, nothing added): one empty lower dir.
      mkdirSync(join(p.base, 'empty'), { recursive: true });
      links.push(join(p.base, 'empty'));
    }
    mkdirSync(p.base, { recursive: true, mode: 0o700 });
    for (const d of [p.upper, p.work, p.merged]) mkdirSync(d, { recursive: true, mode: 0o755 });
    const lower = links.join(':');
    writeFileSync(join(p.base, 'lower'), lower);
    try {
      // Just made, so not mounted: no need to look, nor to read `lower` back.
      this.mountOver(p, lower);
    } catch (err) {
      await rm(p.base, { recursive: true, force: true });
      throw err;
    }
    return p.merged;
  }

  /**
   * The container's overlay, for a rootfs rebuilt from idmapped layers in
   * a user namespace (runtime/native-userns.ts): the lower dirs as
   * absolute paths, top first, the upper dir, and a work dir of its own
   * (the host's mount of this overlay keeps using `work`).
   */
  async overlayLayers(id: string): Promise<RootfsLayers> {
    const p = this.paths(id);
    const lower = this.lowerOf(id);
    return { lower: lower.split(':').map((l) => resolve(this.layers.dir, l)), upper: p.upper, work: join(p.base, 'idmap-work') };
  }

  /** The overlay's lower dirs as create recorded them; read synchronously (a line, where fs/promises costs create ~2.5 ms to load). */
  private lowerOf(id: string): string {
    try {
      return readFileSync(join(this.paths(id).base, 'lower'), 'utf8');
    } catch (cause) {
      throw new TsrunError('INVALID_STATE', `container ${id} has no root filesystem record`, { cause });
    }
  }

  /** Two stats, synchronous: a few µs, where a thread-pool round trip costs far more. */
  isMounted(id: string): boolean {
    const p = this.paths(id);
    const merged = statSync(p.merged, { throwIfNoEntry: false });
    const base = statSync(p.base, { throwIfNoEntry: false });
    return !!merged && !!base && merged.dev !== base.dev;
  }

  /** Mounts the overlay unless it is mounted already. */
  async mount(id: string): Promise<void> {
    if (this.isMounted(id)) return;
    const p = this.paths(id);
    const lower = this.lowerOf(id);
    this.mountOver(p, lower);
  }

  private mountOver(p: RootfsPaths, lower: string): void {
    const data = `lowerdir=${lower},upperdir=${p.upper},workdir=${p.work}`;
    if (data.length > MOUNT_DATA_MAX) {
      throw new TsrunError('UNSUPPORTED', `the image has too many layers for one overlay mount (${lower.split(':').length})`);
    }
    // The l/<short> lower dirs are relative to the layer store: mount(2)
    // resolves them against the cwd. Node's own file calls use absolute
    // paths, and this is synchronous on the main thread, so the brief chdir
    // is not observed by anything else.
    const cwd = process.cwd();
    process.chdir(this.layers.dir);
    try {
      this.native.mount('overlay', p.merged, 'overlay', 0, data);
    } finally {
      process.chdir(cwd);
    }
  }

  /** `lazy`: detach at once (MNT_DETACH) when the caller knows nothing uses the mount any more. */
  async unmount(id: string, opts: { lazy?: boolean } = {}): Promise<void> {
    if (!this.isMounted(id)) return;
    const p = this.paths(id);
    try {
      this.native.umount(p.merged, opts.lazy ? MNT_DETACH : 0);
    } catch {
      // Still busy (a process or another namespace holds it): detach it.
      this.native.umount(p.merged, MNT_DETACH);
    }
  }

  /** Unmounts and deletes the container's layer; the image layers are untouched. */
  async remove(id: string): Promise<void> {
    await this.unmount(id);
    // Never recurse into a mount: the merged view reaches the shared layers.
    if (this.isMounted(id)) throw new TsrunError('INVALID_STATE', `the root filesystem of ${id} is still mounted`);
    const p = this.paths(id);
    // What a container wrote can be large: fs.rm's walk leaves the event
    // loop free meanwhile. A container that wrote nothing leaves the handful
    // of dirs create made, removed synchronously.
    if (isEmptyDir(p.upper)) removeDir(p.base);
    else await rm(p.base, { recursive: true, force: true });
  }
}

/** True for an empty directory and for none at all. */
function isEmptyDir(path: string): boolean {
  // One entry would do, but opendirSync loads Node's dir module (~1 ms); a
  // container's upper dir has a handful of top-level entries at most.
  try {
    return readdirSync(path).length === 0;
  } catch {
    return true;
  }
}
