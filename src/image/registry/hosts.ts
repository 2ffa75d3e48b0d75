// Which URLs serve a registry domain, in the order to try them, and how to
// talk TLS to them. Follows Docker's daemon: registry-mirrors apply only to
// Docker Hub and are tried before it; https always first; plain http only
// for insecure registries (configured ones, and loopback addresses, which
// Docker trusts by default). A registry named with --insecure-registry also
// gets https without certificate verification (a self-signed certificate),
// as Docker does; a loopback address does not: there, unlike Docker, a bad
// certificate stays an error unless the user names the registry, so that
// skipping verification is always a choice somebody made.
import { isIP } from 'node:net';
import { createHttpFetch, httpFetch, type FetchFn } from './http-fetch.js';

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
  /** https without certificate verification (the registry was named with --insecure-registry); absent otherwise. */
  skipTlsVerify?: true;
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
  return isLoopbackHost(domain) || isNamedInsecure(domain, cfg);
}

/** Whether `domain` (host[:port]) was named in the insecure list: its TLS certificate is not verified. */
export function isNamedInsecure(domain: string, cfg: RegistryHostsConfig = {}): boolean {
  const d = domain.toLowerCase();
  // An entry without a port covers every port of that host.
  return (cfg.insecure ?? []).some((e) => {
    const entry = e.toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return entry === d || entry === hostnameOf(d);
  });
}

/**
 * The fetch every registry call goes through (http-fetch.ts: node:http and
 * node:https, not Node's fetch): https to a registry named in
 * `cfg.insecure` skips certificate verification, for that request only.
 */
export function tlsAwareFetch(cfg: RegistryHostsConfig = {}): FetchFn {
  if (!(cfg.insecure ?? []).length) return httpFetch;
  return createHttpFetch({ skipTlsVerify: (url) => isNamedInsecure(url.host, cfg) });
}

// Node's codes for a certificate that does not verify: these are answers,
// not "nothing there", so they never fall back to plain http.
const TLS_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE', 'INVALID_CA',
]);

export function isTlsCertificateError(code: string | undefined): boolean {
  return code !== undefined && TLS_CERT_CODES.has(code);
}

function mirrorEndpoint(url: string, cfg: RegistryHostsConfig): RegistryEndpoint {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`;
  const u = new URL(withScheme);
  const baseUrl = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  return { baseUrl, host: u.host, isMirror: true, insecureAllowed: u.protocol === 'http:', fallbackOnly: false, ...(isNamedInsecure(u.host, cfg) ? { skipTlsVerify: true as const } : {}) };
}

/** The endpoints for `domain` (as in ImageReference.domain), best first. */
export function endpointsFor(domain: string, cfg: RegistryHostsConfig = {}): RegistryEndpoint[] {
  const out: RegistryEndpoint[] = [];
  if (domain === DOCKER_HUB_DOMAIN) {
    for (const m of cfg.mirrors ?? []) out.push(mirrorEndpoint(m, cfg));
  }
  const host = domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : domain;
  const insecure = isInsecureRegistry(domain, cfg);
  const tls = isNamedInsecure(domain, cfg) ? { skipTlsVerify: true as const } : {};
  out.push({ baseUrl: `https://${host}`, host, isMirror: false, insecureAllowed: insecure, fallbackOnly: false, ...tls });
  if (insecure) out.push({ baseUrl: `http://${host}`, host, isMirror: false, insecureAllowed: true, fallbackOnly: true, ...tls });
  return out;
}
