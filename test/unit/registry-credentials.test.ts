import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { DockerConfigCredentials, StaticCredentials, credentialKey } from '../../src/image/registry/credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-cred-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DockerConfigCredentials', () => {
  it('reads Docker config.json entries, first file wins, keys matched by host', async () => {
    const own = path.join(dir, 'tsrun', 'auth.json');
    const docker = path.join(dir, 'docker', 'config.json');
    await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(docker), { recursive: true }));
    await writeFile(
      docker,
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
          'https://ghcr.io': { auth: b64('gh:tok:with:colons') },
          'localhost:5000': { identitytoken: 'refresh-me' },
        },
        credsStore: 'desktop',
      }),
    );
    const creds = new DockerConfigCredentials({ readPaths: [own, docker] });
    expect(await creds.get('docker.io')).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(await creds.get('registry-1.docker.io')).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(await creds.get('ghcr.io')).toEqual({ username: 'gh', password: 'tok:with:colons' });
    expect(await creds.get('localhost:5000')).toEqual({ identityToken: 'refresh-me' });
    expect(await creds.get('quay.io')).toBeUndefined();

    // tsrun's own file takes precedence once it has an entry.
    await creds.login('ghcr.io', 'me', 'secret');
    expect(await creds.get('ghcr.io')).toEqual({ username: 'me', password: 'secret' });
    expect(await creds.get('docker.io')).toEqual({ username: 'hubuser', password: 'hubpass' });
  });

  it('login writes Docker format with Docker Hub under https://index.docker.io/v1/, mode 0600, keeping other keys', async () => {
    const file = path.join(dir, 'auth.json');
    await writeFile(file, JSON.stringify({ auths: { 'other.io': { auth: b64('o:p') } }, credHelpers: { 'x.io': 'pass' } }));
    const creds = new DockerConfigCredentials({ readPaths: [file] });
    await creds.login('docker.io', 'alice', 'pw');
    const cfg = JSON.parse(await readFile(file, 'utf8'));
    expect(cfg.auths['https://index.docker.io/v1/']).toEqual({ auth: b64('alice:pw') });
    expect(cfg.auths['other.io']).toEqual({ auth: b64('o:p') });
    expect(cfg.credHelpers).toEqual({ 'x.io': 'pass' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    // A second login replaces, whatever spelling of the key was there.
    await creds.login('index.docker.io', 'bob', 'pw2');
    const cfg2 = JSON.parse(await readFile(file, 'utf8'));
    expect(Object.keys(cfg2.auths).sort()).toEqual(['https://index.docker.io/v1/', 'other.io']);
    expect(await creds.get('docker.io')).toEqual({ username: 'bob', password: 'pw2' });
  });

  it('login creates the directory and file; logout removes the entry', async () => {
    const file = path.join(dir, 'new', 'sub', 'auth.json');
    const creds = new DockerConfigCredentials({ readPaths: [file] });
    expect(await creds.logout('localhost:5000')).toBe(false);
    await creds.login('localhost:5000', 'u', 'p');
    expect(await creds.get('localhost:5000')).toEqual({ username: 'u', password: 'p' });
    expect(await creds.logout('localhost:5000')).toBe(true);
    expect(await creds.get('localhost:5000')).toBeUndefined();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ auths: {} });
    expect(await creds.logout('localhost:5000')).toBe(false);
  });

  it('rejects a bad user name and a corrupt file clearly', async () => {
    const file = path.join(dir, 'auth.json');
    const creds = new DockerConfigCredentials({ readPaths: [file] });
    await expect(creds.login('h.io', 'a:b', 'p')).rejects.toBeInstanceOf(TsrunError);
    await writeFile(file, '{broken');
    await expect(creds.get('h.io')).rejects.toThrow(/cannot read credentials file .*auth\.json/);
  });

  it('credentialKey and StaticCredentials', async () => {
    expect(credentialKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(credentialKey('ghcr.io')).toBe('ghcr.io');
    const s = new StaticCredentials({ 'docker.io': { username: 'a', password: 'b' } });
    expect(await s.get('registry-1.docker.io')).toEqual({ username: 'a', password: 'b' });
  });
});
