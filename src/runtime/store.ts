// Containers on disk under --root: containers/<id>/{config.json,state.json}
// and names/<name> holding the id. Names are claimed under an flock on
// store.lock, so parallel CLIs decide a name conflict exactly once.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { OciSpec } from '../spec/oci.js';
import { native } from '../native/binding.js';
import { atomicWriteFile, atomicWriteJson } from '../util/atomic-write.js';
import { fileLocker, type Locker } from '../util/lock.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  id: string;
  name: string;
  status: ContainerStatus;
  created: string;
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
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
   * Writes the container's directory and config, then claims the name under
   * the store lock. The directory always exists before its name does, so a
   * name whose directory is gone was left by a crashed CLI and is free.
   */
  async create(id: string, spec: OciSpec, requestedName?: string): Promise<ContainerState> {
    if (requestedName !== undefined && !NAME_RE.test(requestedName)) {
      throw new TsrunError('INVALID_ARGUMENT', `invalid container name ${JSON.stringify(requestedName)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    await mkdir(this.containersDir, { recursive: true, mode: 0o700 });
    await mkdir(this.namesDir, { recursive: true, mode: 0o700 });
    await mkdir(this.dir(id), { mode: 0o700 });
    let name: string | undefined;
    try {
      await atomicWriteJson(join(this.dir(id), 'config.json'), spec);
      name = await this.lock(join(this.root, 'store.lock'), () =>
        requestedName !== undefined ? this.claimName(requestedName, id) : this.claimRandomName(id),
      );
      const state: ContainerState = { id, name, status: 'created', created: new Date().toISOString() };
      await atomicWriteJson(join(this.dir(id), 'state.json'), state);
      return state;
    } catch (err) {
      await this.remove({ id, name: name ?? '' });
      throw err;
    }
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
      });
    }
    await rm(this.dir(state.id), { recursive: true, force: true });
  }

  /** Returns the id holding `name`, or null when it is free (or held by a vanished container). */
  private async owner(name: string): Promise<string | null> {
    const owner = await readFile(join(this.namesDir, name), 'utf8').catch(() => null);
    if (!owner) return null;
    return existsSync(this.dir(owner)) ? owner : null;
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
