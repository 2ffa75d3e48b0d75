// Containers on disk under --root: containers/<id>/{config.json,state.json}
// and names/<name> holding the id. A name is reserved by creating its file
// with O_EXCL, so parallel CLIs decide a name conflict exactly once.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { OciSpec } from '../spec/oci.js';
import { atomicWriteJson } from '../util/atomic-write.js';

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

  constructor(readonly root: string) {
    this.containersDir = join(root, 'containers');
    this.namesDir = join(root, 'names');
  }

  dir(id: string): string {
    return join(this.containersDir, id);
  }

  /** Reserves the name, then writes config.json and state.json. */
  async create(id: string, spec: OciSpec, requestedName?: string): Promise<ContainerState> {
    if (requestedName !== undefined && !NAME_RE.test(requestedName)) {
      throw new TsrunError('INVALID_ARGUMENT', `invalid container name ${JSON.stringify(requestedName)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    await mkdir(this.containersDir, { recursive: true, mode: 0o700 });
    await mkdir(this.namesDir, { recursive: true, mode: 0o700 });
    const name = requestedName ?? (await this.reserveRandomName(id));
    if (requestedName !== undefined) await this.reserveName(requestedName, id);
    const state: ContainerState = { id, name, status: 'created', created: new Date().toISOString() };
    try {
      await mkdir(this.dir(id), { mode: 0o700 });
      await atomicWriteJson(join(this.dir(id), 'config.json'), spec);
      await atomicWriteJson(join(this.dir(id), 'state.json'), state);
    } catch (err) {
      await this.remove(state);
      throw err;
    }
    return state;
  }

  async update(state: ContainerState): Promise<void> {
    await atomicWriteJson(join(this.dir(state.id), 'state.json'), state);
  }

  async remove(state: ContainerState): Promise<void> {
    await rm(this.dir(state.id), { recursive: true, force: true });
    // Only release the name if it is still ours.
    const owner = await readFile(join(this.namesDir, state.name), 'utf8').catch(() => null);
    if (owner === state.id) await rm(join(this.namesDir, state.name), { force: true });
  }

  private async reserveName(name: string, id: string, retried = false): Promise<void> {
    const file = join(this.namesDir, name);
    try {
      const fh = await open(file, 'wx', 0o600);
      await fh.writeFile(id);
      await fh.close();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await readFile(file, 'utf8').catch(() => '');
      // A CLI killed between reserving and writing the container leaves a
      // name with no container: reclaim it. rename lets one reclaimer win.
      const exists = owner !== '' && (await readFile(join(this.dir(owner), 'state.json')).then(() => true, () => false));
      if (!exists && !retried) {
        const stale = `${file}.stale.${randomBytes(4).toString('hex')}`;
        if (await rename(file, stale).then(() => true, () => false)) await rm(stale, { force: true });
        return this.reserveName(name, id, true);
      }
      throw new TsrunError(
        'NAME_IN_USE',
        `the container name "${name}" is already in use by container "${owner}"; remove (or rename) that container to reuse the name`,
      );
    }
  }

  private async reserveRandomName(id: string): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const pick = <T>(a: T[]): T => a[randomBytes(1)[0] % a.length];
      const name = `${pick(ADJECTIVES)}_${pick(NOUNS)}${i > 5 ? `_${randomBytes(2).toString('hex')}` : ''}`;
      try {
        await this.reserveName(name, id);
        return name;
      } catch (err) {
        if (!(err instanceof TsrunError && err.code === 'NAME_IN_USE')) throw err;
      }
    }
    throw new TsrunError('NAME_IN_USE', 'could not find a free container name');
  }
}

