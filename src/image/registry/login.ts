// `tsrun login`: checks credentials against the registry's /v2/ endpoint
// (answering its Basic or Bearer challenge, with no repository scope, as
// `docker login` does) before anything is stored.
import { TsrunError } from '../../errors.js';
import { Authorizer, causeMessage, errorCode } from './auth.js';
import { StaticCredentials, type Credential } from './credentials.js';
import { endpointsFor, isTlsCertificateError, tlsAwareFetch, type RegistryHostsConfig } from './hosts.js';
import type { FetchFn, FetchResponse } from './http-fetch.js';

/** The registry host `login SERVER` means: docker.io (and its aliases) or HOST[:PORT], without a scheme or path. */
export function loginDomain(server: string | undefined): string {
  if (!server) return 'docker.io';
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (['index.docker.io', 'registry-1.docker.io', 'docker.io'].includes(host)) return 'docker.io';
  if (!/^[a-zA-Z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid registry address ${JSON.stringify(server)}`);
  }
  return host;
}

export async function verifyLogin(domain: string, cred: Credential, hosts: RegistryHostsConfig = {}, fetchImpl: FetchFn = tlsAwareFetch(hosts)): Promise<void> {
  let lastErr: unknown;
  // Mirrors are not the registry the user logs in to.
  for (const ep of endpointsFor(domain, hosts).filter((e) => !e.isMirror)) {
    const auth = new Authorizer({ fetch: fetchImpl, credentials: new StaticCredentials({ [ep.host]: cred }) });
    const url = `${ep.baseUrl}/v2/`;
    let res: FetchResponse;
    try {
      res = await fetchImpl(url);
    } catch (err) {
      if (isTlsCertificateError(errorCode(err))) {
        throw new TsrunError(
          'REGISTRY_ERROR',
          `login to ${domain} failed: cannot verify its TLS certificate: ${causeMessage(err)}; if you trust this registry, use --insecure-registry ${domain}`,
          { cause: err },
        );
      }
      lastErr = err;
      continue; // https refused: an insecure registry may still answer over http
    }
    if (res.status === 401) {
      await res.body?.cancel();
      const authorization = await auth.onChallenge(ep.host, res.headers.get('www-authenticate'), '', `the registry ${ep.host}`);
      res = await fetchImpl(url, { headers: { authorization } });
    }
    await res.body?.cancel();
    if (res.ok) return;
    if (res.status === 401 || res.status === 403) {
      throw new TsrunError('REGISTRY_UNAUTHORIZED', `login to ${domain} failed: incorrect username or password`);
    }
    throw new TsrunError('REGISTRY_ERROR', `login to ${domain} failed: ${url} answered ${res.status} ${res.statusText}`);
  }
  throw new TsrunError('REGISTRY_UNREACHABLE', `cannot reach the registry ${domain}: ${causeMessage(lastErr)}`, { cause: lastErr });
}
