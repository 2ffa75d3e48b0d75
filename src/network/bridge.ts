// The bridge and the per-container veth pair.
//
// Called by the runtime between "container process created (its netns exists,
// pid known, waiting on the exec fifo)" and "start":
//
//   ensureBridge(net)                      tsrun0 up with the gateway address
//   attachContainer({net, ipam, pid, ...}) veth<8 hex> on the bridge; its peer
//                                          created directly inside the
//                                          container's netns as eth0, with
//                                          address, MAC, up, default route
//   detachContainer({net, ipam, id})       delete the host veth (the peer goes
//                                          with it), release the lease
//
// All of it is idempotent; a failure midway in attach undoes what it did.
import { TsrunError } from '../errors.js';
import { nodeCrypto } from '../util/lazy-builtins.js';
import type { NetworkRecord } from './config.js';
import { hostTools, type NetTools } from './exec.js';
import type { Ipam } from './ipam.js';
import { parseCidr, parseIpv4 } from './ipv4.js';

export interface Attachment {
  network: string;
  ifName: string;
  hostVeth: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
}

/** The host-side veth name for a container on a network: `veth` + 8 hex, derived so teardown finds it without state. */
export function hostVethName(containerId: string, network: string): string {
  return 'veth' + nodeCrypto().createHash('sha256').update(`${containerId}\0${network}`).digest('hex').slice(0, 8);
}

/** Docker's scheme: 02:42 followed by the four bytes of the IPv4 address (locally administered, unicast). */
export function macForIp(ip: string): string {
  const n = parseIpv4(ip);
  if (n === null) throw new TsrunError('INVALID_ARGUMENT', `invalid IPv4 address ${ip}`);
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export function validateMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)) throw new TsrunError('INVALID_ARGUMENT', `invalid MAC address ${JSON.stringify(mac)}: expected six hex pairs like 02:42:ac:11:00:02`);
  if (parseInt(m.slice(0, 2), 16) & 1) throw new TsrunError('INVALID_ARGUMENT', `invalid MAC address ${mac}: it is a multicast address`);
  return m;
}

async function linkExists(tools: NetTools, name: string): Promise<boolean> {
  if (tools.linkExists) return tools.linkExists(name);
  const links = await tools.ipJson<{ ifname: string }>(['link', 'show']);
  return links.some((l) => l.ifname === name);
}

/** Creates the bridge if missing, gives it the gateway address, brings it up. Idempotent. */
export async function ensureBridge(net: NetworkRecord, tools: NetTools = hostTools): Promise<void> {
  const prefix = parseCidr(net.Subnet).prefix;
  if (!(await linkExists(tools, net.Bridge))) {
    try {
      await tools.ip(['link', 'add', net.Bridge, 'type', 'bridge']);
    } catch (err) {
      // A parallel CLI may have created it in between.
      if (!(await linkExists(tools, net.Bridge))) throw err;
    }
  }
  await tools.ip(['addr', 'replace', `${net.Gateway}/${prefix}`, 'dev', net.Bridge]);
  await tools.ip(['link', 'set', net.Bridge, 'up']);
}

/** Deletes the bridge device (and so its address and routes). Idempotent. */
export async function removeBridge(net: NetworkRecord, tools: NetTools = hostTools): Promise<void> {
  if (await linkExists(tools, net.Bridge)) await tools.ip(['link', 'del', net.Bridge]);
}

export interface AttachOptions {
  net: NetworkRecord;
  ipam: Ipam;
  containerId: string;
  /** Any process inside the container's network namespace (the container's init). */
  pid: number;
  /** `--ip` */
  ip?: string;
  /** `--mac-address`; default derived from the address (02:42:a:b:c:d). */
  mac?: string;
  /** What peers on the network resolve to this container (kept on its lease). */
  names?: string[];
  /** Interface name inside; default eth0 (eth1... for a second network). */
  ifName?: string;
  mtu?: number;
  tools?: NetTools;
}

export async function attachContainer(o: AttachOptions): Promise<Attachment> {
  const tools = o.tools ?? hostTools;
  const ifName = o.ifName ?? 'eth0';
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(ifName)) throw new TsrunError('INVALID_ARGUMENT', `invalid interface name ${ifName}`);
  const mac = o.mac !== undefined ? validateMac(o.mac) : undefined;
  const hostVeth = hostVethName(o.containerId, o.net.Name);
  const prefixLen = parseCidr(o.net.Subnet).prefix;
  const mtu = String(o.mtu ?? 1500);

  const ip = await o.ipam.allocate(o.containerId, { ip: o.ip, hostVeth, names: o.names, mac });
  let created = false;
  try {
    // A leftover from an earlier attempt for this same container (its name is derived from the id).
    if (await linkExists(tools, hostVeth)) await tools.ip(['link', 'del', hostVeth]);
    // Create the peer directly in the container's netns under its final name:
    // no temporary name in the host namespace, nothing to rename. The host
    // end is made on the bridge and up in the same request (one `ip`, and
    // the kernel undoes the creation if joining the bridge fails).
    await tools.ip(['link', 'add', hostVeth, 'mtu', mtu, 'master', o.net.Bridge, 'up', 'type', 'veth', 'peer', 'name', ifName, 'mtu', mtu, 'netns', String(o.pid)]);
    created = true;
    const finalMac = mac ?? macForIp(ip);
    const inside = [
      `link set lo up`,
      `link set ${ifName} address ${finalMac}`,
      `addr add ${ip}/${prefixLen} dev ${ifName}`,
      `link set ${ifName} up`,
    ];
    // Internal networks reach only their own subnet: no default route.
    if (!o.net.Internal) inside.push(`route replace default via ${o.net.Gateway} dev ${ifName}`);
    await tools.ipBatchInNetns(o.pid, inside);
    return { network: o.net.Name, ifName, hostVeth, ip, prefixLen, gateway: o.net.Gateway, mac: finalMac };
  } catch (err) {
    if (created) await tools.ip(['link', 'del', hostVeth]).catch(() => {});
    await o.ipam.release(o.containerId).catch(() => {});
    throw new TsrunError('CONTAINER_SETUP_FAILED', `cannot connect container ${o.containerId.slice(0, 12)} to network ${o.net.Name}: ${(err as Error).message}`, { cause: err });
  }
}

/** Removes the container's host veth (if still there) and releases its lease. Idempotent; works after the container is gone. */
export async function detachContainer(o: { net: NetworkRecord; ipam: Ipam; containerId: string; tools?: NetTools }): Promise<void> {
  const tools = o.tools ?? hostTools;
  const hostVeth = hostVethName(o.containerId, o.net.Name);
  if (await linkExists(tools, hostVeth)) {
    try {
      await tools.ip(['link', 'del', hostVeth]);
    } catch (err) {
      // Gone in between (the netns died and took the pair with it) is fine.
      if (await linkExists(tools, hostVeth)) throw err;
    }
  }
  await o.ipam.release(o.containerId);
}
