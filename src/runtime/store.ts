// Containers on disk under --root: containers/<id>/{config.json,state.json}
// and names/<name> holding the id. Names are claimed under an flock on
// store.lock, so parallel CLIs decide a name conflict exactly once.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { OciSpec } from '../spec/oci.js';
import type { ConfinementHostConfig } from '../spec/security.js';
import type { MountRecord } from '../volume/mounts.js';
import type { NetworkRequest, NetworkSettings } from './container-network.js';
import { native } from '../native/binding.js';
import { atomicWriteFile, atomicWriteJson } from '../util/atomic-write.js';
import { fileLocker, type Locker } from '../util/lock.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

/** What a user asked for at create time that the spec does not say (Docker's Config/HostConfig extras). */
export interface ContainerRequest {
  /** What the user named: an image reference, or the --rootfs directory. */
  image: string;
  /** The image's id (config digest) when the container runs one. */
  imageId?: string;
  /** The image's StopSignal, used by `stop` when none is given. */
  stopSignal?: string;
  /** The image's labels (Docker shows them as the container's). */
  labels?: Record<string, string>;
  /** --network and the flags that shape /etc/hosts and /etc/resolv.conf. */
  network?: NetworkRequest;
  openStdin?: boolean;
  autoRemove?: boolean;
  init?: boolean;
  cgroupParent?: string;
  /** The raw limit flags, for inspect's HostConfig. */
  limits?: Record<string, string | string[] | undefined>;
  /** Binds, volumes and tmpfs mounts (inspect's Mounts; `rm -v` removes the anonymous volumes). */
  mounts?: MountRecord[];
  /** The `-v SOURCE:TARGET[:MODE]` values, for inspect's HostConfig.Binds. */
  binds?: string[];
  /**
   * The confinement flags (--privileged, --cap-add, --security-opt,
   * --device, --ipc, ...) in Docker's HostConfig shape, for inspect; IpcMode
   * and PidMode `container:ID` name the containers joined at each start.
   */
  confinement?: ConfinementHostConfig;
}

/**
 * The container record. `status`, `pid` and the exit fields are what was
 * last recorded; the truth while a process may exist comes from the engine
 * (the kernel and the monitor's files), see runtime/containers.ts.
 */
export interface ContainerState {
  id: string;
  name: string;
  status: ContainerStatus;
  created: string;
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  restartCount?: number;
  request?: ContainerRequest;
  /** Addresses and published ports of the last start (shown while it runs). */
  networkSettings?: NetworkSettings;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'keen', 'lucid', 'merry', 'quiet', 'sharp', 'vivid', 'witty', 'zen'];
const NOUNS = ['hopper', 'turing', 'lovelace', 'ritchie', 'thompson', 'torvalds', 'knuth', 'liskov', 'dijkstra', 'hamilton'];

/** 64 hex characters, as Docker's ids. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export class ContainerStore {
  readonly containersDir: string;
  readonly namesDir: string;
  private readonly lock: Locker;

  constructor(readonly root: string, lock: Locker = fileLocker(native)) {
    this.containersDir = join(root, 'containers');
    this.namesDir = join(root, 'names');
    this.lock = lock;
  }

  dir(id: string): string {
    return join(this.containersDir, id);
  }

  /**
   * Writes the container's directory and config, then, in one hold of the
   * store lock, claims the name and writes state.json. The directory always
   * exists before its name does, and under the store lock a name whose
   * container has no state.json was left by a CLI killed mid-create: it is
   * free (and swept by remove()).
   */
  async create(id: string, spec: OciSpec, requestedName?: string, request?: ContainerRequest): Promise<ContainerState> {
    if (requestedName !== undefined && !NAME_RE.test(requestedName)) {
      throw new TsrunError('INVALID_ARGUMENT', `invalid container name ${JSON.stringify(requestedName)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    await mkdir(this.containersDir, { recursive: true, mode: 0o700 });
    await mkdir(this.namesDir, { recursive: true, mode: 0o700 });
    await mkdir(this.dir(id), { mode: 0o700 });
    let name: string | undefined;
    try {
      await atomicWriteJson(join(this.dir(id), 'config.json'), spec);
      return await this.lock(join(this.root, 'store.lock'), async () => {
        name = requestedName !== undefined ? await this.claimName(requestedName, id) : await this.claimRandomName(id);
        const state: ContainerState = { id, name, status: 'created', created: new Date().toISOString(), ...(request ? { request } : {}) };
        await atomicWriteJson(join(this.dir(id), 'state.json'), state);
        return state;
      });
    } catch (err) {
      await this.remove({ id, name: name ?? '' });
      throw err;
    }
  }

  async read(id: string): Promise<ContainerState> {
    try {
      return JSON.parse(await readFile(join(this.dir(id), 'state.json'), 'utf8')) as ContainerState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TsrunError('CONTAINER_NOT_FOUND', `No such container: ${id}`);
      throw err;
    }
  }

  async readSpec(id: string): Promise<OciSpec> {
    return JSON.parse(await readFile(join(this.dir(id), 'config.json'), 'utf8')) as OciSpec;
  }

  /** Ids of every container with a complete record. */
  async ids(): Promise<string[]> {
    const all = await readdir(this.containersDir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const id of all) if (existsSync(join(this.dir(id), 'state.json'))) out.push(id);
    return out;
  }

  /** Full id, exact name, or a unique id prefix (Docker's order) → id. */
  async resolve(ref: string): Promise<string> {
    if (/^[0-9a-f]{64}$/.test(ref) && existsSync(join(this.dir(ref), 'state.json'))) return ref;
    if (NAME_RE.test(ref) || /^[a-zA-Z0-9]$/.test(ref)) {
      const owner = await this.owner(ref);
      if (owner !== null && existsSync(join(this.dir(owner), 'state.json'))) return owner;
    }
    if (/^[0-9a-f]+$/.test(ref)) {
      const hits = (await this.ids()).filter((id) => id.startsWith(ref));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw new TsrunError('INVALID_ARGUMENT', `multiple containers found with provided prefix: ${ref}`);
    }
    throw new TsrunError('CONTAINER_NOT_FOUND', `No such container: ${ref}`);
  }

  /** Moves a container to a new name, under the store lock. */
  async rename(id: string, newName: string): Promise<ContainerState> {
    if (!NAME_RE.test(newName)) {
      throw new TsrunError('INVALID_ARGUMENT', `invalid container name ${JSON.stringify(newName)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    return this.lock(join(this.root, 'store.lock'), async () => {
      const state = await this.read(id);
      if (state.name === newName) throw new TsrunError('INVALID_ARGUMENT', `renaming a container with the same name as its current name`);
      await this.claimName(newName, id);
      const renamed = { ...state, name: newName };
      await atomicWriteJson(join(this.dir(id), 'state.json'), renamed);
      const old = join(this.namesDir, state.name);
      if ((await readFile(old, 'utf8').catch(() => null)) === id) await rm(old, { force: true });
      return renamed;
    });
  }

  async update(state: ContainerState): Promise<void> {
    await atomicWriteJson(join(this.dir(state.id), 'state.json'), state);
  }

  /**
   * Releases the name (under the store lock, and only if it is still ours),
   * then deletes the directory: the reverse of create, so a name is never
   * freed while a claim made in between could be deleted with it.
   */
  async remove(state: Pick<ContainerState, 'id' | 'name'>): Promise<void> {
    if (state.name) {
      const file = join(this.namesDir, state.name);
      await this.lock(join(this.root, 'store.lock'), async () => {
        const owner = await readFile(file, 'utf8').catch(() => null);
        if (owner === state.id) await rm(file, { force: true });
        await this.sweepStaleNames();
      });
    }
    await rm(this.dir(state.id), { recursive: true, force: true });
  }

  // Called with the store lock held. Names (and temp files) that CLIs killed
  // mid-create left: names are only written under the store lock, together
  // with their container's state.json, so a name whose container directory
  // has no state.json, or a temp file, seen under the lock belongs to no
  // live CLI. The half-made container directory goes with its name.
  private async sweepStaleNames(): Promise<void> {
    for (const entry of await readdir(this.namesDir).catch(() => [] as string[])) {
      const file = join(this.namesDir, entry);
      if (entry.startsWith('.')) {
        if (entry.endsWith('.tmp')) await rm(file, { force: true });
        continue;
      }
      const owner = await readFile(file, 'utf8').catch(() => null);
      if (!owner || !/^[0-9a-f]{64}$/.test(owner) || !existsSync(this.dir(owner)) || existsSync(join(this.dir(owner), 'state.json'))) continue;
      await rm(file, { force: true });
      await rm(this.dir(owner), { recursive: true, force: true });
    }
  }

  /** Returns the id holding `name`, or null when it is free (or held by a vanished or half-made container: see create). */
  private async owner(name: string): Promise<string | null> {
    const owner = await readFile(join(this.namesDir, name), 'utf8').catch(() => null);
    if (!owner) return null;
    return existsSync(join(this.dir(owner), 'state.json')) ? owner : null;
  }

  // Called with the store lock held.
  private async claimName(name: string, id: string): Promise<string> {
    const owner = await this.owner(name);
    if (owner !== null) {
      throw new TsrunError(
        'NAME_IN_USE',
        `the container name "${name}" is already in use by container "${owner}"; remove (or rename) that container to reuse the name`,
      );
    }
    await atomicWriteFile(join(this.namesDir, name), id, 0o600);
    return name;
  }

  // Called with the store lock held.
  private async claimRandomName(id: string): Promise<string> {
    for (let i = 0; i < 64; i++) {
      const pick = <T>(a: T[]): T => a[randomBytes(1)[0] % a.length];
      const name = `${pick(ADJECTIVES)}_${pick(NOUNS)}${i >= 8 ? `_${randomBytes(2).toString('hex')}` : ''}`;
      if ((await this.owner(name)) === null) return this.claimName(name, id);
    }
    throw new TsrunError('NAME_IN_USE', 'could not find a free container name');
  }
}
