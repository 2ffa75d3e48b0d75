// Docker's container verbs over the engine: a container record in the store
// (its OCI config.json is the bundle), and at most one engine instance of it
// at a time, run under a tsrun-monitor. Status is always derived: from the
// engine (kernel + monitor files) while an instance exists, else from the
// record.
import { rmSync } from 'node:fs';
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
import type { OciProcess, OciSpec } from '../spec/oci.js';
import type { ImageView, Images, PullPolicy } from '../image/images.js';
import type { Platform } from '../image/platform.js';
import type { PullEvent } from '../image/pull.js';
import type { EndpointRequest, NetworkFlags, NetworkRequest } from './container-network.js';
import type { Networks } from '../network/networks.js';
import type { NetworkRecord } from '../network/config.js';
import type { PublishedPort } from '../network/nat.js';
import { fileLocker } from '../util/lock.js';
import { mapLimit } from '../util/map-limit.js';
import { diskUsage } from '../util/du.js';
import { matchesPruneFilters, type PruneFilters } from '../util/prune-filters.js';
import { isSameProcess } from './proc.js';
import { parseSignal } from './signals.js';
import type { MountSpec, VolumesFromSpec } from '../volume/flags.js';
import type { PreparedMounts } from '../volume/mounts.js';
import type { VolumeStore } from '../volume/store.js';
import { Engine, type EngineState, type MonitorExit } from './engine.js';
import { newContainerId, type ContainerRequest, type ContainerState, type ContainerStore } from './store.js';

export type DockerStatus = 'created' | 'running' | 'paused' | 'exited';

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
  autoRemove?: boolean;
  cgroupParent?: string;
  limits?: ContainerRequest['limits'];
  /** -v, --mount, --tmpfs (volume/flags.ts parses them). */
  mounts?: MountSpec[];
  volumesFrom?: VolumesFromSpec[];
  /** --userns, --uidmap, --gidmap (spec/userns.ts). */
  userns?: UsernsOptions;
  /** --label/--label-file: over the image's labels. */
  labels?: Record<string, string>;
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

// An exit the monitor could not record: Docker reports such a container as
// exited; the code is unknown.
const UNKNOWN_EXIT = 255;

// Containers `list` and `summaries` read at once. Their files are read
// synchronously today; the bound keeps any that waits (and holds a file
// open) from reaching EMFILE on a host with thousands of containers.
const LIST_PARALLEL = 32;

export class Containers {
  readonly engine: Engine;

  constructor(private readonly deps: ContainersDeps) {
    this.engine = new Engine({
      native: deps.native, stateDir: join(deps.runroot, 'containers'), cgroups: deps.cgroups, seccompCacheDir: join(deps.runroot, 'seccomp'),
    });
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
      exposedPorts: image?.config.config?.ExposedPorts,
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
    // Docker: the image's labels, with the user's over them.
    const labels = { ...imageLabels, ...req.labels };
    const request: ContainerRequest = {
      image: req.image ?? rootfs,
      ...(image ? { imageId: image.record.id } : {}),
      ...(stopSignal ? { stopSignal } : {}),
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(req.annotations && Object.keys(req.annotations).length ? { annotations: req.annotations } : {}),
      openStdin: !!req.openStdin,
      autoRemove: !!req.autoRemove,
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

  /**
   * The status fields of a view: from the engine instance (kernel +
   * monitor files) while there is one, else from the record. Read without
   * locks: every file is replaced whole (atomic-write.ts).
   */
  private async status(id: string, record: ContainerState): Promise<Omit<ContainerView, 'record' | 'spec'>> {
    const base = { pid: 0, exitCode: record.exitCode ?? 0, oomKilled: !!record.oomKilled, startedAt: record.startedAt, finishedAt: record.finishedAt };
    const instance = await this.engine.find(id);
    if (!instance) return { ...base, status: record.status === 'created' ? 'created' : 'exited' };
    const st = await this.engine.state(id, instance);
    switch (st.status) {
      case 'running':
      case 'paused':
        return { ...base, status: st.status, pid: st.pid, finishedAt: undefined, exitCode: 0, oomKilled: false };
      case 'created':
      case 'creating':
        return { ...base, status: 'created' };
      case 'stopped':
        return { ...base, status: 'exited', ...exitFields(st) };
    }
  }

  /** Every container (`all`), or the running and paused ones, newest first. */
  async list(all: boolean): Promise<ContainerView[]> {
    return this.each(all, (id) => this.view(id));
  }

  /**
   * `ps`: list() without the specs (Docker's container summaries). The
   * command and image come from the record; only a record older than its
   * `command` field has its spec read.
   */
  async summaries(all: boolean): Promise<ContainerSummary[]> {
    return this.each(all, async (id) => {
      const record = await this.deps.store.read(id);
      let { command } = record;
      let image = record.request?.image;
      if (!command || !image) {
        const spec = await this.deps.store.readSpec(id);
        command ??= spec.process.args;
        image ??= spec.root.path;
      }
      return { record, command, image, ...(await this.status(id, record)) };
    });
  }

  // Reads every container at once (a bounded number in flight), without
  // locks; one removed meanwhile, or still being created, is left out.
  private async each<T extends { record: ContainerState; status: DockerStatus }>(all: boolean, read: (id: string) => Promise<T>): Promise<T[]> {
    const found = await mapLimit(await this.deps.store.dirIds(), LIST_PARALLEL, (id) => read(id).catch(() => null));
    const shown = found.filter((v): v is T => v !== null && (all || v.status === 'running' || v.status === 'paused'));
    // ISO 8601 times in one format sort as plain strings (localeCompare
    // would first load ICU's collator: ~9 ms).
    return shown.sort((a, b) => (a.record.created < b.record.created ? 1 : a.record.created > b.record.created ? -1 : 0));
  }

  /**
   * Starts a container's process under a monitor. With `attach`, the
   * caller's relay connects before the process runs, so no output is lost.
   */
  async start(id: string, opts: { owner?: boolean; beforeStart?: (stateDir: string) => Promise<void> } = {}): Promise<void> {
    const v = await this.view(id);
    if (v.status === 'running' || v.status === 'paused') return;
    // A previous run's instance: keep its exit in the record, then clear it.
    let record = v.record;
    if (await this.engine.exists(id)) {
      record = { ...record, status: 'exited', exitCode: v.exitCode, oomKilled: v.oomKilled, finishedAt: v.finishedAt };
      await this.deps.store.update(record);
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
      ? await (await Containers.net()).prepareNetwork(net, v.spec, this.deps.store.dir(id), (ref) => this.runningPid(ref))
      : v.spec;
    const spec = await this.joinedNamespaces(record.request?.confinement, netSpec);
    await mounted;
    // --rm: a detached container is removed by its monitor; an attached
    // run's caller removes it (and must not race the monitor doing so).
    // Otherwise, a container on a bridge network leaves it when it exits,
    // by its monitor running `container cleanup` (Podman's conmon does the same).
    const self = [...(this.deps.selfCommand ?? defaultSelfCommand()), '--root', this.deps.root, '--runroot', this.deps.runroot];
    const exitCommand = record.request?.autoRemove
      ? (opts.owner ? undefined : [...self, 'rm', '-f', id])
      : net?.networks ? [...self, 'container', 'cleanup', id] : undefined;
    const rec = await this.engine.create(id, {
      bundle: this.deps.store.dir(id),
      spec,
      reportExecErrors: true,
      monitor: { logPath: this.logPath(id), openStdin: !!record.request?.openStdin, exitCommand, owner: opts.owner },
    });
    let networkSettings;
    try {
      // The caller's attach and the network set-up are independent: side by
      // side, and both settled before a failure is cleaned up.
      const connecting = async () => {
        if (!net?.networks) return;
        const { connectNetworks } = await Containers.net();
        const [nets, ready] = await Promise.all([this.networks(), bridges]);
        networkSettings = await this.netLocked(id, () =>
          connectNetworks(nets, { id, name: record.name, pid: rec.pid, hostname: spec.hostname ?? '', request: net, ready }),
        );
      };
      const failed = (await Promise.allSettled([opts.beforeStart?.(this.engine.dir(id)), connecting()])).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      await this.engine.start(id);
    } catch (err) {
      await this.engine.delete(id, true).catch(() => {});
      if (net?.networks) await this.leaveNetworks(id, net).catch(() => {});
      throw err;
    }
    const restarts = record.startedAt ? (record.restartCount ?? 0) + 1 : 0;
    await this.deps.store.update({
      ...record, status: 'running', pid: rec.pid, startedAt: isoTime(),
      finishedAt: undefined, exitCode: undefined, oomKilled: undefined, restartCount: restarts, networkSettings,
    });
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
   * within a millisecond or two, a long-running one costs little.
   */
  async waitStopped(id: string, timeoutMs = Infinity): Promise<ContainerView | null> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      const v = await this.view(id);
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
      while (v.pid > 0 && isSameProcess(v.pid, undefined) && Date.now() < next);
    }
  }

  /** Docker's stop: the stop signal (the image's StopSignal, else SIGTERM), then SIGKILL after `timeoutSec`. Returns false if it was not running. */
  async stop(id: string, timeoutSec = 10, signal?: NodeJS.Signals | number): Promise<boolean> {
    const v = await this.view(id);
    if (v.status !== 'running' && v.status !== 'paused') return false;
    signal ??= v.record.request?.stopSignal ? parseSignal(v.record.request.stopSignal) : 'SIGTERM';
    await this.engine.kill(id, signal).catch(ignoreNotRunning);
    if (v.status === 'paused') await this.engine.cgroup(await this.engine.load(id)).thaw().catch(() => {});
    if (!(await this.waitStopped(id, timeoutSec * 1000))) {
      await this.engine.kill(id, 'SIGKILL', true).catch(ignoreNotRunning);
      await this.waitStopped(id);
    }
    await this.cleanup(id);
    return true;
  }

  /**
   * What a container that stopped leaves behind on its networks (ports,
   * interfaces, leases, peers' hosts lines) is released; the monitor runs
   * this after an exit. Nothing is done while the container runs or starts
   * again, nor for a container that is gone.
   */
  async cleanup(id: string): Promise<void> {
    const rec = await this.deps.store.read(id).catch(() => null);
    const net = rec?.request?.network;
    if (!net?.networks) return;
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
    if (v.status !== 'running' && v.status !== 'paused') {
      throw new TsrunError('INVALID_STATE', `cannot kill container: ${v.record.name}: container ${id} is not running`);
    }
    await this.engine.kill(id, signal);
  }

  async pause(id: string): Promise<void> {
    const v = await this.view(id);
    if (v.status === 'paused') throw new TsrunError('INVALID_STATE', `container ${id} is already paused`);
    if (v.status !== 'running') throw new TsrunError('INVALID_STATE', `container ${id} is not running`);
    await this.engine.pause(id);
  }

  async unpause(id: string): Promise<void> {
    const v = await this.view(id);
    if (v.status !== 'paused') throw new TsrunError('INVALID_STATE', `container ${id} is not paused`);
    await this.engine.resume(id);
  }

  /** Removes record, instance, cgroup and log; a running container only with `force`. */
  async remove(id: string, force = false, removeVolumes = false): Promise<void> {
    const v = await this.view(id);
    if ((v.status === 'running' || v.status === 'paused') && !force) {
      throw new TsrunError(
        'INVALID_STATE',
        `cannot remove container "/${v.record.name}": container is ${v.status}: stop the container before removing or force remove`,
      );
    }
    if (await this.engine.exists(id)) await this.engine.delete(id, true);
    // A CLI killed between the instance's mkdir and its first state write
    // left a directory with no state (and so no process or cgroup yet).
    else rmSync(this.engine.dir(id), { recursive: true, force: true });
    const net = v.record.request?.network;
    if (net?.networks) await this.leaveNetworks(id, net);
    if (v.record.request?.imageId) await this.images().rootfs.remove(id);
    await this.deps.store.remove(v.record);
    if (v.spec.linux?.uidMappings) await (await import('../spec/userns.js')).releaseUserns(this.deps.root, id, fileLocker(this.deps.native));
    // `rm -v` and `run --rm` (Docker's AutoRemove) take the anonymous volumes along, unless another container uses one.
    if (removeVolumes || v.record.request?.autoRemove) {
      for (const m of v.record.request?.mounts ?? []) {
        if (m.Type === 'volume' && m.Anonymous && m.Name) await this.deps.volumes?.remove(m.Name, true).catch(() => {});
      }
    }
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
  async execProcess(id: string, opts: { args: string[]; env?: string[]; workdir?: string; user?: string; tty?: boolean }): Promise<OciProcess> {
    const { resolveExecUser } = await import('../spec/user.js');
    const { mergeEnv, parseEnvOption } = await import('../spec/env.js');
    const spec = await this.deps.store.readSpec(id);
    if (opts.args.length === 0) throw new TsrunError('INVALID_ARGUMENT', 'exec needs a command');
    const user = opts.user ? (await resolveExecUser(spec.root.path, opts.user)).user : spec.process.user;
    const env = mergeEnv(spec.process.env ?? [], (opts.env ?? []).map((e) => parseEnvOption(e, this.deps.hostEnv)));
    const cwd = opts.workdir ?? spec.process.cwd;
    if (!cwd.startsWith('/')) throw new TsrunError('INVALID_ARGUMENT', `the working directory '${cwd}' is invalid, it needs to be an absolute path`);
    return { ...spec.process, terminal: !!opts.tty, args: opts.args, env, user, cwd, consoleSize: undefined };
  }
}

function exitFields(st: EngineState): Pick<ContainerView, 'exitCode' | 'oomKilled' | 'finishedAt' | 'error'> {
  const exit: MonitorExit | undefined = st.exit;
  if (exit) return { exitCode: exit.exitCode, oomKilled: exit.oomKilled, finishedAt: exit.finishedAt };
  return { exitCode: UNKNOWN_EXIT, oomKilled: false, error: 'the container monitor exited before recording the exit status' };
}

function ignoreNotRunning(err: unknown): void {
  if (!(err instanceof TsrunError && err.code === 'INVALID_STATE')) throw err;
}

function defaultSelfCommand(): string[] {
  return [process.execPath, '--', fileURLToPath(new URL('../../bin/tsrun', import.meta.url))];
}
