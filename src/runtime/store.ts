// Containers on disk under --root: containers/<id>/{config.json,state.json}
// and names/<name> holding the id. Names are claimed under an flock on
// store.lock, so parallel CLIs decide a name conflict exactly once.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { isoTime } from '../util/iso-time.js';
import type { OciSpec } from '../spec/oci.js';
import type { ConfinementHostConfig } from '../spec/security.js';
import type { MountRecord } from '../volume/mounts.js';
import type { NetworkRequest, NetworkSettings } from './container-network.js';
import type { HealthConfig } from '../health/config.js';
import type { LogConfig } from './log-config.js';
import type { RestartBook, RestartPolicy } from './restart-policy.js';
import { native } from '../native/binding.js';
import { atomicWriteFile, atomicWriteJson, jsonText, stageFile, stagedAll } from '../util/atomic-write.js';
import { fileLocker, type Locker } from '../util/lock.js';
import { readText, removeDir, removeFile } from '../util/small-files.js';
import { recordsDir } from './state-dirs.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

/** What a user asked for at create time that the spec does not say (Docker's Config/HostConfig extras). */
export interface ContainerRequest {
  /** What the user named: an image reference, or the --rootfs directory. */
  image: string;
  /** The image's id (config digest) when the container runs one. */
  imageId?: string;
  /** --stop-signal, else the image's StopSignal: used by `stop` when none is given (Config.StopSignal). */
  stopSignal?: string;
  /** --stop-timeout: `stop`'s and `restart`'s seconds when -t is not given; -1 waits for ever (Config.StopTimeout). */
  stopTimeout?: number;
  /** The image's ExposedPorts and --expose ("80/tcp": {}), which -P publishes (Config.ExposedPorts). */
  exposedPorts?: Record<string, Record<string, never>>;
  /** -a/--attach: the streams `run` attaches (Config.AttachStdin/AttachStdout/AttachStderr). */
  attach?: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** --cidfile (HostConfig.ContainerIDFile). */
  cidfile?: string;
  /** The container's labels: the image's, with --label/--label-file over them (inspect's Config.Labels, ps's filters). */
  labels?: Record<string, string>;
  /** --annotation: also in the spec's annotations; inspect shows them as HostConfig.Annotations. */
  annotations?: Record<string, string>;
  /** --network and the flags that shape /etc/hosts and /etc/resolv.conf. */
  network?: NetworkRequest;
  /** The health check: the image's HEALTHCHECK with the --health-* flags over it (Config.Healthcheck; Test ['NONE']: disabled). */
  healthcheck?: HealthConfig;
  /** --log-driver and --log-opt (HostConfig.LogConfig; absent: json-file, no options). */
  logConfig?: LogConfig;
  openStdin?: boolean;
  /** Config.StdinOnce (see CreateRequest.stdinOnce). */
  stdinOnce?: boolean;
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
  /** --restart (absent: `no`); Containers.setRestartPolicy changes it. */
  restartPolicy?: RestartPolicy;
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
  /** The restart policy's state between exits (restart-policy.ts); absent until the first restart. */
  restart?: RestartBook;
  /** A user stopped or killed it (Docker's HasBeenManuallyStopped): no restart by the policy until a user starts it. */
  manuallyStopped?: boolean;
  /** Why the restart policy's last start failed (inspect's State.Error), until the next start. */
  startError?: string;
  /** The spec's process.args (fixed at create), so `ps` need not parse the spec; absent in records older than it. */
  command?: string[];
  request?: ContainerRequest;
  /** Addresses and published ports of the last start (shown while it runs). */
  networkSettings?: NetworkSettings;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'keen', 'lucid', 'merry', 'quiet', 'sharp', 'vivid', 'witty', 'zen'];
const NOUNS = ['hopper', 'turing', 'lovelace', 'ritchie', 'thompson', 'torvalds', 'knuth', 'liskov', 'dijkstra', 'hamilton'];

/** 64 hex characters, as Docker's ids: 32 bytes of the kernel's CSPRNG, read directly (node:crypto would cost `create` its load). */
export function newContainerId(): string {
  const bytes = Buffer.alloc(32);
  const fd = openSync('/dev/urandom', 'r');
  try {
    if (readSync(fd, bytes, 0, 32, null) !== 32) throw new Error('short read from /dev/urandom');
  } finally {
    closeSync(fd);
  }
  return bytes.toString('hex');
}

export class ContainerStore {
  readonly containersDir: string;
  readonly namesDir: string;
  private readonly lockFile: string;
  private readonly lock: Locker;

  constructor(readonly root: string, lock: Locker = fileLocker(native)) {
    this.containersDir = recordsDir(root);
    this.namesDir = join(root, 'names');
    this.lockFile = join(root, 'store.lock');
    this.lock = lock;
  }

  // Plain concatenation, not path.join: `ps` builds a few of these per
  // container, and a cold path.join costs ~20 µs (containersDir is
  // normalised, and an id is one path component).
  dir(id: string): string {
    return `${this.containersDir}/${id}`;
  }

  private file(id: string, name: string): string {
    return `${this.containersDir}/${id}/${name}`;
  }

  /**
   * Writes the container's directory and config, then, in one hold of the
   * store lock, claims the name and writes state.json. The directory always
   * exists before its name does, and under the store lock a name whose
   * container has no state.json was left by a CLI killed mid-create: it is
   * free (and swept by remove()).
   *
   * The name and the record are written and fsynced side by side, then
   * renamed in that order (a record always has its name). The config's
   * rename needs no directory fsync of its own: the one after state.json's
   * rename, in the same directory, makes both durable.
   */
  async create(id: string, spec: OciSpec, requestedName?: string, request?: ContainerRequest): Promise<ContainerState> {
    if (requestedName !== undefined && !NAME_RE.test(requestedName)) {
      throw new TsrunError('INVALID_ARGUMENT', `invalid container name ${JSON.stringify(requestedName)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    mkdirSync(this.containersDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.dir(id), { mode: 0o700 });
    let name: string | undefined;
    try {
      await (await stageFile(this.file(id, 'config.json'), jsonText(spec), { syncDir: false })).commit();
      return await this.lock(this.lockFile, async () => {
        name = requestedName !== undefined ? this.freeName(requestedName) : this.randomFreeName();
        const state: ContainerState = {
          id, name, status: 'created', created: isoTime(),
          ...(spec.process?.args ? { command: spec.process.args } : {}), ...(request ? { request } : {}),
        };
        const [nameFile, stateFile] = await stagedAll([
          stageFile(join(this.namesDir, name), id, { mode: 0o600 }), stageFile(this.file(id, 'state.json'), jsonText(state)),
        ]);
        await nameFile.commit();
        await stateFile.commit();
        return state;
      });
    } catch (err) {
      await this.remove({ id, name: name ?? '' });
      throw err;
    }
  }

  // Records and specs are read synchronously: ~20 µs each, where
  // fs/promises takes ~0.3 ms of CPU in thread-pool round trips, and `ps`
  // reads one per container.
  async read(id: string): Promise<ContainerState> {
    try {
      return JSON.parse(readFileSync(this.file(id, 'state.json'), 'utf8')) as ContainerState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TsrunError('CONTAINER_NOT_FOUND', `No such container: ${id}`);
      throw err;
    }
  }

  async readSpec(id: string): Promise<OciSpec> {
    return JSON.parse(readFileSync(this.file(id, 'config.json'), 'utf8')) as OciSpec;
  }

  /** Ids of every container directory, complete or not (read() of an incomplete one throws CONTAINER_NOT_FOUND). */
  async dirIds(): Promise<string[]> {
    return entries(this.containersDir);
  }

  /** Ids of every container with a complete record. */
  async ids(): Promise<string[]> {
    return entries(this.containersDir).filter((id) => existsSync(this.file(id, 'state.json')));
  }

  /** Full id, exact name, or a unique id prefix (Docker's order) → id. */
  async resolve(ref: string): Promise<string> {
    if (/^[0-9a-f]{64}$/.test(ref) && existsSync(this.file(ref, 'state.json'))) return ref;
    if (NAME_RE.test(ref) || /^[a-zA-Z0-9]$/.test(ref)) {
      const owner = this.owner(ref);
      if (owner !== null) return owner;
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
    return this.lock(this.lockFile, async () => {
      const state = await this.read(id);
      if (state.name === newName) throw new TsrunError('INVALID_ARGUMENT', `renaming a container with the same name as its current name`);
      await this.claimName(newName, id);
      const renamed = { ...state, name: newName };
      await atomicWriteJson(this.file(id, 'state.json'), renamed);
      const old = join(this.namesDir, state.name);
      if (readText(old) === id) removeFile(old);
      return renamed;
    });
  }

  async update(state: ContainerState): Promise<void> {
    await atomicWriteJson(this.file(state.id, 'state.json'), state);
  }

  /**
   * Releases the name (under the store lock, and only if it is still ours),
   * then deletes the directory: the reverse of create, so a name is never
   * freed while a claim made in between could be deleted with it.
   */
  async remove(state: Pick<ContainerState, 'id' | 'name'>): Promise<void> {
    if (state.name) {
      const file = join(this.namesDir, state.name);
      await this.lock(this.lockFile, async () => {
        if (readText(file) === state.id) removeFile(file);
        this.sweepStaleNames();
      });
    }
    removeDir(this.dir(state.id));
  }

  // Called with the store lock held. Names (and temp files) that CLIs killed
  // mid-create left: names are only written under the store lock, together
  // with their container's state.json, so a name whose container directory
  // has no state.json, or a temp file, seen under the lock belongs to no
  // live CLI. The half-made container directory goes with its name.
  // Such a CLI always leaves a container directory without a state.json
  // (made before its name, removed only after it), so the names are read
  // only when there is one: a stat per container, not a read per name.
  private sweepStaleNames(): void {
    if (entries(this.containersDir).every((id) => existsSync(this.file(id, 'state.json')))) return;
    for (const entry of entries(this.namesDir)) {
      const file = join(this.namesDir, entry);
      if (entry.startsWith('.')) {
        if (entry.endsWith('.tmp')) removeFile(file);
        continue;
      }
      const owner = readText(file);
      if (!owner || !/^[0-9a-f]{64}$/.test(owner) || !existsSync(this.dir(owner)) || existsSync(this.file(owner, 'state.json'))) continue;
      removeFile(file);
      removeDir(this.dir(owner));
    }
  }

  /** Returns the id holding `name`, or null when it is free (or held by a vanished or half-made container: see create). */
  private owner(name: string): string | null {
    const owner = readText(join(this.namesDir, name));
    return owner && existsSync(this.file(owner, 'state.json')) ? owner : null;
  }

  // Called with the store lock held: `name`, or NAME_IN_USE.
  private freeName(name: string): string {
    const owner = this.owner(name);
    if (owner !== null) {
      throw new TsrunError(
        'NAME_IN_USE',
        `the container name "${name}" is already in use by container "${owner}"; remove (or rename) that container to reuse the name`,
      );
    }
    return name;
  }

  // Called with the store lock held.
  private async claimName(name: string, id: string): Promise<string> {
    await atomicWriteFile(join(this.namesDir, this.freeName(name)), id, 0o600);
    return name;
  }

  // Called with the store lock held.
  private randomFreeName(): string {
    for (let i = 0; i < 64; i++) {
      // Names are not secrets: Math.random, not node:crypto (util/lazy-builtins.ts says why).
      const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)];
      const suffix = () => Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
      const name = `${pick(ADJECTIVES)}_${pick(NOUNS)}${i >= 8 ? `_${suffix()}` : ''}`;
      if (this.owner(name) === null) return name;
    }
    throw new TsrunError('NAME_IN_USE', 'could not find a free container name');
  }
}

/** A directory's entries; none when it does not exist (yet). */
function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

