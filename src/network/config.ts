// Network records: <root>/networks/<name>/network.json, written atomically;
// creation and removal run under <root>/networks/.lock so a name and a subnet
// are decided once even with parallel CLIs.
//
// A subnet must not overlap a route or an address already on the host (we
// read `ip -j route` and `ip -j addr`), nor another tsrun network: a default
// is the first free candidate of 10.88.0.0/16, 10.89.0.0/16, ... 10.127.0.0/16;
// an explicit --subnet that overlaps fails and says with what.
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { nodeCrypto } from '../util/lazy-builtins.js';
import { atomicWriteJson } from '../util/atomic-write.js';
import type { Locker } from '../util/lock.js';
import { hostTools, type NetTools } from './exec.js';
import { type Cidr, cidrsOverlap, formatCidr, formatIpv4, isHostAddress, parseCidr, parseIpv4 } from './ipv4.js';
import { networkDir } from './ipam.js';

export const DEFAULT_NETWORK = 'bridge';
export const DEFAULT_BRIDGE = 'tsrun0';

export interface NetworkRecord {
  Name: string;
  Id: string;
  Driver: 'bridge';
  Subnet: string;
  Gateway: string;
  Internal: boolean;
  /** The Linux bridge device. */
  Bridge: string;
  Created: string;
  Labels: Record<string, string>;
  /** Driver options as given at create (Docker's `-o`); `com.docker.network.bridge.name` named the device. */
  Options?: Record<string, string>;
  /** Docker's --attachable, kept to be shown (any local network takes `network connect`). */
  Attachable?: boolean;
}

/** The networks every Docker host has: `bridge` (tsrun's default network), `host` and `none` (network modes, shown as networks). */
export const PREDEFINED_NETWORKS = ['bridge', 'host', 'none'] as const;

/** Docker's option naming a bridge network's device. */
export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';

export interface CreateNetworkOptions {
  name: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  /** Bridge device name; default `tsrun0` for `bridge`, else `tsr` + 12 hex of the id (or the `com.docker.network.bridge.name` option). */
  bridge?: string;
  /** Driver options (Docker's `-o`): kept on the record; only BRIDGE_NAME_OPTION changes anything. */
  options?: Record<string, string>;
  attachable?: boolean;
}

/** A host route or address prefix, as `ip -j route` / `ip -j addr` report them. */
export interface HostPrefix {
  cidr: string;
  dev?: string;
  /** Where it came from, for the error message. */
  source: 'route' | 'address';
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const IFNAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;

export function validateNetworkName(name: string): void {
  if (!NAME_RE.test(name)) throw new TsrunError('INVALID_ARGUMENT', `invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, up to 64 characters`);
}

export function defaultSubnetCandidates(): string[] {
  const out: string[] = [];
  for (let b = 88; b <= 127; b++) out.push(`10.${b}.0.0/16`);
  return out;
}

/** Reads the host's IPv4 routes (all tables but local/broadcast ones) and interface addresses. */
export async function hostPrefixes(tools: NetTools = hostTools): Promise<HostPrefix[]> {
  const out: HostPrefix[] = [];
  const routes = await tools.ipJson<{ dst: string; dev?: string; type?: string }>(['-4', 'route', 'show', 'table', 'all']);
  for (const r of routes) {
    if (!r.dst || r.dst === 'default' || (r.type && r.type !== 'unicast')) continue;
    out.push({ cidr: r.dst.includes('/') ? r.dst : `${r.dst}/32`, dev: r.dev, source: 'route' });
  }
  const links = await tools.ipJson<{ ifname: string; addr_info?: Array<{ family: string; local: string; prefixlen: number }> }>(['-4', 'addr', 'show']);
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      if (a.family === 'inet' && !a.local.startsWith('127.')) out.push({ cidr: `${a.local}/${a.prefixlen}`, dev: l.ifname, source: 'address' });
    }
  }
  return out;
}

function overlapWith(c: Cidr, host: HostPrefix[], networks: NetworkRecord[], exceptBridge?: string): string | null {
  for (const n of networks) {
    if (cidrsOverlap(c, parseCidr(n.Subnet))) return `tsrun network ${n.Name} (${n.Subnet})`;
  }
  for (const h of host) {
    if (exceptBridge && h.dev === exceptBridge) continue;
    let hc: Cidr;
    try {
      hc = parseCidr(h.cidr, false);
    } catch {
      continue;
    }
    if (cidrsOverlap(c, hc)) return `the host ${h.source} ${h.cidr}${h.dev ? ` on ${h.dev}` : ''}`;
  }
  return null;
}

/**
 * Picks the subnet for a new network: the requested one if it overlaps
 * nothing, else an error; without a request, the first free candidate.
 */
export function chooseSubnet(opts: { requested?: string; host: HostPrefix[]; networks: NetworkRecord[]; candidates?: string[] }): string {
  if (opts.requested !== undefined) {
    const c = parseCidr(opts.requested);
    if (c.prefix > 30) throw new TsrunError('INVALID_ARGUMENT', `subnet ${opts.requested} is too small: use a prefix of /30 or shorter`);
    const clash = overlapWith(c, opts.host, opts.networks);
    if (clash) throw new TsrunError('INVALID_ARGUMENT', `subnet ${opts.requested} overlaps ${clash}`);
    return formatCidr(c);
  }
  for (const cand of opts.candidates ?? defaultSubnetCandidates()) {
    if (!overlapWith(parseCidr(cand), opts.host, opts.networks)) return cand;
  }
  throw new TsrunError('INVALID_STATE', 'no free subnet left among the default candidates (10.88.0.0/16 ... 10.127.0.0/16): pass --subnet');
}

export interface NetworkStore {
  get(name: string): Promise<NetworkRecord>;
  find(name: string): Promise<NetworkRecord | null>;
  list(): Promise<NetworkRecord[]>;
  create(opts: CreateNetworkOptions): Promise<NetworkRecord>;
  /** The default `bridge` network (device tsrun0), created on first use (in `subnet` if given). */
  ensureDefault(subnet?: string): Promise<NetworkRecord>;
  /** Removes the record and its leases. Refused while any address is leased (unless `force`). Device and nft rules are the caller's (bridge.ts, nat.ts). */
  remove(name: string, opts?: { force?: boolean }): Promise<NetworkRecord>;
}

/**
 * The default network's bridge device: `tsrun0` for the default --root, and
 * for any other root a name of its own (`tsr` + 8 hex of the root's path +
 * `0`), since devices are host-wide and two roots must not share one.
 */
export function defaultBridgeFor(root: string, defaultRoot: string): string {
  return root === defaultRoot ? DEFAULT_BRIDGE : `tsr${nodeCrypto().createHash('sha256').update(root).digest('hex').slice(0, 8)}0`;
}

export function networkStore(opts: { root: string; lock: Locker; tools?: NetTools; now?: () => Date; defaultBridge?: string }): NetworkStore {
  const tools = opts.tools ?? hostTools;
  const now = opts.now ?? (() => new Date());
  const base = join(opts.root, 'networks');
  const lockPath = join(base, '.lock');

  async function find(name: string): Promise<NetworkRecord | null> {
    validateNetworkName(name);
    try {
      return JSON.parse(await readFile(join(networkDir(opts.root, name), 'network.json'), 'utf8')) as NetworkRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new TsrunError('INVALID_STATE', `cannot read network ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  async function list(): Promise<NetworkRecord[]> {
    let names: string[];
    try {
      names = (await readdir(base, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const recs = await Promise.all(names.filter((n) => NAME_RE.test(n)).map(find));
    return recs.filter((r): r is NetworkRecord => r !== null).sort((a, b) => a.Name.localeCompare(b.Name));
  }

  async function createLocked(o: CreateNetworkOptions): Promise<NetworkRecord> {
    validateNetworkName(o.name);
    if (await find(o.name)) throw new TsrunError('NAME_IN_USE', `network ${o.name} already exists`);
    const networks = await list();
    const id = nodeCrypto().createHash('sha256').update(nodeCrypto().randomBytes(32)).digest('hex');
    const bridge = o.bridge ?? o.options?.[BRIDGE_NAME_OPTION] ?? (o.name === DEFAULT_NETWORK ? (opts.defaultBridge ?? DEFAULT_BRIDGE) : `tsr${id.slice(0, 12)}`);
    if (!IFNAME_RE.test(bridge)) throw new TsrunError('INVALID_ARGUMENT', `invalid bridge device name ${JSON.stringify(bridge)} (at most 15 characters)`);
    const taken = networks.find((n) => n.Bridge === bridge);
    if (taken) throw new TsrunError('NAME_IN_USE', `bridge device ${bridge} is already used by network ${taken.Name}`);
    // A device named by the user must be a new one: network rm deletes the network's bridge.
    if (o.bridge === undefined && o.options?.[BRIDGE_NAME_OPTION] !== undefined) {
      const links = await tools.ipJson<{ ifname: string }>(['link', 'show']);
      if (links.some((l) => l.ifname === bridge)) throw new TsrunError('NAME_IN_USE', `bridge device ${bridge} already exists on the host`);
    }
    if (o.gateway !== undefined && o.subnet === undefined) throw new TsrunError('INVALID_ARGUMENT', '--gateway needs --subnet');
    const subnet = chooseSubnet({ requested: o.subnet, host: await hostPrefixes(tools), networks });
    const c = parseCidr(subnet);
    let gateway = formatIpv4(c.base + 1);
    if (o.gateway !== undefined) {
      const g = parseIpv4(o.gateway);
      if (g === null || !isHostAddress(c, g)) throw new TsrunError('INVALID_ARGUMENT', `gateway ${o.gateway} is not a usable address of ${subnet}`);
      gateway = o.gateway;
    }
    const rec: NetworkRecord = {
      Name: o.name,
      Id: id,
      Driver: 'bridge',
      Subnet: subnet,
      Gateway: gateway,
      Internal: o.internal ?? false,
      Bridge: bridge,
      Created: now().toISOString(),
      Labels: o.labels ?? {},
      ...(o.options && Object.keys(o.options).length ? { Options: o.options } : {}),
      ...(o.attachable ? { Attachable: true } : {}),
    };
    const dir = networkDir(opts.root, o.name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await atomicWriteJson(join(dir, 'network.json'), rec);
    return rec;
  }

  const withLock = async <T>(fn: () => Promise<T>): Promise<T> => {
    await mkdir(base, { recursive: true, mode: 0o700 });
    return opts.lock(lockPath, fn);
  };

  return {
    find,
    list,
    get: async (name) => {
      const r = await find(name);
      if (!r) throw new TsrunError('NETWORK_NOT_FOUND', `network ${name} not found`);
      return r;
    },
    create: (o) => withLock(() => createLocked(o)),
    ensureDefault: async (subnet) =>
      (await find(DEFAULT_NETWORK)) ?? withLock(async () => (await find(DEFAULT_NETWORK)) ?? createLocked({ name: DEFAULT_NETWORK, subnet })),
    remove: (name, ro = {}) =>
      withLock(async () => {
        const rec = await find(name);
        if (!rec) throw new TsrunError('NETWORK_NOT_FOUND', `network ${name} not found`);
        if (!ro.force) {
          let leases: Record<string, { ContainerId: string }> = {};
          try {
            leases = (JSON.parse(await readFile(join(networkDir(opts.root, name), 'leases.json'), 'utf8')) as { Leases: typeof leases }).Leases ?? {};
          } catch {
            /* no leases file: nothing in use */
          }
          const users = Object.values(leases).map((l) => l.ContainerId.slice(0, 12));
          if (users.length) throw new TsrunError('NETWORK_IN_USE', `network ${name} has active endpoints: container(s) ${users.join(', ')}`);
        }
        await rm(networkDir(opts.root, name), { recursive: true, force: true });
        return rec;
      }),
  };
}
