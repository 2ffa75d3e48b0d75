// Which URLs serve a registry domain, in the order to try them. Follows
// Docker's daemon: registry-mirrors apply only to Docker Hub and are tried
// before it; https always first; plain http only for insecure registries
// (configured ones, and loopback addresses, which Docker trusts by default).
import { isIP } from 'node:net';

export interface RegistryHostsConfig {
  /** Docker Hub mirrors, e.g. 'https://mirror.example' or 'http://127.0.0.1:5000'. */
  mirrors?: string[];
  /** Registries that may be reached over plain http: 'HOST[:PORT]'. */
  insecure?: string[];
}

export interface RegistryEndpoint {
  /** Scheme, host and optional path prefix, no trailing '/': 'https://registry-1.docker.io'. */
  baseUrl: string;
  /** host[:port] of baseUrl, the key for credentials. */
  host: string;
  isMirror: boolean;
  /** Plain http is acceptable for this registry. */
  insecureAllowed: boolean;
  /** Try only when the endpoint before it could not be connected to (https→http fallback). */
  fallbackOnly: boolean;
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

function hostnameOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i === -1 ? hostPort : hostPort.slice(0, i);
}

/** localhost, 127.0.0.0/8 and ::1 (with any port). */
export function isLoopbackHost(hostPort: string): boolean {
  const h = hostnameOf(hostPort).toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** Whether plain http is allowed for `domain` (host[:port]). */
export function isInsecureRegistry(domain: string, cfg: RegistryHostsConfig = {}): boolean {
  if (isLoopbackHost(domain)) return true;
  const d = domain.toLowerCase();
  // An entry without a port covers every port of that host.
  return (cfg.insecure ?? []).some((e) => {
    const entry = e.toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return entry === d || entry === hostnameOf(d);
  });
}

function mirrorEndpoint(url: string): RegistryEndpoint {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`;
  const u = new URL(withScheme);
  const baseUrl = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  return { baseUrl, host: u.host, isMirror: true, insecureAllowed: u.protocol === 'http:', fallbackOnly: false };
}

/** The endpoints for `domain` (as in ImageReference.domain), best first. */
export function endpointsFor(domain: string, cfg: RegistryHostsConfig = {}): RegistryEndpoint[] {
  const out: RegistryEndpoint[] = [];
  if (domain === DOCKER_HUB_DOMAIN) {
    for (const m of cfg.mirrors ?? []) out.push(mirrorEndpoint(m));
  }
  const host = domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : domain;
  const insecure = isInsecureRegistry(domain, cfg);
  out.push({ baseUrl: `https://${host}`, host, isMirror: false, insecureAllowed: insecure, fallbackOnly: false });
  if (insecure) out.push({ baseUrl: `http://${host}`, host, isMirror: false, insecureAllowed: true, fallbackOnly: true });
  return out;
}
