// The API versions served: Docker 20.10's 1.41 reported, 1.24 (Docker 1.12)
// to 1.44 accepted, with or without the /vX.Y prefix.
import { API_VERSION, MIN_API_VERSION } from '../system/version.js';
import { ApiError } from './errors.js';

export { API_VERSION, MIN_API_VERSION };
export const MAX_API_VERSION = '1.44';

function compare(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/** Splits `/v1.41/containers/json` into the version asked for and the path; a version out of range is refused as Docker refuses it. */
export function splitVersion(path: string): { version: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  if (!m) return { version: API_VERSION, path };
  const version = m[1];
  if (compare(version, MIN_API_VERSION) < 0) {
    throw new ApiError(400, `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  if (compare(version, MAX_API_VERSION) > 0) {
    throw new ApiError(400, `client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}`);
  }
  return { version, path: m[2] };
}

/** True when the request's API version is at least `v` (fields that changed shape across versions). */
export function versionAtLeast(asked: string, v: string): boolean {
  return compare(asked, v) >= 0;
}
