// Registry credentials as Docker's clients send them. The service stores
// none: the docker CLI keeps its logins itself and sends the one a request
// needs in a header:
//   X-Registry-Auth    (pull, push)  base64url JSON of one AuthConfig:
//                      {username, password} or {auth: base64("user:pass")}
//                      or {identitytoken}, with serveraddress
//   X-Registry-Config  (build)       base64url JSON: registry → AuthConfig
// A header that is absent, empty (`{}`, what the CLI sends with no login)
// or unreadable means "no credentials", as in moby: the service's stored
// ones (tsrun login) apply then.
import type { IncomingMessage } from 'node:http';
import { StaticCredentials, type Credential, type CredentialSource } from '../image/registry/credentials.js';

interface AuthConfig {
  username?: unknown;
  password?: unknown;
  auth?: unknown;
  identitytoken?: unknown;
  serveraddress?: unknown;
}

function decodeHeader(value: string | string[] | undefined): unknown {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  try {
    // Node's base64 decoder takes both alphabets (the CLI sends base64url, some SDKs standard base64).
    return JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One AuthConfig → a credential, or undefined when it holds none. */
export function credentialOf(doc: unknown): Credential | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const a = doc as AuthConfig;
  let username = str(a.username);
  let password = str(a.password);
  if (!username && !password && str(a.auth)) {
    const plain = Buffer.from(str(a.auth), 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) [username, password] = [plain.slice(0, colon), plain.slice(colon + 1)];
  }
  if (str(a.identitytoken)) return { identityToken: str(a.identitytoken), ...(username ? { username } : {}) };
  return username || password ? { username, password } : undefined;
}

/** X-Registry-Auth: the credential for whatever registry the pull or push goes to. */
export function registryAuth(headers: IncomingMessage['headers']): CredentialSource | undefined {
  const cred = credentialOf(decodeHeader(headers['x-registry-auth']));
  return cred ? { get: async () => cred } : undefined;
}

/** X-Registry-Config: a credential per registry (keys as in config.json: host, https://host/v1/, ...). */
export function registryConfig(headers: IncomingMessage['headers']): CredentialSource | undefined {
  const doc = decodeHeader(headers['x-registry-config']);
  if (typeof doc !== 'object' || doc === null) return undefined;
  const byHost: Record<string, Credential> = {};
  for (const [key, value] of Object.entries(doc)) {
    const cred = credentialOf(value);
    if (cred) byHost[key] = cred;
  }
  return Object.keys(byHost).length ? new StaticCredentials(byHost) : undefined;
}
