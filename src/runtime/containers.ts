// Docker's container verbs over the engine: a container record in the store
// (its OCI config.json is the bundle), and at most one engine instance of it
// at a time, run under a tsrun-monitor. Status is always derived: from the
// engine (kernel + monitor files) while an instance exists, else from the
// record.
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupDeps } from '../cgroups/index.js';
import { TsrunError } from '../errors.js';
import { isoTime } from '../util/iso-time.js';
import type { NativeBinding } from '../native/binding.js';
import type { RunOptions } from '../spec/build.js';
import type { UsernsOptions } from '../spec/userns.js';
import { joinNamespaces, type NamespaceJoins } from '../spec/namespaces.js';
import type { Confinement } from '../spec/security.js';
import { checkSysctlNamespaces, type SysctlNamespace } from '../spec/sysctl.js';
import type { LinuxResources, OciCapabilities, OciProcess, OciSpec } from '../spec/oci.js';
import type { ImageView, Images, PullPolicy } from '../image/images.js';
import type { Platform } from '../image/platform.js';
import type { PullEvent } from '../image/pull.js';
import type { EndpointRequest, NetworkFlags, NetworkRequest } from './container-network.js';
import { prepareNetwork } from './container-etc-files.js';
import type { Networks } from '../network/networks.js';
import type { NetworkRecord } from '../network/config.js';
import type { PublishedPort } from '../network/nat.js';
import { fileLocker } from '../util/lock.js';
import { mapLimit } from '../util/map-limit.js';
import { diskUsage } from '../util/du.js';
import { matchesPruneFilters, type PruneFilters } from '../util/prune-filters.js';
import { isSameProcess, pidStartTime, signalPid } from './proc.js';
import {
  checkRestartWithAutoRemove, nextRestartDelay, restarts, shouldRestart, startsAtBoot, validateRestartPolicy, type PendingRestart, type RestartPolicy,
} from './restart-policy.js';
import { parseSignal } from './signals.js';
import type { MountSpec, VolumesFromSpec } from '../volume/flags.js';
import type { PreparedMounts } from '../volume/mounts.js';
import type { VolumeStore } from '../volume/store.js';
import { Engine, type ExecOptions } from './engine.js';
import { mergeHealthcheck, monitorHealth, type HealthConfig } from '../health/config.js';
import type { HealthState } from '../health/state.js';
import { logRotation, type LogConfig } from './log-config.js';
import { newContainerId, type ContainerRequest, type ContainerState, type ContainerStore } from './store.js';
import { removeDir } from '../util/small-files.js';
import { containerSummaries, listPlaces, shownNewestFirst, type ListPlaces } from './container-list.js';
import { bootId, containerStatus, restartPending, UNKNOWN_EXIT, type StatusFields } from './container-status.js';
import { instancesDir } from './state-dirs.js';

/** `restarting`: exited, and its restart policy is waiting out the delay or starting it again (Docker's Restarting). */
export type DockerStatus = 'created' | 'running' | 'paused' | 'exited' | 'restarting';

/** A container as `ps`/`inspect` show it: the record merged with what the kernel says. */
export interface ContainerView {
  record: ContainerState;
  spec: OciSpec;
  status: DockerStatus;
  pid: number;
  exitCode: number;
  oomKilled: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** The health check's state, for a container that has one and has been started (health/state.ts). */
  health?: HealthState;
  /** Set when the exit status could not be known (its monitor was killed). */
  error?: string;
}

/** A container as `ps` lists it: its view without the spec, and the command and image ps shows. */
export interface ContainerSummary extends Omit<ContainerView, 'spec'> {
  command: string[];
  image: string;
}

/** Either an image reference (pulled as `pull` says) or a root filesystem directory. */
export interface CreateRequest extends Omit<RunOptions, 'rootfs' | 'image' | 'network' | 'etcFiles'>, NetworkFlags {
  image?: string;
  rootfs?: string;
  /** run/create's --pull (default 'missing'). */
  pull?: PullPolicy;
  platform?: Platform;
  onPullEvent?: (e: PullEvent) => void;
  name?: string;
  openStdin?: boolean;
  /** Docker's StdinOnce: the first attached client's end of input closes the container's stdin (an attached run -i). */
  stdinOnce?: boolean;
  autoRemove?: boolean;
  cgroupParent?: string;
  limits?: ContainerRequest['limits'];
  /** -v, --mount, --tmpfs (volume/flags.ts parses them). */
  mounts?: MountSpec[];
  volumesFrom?: VolumesFromSpec[];
  /** --userns, --uidmap, --gidmap (spec/userns.ts). */
  userns?: UsernsOptions;
  /** --health-* and --no-healthcheck (health/config.ts parses them): over the image's HEALTHCHECK. */
  health?: HealthConfig;
  /** --log-driver and --log-opt (log-config.ts parses them). */
  logConfig?: LogConfig;
  /** --label/--label-file: over the image's labels. */
  labels?: Record<string, string>;
  /** --restart (restart-policy.ts parses it); absent: `no`. */
  restartPolicy?: RestartPolicy;
  /** --stop-signal (over the image's), --stop-timeout, -a, --cidfile: kept in the record for stop and inspect. */
  runConfig?: Pick<ContainerRequest, 'stopSignal' | 'stopTimeout' | 'attach' | 'cidfile'>;
  /** --expose: "PORT/PROTO" keys added to the image's ExposedPorts (-P publishes them all). */
  expose?: string[];
  /** Hears Docker's warnings about limits the host cannot apply (dropped: --blkio-weight, --oom-kill-disable). */
  onWarning?: (message: string) => void;
}

export interface ContainersDeps {
  native: NativeBinding;
  store: ContainerStore;
  root: string;
  runroot: string;
  hostEnv: Record<string, string | undefined>;
  /** How the monitor runs `tsrun rm` for --rm (default: this Node and bin/tsrun). */
  selfCommand?: string[];
  /** Where the cgroup filesystems are (default: the host's); tests pass a fake tree. */
  cgroups?: Partial<CgroupDeps>;
  /** Images and container root filesystems (absent: only --rootfs containers). */
  images?: Images;
  /** Named and anonymous volumes (absent: no volume mounts). */
  volumes?: VolumeStore;
  /** Bridge networks, loaded on first use (absent: only none, host and container: modes). */
  networks?: () => Promise<Networks>;
  /** The network of a container made without --network (default `bridge`). */
  defaultNetwork?: string;
  /** Docker's --userns-remap (default|USER[:GROUP]) for containers created without --userns or maps. */
  usernsRemap?: string;
}

// Containers `list` reads at once (summaries: container-list.ts). Their
// files are read synchronously today; the bound keeps any that waits (and
// holds a file open) from reaching EMFILE on a host with thousands of
// containers.
const LIST_PARALLEL = 32;

export class Containers {
  readonly engine: Engine;
  // One for the process: the cgroup layout is detected once per deps object.
  private readonly places: ListPlaces;

  constructor(private readonly deps: ContainersDeps) {
    this.engine = new Engine({
      native: deps.native, stateDir: instancesDir(deps.runroot), cgroups: deps.cgroups, seccompCacheDir: join(deps.runroot, 'seccomp'),
    });
    this.places = listPlaces(deps.store.root, deps.runroot, deps.native, deps.cgroups);
  }

  get store(): ContainerStore {
    return this.deps.store;
  }

  logPath(id: string): string {
    return join(this.deps.store.dir(id), 'container.log');
  }

  resolve(ref: string): Promise<string> {
    return this.deps.store.resolve(ref);
  }

  /** `tsrun create`: the record and bundle, no process yet. */
  async create(req: CreateRequest): Promise<ContainerState> {
    // Refused before anything is pulled or made.
    if (req.restartPolicy) validateRestartPolicy(req.restartPolicy);
    checkRestartWithAutoRemove(req.restartPolicy, req.autoRemove);
    if (req.resources) req = { ...req, resources: await this.hostResources(req.resources, req.onWarning) };
    const id = newContainerId();
    if (req.rootfs !== undefined) return this.createWith(id, req, req.rootfs);
    if (!req.image) throw new TsrunError('INVALID_ARGUMENT', 'an image (or --rootfs DIR) is needed');
    const images = this.images();
    const image = await images.ensure(req.image, req.pull ?? 'missing', { platform: req.platform, onEvent: req.onPullEvent });
    const rootfs = await images.rootfs.create(id, image.record.layers.map((l) => l.diffId));
    try {
      return await this.createWith(id, req, rootfs, image);
    } catch (err) {
      await images.rootfs.remove(id).catch(() => {});
      throw err;
    }
  }

  private images(): Images {
    if (!this.deps.images) throw new TsrunError('UNSUPPORTED', 'this tsrun has no image store');
    return this.deps.images;
  }

  private async createWith(id: string, req: CreateRequest, rootfs: string, image?: ImageView): Promise<ContainerState> {
    const { networkBuildOptions, networkRequest } = await Containers.net();
    const network = await networkRequest(req, {
      resolveContainer: (ref) => this.resolve(ref),
      findNetwork: async (name) => (await this.networks()).store.find(name),
      defaultNetwork: this.deps.defaultNetwork ?? (this.deps.networks ? 'bridge' : 'none'),
      exposedPorts: exposedPorts(image?.config.config?.ExposedPorts, req.expose),
    });
    const joinedId = network.mode.startsWith('container:') ? network.mode.slice('container:'.length) : undefined;
    const joined = joinedId ? { dir: this.deps.store.dir(joinedId), hostname: (await this.deps.store.readSpec(joinedId)).hostname } : undefined;
    const confinement = req.confinement ? await this.resolveNamespaceJoins(req.confinement, joinedId) : undefined;
    const net = networkBuildOptions(network, this.deps.store.dir(id), confinement?.modes.uts === 'host' ? undefined : req.hostname, joined);
    // --uts host: the host's name, and -h conflicts (buildSpec says so).
    if (confinement?.modes.uts === 'host') net.hostname = req.hostname;
    // Spec building loads with create, not with the verbs that only read (ps, inspect, logs, rm).
    const [{ buildSpec }, { processConfig }, { applyUserns, releaseUserns }, { applyMounts }] = await Promise.all([
      import('../spec/build.js'), import('../image/config.js'), import('../spec/userns.js'), import('../volume/mounts.js'),
    ]);
    const spec = await buildSpec(
      { ...req, rootfs, image: image ? processConfig(image.config) : undefined, ...net, confinement },
      { id, hostEnv: this.deps.hostEnv },
    );
    if (req.cgroupParent) spec.linux = { ...spec.linux, cgroupsPath: `${req.cgroupParent.replace(/\/+$/, '')}/${id}` };
    const userns = await applyUserns(spec, req.userns ?? {}, {
      root: this.deps.root, id, locker: fileLocker(this.deps.native), hostEnv: this.deps.hostEnv, remap: this.deps.usernsRemap,
      rootfsLayers: image ? await this.images().rootfs.overlayLayers(id) : undefined,
      isLive: (other) => this.deps.store.read(other).then(() => true, () => false),
    });
    const { StopSignal: stopSignal, Labels: imageLabels } = image?.config.config ?? {};
    const healthcheck = mergeHealthcheck(req.health, image?.config.config?.Healthcheck);
    // Docker: the image's labels, with the user's over them.
    const labels = { ...imageLabels, ...req.labels };
    const exposed = exposedPorts(image?.config.config?.ExposedPorts, req.expose);
    const request: ContainerRequest = {
      image: req.image ?? rootfs,
      ...(image ? { imageId: image.record.id } : {}),
      ...(stopSignal ? { stopSignal } : {}),
      ...(Object.keys(exposed).length ? { exposedPorts: exposed } : {}),
      ...Object.fromEntries(Object.entries(req.runConfig ?? {}).filter(([, v]) => v !== undefined)),
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(req.annotations && Object.keys(req.annotations).length ? { annotations: req.annotations } : {}),
      ...(healthcheck && Object.keys(healthcheck).length ? { healthcheck } : {}),
      ...(req.logConfig ? { logConfig: req.logConfig } : {}),
      openStdin: !!req.openStdin,
      ...(req.openStdin && req.stdinOnce ? { stdinOnce: true } : {}),
      autoRemove: !!req.autoRemove,
      ...(restarts(req.restartPolicy) ? { restartPolicy: req.restartPolicy } : {}),
      init: !!req.init,
      ...(req.cgroupParent ? { cgroupParent: req.cgroupParent } : {}),
      ...(req.limits ? { limits: req.limits } : {}),
      ...(confinement ? { confinement: confinement.hostConfig } : {}),
      network,
    };
    const mounts = await this.prepareMounts(req, rootfs, Object.keys(image?.config.config?.Volumes ?? {})).catch(async (err) => {
      if (userns) await releaseUserns(this.deps.root, id, fileLocker(this.deps.native));
      throw err;
    });
    applyMounts(spec, mounts.oci);
    if (mounts.records.length) request.mounts = mounts.records;
    if (mounts.binds.length) request.binds = mounts.binds;
    try {
      const state = await this.deps.store.create(id, spec, req.name, request);
      await this.checkVolumesKept(state, mounts);
      await this.event('create', state);
      return state;
    } catch (err) {
      await mounts.rollback();
      if (userns) await releaseUserns(this.deps.root, id, fileLocker(this.deps.native));
      throw err;
    }
  }

  /**
   * --ipc container:REF and --pid container:REF: REF becomes the id, so a
   * rename does not break the join (made at every start, see start()).
   * Docker's rule: only a container run with --ipc shareable (or host)
   * lends its IPC namespace. A namespace joined from a container that
   * uses the host's is the host's, and takes no namespaced sysctl.
   */
  private async resolveNamespaceJoins(c: Confinement, networkFrom: string | undefined): Promise<Confinement> {
    const modes = { ...c.modes };
    const hostConfig = { ...c.hostConfig };
    const hostNamespaces = new Set<SysctlNamespace>();
    if (modes.ipc.kind === 'container') {
      const id = await this.resolve(modes.ipc.ref);
      const donor = (await this.deps.store.read(id)).request?.confinement?.IpcMode ?? 'private';
      if (donor !== 'shareable' && donor !== 'host') {
        throw new TsrunError(
          'INVALID_ARGUMENT',
          `cannot join the IPC namespace of container ${modes.ipc.ref}: non-shareable IPC (hint: run that container with --ipc shareable)`,
        );
      }
      if (donor === 'host') hostNamespaces.add('ipc');
      modes.ipc = { kind: 'container', ref: id };
      hostConfig.IpcMode = `container:${id}`;
    }
    if (modes.pid.kind === 'container') {
      const id = await this.resolve(modes.pid.ref);
      modes.pid = { kind: 'container', ref: id };
      hostConfig.PidMode = `container:${id}`;
    }
    if (networkFrom && (await this.deps.store.read(networkFrom)).request?.network?.mode === 'host') hostNamespaces.add('network');
    checkSysctlNamespaces(c.sysctls, hostNamespaces);
    return { ...c, modes, hostConfig };
  }

  private async prepareMounts(req: CreateRequest, rootfs: string, imageVolumes: string[]): Promise<PreparedMounts> {
    if (!req.mounts?.length && !req.volumesFrom?.length && !imageVolumes.length) return { records: [], binds: [], oci: [], rollback: async () => {} };
    const { prepareMounts } = await import('../volume/mounts.js');
    return prepareMounts(req.mounts ?? [], req.volumesFrom ?? [], {
      volumes: this.volumes(),
      rootfs,
      imageVolumes,
      mountsOf: async (ref) => (await this.deps.store.read(await this.resolve(ref))).request?.mounts ?? [],
    });
  }

  private networks(): Promise<Networks> {
    if (!this.deps.networks) throw new TsrunError('UNSUPPORTED', 'this tsrun has no bridge networks: use --network none or host');
    return this.deps.networks();
  }

  // Networking code loads only for the verbs and containers that use it.
  private static net = () => import('./container-network.js');

  // The events journal (src/events) loads only with the verbs that change
  // state: ps and inspect never emit, so never load it.
  private static events = () => import('../events/emit.js');

  /** Appends a container event (Docker's attributes: its labels, image and name, then `extra`) to the root's journal. */
  private async event(action: string, rec: ContainerState, extra?: Record<string, string | number>): Promise<void> {
    const { containerEvent } = await Containers.events();
    containerEvent(this.deps.root, action, { id: rec.id, name: rec.name, image: rec.request?.image, labels: rec.request?.labels }, extra);
  }

  /** `tsrun attach` to a running container: Docker's `attach` event, once the caller is connected. */
  async attached(id: string): Promise<void> {
    await this.event('attach', await this.deps.store.read(id));
  }

  /** A start's events: each volume's mount, `start`, then `attach` when a caller is attached. */
  private async startEvents(rec: ContainerState, attached: boolean): Promise<void> {
    const { volumeEvent } = await Containers.events();
    for (const m of rec.request?.mounts ?? []) {
      if (m.Type !== 'volume' || !m.Name) continue;
      volumeEvent(this.deps.root, 'mount', m.Name, { container: rec.id, destination: m.Destination, 'read/write': String(m.RW), propagation: m.Propagation ?? '' });
    }
    await this.event('start', rec);
    if (attached) await this.event('attach', rec);
  }

  /**
   * Journals the exit of the container's last run (`oom` if it was
   * OOM-killed, then `die` with its exitCode) exactly once. Whoever sees the
   * exit first does it: the monitor itself as its container exits
   * (native/src/monitor/events.cc, from exitEventTemplates, so a detached
   * container's die needs no CLI), or stop, rm, cleanup, a new start. A marker file in the run's instance
   * directory, tested and made under a lock there, says it is done: a new
   * run gets a new directory, and an rm takes the directory along (and with
   * it exit.json, without which nothing is journaled), so no die is
   * journaled twice, and an rm always journals it before its destroy. Not a
   * field of state.json: start, rename and network connect rewrite that
   * file whole, and would race it.
   */
  async journalExit(id: string): Promise<void> {
    const dir = this.engine.dir(id);
    await fileLocker(this.deps.native)(`${dir}/events.lock`, async () => {
      if (existsSync(`${dir}/die.journaled`)) return;
      const st = await this.engine.state(id).catch(() => null);
      if (st?.status !== 'stopped') return;
      const rec = await this.deps.store.read(id);
      // Stamped now, as Docker stamps it when its daemon hears of the exit:
      // the monitor's finishedAt can precede the start event of a quick exit.
      const { exitCode, oomKilled } = st.exit ?? { exitCode: UNKNOWN_EXIT, oomKilled: false };
      if (oomKilled) await this.event('oom', rec);
      await this.event('die', rec, { exitCode });
      writeFileSync(`${dir}/die.journaled`, '');
    }).catch(() => {}); // no instance (removed meanwhile): nothing to journal
  }

  /**
   * What the monitor runs once the container has exited (conmon's
   * --exit-command), so what must follow an exit happens with no CLI
   * around. --rm: a detached container is removed by its monitor (`rm -f`,
   * which journals its die first); an attached run's caller removes it (and
   * must not race the monitor doing so). Every other container gets
   * `container cleanup` (as Podman's conmon runs it): it journals the die
   * event, and a container on a bridge network leaves it.
   */
  private exitCommand(id: string, record: ContainerState, owner: boolean): string[] | undefined {
    if (record.request?.autoRemove) return owner ? undefined : this.selfCommand('rm', '-f', id);
    // The monitor journals the die itself (exitEvents): a Node process per
    // exit is needed only to leave a bridge network or follow a restart policy.
    const policy = record.request?.restartPolicy?.Name ?? 'no';
    if (!record.request?.network?.networks && policy === 'no') return undefined;
    return this.selfCommand('container', 'cleanup', id);
  }

  /** `tsrun rename`: the store renames it under its lock; journals `rename` with the old name (Docker's `/old`). */
  async rename(id: string, newName: string): Promise<ContainerState> {
    const old = await this.deps.store.read(id);
    const renamed = await this.deps.store.rename(id, newName);
    await this.event('rename', renamed, { oldName: `/${old.name}` });
    return renamed;
  }

  /** Docker's restart: stop (as `stop` does, its events too), start, then the `restart` event. */
  async restart(id: string, timeoutSec?: number): Promise<void> {
    await this.stop(id, timeoutSec);
    await this.start(id);
    await this.event('restart', await this.deps.store.read(id));
  }

  /**
   * A process started in the running container (engine.exec) with Docker's
   * `exec_create: CMD` and `exec_start: CMD` events; the caller calls
   * `exited(code)` once it has seen the process end, which journals `exec_die`.
   * `execId`: the id its events carry (the API's exec instance id).
   */
  async exec(id: string, proc: OciProcess, opts: ExecOptions, execId = newContainerId()): Promise<{ pid: number; ptyMaster: number | null; execId: string; exited: (exitCode: number) => Promise<void> }> {
    const rec = await this.deps.store.read(id);
    const command = proc.args.join(' ');
    await this.event(`exec_create: ${command}`, rec, { execID: execId });
    const started = await this.engine.exec(id, proc, opts);
    await this.event(`exec_start: ${command}`, rec, { execID: execId });
    return { ...started, execId, exited: (exitCode) => this.event('exec_die', rec, { execID: execId, exitCode }) };
  }

  // rm -f of a running container: Docker's kill (SIGKILL) and die come before its destroy.
  private async killForRemove(id: string, v: ContainerView): Promise<void> {
    // Journaled before it is sent, as Docker does: its monitor journals the die.
    await this.event('kill', v.record, { signal: 'SIGKILL' });
    await this.engine.kill(id, 'SIGKILL', true).catch(ignoreNotRunning);
    if (v.status === 'paused') await this.engine.cgroup(await this.engine.load(id)).thaw().catch(() => {});
    await this.waitStopped(id, 5000);
  }

  /** Leaves the container's networks (ports, interfaces, leases, peers' hosts lines) under its network lock. */
  private async leaveNetworks(id: string, net: NetworkRequest): Promise<void> {
    const { disconnectNetworks } = await Containers.net();
    const nets = await this.networks();
    await this.netLocked(id, () => disconnectNetworks(nets, id, net));
  }

  // Joining and leaving networks, and the monitor's clean-up after an exit,
  // take this per-container lock, so a clean-up of the previous run never
  // undoes the next start's set-up.
  private netLocked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return fileLocker(this.deps.native)(join(this.deps.store.dir(id), 'network.lock'), fn);
  }

  private volumes(): VolumeStore {
    if (!this.deps.volumes) throw new TsrunError('UNSUPPORTED', 'this tsrun has no volume store');
    return this.deps.volumes;
  }

  // A `volume rm` that checked for users before this record existed may
  // have removed a volume we use: under the volume lock, see they are all
  // still there (rm checks and removes in one hold of that lock).
  private async checkVolumesKept(state: ContainerState, mounts: PreparedMounts): Promise<void> {
    const names = mounts.records.filter((r) => r.Type === 'volume').map((r) => r.Name!);
    if (!names.length) return;
    const volumes = this.volumes();
    const missing = await volumes.withLock(async () => {
      for (const n of names) if (!(await volumes.exists(n))) return n;
      return undefined;
    });
    if (missing) {
      await this.deps.store.remove(state);
      throw new TsrunError('INVALID_STATE', `volume ${missing} was removed while the container was created`);
    }
  }

  /** The merged view of one container: its record and spec, and its status from the kernel. */
  async view(id: string): Promise<ContainerView> {
    const record = await this.deps.store.read(id);
    const spec = await this.deps.store.readSpec(id);
    return { record, spec, ...(await this.status(id, record)) };
  }

  /** The status fields of a view (container-status.ts), from the record and, while there is one, the engine instance's state. */
  private async status(id: string, record: ContainerState): Promise<StatusFields> {
    const instance = await this.engine.find(id);
    return containerStatus(record, instance && (await this.engine.state(id, instance)), this.engine.dir(id));
  }

  /** Every container (`all`), or the running and paused ones, newest first. */
  async list(all: boolean): Promise<ContainerView[]> {
    return this.each(all, (id) => this.view(id));
  }

  /**
   * `ps`: list() without the specs (Docker's container summaries): the
   * command and image come from the record (container-list.ts, which `ps`
   * calls without the rest of the core).
   */
  async summaries(all: boolean): Promise<ContainerSummary[]> {
    return containerSummaries(this.places, all);
  }

  // Reads every container at once (a bounded number in flight), without
  // locks; one removed meanwhile, or still being created, is left out.
  private async each<T extends { record: ContainerState; status: DockerStatus }>(all: boolean, read: (id: string) => Promise<T>): Promise<T[]> {
    const found = await mapLimit(await this.deps.store.dirIds(), LIST_PARALLEL, (id) => read(id).catch(() => null));
    return shownNewestFirst(found.filter((v): v is T => v !== null), all);
  }

  /**
   * Starts a container's process under a monitor. With `attach`, the
   * caller's relay connects before the process runs, so no output is lost.
   */
  async start(id: string, opts: { owner?: boolean; beforeStart?: (stateDir: string) => Promise<void> } = {}): Promise<void> {
    await this.startLocked(id, () => this.startUnlocked(id, opts));
  }

  // Every start (a user's, the restart policy's, system boot's) holds the
  // container's start lock, and so do the stop, kill and rm that end its
  // policy (endPolicy): two starts never race to make two instances, and a
  // user's stop during a restart delay always wins.
  private startLocked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    let entered = false;
    return fileLocker(this.deps.native)(join(this.deps.store.dir(id), 'start.lock'), () => {
      entered = true;
      return fn();
    }).catch((err) => {
      if (!entered && (err as NodeJS.ErrnoException).code === 'ENOENT') throw new TsrunError('CONTAINER_NOT_FOUND', `No such container: ${id}`);
      throw err;
    });
  }

  /** start() under the start lock; `byPolicy`: the restart policy's start, asking for the last run's `addresses` (network → IP) again. */
  private async startUnlocked(
    id: string,
    opts: { owner?: boolean; beforeStart?: (stateDir: string) => Promise<void>; byPolicy?: boolean; addresses?: Record<string, string> },
  ): Promise<void> {
    const v = await this.view(id);
    // Docker: a restarting container counts as started; only its policy starts it.
    if (v.status === 'running' || v.status === 'paused' || (v.status === 'restarting' && !opts.byPolicy)) return;
    // A previous run's instance: keep its exit in the record, then clear it.
    let record = v.record;
    if (await this.engine.exists(id)) {
      record = { ...record, status: 'exited', exitCode: v.exitCode, oomKilled: v.oomKilled, finishedAt: v.finishedAt };
      await this.deps.store.update(record);
      await this.journalExit(id);
      await this.engine.delete(id, true);
    }
    const net = record.request?.network;
    // The bridge networks are made ready (on first use made, after a reboot
    // brought back, their nft rules checked) while the container is created:
    // none of it needs the container's process.
    const bridges = net?.networks ? this.readyNetworks(Object.keys(net.networks)) : undefined;
    bridges?.catch(() => {}); // awaited below; a failed create must not leave it unhandled
    // After a reboot (or an unmount by hand) the overlay is mounted again.
    const mounted = record.request?.imageId ? this.images().rootfs.mount(id) : undefined;
    mounted?.catch(() => {});
    const netSpec = net
      ? await prepareNetwork(net, v.spec, this.deps.store.dir(id), (ref) => this.runningPid(ref))
      : v.spec;
    const spec = await this.joinedNamespaces(record.request?.confinement, netSpec);
    await mounted;
    const self = [...(this.deps.selfCommand ?? defaultSelfCommand()), '--root', this.deps.root, '--runroot', this.deps.runroot];
    const exitCommand = this.exitCommand(id, record, !!opts.owner);
    const rec = await this.engine.create(id, {
      bundle: this.deps.store.dir(id),
      spec,
      reportExecErrors: true,
      monitor: {
        // --log-driver none: no log file; --log-opt max-size: the monitor rotates it.
        logPath: record.request?.logConfig?.Type === 'none' ? undefined : this.logPath(id),
        logRotation: logRotation(record.request?.logConfig),
        health: monitorHealth(record.request?.healthcheck, [...self, 'healthcheck', 'run', id]),
        openStdin: !!record.request?.openStdin, exitCommand, owner: opts.owner,
        exitEvents: (await Containers.events()).exitEventTemplates(this.deps.root, { id, name: record.name, image: record.request?.image, labels: record.request?.labels }),
      },
    });
    let networkSettings;
    let eventsLock: number | undefined;
    try {
      // The caller's attach and the network set-up are independent: side by
      // side, and both settled before a failure is cleaned up.
      const connecting = async () => {
        if (!net?.networks) return;
        const { connectNetworks } = await Containers.net();
        const [nets, ready] = await Promise.all([this.networks(), bridges]);
        networkSettings = await this.netLocked(id, () =>
          connectNetworks(nets, { id, name: record.name, pid: rec.pid, hostname: spec.hostname ?? '', request: withAddresses(net, opts.addresses), ready }),
        );
      };
      const failed = (await Promise.allSettled([opts.beforeStart?.(this.engine.dir(id)), connecting()])).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      eventsLock = this.holdEventsLock(id);
      await this.engine.start(id);
    } catch (err) {
      releaseLock(eventsLock);
      await this.engine.delete(id, true).catch(() => {});
      if (net?.networks) await this.leaveNetworks(id, net).catch(() => {});
      throw err;
    }
    try {
      // The policy counted its restart when it decided it (restartByPolicy), as Docker does.
      const restartCount = opts.byPolicy ? (record.restartCount ?? 0) : record.startedAt ? (record.restartCount ?? 0) + 1 : 0;
      await this.deps.store.update({
        ...record, status: 'running', pid: rec.pid, startedAt: isoTime(),
        finishedAt: undefined, exitCode: undefined, oomKilled: undefined, restartCount, networkSettings,
        // A user's start (or system boot's) starts the policy over (Docker's ResetRestartManager) and clears a user's stop.
        restart: opts.byPolicy && record.restart ? { count: record.restart.count, delayMs: record.restart.delayMs } : undefined,
        manuallyStopped: undefined,
        startError: undefined,
      });
      await this.startEvents(record, !!(opts.owner || opts.beforeStart));
    } finally {
      releaseLock(eventsLock);
    }
  }

  // Held from the moment the process may run until its start is journaled:
  // its monitor journals the die under the same lock (events.cc), so a
  // quick exit's die never comes before its start.
  private holdEventsLock(id: string): number | undefined {
    try {
      const fd = openSync(`${this.engine.dir(id)}/events.lock`, 'a', 0o600);
      this.deps.native.flock(fd, true);
      return fd;
    } catch {
      return undefined;
    }
  }

  /** The named bridge networks, ready to join (Networks.ready), by name. */
  private async readyNetworks(names: string[]): Promise<Record<string, NetworkRecord>> {
    const nets = await this.networks();
    return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await nets.ready(n)] as const)));
  }

  /** The pid of a running container (for joining its namespaces). */
  private async runningPid(ref: string, what = 'network'): Promise<number> {
    const v = await this.view(await this.resolve(ref));
    if (v.status !== 'running') throw new TsrunError('INVALID_STATE', `cannot join the ${what} of ${v.record.name}: the container is not running`);
    return v.pid;
  }

  /** --ipc/--pid container:ID: the namespaces of ID's current process (it must be running, as in Docker). */
  private async joinedNamespaces(c: ContainerRequest['confinement'], spec: OciSpec): Promise<OciSpec> {
    const from = (mode: string | undefined) => (mode?.startsWith('container:') ? mode.slice('container:'.length) : undefined);
    const ipc = from(c?.IpcMode);
    const pid = from(c?.PidMode);
    if (!ipc && !pid) return spec;
    const joins: NamespaceJoins = {};
    if (ipc) joins.ipc = await this.runningPid(ipc, 'IPC namespace');
    if (pid) joins.pid = await this.runningPid(pid, 'PID namespace');
    return { ...spec, linux: { ...spec.linux, namespaces: joinNamespaces(spec.linux?.namespaces ?? [], joins) } };
  }

  /**
   * Waits until the container is not running; returns its view then. A
   * view reads three files; while the process lives, /proc/PID/stat alone
   * is watched (a few µs), from 1 ms up to 10 ms apart, with a full view
   * at least every 50 ms: a killed container (stop -t 0) is seen gone
   * within a millisecond or two, a long-running one costs little. An
   * aborted `signal` (the API's client went away) ends it with null.
   */
  async waitStopped(id: string, timeoutMs = Infinity, signal?: AbortSignal): Promise<ContainerView | null> {
    const deadline = Date.now() + timeoutMs;
    const sleep = (ms: number) => pause(ms, signal);
    // The exit a wait begun during a restart delay is not waiting for.
    let known: string | undefined | null = null;
    for (let i = 0; ; i++) {
      if (signal?.aborted) return null;
      const v = await this.view(id);
      // Docker: an exit that its restart policy follows ends the wait too;
      // a wait begun while the container restarts waits for its next exit.
      if (v.status === 'restarting') {
        const recorded = !v.error; // an exit its monitor has yet to record is waited for
        if (recorded && i > 0 && (known === null || v.finishedAt !== known)) return v;
        if (recorded && i === 0) known = v.finishedAt;
        if (Date.now() >= deadline) return null;
        await sleep(Math.min(20, deadline - Date.now()));
        continue;
      }
      known = null;
      if (v.status === 'exited' || v.status === 'created') {
        // The monitor writes exit.json right after the process dies; give it that moment.
        if (v.status === 'exited' && v.error && Date.now() < deadline) {
          const st = await this.engine.state(id).catch(() => null);
          if (st?.monitorAlive) {
            await sleep(Math.min(20, 1 + i));
            continue;
          }
          // It may have recorded the exit and gone between the two reads.
          return this.view(id);
        }
        return v;
      }
      if (Date.now() >= deadline) return null;
      const next = Math.min(deadline, Date.now() + 50);
      let j = 0;
      do await sleep(Math.min(10, 1 + j++));
      while (v.pid > 0 && isSameProcess(v.pid, undefined) && Date.now() < next && !signal?.aborted);
    }
  }

  /**
   * Docker's stop: the stop signal (--stop-signal, the image's StopSignal,
   * else SIGTERM), then SIGKILL after `timeoutSec` (default --stop-timeout,
   * else 10; -1 waits for ever). Returns false if it was not running.
   */
  async stop(id: string, timeoutSec?: number, signal?: NodeJS.Signals | number): Promise<boolean> {
    // First its policy is ended: no restart after this stop, and none that was waiting.
    const v = await this.endPolicy(await this.view(id));
    if (v.status === 'restarting') {
      // Its wait was cancelled: it is exited now (its exit was journaled and its networks left before the wait).
      await this.event('stop', v.record);
      return true;
    }
    if (v.status !== 'running' && v.status !== 'paused') return false;
    signal ??= v.record.request?.stopSignal ? parseSignal(v.record.request.stopSignal) : 'SIGTERM';
    timeoutSec ??= v.record.request?.stopTimeout ?? 10;
    if (timeoutSec < 0) timeoutSec = Infinity;
    // Each kill is journaled before it is sent, as Docker does: the monitor journals the die.
    await this.event('kill', v.record, { signal });
    await this.engine.kill(id, signal).catch(ignoreNotRunning);
    if (v.status === 'paused') await this.engine.cgroup(await this.engine.load(id)).thaw().catch(() => {});
    if (!(await this.waitStopped(id, timeoutSec * 1000))) {
      await this.event('kill', v.record, { signal: 'SIGKILL' });
      await this.engine.kill(id, 'SIGKILL', true).catch(ignoreNotRunning);
      await this.waitStopped(id);
    }
    await this.cleanup(id); // journals the die first
    await this.event('stop', v.record);
    return true;
  }

  /**
   * What a container that stopped leaves behind on its networks (ports,
   * interfaces, leases, peers' hosts lines) is released; the monitor runs
   * this after an exit. Nothing is done while the container runs or starts
   * again, nor for a container that is gone. Then its restart policy
   * decides whether it starts again (restartByPolicy), which may wait.
   */
  async cleanup(id: string): Promise<void> {
    await this.journalExit(id);
    const rec = await this.deps.store.read(id).catch(() => null);
    const net = rec?.request?.network;
    if (net?.networks) await this.releaseNetworks(id, net);
    // Addresses are released first; the policy's start asks for the same ones again.
    if (restarts(rec?.request?.restartPolicy)) await this.restartByPolicy(id);
  }

  private async releaseNetworks(id: string, net: NetworkRequest): Promise<void> {
    const { disconnectNetworks } = await Containers.net();
    const nets = await this.networks();
    await this.netLocked(id, async () => {
      const v = await this.view(id).catch(() => null);
      if (!v || v.status === 'running' || v.status === 'paused' || (v.status === 'created' && (await this.engine.exists(id)))) return;
      await disconnectNetworks(nets, id, net);
    }).catch((err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed meanwhile
    });
  }

  /** Published ports of a container (`tsrun port`), from the kernel's rules. */
  async ports(id: string): Promise<PublishedPort[]> {
    const rec = await this.deps.store.read(id);
    if (!rec.request?.network?.networks) return [];
    return (await this.networks()).ports(id);
  }

  /**
   * `tsrun update`: new limits (parsed with parseResourceFlags' `update`)
   * for a running container's cgroup, and for every later start; see
   * runtime/update.ts. Under the start lock: not while the container
   * starts (which reads its limits), nor beside another record change.
   */
  async update(id: string, change: import('./update.js').ResourceChange, onWarning?: (message: string) => void): Promise<void> {
    const { updateContainer } = await import('./update.js');
    await this.startLocked(id, () =>
      updateContainer({
        store: this.deps.store, engine: this.engine, onWarning,
        live: async (ref) => ['running', 'paused'].includes((await this.view(ref)).status),
        hostResources: (r) => this.hostResources(r, onWarning),
      }, id, change),
    );
  }

  /** Limits without what this host's cgroups cannot apply (--blkio-weight, --oom-kill-disable), each dropped with Docker's warning. */
  private async hostResources(r: LinuxResources, onWarning?: (message: string) => void): Promise<LinuxResources> {
    if (!r.blockIO?.weight && !r.memory?.disableOOMKiller) return r;
    const { adaptToHost, hostSupport } = await import('../cgroups/support.js');
    const { resources, warnings } = adaptToHost(r, hostSupport({ native: this.deps.native, ...this.deps.cgroups }));
    warnings.forEach((w) => onWarning?.(w));
    return resources;
  }

  /** This tsrun, on the same stores, running ARGS (what a monitor runs after an exit, or a detached run's --rm). */
  selfCommand(...args: string[]): string[] {
    return [...(this.deps.selfCommand ?? defaultSelfCommand()), '--root', this.deps.root, '--runroot', this.deps.runroot, ...args];
  }

  /** A running container's network traffic (`stats` NET I/O), from its init's namespace; null when it has none of its own. */
  async netIO(view: ContainerView): Promise<import('./net-stats.js').NetIO | null> {
    if (!view.pid || view.record.request?.network?.mode === 'host') return null;
    return (await import('./net-stats.js')).readNetIO(view.pid);
  }

  /** `network connect`: joins now if the container runs, and at every start from now on. */
  async connect(id: string, network: string, ep: EndpointRequest): Promise<void> {
    const { connectRunning, endpointRequest } = await Containers.net();
    const nets = await this.networks();
    const net = await nets.get(network);
    await this.netLocked(id, async () => {
      const rec = await this.deps.store.read(id);
      const req = rec.request?.network;
      if (!req?.networks) {
        throw new TsrunError('INVALID_ARGUMENT', `container ${rec.name} uses network mode ${req?.mode ?? 'none'} and cannot be connected to another network`);
      }
      if (req.networks[net.Name]) throw new TsrunError('NAME_IN_USE', `container ${rec.name} is already connected to network ${net.Name}`);
      const endpoint = await endpointRequest(net.Name, ep, (n) => nets.store.find(n));
      const v = await this.view(id);
      let settings = rec.networkSettings;
      if (v.status === 'running' || v.status === 'paused') {
        const att = await connectRunning(nets, { id, name: rec.name, pid: v.pid, hostname: v.spec.hostname ?? '', network: net.Name, endpoint });
        settings = { networks: { ...(settings?.networks ?? {}), [net.Name]: att }, ports: settings?.ports ?? [] };
      }
      const latest = await this.deps.store.read(id);
      await this.deps.store.update({
        ...latest,
        request: { ...latest.request!, network: { ...req, networks: { ...req.networks, [net.Name]: endpoint } } },
        networkSettings: settings,
      });
    });
  }

  /** `network disconnect`: leaves now, and is not joined again at the next start. */
  async disconnect(id: string, network: string): Promise<void> {
    const nets = await this.networks();
    const net = await nets.get(network);
    await this.netLocked(id, async () => {
      const rec = await this.deps.store.read(id);
      const req = rec.request?.network;
      if (!req?.networks?.[net.Name]) throw new TsrunError('INVALID_ARGUMENT', `container ${rec.name} is not connected to network ${net.Name}`);
      const first = Object.keys(req.networks)[0] === net.Name;
      if (first && req.publish?.length) await nets.unpublish(id);
      await nets.disconnect(id, net.Name);
      const { [net.Name]: _gone, ...networks } = req.networks;
      const { [net.Name]: _left, ...attached } = rec.networkSettings?.networks ?? {};
      const latest = await this.deps.store.read(id);
      await this.deps.store.update({
        ...latest,
        request: { ...latest.request!, network: { ...req, networks } },
        networkSettings: rec.networkSettings ? { networks: attached, ports: first ? [] : rec.networkSettings.ports } : undefined,
      });
    });
  }

  async kill(id: string, signal: NodeJS.Signals | number): Promise<void> {
    const v = await this.view(id);
    if (v.status !== 'running' && v.status !== 'paused' && v.status !== 'restarting') {
      throw new TsrunError('INVALID_STATE', `cannot kill container: ${v.record.name}: container ${id} is not running`);
    }
    // Docker: a user's kill (whatever the signal) ends the policy too; of a restarting container, that is all it does.
    if ((await this.endPolicy(v)).status === 'restarting') return;
    // With its policy ended, one that exited meanwhile is as stopped as the kill meant it to be.
    await this.event('kill', v.record, { signal });
    await this.engine.kill(id, signal).catch(restarts(v.record.request?.restartPolicy) ? ignoreNotRunning : undefined);
  }

  async pause(id: string): Promise<void> {
    const v = await this.view(id);
    if (v.status === 'paused') throw new TsrunError('INVALID_STATE', `container ${id} is already paused`);
    if (v.status !== 'running') throw new TsrunError('INVALID_STATE', `container ${id} is not running`);
    await this.engine.pause(id);
    await this.event('pause', v.record);
  }

  async unpause(id: string): Promise<void> {
    const v = await this.view(id);
    if (v.status !== 'paused') throw new TsrunError('INVALID_STATE', `container ${id} is not paused`);
    await this.engine.resume(id);
    await this.event('unpause', v.record);
  }

  /** Removes record, instance, cgroup and log; a running container only with `force`. */
  async remove(id: string, force = false, removeVolumes = false): Promise<void> {
    const v = await this.view(id);
    if ((v.status === 'running' || v.status === 'paused' || v.status === 'restarting') && !force) {
      throw new TsrunError(
        'INVALID_STATE',
        `cannot remove container "/${v.record.name}": container is ${v.status}: stop the container before removing or force remove`,
      );
    }
    await this.endPolicy(v);
    if (v.status === 'running' || v.status === 'paused') await this.killForRemove(id, v);
    await this.journalExit(id);
    if (await this.engine.exists(id)) await this.engine.delete(id, true);
    // A CLI killed between the instance's mkdir and its first state write
    // left a directory with no state (and so no process or cgroup yet).
    else removeDir(this.engine.dir(id));
    const net = v.record.request?.network;
    if (net?.networks) await this.leaveNetworks(id, net);
    if (v.record.request?.imageId) await this.images().rootfs.remove(id);
    await this.deps.store.remove(v.record);
    await this.event('destroy', v.record);
    if (v.spec.linux?.uidMappings) await (await import('../spec/userns.js')).releaseUserns(this.deps.root, id, fileLocker(this.deps.native));
    // `rm -v` and `run --rm` (Docker's AutoRemove) take the anonymous volumes along, unless another container uses one.
    if (removeVolumes || v.record.request?.autoRemove) {
      for (const m of v.record.request?.mounts ?? []) {
        if (m.Type === 'volume' && m.Anonymous && m.Name) await this.deps.volumes?.remove(m.Name, true).catch(() => {});
      }
    }
  }

  /**
   * A user's stop, kill or rm of a container with a restart policy: under
   * the start lock, recorded as stopped by the user (Docker's
   * HasBeenManuallyStopped: no restart by the policy until a user starts it
   * again; `unless-stopped` stays down across reboots too), and a restart
   * that waits out its delay is cancelled (its waiting process killed: it
   * holds nothing then). Returns the container as it was before.
   */
  private async endPolicy(v: ContainerView): Promise<ContainerView> {
    if (!restarts(v.record.request?.restartPolicy)) return v;
    const id = v.record.id;
    return this.startLocked(id, async () => {
      const now = await this.view(id);
      const r = now.record;
      const wait = r.restart?.pending;
      if (wait && isSameProcess(wait.pid, wait.pidStart) && wait.pid !== process.pid) signalPid(wait.pid, 'SIGKILL');
      await this.deps.store.update({ ...r, manuallyStopped: true, restart: r.restart && { count: r.restart.count, delayMs: r.restart.delayMs } });
      return now;
    });
  }

  /**
   * A restart policy's work after an exit, in the monitor's exit command (no
   * other tsrun process runs): under the start lock, decide by the policy,
   * the exit code and a user's stop, and record the wait (inspect's
   * Restarting, RestartCount); sleep the delay; then under the lock again
   * start the container through start(), unless a user stopped, killed,
   * removed or started it meanwhile. A process killed while it waits leaves
   * a pending pid that is dead: the container is then just exited, and its
   * next start makes one instance as any start does.
   */
  private async restartByPolicy(id: string): Promise<void> {
    const wait = await this.startLocked(id, async (): Promise<PendingRestart | undefined> => {
      const v = await this.view(id);
      const r = v.record;
      // A fresh exit of an instance (not a container started or reset meanwhile) that no other process restarts already.
      const st = await this.engine.state(id).catch(() => null);
      if (st?.status !== 'stopped' || (r.restart?.pending && restartPending(r))) return undefined;
      const book = r.restart ?? { count: 0, delayMs: 0 };
      if (!shouldRestart(r.request?.restartPolicy, { exitCode: v.exitCode, manuallyStopped: !!r.manuallyStopped, count: book.count })) return undefined;
      const ran = Date.parse(v.finishedAt ?? '') - Date.parse(r.startedAt ?? '');
      const delayMs = nextRestartDelay(book.delayMs, Number.isNaN(ran) ? 0 : ran);
      const pending: PendingRestart = { pid: process.pid, pidStart: pidStartTime(process.pid) ?? undefined, bootId: bootId(), since: isoTime(), delayMs };
      await this.deps.store.update({ ...r, restartCount: (r.restartCount ?? 0) + 1, restart: { count: book.count + 1, delayMs, pending } });
      return pending;
    }).catch(ignoreGone);
    if (!wait) return;
    await sleep(wait.delayMs);
    await this.startLocked(id, async () => {
      const r = await this.deps.store.read(id);
      const mine = r.restart?.pending?.pid === process.pid && r.restart.pending.since === wait.since;
      if (!mine || r.manuallyStopped || !restarts(r.request?.restartPolicy)) return;
      // The last run's addresses, asked for again (where another container took one meanwhile, a new one).
      const asked = Object.keys(r.request?.network?.networks ?? {}).filter((n) => !r.request!.network!.networks![n].ip && r.networkSettings?.networks[n]?.ip);
      const addresses = asked.length ? Object.fromEntries(asked.map((n) => [n, r.networkSettings!.networks[n].ip])) : undefined;
      let error: unknown;
      await this.startUnlocked(id, { byPolicy: true, addresses })
        .catch((err) => {
          if (!addresses) throw err;
          return this.startUnlocked(id, { byPolicy: true });
        })
        .catch((err) => void (error = err ?? 'failed'));
      // Started (pending already cleared) or failed: a failed start ends the restarts, as in Docker, and says why.
      const latest = await this.deps.store.read(id).catch(() => null);
      if (latest?.restart?.pending?.since === wait.since) {
        const startError = error ? (error instanceof Error ? error.message : String(error)) : undefined;
        await this.deps.store.update({ ...latest, restart: { count: latest.restart.count, delayMs: latest.restart.delayMs }, startError });
      }
      if (error) throw error;
    }).catch(ignoreGone);
  }

  /**
   * Docker's `update --restart`: the container's policy from now on, this
   * run's exit included (every container but a --rm one runs with the exit
   * command that applies it).
   */
  async setRestartPolicy(id: string, policy: RestartPolicy): Promise<void> {
    validateRestartPolicy(policy);
    await this.startLocked(id, async () => {
      const r = await this.deps.store.read(id);
      if (restarts(policy) && r.request?.autoRemove) {
        throw new TsrunError('INVALID_ARGUMENT', 'Restart policy cannot be updated because AutoRemove is enabled for the container');
      }
      const { restartPolicy: _old, ...request } = r.request ?? { image: '' };
      await this.deps.store.update({ ...r, request: { ...request, ...(restarts(policy) ? { restartPolicy: policy } : {}) } });
    });
  }

  /**
   * `system boot`, run once when the host has started (a systemd unit):
   * starts the containers whose policy says so after a reboot (always;
   * unless-stopped that no user stopped; see startsAtBoot) and that are not
   * running. One that fails (a container:NAME join whose container starts
   * later) is tried again after the others. Returns the ids started and
   * the failures.
   */
  async boot(): Promise<{ started: string[]; failed: Array<{ id: string; name: string; error: unknown }> }> {
    const started: string[] = [];
    let failed: Array<{ id: string; name: string; error: unknown }> = [];
    const due: ContainerState[] = [];
    for (const id of await this.deps.store.ids()) {
      const r = await this.deps.store.read(id).catch(() => null);
      if (r && startsAtBoot(r.request?.restartPolicy, { startedBefore: !!r.startedAt, manuallyStopped: !!r.manuallyStopped })) due.push(r);
    }
    for (const round of [0, 1]) {
      const todo = round === 0 ? due : failed.map((f) => due.find((r) => r.id === f.id)!);
      failed = [];
      for (const r of todo) {
        try {
          const v = await this.view(r.id);
          if (v.status === 'running' || v.status === 'paused' || v.status === 'restarting') continue;
          await this.start(r.id);
          started.push(r.id);
        } catch (error) {
          failed.push({ id: r.id, name: r.name, error });
        }
      }
      if (!failed.length) break;
    }
    return { started, failed };
  }

  /**
   * `container prune`: every stopped or created container the filters
   * allow (until= its creation time, label= its labels). Returns the ids
   * removed and the bytes of their writable layers.
   */
  async prune(filters?: PruneFilters): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of await this.list(true)) {
      if (v.status !== 'exited' && v.status !== 'created') continue;
      if (!matchesPruneFilters(filters, { created: v.record.created, labels: v.record.request?.labels })) continue;
      const size = v.record.request?.imageId ? await diskUsage(this.images().rootfs.paths(v.record.id).upper) : 0;
      // Skip (not fail on) one that started or vanished meanwhile.
      if (await this.remove(v.record.id).then(() => true, () => false)) {
        deleted.push(v.record.id);
        reclaimed += size;
      }
    }
    return { deleted, reclaimed };
  }

  /** Builds the exec process from the container's own (env, user, caps), then the exec options. */
  async execProcess(id: string, opts: { args: string[]; env?: string[]; workdir?: string; user?: string; tty?: boolean; privileged?: boolean }): Promise<OciProcess> {
    const { resolveExecUser } = await import('../spec/user.js');
    const { mergeEnv, parseEnvOption } = await import('../spec/env.js');
    const spec = await this.deps.store.readSpec(id);
    if (opts.args.length === 0) throw new TsrunError('INVALID_ARGUMENT', 'exec needs a command');
    const user = opts.user ? (await resolveExecUser(spec.root.path, opts.user)).user : spec.process.user;
    const env = mergeEnv(spec.process.env ?? [], (opts.env ?? []).map((e) => parseEnvOption(e, this.deps.hostEnv)));
    const cwd = opts.workdir ?? spec.process.cwd;
    if (!cwd.startsWith('/')) throw new TsrunError('INVALID_ARGUMENT', `the working directory '${cwd}' is invalid, it needs to be an absolute path`);
    // Docker's `exec --privileged`: every capability tsrun holds, whatever the container's own.
    const capabilities = opts.privileged ? await allCapabilities() : spec.process.capabilities;
    return { ...spec.process, terminal: !!opts.tty, args: opts.args, env, user, cwd, capabilities, consoleSize: undefined };
  }
}

/** The request's bridge networks, each asking for `addresses[network]` unless it names its own --ip. */
function withAddresses(net: NetworkRequest, addresses: Record<string, string> | undefined): NetworkRequest {
  if (!addresses || !net.networks) return net;
  const networks = Object.fromEntries(Object.entries(net.networks).map(([n, ep]) => [n, ep.ip || !addresses[n] ? ep : { ...ep, ip: addresses[n] }]));
  return { ...net, networks };
}

function ignoreGone(err: unknown): undefined {
  if (err instanceof TsrunError && err.code === 'CONTAINER_NOT_FOUND') return undefined;
  throw err;
}

function releaseLock(fd: number | undefined): void {
  if (fd !== undefined) closeSync(fd);
}

function ignoreNotRunning(err: unknown): void {
  if (!(err instanceof TsrunError && err.code === 'INVALID_STATE')) throw err;
}

/** The image's ExposedPorts with --expose's keys added. */
function exposedPorts(image: Record<string, unknown> | undefined, expose: string[] | undefined): Record<string, Record<string, never>> {
  const out: Record<string, Record<string, never>> = {};
  for (const key of [...Object.keys(image ?? {}), ...(expose ?? [])]) out[key] = {};
  return out;
}

function defaultSelfCommand(): string[] {
  return [process.execPath, '--', fileURLToPath(new URL('../../bin/tsrun', import.meta.url))];
}

// A sleep an abort cuts short: it resolves, and the caller looks at the signal.
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => {});
}

/** Every capability tsrun holds, in each set a process gets (Docker's privileged exec). */
async function allCapabilities(): Promise<OciCapabilities> {
  const all = (await import('../spec/capabilities.js')).hostCapabilities();
  return { bounding: all, effective: all, permitted: all };
}
