// Name resolution between containers on a user-defined network, as Docker's
// embedded DNS gives it: every container's /etc/hosts holds one section per
// user-defined network it is on, listing its peers there by name, short id
// and --network-alias.
//
// Why /etc/hosts and not a DNS server: a resolver is a resident process per
// network (Docker's lives in dockerd, Podman's is aardvark-dns) that must be
// started, supervised and reaped after a SIGKILL; tsrun has no daemon. The
// hosts file is already bind-mounted into every container from its record
// dir, and rewriting it in place (same inode: the bind mount keeps seeing
// it) under the network's lease lock keeps every member's view current when
// a peer starts, stops or connects. getaddrinfo (ping, nc, wget, curl, most
// language runtimes) reads it first; tools that speak DNS on the wire
// (nslookup, dig) do not see peers.
import { readFile, writeFile } from 'node:fs/promises';
import type { Lease } from './ipam.js';

const begin = (network: string) => `# tsrun network ${network}: peers`;
const end = (network: string) => `# end tsrun network ${network}`;

export interface Peer {
  ip: string;
  names: string[];
}

/** The peers of `self` among a network's leases (everyone else holding an address with names). */
export function peersOf(leases: Record<string, Lease>, self: string): Peer[] {
  return Object.entries(leases)
    .filter(([, l]) => l.ContainerId !== self && l.Names?.length)
    .map(([ip, l]) => ({ ip, names: l.Names! }))
    .sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
}

/** `content` with the network's section replaced by `peers` (removed when `peers` is null); the rest is kept as it is. */
export function withPeerSection(content: string, network: string, peers: Peer[] | null): string {
  const lines = content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const from = lines.indexOf(begin(network));
  const to = lines.indexOf(end(network), from);
  if (from >= 0 && to > from) lines.splice(from, to - from + 1);
  if (peers) lines.push(begin(network), ...peers.map((p) => `${p.ip}\t${p.names.join(' ')}`), end(network));
  return `${lines.join('\n')}\n`;
}

/**
 * Rewrites a container's hosts file in place: its section for `network`
 * (removed when `peers` is null) and, given `self`, the line of its own host
 * name (127.0.0.1 until it has an address). A missing file (the container
 * is being removed) is not an error.
 */
export async function updateHostsFile(path: string, network: string, peers: Peer[] | null, self?: { hostname: string; ip: string }): Promise<void> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  let next = content;
  if (self) next = next.replace(new RegExp(`^127\\.0\\.0\\.1\\t${self.hostname.replaceAll('.', '\\.')}$`, 'm'), `${self.ip}\t${self.hostname}`);
  next = withPeerSection(next, network, peers);
  // Truncate and write, never a rename: the container's bind mount holds this inode.
  if (next !== content) await writeFile(path, next);
}
