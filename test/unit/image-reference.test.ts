import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { isDigest, parseDigest, sha256Digest } from '../../src/image/digest.js';
import {
  familiarName,
  familiarString,
  formatReference,
  parseReference,
  repositoryName,
} from '../../src/image/reference.js';

const D = 'sha256:' + 'a'.repeat(64);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TsrunError);
    return (err as TsrunError).code;
  }
  return undefined;
}

describe('parseReference: Docker normalisation', () => {
  // [input, normalised full form, familiar name]
  const good: Array<[string, string, string]> = [
    ['alpine', 'docker.io/library/alpine:latest', 'alpine'],
    ['alpine:3.19', 'docker.io/library/alpine:3.19', 'alpine'],
    ['library/debian', 'docker.io/library/debian:latest', 'debian'],
    ['docker/docker', 'docker.io/docker/docker:latest', 'docker/docker'],
    ['user/app', 'docker.io/user/app:latest', 'user/app'],
    ['docker.io/debian', 'docker.io/library/debian:latest', 'debian'],
    ['docker.io/library/debian', 'docker.io/library/debian:latest', 'debian'],
    ['index.docker.io/debian', 'docker.io/library/debian:latest', 'debian'],
    ['index.docker.io/docker/docker', 'docker.io/docker/docker:latest', 'docker/docker'],
    ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b'],
    ['127.0.0.1:5000/docker/docker', '127.0.0.1:5000/docker/docker:latest', '127.0.0.1:5000/docker/docker'],
    ['127.0.0.1:5000/debian', '127.0.0.1:5000/debian:latest', '127.0.0.1:5000/debian'],
    ['host:5000/ns/app:tag', 'host:5000/ns/app:tag', 'host:5000/ns/app'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app'],
    ['localhost:5000/app:v1', 'localhost:5000/app:v1', 'localhost:5000/app'],
    ['ghcr.io/owner/repo/sub:1.2.3', 'ghcr.io/owner/repo/sub:1.2.3', 'ghcr.io/owner/repo/sub'],
    ['192.168.0.1', 'docker.io/library/192.168.0.1:latest', '192.168.0.1'],
    ['192.168.0.1:80', 'docker.io/library/192.168.0.1:80', '192.168.0.1'],
    ['192.168.0.1:8/debian', '192.168.0.1:8/debian:latest', '192.168.0.1:8/debian'],
    ['[fc00::1]:5000/docker', '[fc00::1]:5000/docker:latest', '[fc00::1]:5000/docker'],
    ['foo_bar.com:8080', 'docker.io/library/foo_bar.com:8080', 'foo_bar.com'],
    ['foo/foo_bar.com:8080', 'docker.io/foo/foo_bar.com:8080', 'foo/foo_bar.com'],
    ['xn--n3h.com/myimage', 'xn--n3h.com/myimage:latest', 'xn--n3h.com/myimage'],
    ['a__b/c---d.e_f', 'docker.io/a__b/c---d.e_f:latest', 'a__b/c---d.e_f'],
    ['UPPERHOST/app', 'UPPERHOST/app:latest', 'UPPERHOST/app'], // Docker: an upper-case first component is a host
    [`alpine@${D}`, `docker.io/library/alpine@${D}`, 'alpine'],
    [`alpine:3@${D}`, `docker.io/library/alpine:3@${D}`, 'alpine'],
    [`host:5000/app@${D}`, `host:5000/app@${D}`, 'host:5000/app'],
    ['docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a', 'docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest', '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a'],
    ['thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', 'docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest', 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev'],
    ['app:_tag.With-Caps', 'docker.io/library/app:_tag.With-Caps', 'app'],
  ];
  it.each(good)('%s', (input, full, familiar) => {
    const ref = parseReference(input);
    expect(formatReference(ref)).toBe(full);
    expect(familiarName(ref)).toBe(familiar);
  });

  const bad: string[] = [
    '',
    'https://github.com/docker/docker',
    'docker/Docker',
    'Uppercase:tag',
    'docker.io/UPPERCASE',
    '-docker',
    '-docker/docker',
    '-docker.io/docker/docker',
    'docker///docker',
    'docker.io/docker///docker',
    'docker/',
    '/docker',
    'a/../b',
    '../etc/passwd',
    'a/./b',
    'a/.b',
    'aa/asdf$$^/aa',
    '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
    ':justtag',
    `@${D}`,
    'a/a:',
    'alpine:',
    'alpine:-tag',
    'alpine:.tag',
    'alpine:' + 't'.repeat(129),
    'alpine@sha256:ffffffffffffffffffffffffffffffffff',
    'alpine@sha256:' + 'A'.repeat(64),
    'alpine@md5:' + 'a'.repeat(32),
    'alpine@invaliddigest:' + 'f'.repeat(64),
    'alpine@',
    'foo:bar:baz',
    'a'.repeat(256),
    'host:5000/' + 'a'.repeat(250),
    'a b',
    'alpine:la test',
    'ho_st:5000/app',
  ];
  it.each(bad)('rejects %j', (input) => {
    expect(code(() => parseReference(input))).toBe('INVALID_REFERENCE');
  });

  it('names the input in the message', () => {
    expect(() => parseReference('docker/Docker')).toThrow(/"docker\/Docker".*lower-case/);
    expect(() => parseReference('alpine@sha256:123')).toThrow(/alpine@sha256:123.*bad digest/);
    expect(() => parseReference('a/a:')).toThrow(/empty tag/);
  });

  it('defaults the tag only when neither tag nor digest is given', () => {
    expect(parseReference('alpine')).toEqual({ domain: 'docker.io', path: 'library/alpine', tag: 'latest' });
    expect(parseReference(`alpine@${D}`)).toEqual({ domain: 'docker.io', path: 'library/alpine', digest: D });
    expect(parseReference(`alpine:3@${D}`)).toEqual({ domain: 'docker.io', path: 'library/alpine', tag: '3', digest: D });
  });

  it('255 characters of name is the limit', () => {
    const path = 'a'.repeat(255 - 'docker.io/library/'.length);
    expect(repositoryName(parseReference(path))).toHaveLength(255);
    expect(code(() => parseReference(path + 'a'))).toBe('INVALID_REFERENCE');
  });

  it('repositoryName and familiarString', () => {
    const ref = parseReference('user/app:1');
    expect(repositoryName(ref)).toBe('docker.io/user/app');
    expect(familiarString(ref)).toBe('user/app:1');
    expect(familiarString(parseReference('localhost:5000/x'))).toBe('localhost:5000/x:latest');
  });
});

describe('digests', () => {
  it('recognises sha256 and sha512 digests', () => {
    expect(isDigest(D)).toBe(true);
    expect(isDigest('sha512:' + 'b'.repeat(128))).toBe(true);
    expect(isDigest('sha512:' + 'b'.repeat(64))).toBe(false);
    expect(isDigest('sha256:' + 'A'.repeat(64))).toBe(false);
    expect(isDigest('sha256:' + 'a'.repeat(63))).toBe(false);
    expect(isDigest(42)).toBe(false);
    expect(parseDigest(D)).toEqual({ algorithm: 'sha256', hex: 'a'.repeat(64) });
    expect(code(() => parseDigest('md5:abc'))).toBe('INVALID_REFERENCE');
  });
  it('sha256Digest', () => {
    expect(sha256Digest(Buffer.from(''))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
