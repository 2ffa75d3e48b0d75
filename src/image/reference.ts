// Image references, normalised the way Docker does it
// (github.com/distribution/reference: normalize.go, regexp.go). Pure: no I/O.
import { TsrunError } from '../errors.js';
import { isDigest } from './digest.js';

export interface ImageReference {
  domain: string; // 'docker.io', 'ghcr.io', 'localhost:5000'
  path: string; // 'library/alpine'
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar from distribution/reference regexp.go.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const ANCHORED_ID_RE = /^[a-f0-9]{64}$/;

function invalid(input: string, why: string): TsrunError {
  return new TsrunError('INVALID_REFERENCE', `invalid reference format "${input}": ${why}`);
}

/**
 * Parses a user-typed reference ('alpine', 'user/app:1.0',
 * 'host:5000/ns/app@sha256:...') into its normalised parts.
 */
export function parseReference(input: string): ImageReference {
  if (typeof input !== 'string' || input.length === 0) throw invalid(String(input), 'empty reference');
  if (ANCHORED_ID_RE.test(input)) {
    throw invalid(input, 'a 64-character hexadecimal string is an image ID, not a repository name');
  }

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw invalid(input, `bad digest "${digest}" (expected sha256: and 64 lower-case hex digits)`);
  }

  // A tag is the part after the last ':' that follows the last '/'
  // (a ':' before a '/' is a registry port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag === '') throw invalid(input, 'empty tag after ":"');
    if (!TAG_RE.test(tag)) {
      throw invalid(input, `bad tag "${tag}" (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')`);
    }
  }
  if (rest === '') throw invalid(input, 'empty repository name');

  // splitDockerDomain: the first component is a registry host only when it
  // looks like one ('.' or ':' or 'localhost'; Docker also treats an
  // upper-case first component as a host, since repositories are lower-case).
  let domain: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash === -1 ? '' : rest.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;

  if (!DOMAIN_RE.test(domain)) throw invalid(input, `bad registry host "${domain}"`);
  if (path.toLowerCase() !== path) throw invalid(input, `repository name "${path}" must be lower-case`);
  for (const component of path.split('/')) {
    if (component === '') throw invalid(input, 'empty path component (stray "/")');
    if (!PATH_COMPONENT_RE.test(component)) {
      throw invalid(
        input,
        `bad path component "${component}" (lower-case letters and digits, separated by '.', '_', '__' or '-')`,
      );
    }
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(input, `repository name is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }

  const ref: ImageReference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

/** 'docker.io/library/alpine' */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** 'docker.io/library/alpine:latest', 'x/y:tag@sha256:...', 'x/y@sha256:...' */
export function formatReference(ref: ImageReference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Docker's short form without tag: 'alpine', 'user/app', 'host:5000/ns/app'. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX) && !rest.includes('/')) return rest;
  return ref.path;
}

/** Docker's short form with tag/digest: 'alpine:latest', 'user/app@sha256:...'. */
export function familiarString(ref: ImageReference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}
