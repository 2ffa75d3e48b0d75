// Content digests ("algorithm:hex"), as the OCI image spec defines them.
// Only sha256 is in real use; sha512 is accepted syntactically (the spec
// registers it) and can be verified because Node's crypto has it.
import type { Hash } from 'node:crypto';
import { nodeCrypto } from '../util/lazy-builtins.js';
import { TsrunError } from '../errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^(sha256|sha512):([a-f0-9]+)$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

export function isDigest(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = DIGEST_RE.exec(value);
  return m !== null && m[2]!.length === HEX_LENGTH[m[1] as DigestAlgorithm];
}

/** Splits a digest; throws INVALID_REFERENCE naming the value when malformed. */
export function parseDigest(value: string): ParsedDigest {
  if (!isDigest(value)) {
    throw new TsrunError(
      'INVALID_REFERENCE',
      `invalid digest "${value}": expected sha256: followed by 64 lower-case hex digits (or sha512: and 128)`,
    );
  }
  const i = value.indexOf(':');
  return { algorithm: value.slice(0, i) as DigestAlgorithm, hex: value.slice(i + 1) };
}

export function sha256Digest(buf: Uint8Array): string {
  return 'sha256:' + nodeCrypto().createHash('sha256').update(buf).digest('hex');
}

/** Digest of `buf` with the algorithm of `like` (a valid digest). */
export function digestLike(like: string, buf: Uint8Array): string {
  const { algorithm } = parseDigest(like);
  return `${algorithm}:` + nodeCrypto().createHash(algorithm).update(buf).digest('hex');
}

/** A running hash for streaming verification; `digest()` gives "alg:hex". */
export function createDigester(like: string): { hash: Hash; digest(): string } {
  const { algorithm } = parseDigest(like);
  const hash = nodeCrypto().createHash(algorithm);
  return { hash, digest: () => `${algorithm}:${hash.digest('hex')}` };
}
