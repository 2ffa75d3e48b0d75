// Persistent IPAM for one network: <root>/networks/<name>/leases.json, read
// and rewritten (atomically) under an flock on leases.lock, so parallel CLIs
// in separate processes never hand out the same address twice at once.
//
// Allocation walks forward from the last address handed out (like CNI's
// host-local "last reserved IP"), so a just-released address is not reused
// at once and stale ARP/conntrack entries for it have time to expire.
// The gateway, the network and the broadcast address are never leased.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { atomicWriteJson } from '../util/atomic-write.js';
import type { Locker } from '../util/lock.js';
import { type Cidr, cidrContains, cidrSize, formatCidr, formatIpv4, isHostAddress, parseCidr, parseIpv4 } from './ipv4.js';

export interface Lease {
  ContainerId: string;
  /** Host-side veth, when known (teardown can find it without the container's state). */
  HostVeth?: string;
  /** Names peers on a user-defined network resolve to this address: the container's name, short id and aliases. */
  Names?: string[];
  /** The MAC address when one was asked for (else it is derived from the address: bridge.ts macForIp). */
  Mac?: string;
  Created: string;
}

export interface LeaseFile {
  Subnet: string;
  Gateway: string;
  /** The address handed out last; the next search starts after it. */
  Last?: string;
  /** address → lease */
  Leases: Record<string, Lease>;
}

export interface AllocateOptions {
  /** `--ip`: this address or an error (taken, outside the subnet, the gateway...). */
  ip?: string;
  hostVeth?: string;
  names?: string[];
  mac?: string;
}

export interface Ipam {
  /** Allocates an address for the container; if it already holds one on this network, returns that one. */
  allocate(containerId: string, opts?: AllocateOptions): Promise<string>;
  /** Releases every address the container holds on this network; returns them (none is fine). */
  release(containerId: string): Promise<string[]>;
  /** Releases the leases of containers for which `isLive` says false; returns the freed addresses. */
  releaseStale(isLive: (containerId: string) => boolean | Promise<boolean>): Promise<string[]>;
  list(): Promise<Record<string, Lease>>;
  /** Runs `fn` with the leases as they are, holding the lease lock (nobody allocates or releases meanwhile). */
  withLeases<T>(fn: (leases: Record<string, Lease>) => Promise<T>): Promise<T>;
}

export function networkDir(root: string, name: string): string {
  return join(root, 'networks', name);
}

export function openIpam(opts: { root: string; network: string; subnet: string; gateway: string; lock: Locker; now?: () => Date }): Ipam {
  const dir = networkDir(opts.root, opts.network);
  const file = join(dir, 'leases.json');
  const lockPath = join(dir, 'leases.lock');
  const subnet = parseCidr(opts.subnet);
  const gateway = parseIpv4(opts.gateway);
  if (gateway === null || !cidrContains(subnet, gateway)) throw new TsrunError('INVALID_ARGUMENT', `gateway ${opts.gateway} is not inside ${opts.subnet}`);
  const now = opts.now ?? (() => new Date());

  async function read(): Promise<LeaseFile> {
    try {
      const data = JSON.parse(await readFile(file, 'utf8')) as LeaseFile;
      return { ...data, Leases: data.Leases ?? {} };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { Subnet: opts.subnet, Gateway: opts.gateway, Leases: {} };
      throw new TsrunError('INVALID_STATE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  async function locked<T>(fn: (state: LeaseFile) => Promise<{ write: boolean; value: T }>): Promise<T> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return opts.lock(lockPath, async () => {
      const state = await read();
      const { write, value } = await fn(state);
      if (write) await atomicWriteJson(file, state);
      return value;
    });
  }

  function pick(state: LeaseFile, containerId: string, want: AllocateOptions): string {
    if (want.ip !== undefined) {
      const addr = parseIpv4(want.ip);
      if (addr === null) throw new TsrunError('INVALID_ARGUMENT', `invalid IPv4 address ${JSON.stringify(want.ip)} for --ip`);
      if (!isHostAddress(subnet, addr)) throw new TsrunError('INVALID_ARGUMENT', `--ip ${want.ip} is not a usable address of network ${opts.network} (${formatCidr(subnet)})`);
      if (addr === gateway) throw new TsrunError('INVALID_ARGUMENT', `--ip ${want.ip} is the gateway of network ${opts.network}`);
      const held = state.Leases[want.ip];
      if (held && held.ContainerId !== containerId) throw new TsrunError('NAME_IN_USE', `address ${want.ip} is already in use on network ${opts.network} (container ${held.ContainerId.slice(0, 12)})`);
      return want.ip;
    }
    const size = cidrSize(subnet);
    const last = state.Last !== undefined ? parseIpv4(state.Last) : null;
    const start = last !== null && cidrContains(subnet, last) ? last - subnet.base + 1 : 0;
    for (let i = 0; i < size; i++) {
      const addr = (subnet.base + ((start + i) % size)) >>> 0;
      if (addr === gateway || !isHostAddress(subnet, addr)) continue;
      const s = formatIpv4(addr);
      if (!state.Leases[s]) return s;
    }
    throw new TsrunError('INVALID_STATE', `network ${opts.network} (${formatCidr(subnet)}) has no free address left`);
  }

  return {
    allocate: (containerId, want = {}) =>
      locked(async (state) => {
        const mine = Object.entries(state.Leases).find(([, l]) => l.ContainerId === containerId);
        if (mine && (want.ip === undefined || want.ip === mine[0])) {
          const lease = {
            ...mine[1], ...(want.hostVeth ? { HostVeth: want.hostVeth } : {}), ...(want.names ? { Names: want.names } : {}), ...(want.mac ? { Mac: want.mac } : {}),
          };
          if (JSON.stringify(lease) === JSON.stringify(mine[1])) return { write: false, value: mine[0] };
          state.Leases[mine[0]] = lease;
          return { write: true, value: mine[0] };
        }
        if (mine) delete state.Leases[mine[0]];
        const ip = pick(state, containerId, want);
        state.Leases[ip] = {
          ContainerId: containerId,
          ...(want.hostVeth ? { HostVeth: want.hostVeth } : {}),
          ...(want.names ? { Names: want.names } : {}),
          ...(want.mac ? { Mac: want.mac } : {}),
          Created: now().toISOString(),
        };
        if (want.ip === undefined) state.Last = ip;
        return { write: true, value: ip };
      }),
    release: (containerId) =>
      locked(async (state) => {
        const freed = Object.keys(state.Leases).filter((ip) => state.Leases[ip].ContainerId === containerId);
        for (const ip of freed) delete state.Leases[ip];
        return { write: freed.length > 0, value: freed };
      }),
    releaseStale: (isLive) =>
      locked(async (state) => {
        const freed: string[] = [];
        for (const [ip, l] of Object.entries(state.Leases)) {
          if (!(await isLive(l.ContainerId))) {
            delete state.Leases[ip];
            freed.push(ip);
          }
        }
        return { write: freed.length > 0, value: freed };
      }),
    list: async () => (await read()).Leases,
    withLeases: (fn) => locked(async (state) => ({ write: false, value: await fn(state.Leases) })),
  };
}

export type { Cidr };
