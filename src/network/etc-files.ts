// The files Docker writes for every container and bind-mounts over the
// image's: /etc/hostname, /etc/hosts and /etc/resolv.conf. They live in the
// container's record directory, so they survive restarts and go with `rm`.
import { TsrunError } from '../errors.js';
import { nodeNet } from '../util/lazy-builtins.js';

/** --network as Docker takes it: none, host, container:REF, or a bridge network by name (`bridge`, the default, or a user-defined one). */
export type NetworkMode = { kind: 'none' } | { kind: 'host' } | { kind: 'container'; ref: string } | { kind: 'bridge'; network: string };

export function parseNetworkMode(value: string): NetworkMode {
  if (value === 'none') return { kind: 'none' };
  if (value === 'host') return { kind: 'host' };
  if (value.startsWith('container:') && value.length > 'container:'.length) return { kind: 'container', ref: value.slice('container:'.length) };
  if (value === 'default') return { kind: 'bridge', network: 'bridge' };
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(value)) throw new TsrunError('INVALID_ARGUMENT', `invalid --network ${JSON.stringify(value)}`);
  return { kind: 'bridge', network: value };
}

export interface ExtraHost {
  host: string;
  ip: string;
}

const HOSTNAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

/** --add-host HOST:IP (IPv6 addresses keep their colons: the first colon splits). */
export function parseAddHost(value: string): ExtraHost {
  const at = value.indexOf(':');
  const host = at > 0 ? value.slice(0, at) : '';
  const ip = at > 0 ? value.slice(at + 1).replace(/^\[(.*)\]$/, '$1') : '';
  if (!HOSTNAME_RE.test(host) || nodeNet().isIP(ip) === 0) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid --add-host ${JSON.stringify(value)}: expected HOST:IP`);
  }
  return { host, ip };
}

export function parseDnsServer(value: string): string {
  if (nodeNet().isIP(value) === 0) throw new TsrunError('INVALID_ARGUMENT', `invalid --dns ${JSON.stringify(value)}: expected an IP address`);
  return value;
}

export function hostsFile(opts: { hostname: string; extraHosts: ExtraHost[]; selfAddresses?: string[] }): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...opts.extraHosts.map((h) => `${h.ip}\t${h.host}`),
    // With no address of its own, the container still resolves its own name (to loopback), as with Docker's --network none.
    ...(opts.selfAddresses?.length ? opts.selfAddresses : ['127.0.0.1']).map((ip) => `${ip}\t${opts.hostname}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * resolv.conf from the host's, as Docker builds it: loopback nameservers
 * (systemd-resolved's 127.0.0.53, a local dnsmasq) cannot be reached from
 * the container's own network namespace and are dropped; --dns,
 * --dns-search and --dns-option replace the matching lines.
 */
export function resolvConf(host: string, opts: { dns?: string[]; search?: string[]; options?: string[]; keepLoopback?: boolean }): string {
  const lines = host.split('\n');
  const nameservers = lines.filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
  const usable = opts.keepLoopback ? nameservers : nameservers.filter((ns) => !/^127\.|^::1$/.test(ns));
  const search = lines.filter((l) => /^\s*(search|domain)\s/.test(l)).map((l) => l.trim().split(/\s+/).slice(1).join(' '));
  const options = lines.filter((l) => /^\s*options\s/.test(l)).map((l) => l.trim().split(/\s+/).slice(1).join(' '));
  const out: string[] = [];
  const ns = opts.dns?.length ? opts.dns : usable;
  out.push(...ns.map((n) => `nameserver ${n}`));
  const s = opts.search?.length ? opts.search.join(' ') : search.at(-1);
  if (s) out.push(`search ${s}`);
  const o = opts.options?.length ? opts.options.join(' ') : options.join(' ');
  if (o) out.push(`options ${o}`);
  return `${out.join('\n')}\n`;
}
