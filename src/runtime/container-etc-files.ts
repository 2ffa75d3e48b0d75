// The /etc files Docker writes for a container (hostname, hosts,
// resolv.conf), regenerated at every start so they exist before the mounts
// are made. Apart from container-network.ts, which brings the network stack
// (a bundle chunk of its own): a start without bridge networks needs only this.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostsFile, resolvConf } from '../network/etc-files.js';
import type { OciSpec } from '../spec/oci.js';
import { readText } from '../util/small-files.js';
import type { NetworkRequest } from './container-network.js';

/** Their names in the container's record dir. */
export const ETC_FILES = { hostname: 'hostname', hosts: 'hosts', resolvConf: 'resolv.conf' } as const;

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
  if (net.mode.startsWith('container:')) {
    // The files are the other container's, written at its own start.
    const pid = await runningPid(net.mode.slice('container:'.length));
    const namespaces = (spec.linux?.namespaces ?? []).map((ns) => (ns.type === 'network' ? { type: ns.type, path: `/proc/${pid}/ns/net` } : ns));
    return { ...spec, linux: { ...spec.linux, namespaces } };
  }
  // Small files, read and written synchronously: a few µs each, where
  // fs/promises would cost every start ~2.5 ms to load.
  const hostResolv = (readText('/etc/resolv.conf') ?? '');
  const host = net.mode === 'host';
  const hosts = host
    ? (readText('/etc/hosts') ?? '') + net.extraHosts.map((h) => `${h.ip}\t${h.host}\n`).join('')
    : hostsFile({ hostname: spec.hostname ?? '', extraHosts: net.extraHosts });
  writeFileSync(join(dir, ETC_FILES.hostname), `${spec.hostname ?? ''}\n`);
  writeFileSync(join(dir, ETC_FILES.hosts), hosts);
  writeFileSync(join(dir, ETC_FILES.resolvConf), resolvConf(hostResolv, { dns: net.dns, search: net.dnsSearch, options: net.dnsOptions, keepLoopback: host }));
  return spec;
}
