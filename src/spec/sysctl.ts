// --sysctl KEY=VALUE → OCI linux.sysctl. Only sysctls that belong to a
// namespace the container has of its own may be set: anything else would
// change the host for everyone. The allow-list is the Docker CLI's
// (opts.ValidateSysctl); the namespace checks are runc's validator's.

import { TsrunError } from '../errors.js';
import type { OciNamespace } from './oci.js';

// IPC-namespace sysctls (ipc_namespace, mq_namespace).
const IPC_KEYS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
const IPC_PREFIXES = ['fs.mqueue.'];
const NET_PREFIX = 'net.';

const ALLOWED = 'only namespaced sysctls may be set: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*';

export type SysctlNamespace = 'ipc' | 'network';

/** The namespace a sysctl belongs to, or undefined when Docker does not allow it. */
export function sysctlNamespace(key: string): SysctlNamespace | undefined {
  if (IPC_KEYS.has(key) || IPC_PREFIXES.some((p) => key.startsWith(p))) return 'ipc';
  if (key.startsWith(NET_PREFIX)) return 'network';
  return undefined;
}

/** Parses and checks every --sysctl; a later value for the same key wins. */
export function parseSysctls(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const at = v.indexOf('=');
    const bad = (why: string) => new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(v)} for "--sysctl" flag: ${why}`);
    if (at <= 0) throw bad(`sysctl '${v}' is not allowed: use KEY=VALUE`);
    const key = v.slice(0, at).trim();
    const value = v.slice(at + 1);
    // The key becomes a path under /proc/sys: keep it to what sysctl(8) names are made of.
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(key)) throw bad(`'${key}' is not a sysctl name`);
    if (!sysctlNamespace(key)) throw bad(`sysctl '${v}' is not allowed (${ALLOWED})`);
    if (value.includes('\n')) throw bad('the value must be one line');
    out[key] = value;
  }
  return out;
}

/**
 * runc's rule: a namespaced sysctl needs its namespace to be the
 * container's own, not the host's (--network host, --ipc host).
 */
export function checkSysctlNamespaces(sysctls: Record<string, string>, hostNamespaces: ReadonlySet<SysctlNamespace>): void {
  for (const key of Object.keys(sysctls)) {
    const ns = sysctlNamespace(key);
    if (ns && hostNamespaces.has(ns)) {
      const flag = ns === 'network' ? '--network host' : '--ipc host';
      throw new TsrunError('INVALID_ARGUMENT', `sysctl ${JSON.stringify(key)} is not allowed in the host's ${ns === 'network' ? 'network' : 'IPC'} namespace (${flag})`);
    }
  }
}

/**
 * runc's validator for a bundle's linux.sysctl: a key may be set only when
 * the namespace that scopes it is the container's own (IPC keys with an
 * ipc namespace, net.* with a network namespace that is not the host's,
 * the host and domain names with a uts namespace); any other key would
 * change the host.
 */
export function checkOciSysctls(sysctl: Record<string, string>, namespaces: readonly OciNamespace[]): void {
  const own = (type: string) => namespaces.some((n) => n.type === type);
  for (const raw of Object.keys(sysctl)) {
    const key = raw.replaceAll('/', '.');
    const ns = sysctlNamespace(key) ?? (key === 'kernel.domainname' || key === 'kernel.hostname' ? 'uts' : undefined);
    if (ns === 'network') {
      const net = namespaces.find((n) => n.type === 'network');
      if (net && net.path !== '/proc/1/ns/net') continue;
      throw new TsrunError('INVALID_ARGUMENT', `sysctl "${raw}" not allowed in host network namespace`);
    }
    if (!ns) throw new TsrunError('INVALID_ARGUMENT', `sysctl "${raw}" is not in a separate kernel namespace`);
    if (!own(ns)) throw new TsrunError('INVALID_ARGUMENT', `sysctl "${raw}" is not allowed as it conflicts with the OCI "${ns}" namespace`);
  }
}
