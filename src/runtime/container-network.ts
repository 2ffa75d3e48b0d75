// A container's network as `run` asks for it: its namespace (a new one, the
// host's, or another container's), the bridge networks it joins and the
// ports it publishes, and the /etc files Docker writes for it, regenerated at
// every start so they exist before the mounts are made.
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { parseAddHost, parseDnsServer, parseNetworkMode, type ExtraHost } from '../network/etc-files.js';
import { validateMac, type Attachment } from '../network/bridge.js';
import type { NetworkRecord } from '../network/config.js';
import { isHostAddress, parseCidr, parseIpv4 } from '../network/ipv4.js';
import type { PortMapping } from '../network/nat.js';
import { resolvesNames, type Networks } from '../network/networks.js';
import { parsePublish, publishAllSpecs, type PortSpec } from '../network/ports.js';
import type { RunOptions } from '../spec/build.js';
import type { OciSpec } from '../spec/oci.js';
import { ETC_FILES as FILES } from './container-etc-files.js';

/** Per-network settings of a container (`--ip`, `--mac-address`, `--network-alias`, or `network connect`'s). */
export interface EndpointRequest {
  aliases?: string[];
  ip?: string;
  mac?: string;
}

/** What the container record keeps of the network flags. */
export interface NetworkRequest {
  /** Docker's NetworkMode: none, host, container:<id>, or the first bridge network's name. */
  mode: string;
  /** The bridge networks joined at start, in order (eth0, eth1, ...). Absent for none/host/container:. */
  networks?: Record<string, EndpointRequest>;
  /** -p and -P, published on the first network's address at each start. */
  publish?: PortSpec[];
  extraHosts: ExtraHost[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}

export interface NetworkFlags {
  network?: string;
  addHost?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  publish?: string[];
  publishAll?: boolean;
  ip?: string;
  macAddress?: string;
  networkAlias?: string[];
}

export interface NetworkContext {
  /** container:REF → its id. */
  resolveContainer: (ref: string) => Promise<string>;
  /** A network record by name (null: there is none). */
  findNetwork: (name: string) => Promise<NetworkRecord | null>;
  /** --network when none is given: `bridge`, or what --default-network says. */
  defaultNetwork: string;
  /** The image's ExposedPorts, for -P. */
  exposedPorts?: Record<string, unknown>;
}

/** Validates the flags; nothing is created. */
export async function networkRequest(flags: NetworkFlags, ctx: NetworkContext): Promise<NetworkRequest> {
  const mode = parseNetworkMode(flags.network ?? ctx.defaultNetwork);
  const extraHosts = (flags.addHost ?? []).map(parseAddHost);
  const dns = (flags.dns ?? []).map(parseDnsServer);
  const publish = [...(flags.publish ?? []).flatMap(parsePublish), ...(flags.publishAll ? publishAllSpecs(ctx.exposedPorts) : [])];
  const base = { extraHosts, dns, dnsSearch: flags.dnsSearch ?? [], dnsOptions: flags.dnsOption ?? [] };
  if (mode.kind === 'host' && (dns.length || flags.dnsSearch?.length || flags.dnsOption?.length)) {
    throw new TsrunError('INVALID_ARGUMENT', 'conflicting options: --dns and the network mode host (the host\'s resolv.conf is used)');
  }
  if (mode.kind !== 'bridge') {
    const shown = flags.network ?? ctx.defaultNetwork;
    if (flags.ip !== undefined || flags.macAddress !== undefined || flags.networkAlias?.length) {
      throw new TsrunError('INVALID_ARGUMENT', `conflicting options: --ip, --mac-address and --network-alias need a bridge network, not --network ${shown}`);
    }
    // Docker drops -p with the host's network (every port is the host's already) and refuses it otherwise.
    if (publish.length && mode.kind !== 'host') throw new TsrunError('INVALID_ARGUMENT', `conflicting options: port publishing and --network ${shown}`);
    if (mode.kind === 'container' && (extraHosts.length || dns.length || flags.dnsSearch?.length || flags.dnsOption?.length)) {
      throw new TsrunError('INVALID_ARGUMENT', `conflicting options: --add-host and --dns* and --network ${shown} (that container's /etc files are used)`);
    }
    const name = mode.kind === 'container' ? `container:${await ctx.resolveContainer(mode.ref)}` : mode.kind;
    return { mode: name, ...base };
  }
  const endpoint = await endpointRequest(mode.network, { ip: flags.ip, mac: flags.macAddress, aliases: flags.networkAlias }, ctx.findNetwork);
  return { mode: mode.network, networks: { [mode.network]: endpoint }, ...(publish.length ? { publish } : {}), ...base };
}

/** Checks one network's settings against the network (which must exist, but for the default one, made on first use). */
export async function endpointRequest(
  network: string,
  ep: EndpointRequest,
  findNetwork: NetworkContext['findNetwork'],
): Promise<EndpointRequest> {
  const net = await findNetwork(network);
  const userDefined = resolvesNames(network);
  if (!net && userDefined) throw new TsrunError('NETWORK_NOT_FOUND', `network ${network} not found`);
  const out: EndpointRequest = {};
  if (ep.ip !== undefined) {
    if (!userDefined) throw new TsrunError('INVALID_ARGUMENT', 'user specified IP address is supported on user defined networks only');
    const addr = parseIpv4(ep.ip);
    const subnet = parseCidr(net!.Subnet);
    if (addr === null) throw new TsrunError('INVALID_ARGUMENT', `invalid IPv4 address ${JSON.stringify(ep.ip)} for --ip`);
    if (!isHostAddress(subnet, addr) || ep.ip === net!.Gateway) throw new TsrunError('INVALID_ARGUMENT', `--ip ${ep.ip} is not a usable address of network ${network} (${net!.Subnet}, gateway ${net!.Gateway})`);
    out.ip = ep.ip;
  }
  if (ep.mac !== undefined) out.mac = validateMac(ep.mac);
  if (ep.aliases?.length) {
    if (!userDefined) throw new TsrunError('INVALID_ARGUMENT', 'network-scoped aliases are supported only for containers in user defined networks');
    for (const a of ep.aliases) if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(a)) throw new TsrunError('INVALID_ARGUMENT', `invalid --network-alias ${JSON.stringify(a)}`);
    out.aliases = ep.aliases;
  }
  return out;
}

/**
 * The build options for this network. The /etc files live in the
 * container's record dir; with container:X they are X's (as in Docker, so
 * X's name and peers are seen from both), and so is the host name.
 */
export function networkBuildOptions(
  net: NetworkRequest,
  dir: string,
  hostname: string | undefined,
  joined?: { dir: string; hostname?: string },
): Required<Pick<RunOptions, 'network' | 'etcFiles'>> & Pick<RunOptions, 'hostname'> {
  const container = net.mode.startsWith('container:');
  if (container && hostname !== undefined) throw new TsrunError('INVALID_ARGUMENT', `conflicting options: --hostname and --network ${net.mode}`);
  const files = container && joined ? joined.dir : dir;
  return {
    network: net.mode === 'host' ? { host: true } : container ? { joinPath: '/proc/self/ns/net' } : {},
    etcFiles: { hostname: join(files, FILES.hostname), hosts: join(files, FILES.hosts), resolvConf: join(files, FILES.resolvConf) },
    // Docker: with the host's network, the host's name unless -h says otherwise.
    hostname: hostname ?? (net.mode === 'host' ? osHostname() : joined?.hostname),
  };
}

/** A running container's place on its networks (inspect's NetworkSettings). */
export interface NetworkSettings {
  networks: Record<string, Attachment & { aliases?: string[] }>;
  ports: PortMapping[];
}

/** The names peers resolve to a container: its name, its short id, its aliases. */
const peerNames = (id: string, name: string, ep: EndpointRequest) => [...new Set([name, id.slice(0, 12), ...(ep.aliases ?? [])])];

/**
 * At start, after the container's process exists (so its network namespace
 * does) and before it runs: joins each bridge network, then publishes ports
 * on the first one's address. The caller undoes a failure with
 * disconnectNetworks.
 */
export async function connectNetworks(
  nets: Networks,
  c: {
    id: string; name: string; pid: number; hostname: string; request: NetworkRequest;
    /** Networks made ready beforehand (Networks.ready), by name. */
    ready?: Record<string, NetworkRecord>;
  },
): Promise<NetworkSettings | undefined> {
  if (!c.request.networks) return undefined;
  const settings: NetworkSettings = { networks: {}, ports: [] };
  let index = 0;
  for (const [network, ep] of Object.entries(c.request.networks)) {
    const att = await nets.connect({
      containerId: c.id, pid: c.pid, network, ip: ep.ip, mac: ep.mac, hostname: c.hostname,
      names: peerNames(c.id, c.name, ep), ifName: `eth${index++}`, ready: c.ready?.[network],
    });
    settings.networks[network] = { ...att, ...(ep.aliases ? { aliases: ep.aliases } : {}) };
  }
  const primary = Object.values(settings.networks)[0];
  if (primary && c.request.publish?.length) settings.ports = await nets.publish(c.id, primary.ip, c.request.publish);
  return settings;
}

/** Joins one more network while the container runs (`network connect`), as the first free ethN. */
export async function connectRunning(
  nets: Networks,
  c: { id: string; name: string; pid: number; hostname: string; network: string; endpoint: EndpointRequest },
): Promise<Attachment & { aliases?: string[] }> {
  const att = await nets.connect({
    containerId: c.id, pid: c.pid, network: c.network, ip: c.endpoint.ip, mac: c.endpoint.mac, hostname: c.hostname,
    names: peerNames(c.id, c.name, c.endpoint), ifName: await nets.freeIfName(c.pid),
  });
  return { ...att, ...(c.endpoint.aliases ? { aliases: c.endpoint.aliases } : {}) };
}

/** Undoes connectNetworks: ports, interfaces, leases, peers' hosts lines. Idempotent. */
export async function disconnectNetworks(nets: Networks, id: string, request: NetworkRequest): Promise<void> {
  if (!request.networks) return;
  if (request.publish?.length) await nets.unpublish(id);
  for (const network of Object.keys(request.networks)) await nets.disconnect(id, network);
}
