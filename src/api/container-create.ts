// POST /containers/create: Docker's body (Config, HostConfig,
// NetworkingConfig) → the flags `docker run` takes for the same container
// → core's CreateRequest, through the very parser the CLI uses
// (flags/container-request.ts containerRequest), so a value is checked and means
// the same on both fronts. Zero values and the empty defaults clients send
// (0, "", [], null, NetworkMode "default") mean "not set"; a field tsrun
// cannot honour is refused with a 400 naming it, never dropped silently.
import type { ContainerFlags } from '../flags/container-flags.js';
import type { CreateRequest } from '../runtime/containers.js';
import { badRequest } from './errors.js';

type Json = Record<string, unknown>;

/** Typed reads of the body, each a 400 naming the field when its type is wrong. */
class Fields {
  constructor(private readonly obj: Json, private readonly where: string) {}

  private get(key: string): unknown {
    const v = this.obj[key];
    return v === null ? undefined : v;
  }

  private bad(key: string, what: string): Error {
    return badRequest(`invalid ${this.where}${key}: ${what}`);
  }

  str(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw this.bad(key, 'a string is expected');
    return v;
  }

  num(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.bad(key, 'a number is expected');
    return v;
  }

  /** A number other than 0 (Docker's "not set"). */
  nonZero(key: string): number | undefined {
    const v = this.num(key);
    return v === 0 ? undefined : v;
  }

  bool(key: string): boolean {
    const v = this.get(key);
    if (v === undefined) return false;
    if (typeof v !== 'boolean') throw this.bad(key, 'true or false is expected');
    return v;
  }

  /** A list of strings; Docker's StrSlice also takes one string. Empty: undefined. */
  strings(key: string, single = false): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (single && typeof v === 'string') return [v];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw this.bad(key, 'a list of strings is expected');
    return v.length ? (v as string[]) : undefined;
  }

  /** An object whose values are strings ({"k": "v"}). */
  stringMap(key: string): Record<string, string> | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v) || Object.values(v as Json).some((s) => typeof s !== 'string')) {
      throw this.bad(key, 'an object of strings is expected');
    }
    return Object.keys(v as Json).length ? (v as Record<string, string>) : undefined;
  }

  /** A nested object (absent: an empty one). */
  sub(key: string): Fields {
    const v = this.get(key);
    if (v === undefined) return new Fields({}, `${this.where}${key}.`);
    if (typeof v !== 'object' || Array.isArray(v)) throw this.bad(key, 'an object is expected');
    return new Fields(v as Json, `${this.where}${key}.`);
  }

  /** A list of objects (absent or empty: []). */
  list(key: string): Fields[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((o) => typeof o !== 'object' || o === null || Array.isArray(o))) throw this.bad(key, 'a list of objects is expected');
    return v.map((o, i) => new Fields(o as Json, `${this.where}${key}[${i}].`));
  }

  keys(): string[] {
    return Object.keys(this.obj);
  }

  raw(key: string): unknown {
    return this.get(key);
  }

  /** Refuses a field tsrun cannot honour when it holds anything but its zero value. */
  refuse(key: string, why: string): void {
    const v = this.get(key);
    const zero = v === undefined || v === '' || v === 0 || v === false || (Array.isArray(v) && !v.length) || (typeof v === 'object' && !Array.isArray(v) && !Object.keys(v as Json).length);
    if (!zero) throw badRequest(`${this.where}${key} is not supported: ${why}`);
  }
}

const str = (v: number | undefined): string | undefined => (v === undefined ? undefined : String(v));

/**
 * The body of a create (with `name` from the query) → core's request
 * (Docker's warnings, such as a limit the host cannot apply, to `onWarning`):
 * an image that must be here already (the docker CLI pulls on our 404
 * and asks again), the attach streams as the client set them.
 */
export async function createRequest(body: unknown, name: string | undefined, onWarning: (message: string) => void): Promise<CreateRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Config cannot be empty in order to create a container');
  const c = new Fields(body as Json, '');
  const h = c.sub('HostConfig');
  const image = c.str('Image');
  if (!image) throw badRequest('an image is needed: the body\'s Image is empty');
  unsupported(c, h);

  // Docker's args: Entrypoint then Cmd; a given Entrypoint drops the image's Cmd too, as --entrypoint does.
  const entrypoint = c.strings('Entrypoint', true);
  const cmd = c.strings('Cmd', true) ?? [];
  const health = healthFlags(c.sub('Healthcheck'));
  const net = networkFlags(c, h);
  const flags: ContainerFlags = {
    name: name?.replace(/^\//, '') || undefined,
    pull: 'never',
    tty: c.bool('Tty'),
    interactive: c.bool('OpenStdin'),
    rm: h.bool('AutoRemove'),
    restart: restartFlag(h.sub('RestartPolicy')),
    // A bare KEY asks a docker CLI for its own environment's value; here it would be the service's: left out.
    env: c.strings('Env')?.filter((e) => e.includes('=')),
    workdir: c.str('WorkingDir'),
    user: c.str('User'),
    hostname: c.str('Hostname'),
    entrypoint: entrypoint?.[0],
    init: h.bool('Init') || undefined,
    readOnly: h.bool('ReadonlyRootfs'),
    ...mountFlags(c, h),
    volumesFrom: h.strings('VolumesFrom'),
    cgroupParent: h.str('CgroupParent'),
    ...resourceFlags(h),
    ...net,
    privileged: h.bool('Privileged'),
    capAdd: h.strings('CapAdd'),
    capDrop: h.strings('CapDrop'),
    securityOpt: h.strings('SecurityOpt'),
    device: h.list('Devices').map((d) => {
      const host = d.str('PathOnHost');
      if (!host) throw badRequest('HostConfig.Devices: PathOnHost is required');
      return `${host}:${d.str('PathInContainer') ?? host}:${d.str('CgroupPermissions') ?? 'rwm'}`;
    }),
    deviceCgroupRule: h.strings('DeviceCgroupRules'),
    shmSize: str(h.nonZero('ShmSize')),
    sysctl: Object.entries(h.stringMap('Sysctls') ?? {}).map(([k, v]) => `${k}=${v}`),
    groupAdd: h.strings('GroupAdd'),
    oomScoreAdj: str(h.nonZero('OomScoreAdj')),
    cgroupns: h.str('CgroupnsMode'),
    ipc: h.str('IpcMode'),
    pid: h.str('PidMode'),
    uts: h.str('UTSMode'),
    userns: h.str('UsernsMode'),
    label: Object.entries(c.stringMap('Labels') ?? {}).map(([k, v]) => `${k}=${v}`),
    annotation: Object.entries(h.stringMap('Annotations') ?? {}).map(([k, v]) => `${k}=${v}`),
    stopSignal: c.str('StopSignal'),
    stopTimeout: str(c.num('StopTimeout')),
    expose: c.sub('ExposedPorts').keys(),
    ...health.flags,
    ...logFlags(h.sub('LogConfig')),
  };
  const { containerRequest } = await import('../flags/container-request.js');
  const size = h.raw('ConsoleSize');
  const consoleSize = Array.isArray(size) && size.length === 2 && size.every((n) => Number.isInteger(n) && n > 0) ? { rows: size[0] as number, cols: size[1] as number } : undefined;
  const req = await containerRequest(flags, [image, ...(entrypoint?.slice(1) ?? []), ...cmd], { cwd: '/', consoleSize, onWarning });
  return {
    ...req,
    stdinOnce: c.bool('StdinOnce'),
    // The client says which streams it attaches (none for run -d), not run's defaults.
    runConfig: { ...req.runConfig, attach: { stdin: c.bool('AttachStdin'), stdout: c.bool('AttachStdout'), stderr: c.bool('AttachStderr') } },
    ...(health.test ? { health: { ...req.health, Test: health.test } } : {}),
  };
}

/** Fields with no meaning for tsrun: refused unless they hold their zero value. */
function unsupported(c: Fields, h: Fields): void {
  c.refuse('Domainname', 'set the full name with Hostname');
  h.refuse('Links', 'legacy links are not supported: put the containers on a user-defined network');
  h.refuse('DeviceRequests', 'device requests (GPUs) are not supported');
  h.refuse('StorageOpt', 'storage options are not supported');
  h.refuse('Cgroup', 'joining another cgroup is not supported');
  h.refuse('KernelMemory', 'kernel memory limits are not supported');
  h.refuse('KernelMemoryTCP', 'kernel memory limits are not supported');
  h.refuse('CpuRealtimePeriod', 'real-time scheduling is not supported');
  h.refuse('CpuRealtimeRuntime', 'real-time scheduling is not supported');
  h.refuse('BlkioWeightDevice', 'per-device block IO weights are not supported');
  h.refuse('BlkioDeviceReadIOps', 'IO operation limits are not supported');
  h.refuse('BlkioDeviceWriteIOps', 'IO operation limits are not supported');
  h.refuse('CpuCount', 'a Windows option');
  h.refuse('CpuPercent', 'a Windows option');
  h.refuse('IOMaximumIOps', 'a Windows option');
  h.refuse('IOMaximumBandwidth', 'a Windows option');
  h.refuse('MaskedPaths', 'use SecurityOpt systempaths=unconfined');
  h.refuse('ReadonlyPaths', 'use SecurityOpt systempaths=unconfined');
  const swappiness = h.num('MemorySwappiness');
  if (swappiness !== undefined && swappiness !== -1) throw badRequest('HostConfig.MemorySwappiness is not supported: tsrun leaves swappiness to the host');
  const isolation = h.str('Isolation');
  if (isolation && isolation !== 'default') throw badRequest(`HostConfig.Isolation ${JSON.stringify(isolation)} is not supported: only default`);
  const runtime = h.str('Runtime');
  if (runtime && runtime !== 'runc' && runtime !== 'tsrun') throw badRequest(`unknown or invalid runtime name: ${runtime}`);
  const driver = h.str('VolumeDriver');
  if (driver && driver !== 'local') throw badRequest(`HostConfig.VolumeDriver ${JSON.stringify(driver)} is not supported: only local`);
}

function restartFlag(p: Fields): string | undefined {
  const name = p.str('Name');
  if (!name || name === 'no') return undefined;
  const n = p.nonZero('MaximumRetryCount');
  return name === 'on-failure' && n !== undefined ? `on-failure:${n}` : name;
}

/** Binds (-v), Mounts (--mount), Tmpfs (--tmpfs), and Config.Volumes: an anonymous volume at each path no mount covers. */
function mountFlags(c: Fields, h: Fields): Pick<ContainerFlags, 'volume' | 'mount' | 'tmpfs'> {
  const binds = h.strings('Binds') ?? [];
  for (const b of binds) {
    if (b.startsWith('.')) throw badRequest(`invalid HostConfig.Binds ${JSON.stringify(b)}: a bind's source must be an absolute path`);
  }
  const mounts = h.list('Mounts').map(mountFlag);
  const tmpfs = Object.entries(h.stringMap('Tmpfs') ?? {}).map(([path, opts]) => (opts ? `${path}:${opts}` : path));
  const targets = new Set([
    ...binds.map((b) => {
      const parts = b.split(':');
      return parts.length === 1 ? parts[0] : parts[1];
    }),
    ...h.list('Mounts').map((m) => m.str('Target')),
    ...Object.keys(h.stringMap('Tmpfs') ?? {}),
  ].map((t) => t?.replace(/\/+$/, '')));
  const vols = c.sub('Volumes').keys().filter((p) => !targets.has(p.replace(/\/+$/, '')));
  return { volume: [...binds, ...vols], mount: mounts, tmpfs };
}

/** One of HostConfig.Mounts as the --mount value the docker CLI would have parsed into it. */
function mountFlag(m: Fields): string {
  const parts: string[] = [`type=${m.str('Type') ?? 'volume'}`];
  const source = m.str('Source');
  if (source !== undefined) parts.push(`source=${source}`);
  parts.push(`target=${m.str('Target') ?? ''}`);
  if (m.bool('ReadOnly')) parts.push('readonly');
  const bind = m.sub('BindOptions');
  bind.refuse('NonRecursive', 'non-recursive binds are not supported');
  const propagation = bind.str('Propagation');
  if (propagation) parts.push(`bind-propagation=${propagation}`);
  const vol = m.sub('VolumeOptions');
  if (vol.bool('NoCopy')) parts.push('volume-nocopy');
  for (const [k, v] of Object.entries(vol.stringMap('Labels') ?? {})) parts.push(`volume-label=${k}=${v}`);
  const driver = vol.sub('DriverConfig');
  driver.refuse('Options', 'volume driver options are not supported');
  const driverName = driver.str('Name');
  if (driverName) parts.push(`volume-driver=${driverName}`);
  const tmpfs = m.sub('TmpfsOptions');
  const size = tmpfs.nonZero('SizeBytes');
  if (size !== undefined) parts.push(`tmpfs-size=${size}`);
  const mode = tmpfs.nonZero('Mode');
  if (mode !== undefined) parts.push(`tmpfs-mode=${mode.toString(8)}`);
  if (parts.some((p) => p.slice(p.indexOf('=') + 1).includes(','))) throw badRequest(`invalid HostConfig.Mounts entry ${parts.join(',')}: a comma in a value`);
  return parts.join(',');
}

/** HostConfig's Resources → the limit flags (their strings, as the CLI's). */
export function resourceFlags(h: Fields): Pick<ContainerFlags, 'memory' | 'memorySwap' | 'memoryReservation' | 'cpus' | 'cpuShares' | 'cpuPeriod' | 'cpuQuota'
  | 'cpusetCpus' | 'cpusetMems' | 'pidsLimit' | 'blkioWeight' | 'deviceReadBps' | 'deviceWriteBps' | 'oomKillDisable' | 'ulimit'> {
  const throttle = (key: string) => h.list(key).map((d) => `${d.str('Path') ?? ''}:${d.num('Rate') ?? 0}`);
  const pids = h.num('PidsLimit');
  const nano = h.nonZero('NanoCpus');
  return {
    memory: str(h.nonZero('Memory')),
    memorySwap: str(h.nonZero('MemorySwap')),
    memoryReservation: str(h.nonZero('MemoryReservation')),
    cpus: nano === undefined ? undefined : String(nano / 1e9),
    cpuShares: str(h.nonZero('CpuShares')),
    cpuPeriod: str(h.nonZero('CpuPeriod')),
    cpuQuota: str(h.nonZero('CpuQuota')),
    cpusetCpus: h.str('CpusetCpus'),
    cpusetMems: h.str('CpusetMems'),
    pidsLimit: pids !== undefined && pids > 0 ? String(pids) : undefined,
    blkioWeight: str(h.nonZero('BlkioWeight')),
    deviceReadBps: throttle('BlkioDeviceReadBps'),
    deviceWriteBps: throttle('BlkioDeviceWriteBps'),
    oomKillDisable: h.bool('OomKillDisable') || undefined,
    ulimit: h.list('Ulimits').map((u) => `${u.str('Name') ?? ''}=${u.num('Soft') ?? 0}:${u.num('Hard') ?? 0}`),
  };
}

/** A Fields view of an object (the update body's resources). */
export function fieldsOf(body: unknown, where = ''): Fields {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  return new Fields(body as Json, where);
}

/**
 * NetworkMode (default: the service's default network; "default" is
 * bridge), ports, DNS and hosts, and the endpoint settings of the one
 * network joined at create (API 1.41 takes one, as Docker's does).
 */
function networkFlags(c: Fields, h: Fields): Pick<ContainerFlags, 'network' | 'publish' | 'publishAll' | 'ip' | 'macAddress' | 'networkAlias' | 'addHost' | 'dns'
  | 'dnsSearch' | 'dnsOption'> {
  let network = h.str('NetworkMode') ?? (c.bool('NetworkDisabled') ? 'none' : undefined);
  const endpoints = c.sub('NetworkingConfig').sub('EndpointsConfig');
  const names = endpoints.keys();
  const own = network === undefined || network === 'default' ? ['bridge', 'default'] : [network];
  const others = names.filter((n) => !own.includes(n));
  if (others.length && (network !== undefined || names.length > 1)) {
    throw badRequest(`Container cannot be connected to network endpoints: ${names.join(', ')}`);
  }
  // No NetworkMode but one endpoint: that network (docker-py sends it so).
  if (network === undefined && others.length === 1) network = others[0];
  const epName = names.find((n) => n === network || own.includes(n));
  const ep = epName ? endpoints.sub(epName) : new Fields({}, '');
  const ipam = ep.sub('IPAMConfig');
  ipam.refuse('IPv6Address', 'IPv6 is not supported');
  ipam.refuse('LinkLocalIPs', 'link-local addresses are not supported');
  ep.refuse('Links', 'legacy links are not supported: use a user-defined network');
  const publish: string[] = [];
  const bindings = h.sub('PortBindings');
  for (const port of bindings.keys()) {
    const list = bindings.list(port);
    for (const b of list.length ? list : [new Fields({}, '')]) {
      const hostPort = b.str('HostPort');
      const hostIp = b.str('HostIp') ?? '';
      publish.push(`${hostIp}:${hostPort === '0' ? '' : (hostPort ?? '')}:${port}`);
    }
  }
  return {
    network,
    publish,
    publishAll: h.bool('PublishAllPorts'),
    ip: ipam.str('IPv4Address'),
    macAddress: ep.str('MacAddress') ?? c.str('MacAddress'),
    networkAlias: ep.strings('Aliases'),
    addHost: h.strings('ExtraHosts'),
    dns: h.strings('Dns'),
    dnsSearch: h.strings('DnsSearch'),
    dnsOption: h.strings('DnsOptions'),
  };
}

/** Config.Healthcheck → the --health-* flags (durations in ns); a CMD test (no flag has it) is set on the request after. */
function healthFlags(hc: Fields): { flags: Pick<ContainerFlags, 'healthCmd' | 'healthInterval' | 'healthTimeout' | 'healthRetries' | 'healthStartPeriod' | 'healthStartInterval' | 'healthcheck'>; test?: string[] } {
  const test = hc.strings('Test');
  const ns = (key: string) => {
    const v = hc.nonZero(key);
    return v === undefined ? undefined : `${v}ns`;
  };
  const flags = {
    healthInterval: ns('Interval'), healthTimeout: ns('Timeout'), healthStartPeriod: ns('StartPeriod'), healthStartInterval: ns('StartInterval'),
    healthRetries: str(hc.nonZero('Retries')),
  };
  if (!test) return { flags };
  switch (test[0]) {
    case 'NONE': return { flags: { ...flags, healthcheck: false } };
    case 'CMD-SHELL': return { flags: { ...flags, healthCmd: test.slice(1).join(' ') } };
    case 'CMD':
      if (test.length < 2) throw badRequest('Config.Healthcheck.Test: CMD needs a command');
      return { flags, test };
    default: throw badRequest(`Config.Healthcheck.Test: unknown type ${JSON.stringify(test[0])} (NONE, CMD or CMD-SHELL)`);
  }
}

function logFlags(l: Fields): Pick<ContainerFlags, 'logDriver' | 'logOpt'> {
  const opts = Object.entries(l.stringMap('Config') ?? {}).map(([k, v]) => `${k}=${v}`);
  return { logDriver: l.str('Type'), logOpt: opts.length ? opts : undefined };
}
