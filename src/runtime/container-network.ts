// A container's network as `run` asks for it: its namespace (a new one, the
// host's, or another container's) and the /etc files Docker writes for it,
// regenerated at every start so they exist before the mounts are made.
import { readFile, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { hostsFile, parseAddHost, parseDnsServer, parseNetworkMode, resolvConf, type ExtraHost } from '../network/etc-files.js';
import type { RunOptions } from '../spec/build.js';
import type { OciSpec } from '../spec/oci.js';

/** What the container record keeps of the network flags. */
export interface NetworkRequest {
  /** Docker's NetworkMode: none, host, or container:<id>. */
  mode: string;
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
}

/** Validates the flags (no I/O); `resolveContainer` turns container:REF into an id. */
export async function networkRequest(flags: NetworkFlags, resolveContainer: (ref: string) => Promise<string>): Promise<NetworkRequest> {
  const mode = parseNetworkMode(flags.network);
  const extraHosts = (flags.addHost ?? []).map(parseAddHost);
  const dns = (flags.dns ?? []).map(parseDnsServer);
  if (mode.kind === 'host' && (dns.length || flags.dnsSearch?.length || flags.dnsOption?.length)) {
    throw new TsrunError('INVALID_ARGUMENT', 'conflicting options: --dns and the network mode host (the host\'s resolv.conf is used)');
  }
  const name = mode.kind === 'container' ? `container:${await resolveContainer(mode.ref)}` : mode.kind;
  return { mode: name, extraHosts, dns, dnsSearch: flags.dnsSearch ?? [], dnsOptions: flags.dnsOption ?? [] };
}

const FILES = { hostname: 'hostname', hosts: 'hosts', resolvConf: 'resolv.conf' } as const;

/** The build options for this network; the files live in the container's record dir. */
export function networkBuildOptions(
  net: NetworkRequest,
  dir: string,
  hostname: string | undefined,
): Required<Pick<RunOptions, 'network' | 'etcFiles'>> & Pick<RunOptions, 'hostname'> {
  return {
    network: net.mode === 'host' ? { host: true } : net.mode.startsWith('container:') ? { joinPath: '/proc/self/ns/net' } : {},
    etcFiles: { hostname: join(dir, FILES.hostname), hosts: join(dir, FILES.hosts), resolvConf: join(dir, FILES.resolvConf) },
    // Docker: with the host's network, the host's name unless -h says otherwise.
    hostname: hostname ?? (net.mode === 'host' ? osHostname() : undefined),
  };
}

/**
 * At start: writes the /etc files and, for container:ID, points the spec's
 * network namespace at that container's current process (which must be
 * running, as in Docker).
 */
export async function prepareNetwork(
  net: NetworkRequest,
  spec: OciSpec,
  dir: string,
  runningPid: (id: string) => Promise<number>,
): Promise<OciSpec> {
  const hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const host = net.mode === 'host';
  const hosts = host
    ? (await readFile('/etc/hosts', 'utf8').catch(() => '')) + net.extraHosts.map((h) => `${h.ip}\t${h.host}\n`).join('')
    : hostsFile({ hostname: spec.hostname ?? '', extraHosts: net.extraHosts });
  await writeFile(join(dir, FILES.hostname), `${spec.hostname ?? ''}\n`);
  await writeFile(join(dir, FILES.hosts), hosts);
  await writeFile(join(dir, FILES.resolvConf), resolvConf(hostResolv, { dns: net.dns, search: net.dnsSearch, options: net.dnsOptions, keepLoopback: host }));
  if (!net.mode.startsWith('container:')) return spec;
  const pid = await runningPid(net.mode.slice('container:'.length));
  const namespaces = (spec.linux?.namespaces ?? []).map((ns) => (ns.type === 'network' ? { type: ns.type, path: `/proc/${pid}/ns/net` } : ns));
  return { ...spec, linux: { ...spec.linux, namespaces } };
}
