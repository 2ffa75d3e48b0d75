// Docker's `inspect` document for a container, from the merged view.
import type { ContainerView } from './containers.js';
import { INIT_ANNOTATION } from '../spec/annotations.js';
import { DEFAULT_SHM_SIZE, type ConfinementHostConfig } from '../spec/security.js';
import type { PortSpec } from '../network/ports.js';
import type { PortMapping } from '../network/nat.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function inspectDocument(v: ContainerView, logPath: string): Record<string, unknown> {
  const { record: r, spec } = v;
  const res = spec.linux?.resources;
  const p = spec.process;
  const running = v.status === 'running' || v.status === 'paused';
  return {
    Id: r.id,
    Created: r.created,
    Path: p.args[0],
    Args: p.args.slice(1),
    State: {
      Status: v.status,
      // Docker counts a restarting container as running (its State.Running), with no pid and the last exit's code and time.
      Running: running || v.status === 'restarting',
      Paused: v.status === 'paused',
      Restarting: v.status === 'restarting',
      OOMKilled: v.oomKilled,
      Dead: false,
      Pid: v.pid,
      ExitCode: v.exitCode,
      Error: v.error ?? (v.status === 'exited' ? r.startError : undefined) ?? '',
      StartedAt: v.startedAt ?? ZERO_TIME,
      FinishedAt: running ? ZERO_TIME : (v.finishedAt ?? ZERO_TIME),
      ...(v.health ? { Health: v.health } : {}),
    },
    // Docker: the image id here, the name the user gave in Config.Image.
    Image: r.request?.imageId ?? r.request?.image ?? spec.root.path,
    LogPath: r.request?.logConfig?.Type === 'none' ? '' : logPath,
    Name: `/${r.name}`,
    RestartCount: r.restartCount ?? 0,
    Driver: r.request?.imageId ? 'overlay' : 'rootfs',
    Platform: 'linux',
    Mounts: (r.request?.mounts ?? []).map(({ Anonymous: _a, Options: _o, ...m }) => m),
    HostConfig: {
      Binds: r.request?.binds ?? null,
      LogConfig: r.request?.logConfig ?? { Type: 'json-file', Config: {} },
      Tmpfs: Object.fromEntries((r.request?.mounts ?? []).filter((m) => m.Type === 'tmpfs').map((m) => [m.Destination, (m.Options ?? []).join(',')])),
      AutoRemove: !!r.request?.autoRemove,
      RestartPolicy: r.request?.restartPolicy ?? { Name: 'no', MaximumRetryCount: 0 },
      ReadonlyRootfs: !!spec.root.readonly,
      Init: spec.annotations?.[INIT_ANNOTATION] === 'true',
      CgroupParent: r.request?.cgroupParent ?? '',
      Memory: res?.memory?.limit ?? 0,
      MemorySwap: res?.memory?.swap ?? 0,
      // --cpus's quota; --cpu-period and --cpu-quota are their own fields.
      NanoCpus: res?.cpu?.quota && res.cpu.period && !r.request?.limits?.cpuPeriod && !r.request?.limits?.cpuQuota ? Math.round((res.cpu.quota / res.cpu.period) * 1e9) : 0,
      CpuShares: res?.cpu?.shares ?? 0,
      CpuPeriod: res?.cpu?.period ?? 0,
      CpuQuota: res?.cpu?.quota ?? 0,
      CpusetCpus: res?.cpu?.cpus ?? '',
      CpusetMems: res?.cpu?.mems ?? '',
      MemoryReservation: res?.memory?.reservation ?? 0,
      OomKillDisable: !!res?.memory?.disableOOMKiller,
      BlkioWeight: res?.blockIO?.weight ?? 0,
      ContainerIDFile: r.request?.cidfile ?? '',
      PidsLimit: res?.pids?.limit ?? null,
      BlkioDeviceReadBps: res?.blockIO?.throttleReadBpsDevice ?? null,
      BlkioDeviceWriteBps: res?.blockIO?.throttleWriteBpsDevice ?? null,
      NetworkMode: r.request?.network?.mode ?? 'none',
      PortBindings: portBindings(r.request?.network?.publish ?? []),
      PublishAllPorts: false,
      ExtraHosts: r.request?.network?.extraHosts.map((h) => `${h.host}:${h.ip}`) ?? null,
      Dns: r.request?.network?.dns ?? [],
      DnsSearch: r.request?.network?.dnsSearch ?? [],
      DnsOptions: r.request?.network?.dnsOptions ?? [],
      ...confinement(r.request?.confinement),
      // Docker 24's field, left out when empty as Docker does.
      ...(r.request?.annotations ? { Annotations: r.request.annotations } : {}),
      MaskedPaths: spec.linux?.maskedPaths ?? [],
      ReadonlyPaths: spec.linux?.readonlyPaths ?? [],
    },
    NetworkSettings: networkSettings(v, running),
    Config: {
      Hostname: spec.hostname ?? '',
      User: p.user.username ?? (p.user.uid === 0 && p.user.gid === 0 ? '' : `${p.user.uid}:${p.user.gid}`),
      Tty: !!p.terminal,
      AttachStdin: r.request?.attach?.stdin ?? false,
      AttachStdout: r.request?.attach?.stdout ?? false,
      AttachStderr: r.request?.attach?.stderr ?? false,
      ...(r.request?.exposedPorts ? { ExposedPorts: r.request.exposedPorts } : {}),
      OpenStdin: !!r.request?.openStdin,
      StdinOnce: !!r.request?.stdinOnce,
      Env: p.env ?? [],
      Cmd: p.args,
      ...(r.request?.healthcheck ? { Healthcheck: r.request.healthcheck } : {}),
      Image: r.request?.image ?? spec.root.path,
      WorkingDir: p.cwd,
      Entrypoint: null,
      Labels: r.request?.labels ?? {},
      ...(r.request?.stopSignal ? { StopSignal: r.request.stopSignal } : {}),
      ...(r.request?.stopTimeout !== undefined ? { StopTimeout: r.request.stopTimeout } : {}),
    },
  };
}

/** Docker's HostConfig fields of the confinement flags (its defaults for a container made without them). */
function confinement(c: ConfinementHostConfig | undefined): ConfinementHostConfig {
  return c ?? {
    Privileged: false, CapAdd: null, CapDrop: null, SecurityOpt: null, Devices: [], DeviceCgroupRules: null, Ulimits: null,
    ShmSize: DEFAULT_SHM_SIZE, GroupAdd: null, OomScoreAdj: 0, CgroupnsMode: 'private', IpcMode: 'private', PidMode: '', UTSMode: '',
  };
}

type Bindings = Record<string, Array<{ HostIp: string; HostPort: string }>>;

function portBindings(specs: Array<PortSpec | PortMapping>): Bindings {
  const out: Bindings = {};
  for (const p of specs) {
    const key = `${p.containerPort}/${p.protocol}`;
    const hostPort = p.hostPort === 0 ? '' : 'hostPortEnd' in p && p.hostPortEnd ? `${p.hostPort}-${p.hostPortEnd}` : String(p.hostPort);
    (out[key] ??= []).push({ HostIp: p.hostIp, HostPort: hostPort });
  }
  return out;
}

/** Docker's NetworkSettings: addresses and ports while the container runs; the top-level address fields are the default bridge's (also the API's container list). */
export function networkSettings(v: Pick<ContainerView, 'record'>, running: boolean): Record<string, unknown> {
  const s = running ? v.record.networkSettings : undefined;
  const networks: Record<string, unknown> = {};
  for (const name of Object.keys(v.record.request?.network?.networks ?? {})) {
    const a = s?.networks[name];
    const ep = v.record.request?.network?.networks?.[name];
    networks[name] = {
      IPAMConfig: ep?.ip ? { IPv4Address: ep.ip } : null,
      Aliases: a?.aliases ?? ep?.aliases ?? null,
      MacAddress: a?.mac ?? '',
      Gateway: a?.gateway ?? '',
      IPAddress: a?.ip ?? '',
      IPPrefixLen: a?.prefixLen ?? 0,
      HostVeth: a?.hostVeth ?? '',
    };
  }
  const def = s?.networks.bridge;
  return {
    Ports: s ? portBindings(s.ports) : {},
    IPAddress: def?.ip ?? '',
    IPPrefixLen: def?.prefixLen ?? 0,
    Gateway: def?.gateway ?? '',
    MacAddress: def?.mac ?? '',
    Networks: networks,
  };
}
