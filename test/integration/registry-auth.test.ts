// Registry authentication as a user meets it: a registry behind htpasswd
// (Basic) and one behind a Docker Hub-style token service, both real
// docker-registry servers on 127.0.0.1; `tsrun login`/`logout` writing
// Docker's config.json format, and credentials read from ~/.docker too.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALPINE, IMAGE_FIXTURE_DIR, fixtureAlpine, pushImage, type FixtureAlpine } from '../helpers/image-fixtures.js';
import { registryTestSkipReason, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { busybox, sandbox } from '../helpers/tsrun.js';

const skip = registryTestSkipReason('registry-auth');

describe.skipIf(skip)('registry authentication', () => {
  let alpine: FixtureAlpine;
  const home = mkdtempSync(join(tmpdir(), 'tsrun-auth-home-'));
  const authFile = join(home, 'tsrun-auth.json');
  // HOME decides where ~/.docker/config.json is; TSRUN_AUTH_FILE where login writes.
  const env = { HOME: home, TSRUN_AUTH_FILE: authFile };
  const sb = sandbox();
  const tsrun = (args: string[], input?: string) => sb.tsrun(args, { env, ...(input !== undefined ? { input } : {}) });

  beforeAll(() => {
    alpine = fixtureAlpine(IMAGE_FIXTURE_DIR, busybox());
  });
  afterAll(() => {
    sb.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  describe('basic auth (htpasswd)', () => {
    let reg: TestRegistry;
    beforeAll(async () => {
      reg = await startRegistry({ auth: 'htpasswd', users: { alice: 'wonderland' } });
      await pushImage(alpine.layoutDir, reg, 'team/alpine:latest');
    });
    afterAll(async () => reg?.stop());

    it('pull without credentials says how to log in; a wrong password stores nothing; login then pull works; logout forgets', async () => {
      const ref = `${reg.host}/team/alpine`;
      const anon = await tsrun(['pull', ref]);
      expect(anon.exitCode).toBe(1);
      expect(anon.stderr).toMatch(new RegExp(`requires authentication: run \`tsrun login ${reg.host.replace('.', '\\.')}\``));

      const wrong = await tsrun(['login', '-u', 'alice', '-p', 'nope', reg.host]);
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toBe(`tsrun: login to ${reg.host} failed: incorrect username or password`);
      expect(existsSync(authFile)).toBe(false);

      const ok = await tsrun(['login', '-u', 'alice', '--password-stdin', reg.host], 'wonderland\n');
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toBe('Login Succeeded');
      const file = JSON.parse(readFileSync(authFile, 'utf8'));
      expect(Buffer.from(file.auths[reg.host].auth, 'base64').toString()).toBe('alice:wonderland');
      expect(statSync(authFile).mode & 0o777).toBe(0o600);

      const run = await tsrun(['run', '--rm', ref, 'cat', '/etc/os-release']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toBe(ALPINE.osRelease.trim());

      const out = await tsrun(['logout', reg.host]);
      expect(out.stdout).toBe(`Removing login credentials for ${reg.host}`);
      expect(JSON.parse(readFileSync(authFile, 'utf8')).auths[reg.host]).toBeUndefined();
      expect((await tsrun(['pull', ref])).exitCode).toBe(1);
    });

    it('reads credentials from ~/.docker/config.json as Docker wrote them', async () => {
      mkdirSync(join(home, '.docker'), { recursive: true });
      writeFileSync(join(home, '.docker/config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }));
      try {
        const r = await tsrun(['pull', '-q', `${reg.host}/team/alpine`]);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout).toBe(`${reg.host}/team/alpine:latest`);
      } finally {
        rmSync(join(home, '.docker'), { recursive: true, force: true });
      }
    });
  });

  describe('bearer tokens (Docker Hub flow)', () => {
    let reg: TestRegistry;
    beforeAll(async () => {
      reg = await startRegistry({ auth: 'token', users: { bob: 'builder' }, publicPrefixes: ['public/'] });
      await pushImage(alpine.layoutDir, reg, 'public/alpine:latest');
      await pushImage(alpine.layoutDir, reg, 'private/alpine:latest');
    });
    afterAll(async () => reg?.stop());

    it('an anonymous token pulls a public repository, with one token request for all layers', async () => {
      const before = reg.tokenRequests!();
      const r = await tsrun(['pull', `${reg.host}/public/alpine`]);
      expect(r.exitCode, r.stderr).toBe(0);
      // One challenge answered, then the token is cached for the scope:
      // manifest and every layer reuse it.
      expect(reg.tokenRequests!() - before).toBe(1);
    });

    it('a private repository needs a login; with one the token service grants pull', async () => {
      const ref = `${reg.host}/private/alpine`;
      const anon = await tsrun(['pull', ref]);
      expect(anon.exitCode).toBe(1);
      expect(anon.stderr).toMatch(/pull access denied .*requires authentication: run `tsrun login/);

      const login = await tsrun(['login', '-u', 'bob', '-p', 'builder', reg.host]);
      expect(login.exitCode, login.stderr).toBe(0);
      const grants = reg.tokenGrants!();
      const r = await tsrun(['run', '--rm', ref, 'cat', '/etc/os-release']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(ALPINE.osRelease.trim());
      expect(reg.tokenGrants!()).toBeGreaterThan(grants);
      await tsrun(['logout', reg.host]);
    });
  });
});
