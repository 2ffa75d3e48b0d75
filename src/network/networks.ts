// The network service `tsrun network ...` and the container runtime use:
// records (config.ts), bridge devices (bridge.ts), nft rules (nat.ts),
// leases (ipam.ts), published ports (ports.ts) and the peer sections of the
// containers' /etc/hosts (peers.ts).
//
// Bridge devices, subnets and host ports are host-wide while network records
// live under a --root, so choosing a subnet (and bringing its bridge up, which
// makes it a host route the next choice sees) and choosing host ports run
// under one host-wide lock.
import { access, mkdir } from 'node:fs/promises';
import { nodeCrypto } from '../util/lazy-builtins.js';
import { dirname, join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { Locker } from '../util/lock.js';
import { matchesPruneFilters, type PruneFilters } from '../util/prune-filters.js';
import { attachContainer, detachContainer, ensureBridge, macForIp, removeBridge, type Attachment } from './bridge.js';
import { DEFAULT_NETWORK, PREDEFINED_NETWORKS, networkStore, type CreateNetworkOptions, type NetworkRecord, type NetworkStore } from './config.js';
import { hostTools, type NetTools } from './exec.js';
import { openIpam, type Ipam, type Lease } from './ipam.js';
import { formatCidr, parseCidr } from './ipv4.js';
import { natManager, type Nat, type PortMapping, type PublishedPort } from './nat.js';
import { peersOf, updateHostsFile } from './peers.js';
import { isHostPortFree, resolvePorts, type PortSpec } from './ports.js';
import { networkEvent } from '../events/emit.js';

export const HOST_LOCK = '/run/lock/tsrun-network.lock';

export interface NetworksOptions {
  root: string;
  lock: Locker;
  tools?: NetTools;
  /** The default network's bridge device (config.ts defaultBridgeFor). */
  defaultBridge?: string;
  /** The default network's subnet (Podman's default_subnet; else the first free of 10.88.0.0/16, ...). */
  defaultSubnet?: string;
  /** Host-wide lock file for subnets, bridges and host ports. */
  hostLock?: string;
  /** nft table (tests use their own). */
  table?: string;
  /** Where the kernel lists network devices. */
  sysClassNet?: string;
  /** A container's /etc/hosts source file (its record dir's `hosts`). */
  hostsFileOf: (containerId: string) => string;
  /** Whether a container record still exists: leases of removed ones are dropped as stale. */
  containerExists: (containerId: string) => Promise<boolean>;
}

export interface ConnectOptions {
  containerId: string;
  /** Any process in the container's network namespace. */
  pid: number;
  network: string;
  ip?: string;
  mac?: string;
  /** Names peers resolve on user-defined networks (name, short id, aliases). */
  names: string[];
  /** The container's host name, whose /etc/hosts line gets the new address. */
  hostname: string;
  ifName: string;
  /** The network's record from ready() just before (else ready() is called here). */
  ready?: NetworkRecord;
}

/** Docker's `network inspect` document (its NetworkResource). */
export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  /** `bridge`; `host` and `null` for the predefined host and none networks. */
  Driver: string;
  EnableIPv6: false;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: Array<{ Subnet: string; Gateway: string }> };
  Internal: boolean;
  Attachable: boolean;
  Ingress: false;
  ConfigFrom: { Network: string };
  ConfigOnly: false;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** The drivers of the predefined networks, as Docker names them. */
const PREDEFINED_DRIVER: Record<string, string> = { bridge: 'bridge', host: 'host', none: 'null' };

/** Only user-defined networks resolve container names (Docker: not the default bridge). */
export const resolvesNames = (network: string) => network !== DEFAULT_NETWORK;

export class Networks {
  readonly store: NetworkStore;
  readonly nat: Nat;
  private readonly tools: NetTools;
  private readonly hostLockPath: string;

  constructor(private readonly opts: NetworksOptions) {
    this.tools = opts.tools ?? hostTools;
    this.store = networkStore({ root: opts.root, lock: opts.lock, tools: this.tools, defaultBridge: opts.defaultBridge });
    this.nat = natManager({ tools: this.tools, table: opts.table });
    this.hostLockPath = opts.hostLock ?? HOST_LOCK;
  }

  private async hostLocked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(dirname(this.hostLockPath), { recursive: true });
    return this.opts.lock(this.hostLockPath, fn);
  }

  /** Bridge and rules of a network (again after a reboot removed them). */
  private async up(net: NetworkRecord): Promise<void> {
    await ensureBridge(net, this.tools);
    await this.nat.ensureNetwork(net);
  }

  private async bridgePresent(net: NetworkRecord): Promise<boolean> {
    return access(join(this.opts.sysClassNet ?? '/sys/class/net', net.Bridge)).then(() => true, () => false);
  }

  ipam(net: NetworkRecord): Ipam {
    return openIpam({ root: this.opts.root, network: net.Name, subnet: net.Subnet, gateway: net.Gateway, lock: this.opts.lock });
  }

  /**
   * `network create`: the record, its bridge and rules; nothing is left if
   * any of it fails. Only the bridge driver is served, and the predefined
   * names are not for user networks (Docker's rule; `bridge` is made by
   * ready()).
   */
  create(o: CreateNetworkOptions & { driver?: string }): Promise<NetworkRecord> {
    if (o.driver !== undefined && o.driver !== '' && o.driver !== 'bridge') {
      return Promise.reject(new TsrunError('INVALID_ARGUMENT', `network driver ${JSON.stringify(o.driver)} is not supported: only bridge`));
    }
    if ((PREDEFINED_NETWORKS as readonly string[]).includes(o.name)) {
      return Promise.reject(new TsrunError('INVALID_ARGUMENT', `operation is not permitted on predefined ${o.name} network`));
    }
    return this.hostLocked(async () => {
      const rec = await this.store.create(o);
      try {
        await this.up(rec);
      } catch (err) {
        await this.teardownNetwork(rec).catch(() => {});
        throw err;
      }
      networkEvent(this.opts.root, 'create', rec);
      return rec;
    });
  }

  list(): Promise<NetworkRecord[]> {
    return this.store.list();
  }

  /** A network by name, full id or id prefix. */
  async get(ref: string): Promise<NetworkRecord> {
    const all = await this.store.list();
    const hit = all.find((n) => n.Name === ref) ?? all.find((n) => n.Id === ref);
    if (hit) return hit;
    const byPrefix = ref.length >= 3 && /^[0-9a-f]+$/.test(ref) ? all.filter((n) => n.Id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new TsrunError('INVALID_ARGUMENT', `network id prefix ${ref} is ambiguous`);
    throw new TsrunError('NETWORK_NOT_FOUND', `network ${ref} not found`);
  }

  /** The network, ready for a container to join: the default one is made on first use, a bridge that vanished (reboot) is brought back. */
  async ready(name: string): Promise<NetworkRecord> {
    let rec = await this.store.find(name);
    const wanted = name === DEFAULT_NETWORK && this.opts.defaultSubnet !== undefined ? formatCidr(parseCidr(this.opts.defaultSubnet)) : undefined;
    if (rec && wanted && rec.Subnet !== wanted) rec = await this.resubnetDefault(rec, wanted);
    if (!rec) {
      if (name !== DEFAULT_NETWORK) throw new TsrunError('NETWORK_NOT_FOUND', `network ${name} not found`);
      rec = await this.hostLocked(async () => {
        const r = await this.store.ensureDefault(wanted);
        if (!(await this.bridgePresent(r))) await this.up(r);
        return r;
      });
    }
    // A reboot takes the bridge and the rules, a firewall reload (`nft flush ruleset`) the rules.
    if (!(await this.bridgePresent(rec)) || !(await this.nat.hasNetwork(rec))) await this.hostLocked(() => this.up(rec));
    return rec;
  }

  // --default-subnet changed since the default network was made: it is made
  // again in the new subnet, which only an unused network can be.
  private async resubnetDefault(rec: NetworkRecord, subnet: string): Promise<null> {
    const users = Object.values(await this.users(rec)).map((l) => l.ContainerId.slice(0, 12));
    if (users.length) {
      throw new TsrunError('NETWORK_IN_USE', `the default network is in ${rec.Subnet}, not ${subnet}: it moves when no container uses it (now: ${users.join(', ')})`);
    }
    await this.remove(rec.Name);
    return null;
  }

  async inspect(ref: string): Promise<NetworkInspect> {
    if (ref === 'host' || ref === 'none') return this.predefined(ref);
    // Docker always has its default network to show; ours is made on first use.
    let net: NetworkRecord;
    try {
      net = ref === DEFAULT_NETWORK ? await this.ready(ref) : await this.get(ref);
    } catch (err) {
      const byId = ['host', 'none'].find((n) => ref.length >= 3 && predefinedId(this.opts.root, n).startsWith(ref));
      if (byId && err instanceof TsrunError && err.code === 'NETWORK_NOT_FOUND') return this.predefined(byId);
      throw err;
    }
    const leases = await this.ipam(net).list();
    const prefix = parseCidr(net.Subnet).prefix;
    return {
      Name: net.Name,
      Id: net.Id,
      Created: net.Created,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: net.Subnet, Gateway: net.Gateway }] },
      Internal: net.Internal,
      Attachable: net.Attachable ?? false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: Object.fromEntries(
        Object.entries(leases).map(([ip, l]) => [l.ContainerId, {
          Name: l.Names?.[0] ?? '',
          EndpointID: endpointId(l.ContainerId, net.Id),
          MacAddress: l.Mac ?? macForIp(ip),
          IPv4Address: `${ip}/${prefix}`,
          IPv6Address: '',
        }]),
      ),
      Options: { ...net.Options, 'com.docker.network.bridge.name': net.Bridge },
      Labels: net.Labels,
    };
  }

  /**
   * Every network as `network inspect` shows it, as Docker lists them: the
   * default bridge (made on first use), the user-defined ones, and the
   * predefined `host` and `none`, which are network modes and have no record.
   */
  async inspectAll(): Promise<NetworkInspect[]> {
    await this.ready(DEFAULT_NETWORK);
    const docs = await Promise.all((await this.list()).map((n) => this.inspect(n.Id)));
    return [...docs, await this.predefined('host'), await this.predefined('none')];
  }

  /**
   * `host` or `none` as Docker shows it. Their ids are derived from the
   * root, so they stay the same across runs, and they date from the default
   * network; which containers use those modes is not listed (no lease
   * records them).
   */
  private async predefined(name: 'host' | 'none' | string): Promise<NetworkInspect> {
    const created = (await this.store.find(DEFAULT_NETWORK))?.Created ?? new Date().toISOString();
    return {
      Name: name, Id: predefinedId(this.opts.root, name), Created: created, Scope: 'local', Driver: PREDEFINED_DRIVER[name],
      EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false,
      ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {},
    };
  }

  /** Which containers hold an address on the network (stale leases of removed containers are dropped first). */
  async users(net: NetworkRecord): Promise<Record<string, Lease>> {
    const ipam = this.ipam(net);
    await ipam.releaseStale((id) => this.opts.containerExists(id));
    return ipam.list();
  }

  /**
   * `network rm`: refused while a container is connected (unless `force`,
   * for a root being thrown away). Unlike Docker's, the default network can
   * go too when unused (tsrun has no daemon to take its bridge down): the
   * next container that needs it makes it again.
   */
  async remove(ref: string, o: { force?: boolean } = {}): Promise<NetworkRecord> {
    const net = await this.get(ref);
    await this.users(net);
    await this.store.remove(net.Name, { force: o.force }); // checks the leases under the store lock
    await this.teardownNetwork(net);
    networkEvent(this.opts.root, 'destroy', net);
    return net;
  }

  private async teardownNetwork(net: NetworkRecord): Promise<void> {
    await this.nat.removeNetwork(net);
    await removeBridge(net, this.tools);
    await this.store.remove(net.Name, { force: true }).catch(() => {});
  }

  /** `network prune`: every user-defined network no container is connected to (and, given filters, created before until= with the labels asked for). */
  async prune(filters?: PruneFilters): Promise<string[]> {
    const removed: string[] = [];
    for (const net of await this.store.list()) {
      if (net.Name === DEFAULT_NETWORK) continue;
      if (!matchesPruneFilters(filters, { created: net.Created, labels: net.Labels })) continue;
      try {
        await this.remove(net.Name);
        removed.push(net.Name);
      } catch (err) {
        if (!(err instanceof TsrunError && err.code === 'NETWORK_IN_USE')) throw err;
      }
    }
    return removed;
  }

  /** The first ethN not yet in the network namespace of `pid` (a running container joining one more network). */
  async freeIfName(pid: number): Promise<string> {
    const links = await this.tools.ipJsonInNetns<{ ifname: string }>(pid, ['link', 'show']);
    let n = 0;
    while (links.some((l) => l.ifname === `eth${n}`)) n++;
    return `eth${n}`;
  }

  /** Gives the container an interface and address on the network, and updates the /etc/hosts of everyone concerned. */
  async connect(c: ConnectOptions): Promise<Attachment> {
    const net = c.ready?.Name === c.network ? c.ready : await this.ready(c.network);
    const ipam = this.ipam(net);
    await ipam.releaseStale(async (id) => id === c.containerId || (await this.opts.containerExists(id)));
    const att = await attachContainer({
      net, ipam, containerId: c.containerId, pid: c.pid, ip: c.ip, mac: c.mac, ifName: c.ifName, tools: this.tools, names: c.names,
    });
    await this.syncHosts(net, { containerId: c.containerId, hostname: c.hostname, ip: att.ip });
    networkEvent(this.opts.root, 'connect', net, { container: c.containerId });
    return att;
  }

  /** Removes the container's interface and lease on the network (if any) and its name from its peers. Idempotent. */
  async disconnect(containerId: string, network: string): Promise<void> {
    const net = await this.store.find(network);
    if (!net) return;
    // Only a container that was attached leaves: this runs again at rm after a stop's clean-up.
    const attached = Object.values(await this.ipam(net).list()).some((l) => l.ContainerId === containerId);
    await detachContainer({ net, ipam: this.ipam(net), containerId, tools: this.tools });
    await this.syncHosts(net, { containerId, gone: true });
    if (attached) networkEvent(this.opts.root, 'disconnect', net, { container: containerId });
  }

  // Every rewrite of any container's hosts file runs under one lock per
  // root and reads the leases after taking it, so the last writer always
  // writes the newest state.
  private async syncHosts(net: NetworkRecord, self: { containerId: string; hostname?: string; ip?: string; gone?: boolean }): Promise<void> {
    const dns = resolvesNames(net.Name);
    if (!dns && !self.ip) return;
    await mkdir(join(this.opts.root, 'networks'), { recursive: true, mode: 0o700 });
    await this.opts.lock(join(this.opts.root, 'networks', 'hosts.lock'), async () => {
      const leases = await this.ipam(net).list();
      const own = self.ip ? { hostname: self.hostname ?? '', ip: self.ip } : undefined;
      const sectionOf = (id: string) => (dns && !(self.gone && id === self.containerId) ? peersOf(leases, id) : null);
      const members = new Set([self.containerId, ...(dns ? Object.values(leases).map((l) => l.ContainerId) : [])]);
      for (const id of members) await updateHostsFile(this.opts.hostsFileOf(id), net.Name, sectionOf(id), id === self.containerId ? own : undefined);
    });
  }

  /**
   * Publishes the container's ports on its address: random host ports are
   * picked, and fixed ones checked free, under the host-wide lock.
   */
  publish(containerId: string, containerIp: string, specs: PortSpec[]): Promise<PortMapping[]> {
    if (!specs.length) return Promise.resolve([]);
    return this.hostLocked(async () => {
      const others = (await this.nat.listPorts()).filter((p) => p.containerId !== containerId);
      const ports = await resolvePorts(specs, others);
      for (const p of ports) {
        // A host process already listening there would be shadowed by the DNAT rule: refuse, as Docker does.
        if (specs.some((s) => s.hostPort === p.hostPort && s.hostPortEnd === undefined) && !(await isHostPortFree(p.hostIp, p.hostPort, p.protocol))) {
          throw new TsrunError('PORT_IN_USE', `cannot publish ${p.hostIp}:${p.hostPort}/${p.protocol}: address already in use on the host`);
        }
      }
      await this.nat.addPorts(containerId, containerIp, ports);
      return ports;
    });
  }

  unpublish(containerId: string): Promise<number> {
    return this.nat.removePorts(containerId);
  }

  ports(containerId: string): Promise<PublishedPort[]> {
    return this.nat.listPorts(containerId);
  }
}

/** A predefined network's id: 64 hex, fixed for a root. */
export function predefinedId(root: string, name: string): string {
  return nodeCrypto().createHash('sha256').update(`tsrun predefined network\0${root}\0${name}`).digest('hex');
}

/** A container's endpoint id on a network (Docker's EndpointID): 64 hex derived from both, so it needs no record. */
export function endpointId(containerId: string, networkId: string): string {
  return nodeCrypto().createHash('sha256').update(`${networkId}\0${containerId}`).digest('hex');
}
