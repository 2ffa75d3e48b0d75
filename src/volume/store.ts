// Named volumes on disk, Docker's local driver layout:
//   volumes/<name>/_data        the data, bind-mounted into containers
//   volumes/<name>/volume.json  Name, Driver, Mountpoint, CreatedAt, Labels, Options, Scope
// A volume appears whole: it is built under a temp name and renamed into
// place, and is removed by renaming it away first, both under an flock on
// volumes/volumes.lock, so parallel creates of one name are decided once and
// a `volume rm` never races a create that checked it exists.
import { nodeCrypto } from '../util/lazy-builtins.js';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { atomicWriteJson } from '../util/atomic-write.js';
import type { Locker } from '../util/lock.js';
import { matchesPruneFilters, type PruneFilters } from '../util/prune-filters.js';
import { checkVolumeName } from './flags.js';

/** Docker marks anonymous volumes with this label (prune without -a removes only those). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface VolumeInfo {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: 'local';
}

export interface VolumeStoreDeps {
  root: string;
  lock: Locker;
  /** Volume name → the containers ("name (id12)") whose records mount it. */
  usersOf: () => Promise<Map<string, string[]>>;
}

export class VolumeStore {
  readonly dir: string;

  constructor(private readonly deps: VolumeStoreDeps) {
    this.dir = join(deps.root, 'volumes');
  }

  private lockPath(): string {
    return join(this.dir, 'volumes.lock');
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    return this.deps.lock(this.lockPath(), fn);
  }

  dataDir(name: string): string {
    return join(this.dir, name, '_data');
  }

  /** A fresh anonymous volume name: 64 hex characters, as Docker's. */
  static anonymousName(): string {
    return nodeCrypto().randomBytes(32).toString('hex');
  }

  /**
   * Creates the volume unless it exists (Docker's `volume create` of an
   * existing name returns it). `created` says whether this call made it.
   */
  async create(name: string | undefined, opts: { labels?: Record<string, string>; anonymous?: boolean } = {}): Promise<{ info: VolumeInfo; created: boolean }> {
    const volName = name === undefined ? VolumeStore.anonymousName() : checkVolumeName(name);
    return this.locked(() => this.createUnlocked(volName, opts));
  }

  /**
   * For a container's mount: creates the volume if needed and, when its
   * data directory is empty, lets `fill` copy the image's content in
   * (Docker's copy-up), all in one hold of the lock so two containers never
   * fill one volume at once.
   */
  async prepare(
    name: string | undefined,
    opts: { labels?: Record<string, string>; anonymous?: boolean },
    fill?: (dataDir: string) => Promise<void>,
  ): Promise<{ info: VolumeInfo; created: boolean }> {
    const volName = name === undefined ? VolumeStore.anonymousName() : checkVolumeName(name);
    return this.locked(async () => {
      const res = await this.createUnlocked(volName, opts);
      if (fill && (await readdir(this.dataDir(volName))).length === 0) {
        try {
          await fill(this.dataDir(volName));
        } catch (err) {
          if (res.created) await this.removeUnlocked(volName);
          throw err;
        }
      }
      return res;
    });
  }

  private async createUnlocked(volName: string, opts: { labels?: Record<string, string>; anonymous?: boolean }): Promise<{ info: VolumeInfo; created: boolean }> {
    {
      const existing = await this.read(volName);
      if (existing) return { info: existing, created: false };
      const tmp = join(this.dir, `.${volName}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`);
      const info: VolumeInfo = {
        Name: volName,
        Driver: 'local',
        Mountpoint: this.dataDir(volName),
        CreatedAt: new Date().toISOString(),
        Labels: { ...opts.labels, ...(opts.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) },
        Options: {},
        Scope: 'local',
      };
      try {
        await mkdir(join(tmp, '_data'), { recursive: true, mode: 0o755 });
        await atomicWriteJson(join(tmp, 'volume.json'), info);
        await rename(tmp, join(this.dir, volName));
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
      (await import('../events/emit.js')).volumeEvent(this.deps.root, 'create', volName);
      return { info, created: true };
    }
  }

  private async read(name: string): Promise<VolumeInfo | null> {
    try {
      return JSON.parse(await readFile(join(this.dir, name, 'volume.json'), 'utf8')) as VolumeInfo;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
  }

  async exists(name: string): Promise<boolean> {
    return (await this.read(name)) !== null;
  }

  async inspect(name: string): Promise<VolumeInfo> {
    const info = VOLUME_NAME_OK(name) ? await this.read(name) : null;
    if (!info) throw new TsrunError('INVALID_ARGUMENT', `get ${name}: no such volume`);
    return info;
  }

  async list(): Promise<VolumeInfo[]> {
    const out: VolumeInfo[] = [];
    for (const entry of (await readdir(this.dir).catch(() => [] as string[])).sort()) {
      if (entry.startsWith('.') || !VOLUME_NAME_OK(entry)) continue;
      const info = await this.read(entry).catch(() => null);
      if (info) out.push(info);
    }
    return out;
  }

  /** Volume name → the containers ("name (id12)") whose records mount it (the `dangling` filter: volumes with none). */
  users(): Promise<Map<string, string[]>> {
    return this.deps.usersOf();
  }

  /** Refused while any container (running or not) mounts it; `force` only ignores a missing volume. */
  async remove(name: string, force = false): Promise<boolean> {
    return this.locked(async () => {
      if (!VOLUME_NAME_OK(name) || !(await this.read(name))) {
        if (force) return false;
        throw new TsrunError('INVALID_ARGUMENT', `get ${name}: no such volume`);
      }
      const users = (await this.deps.usersOf()).get(name);
      if (users?.length) throw new TsrunError('INVALID_STATE', `remove ${name}: volume is in use - [${users.join(', ')}]`);
      await this.removeUnlocked(name);
      return true;
    });
  }

  /** Called with the lock held (or on a volume only this process knows of). */
  private async removeUnlocked(name: string): Promise<void> {
    const gone = join(this.dir, `.${name}.${nodeCrypto().randomBytes(6).toString('hex')}.rm`);
    await rename(join(this.dir, name), gone);
    await rm(gone, { recursive: true, force: true });
    (await import('../events/emit.js')).volumeEvent(this.deps.root, 'destroy', name);
  }

  /** Removes a volume this create made when the container create fails after all. */
  async rollback(name: string): Promise<void> {
    await this.locked(async () => {
      if (existsSync(join(this.dir, name))) await this.removeUnlocked(name);
    });
  }

  /** Unused anonymous volumes (with `all`, every unused volume; with filters, those label=/label!= allow); returns the names removed. */
  async prune(all = false, filters?: PruneFilters): Promise<string[]> {
    return (await this.pruneReport(all, filters)).removed;
  }

  /** prune, and how many bytes the removed volumes held (Docker's SpaceReclaimed, measured just before each goes). */
  async pruneReport(all = false, filters?: PruneFilters): Promise<{ removed: string[]; reclaimed: number }> {
    const { diskUsage } = await import('../util/du.js');
    return this.locked(async () => {
      const users = await this.deps.usersOf();
      const removed: string[] = [];
      let reclaimed = 0;
      for (const v of await this.list()) {
        if (users.get(v.Name)?.length) continue;
        if (!all && !Object.hasOwn(v.Labels ?? {}, ANONYMOUS_LABEL)) continue;
        if (!matchesPruneFilters(filters, { created: v.CreatedAt, labels: v.Labels })) continue;
        reclaimed += await diskUsage(this.dataDir(v.Name));
        await this.removeUnlocked(v.Name);
        removed.push(v.Name);
      }
      // Temp dirs of CLIs killed mid-create or mid-remove.
      for (const e of await readdir(this.dir).catch(() => [] as string[])) {
        if (e.startsWith('.') && (e.endsWith('.tmp') || e.endsWith('.rm'))) await rm(join(this.dir, e), { recursive: true, force: true });
      }
      return { removed, reclaimed };
    });
  }

  /** Runs `fn` under the store lock (container create checks its volumes still exist there). */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.locked(fn);
  }
}

function VOLUME_NAME_OK(name: string): boolean {
  try {
    checkVolumeName(name);
    return true;
  } catch {
    return false;
  }
}
