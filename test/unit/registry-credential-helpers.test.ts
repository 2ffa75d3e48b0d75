// Docker credential helpers through DockerConfigCredentials: a fake
// `docker-credential-fake` (and `-other`) on a temporary PATH that keeps its
// secrets in a JSON file and logs every call, so the protocol (verb in argv,
// server URL or JSON on stdin, JSON on stdout) is checked as Docker speaks it.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { helperGet, helperProgram } from '../../src/image/registry/credential-helpers.js';
import { DockerConfigCredentials } from '../../src/image/registry/credentials.js';
import { rejection } from '../helpers/expect-error.js';

let dir: string;
let bin: string;
let env: NodeJS.ProcessEnv;

/** A helper named `name` storing into `<dir>/<name>.json`; `fail` makes every call exit 3. */
async function installHelper(name: string, opts: { fail?: boolean } = {}): Promise<void> {
  const store = path.join(dir, `${name}.json`);
  const log = path.join(dir, 'calls.log');
  const script = `#!${process.execPath}
const fs = require('fs');
const verb = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ helper: ${JSON.stringify(name)}, verb, input }) + '\\n');
${opts.fail ? "process.stdout.write('keychain is locked'); process.exit(3);" : ''}
let db = {};
try { db = JSON.parse(fs.readFileSync(${JSON.stringify(store)}, 'utf8')); } catch {}
const save = () => fs.writeFileSync(${JSON.stringify(store)}, JSON.stringify(db));
if (verb === 'get') {
  const c = db[input.trim()];
  if (!c) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(JSON.stringify({ ServerURL: input.trim(), Username: c.Username, Secret: c.Secret }));
} else if (verb === 'store') {
  const c = JSON.parse(input);
  db[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  save();
} else if (verb === 'erase') {
  if (!db[input.trim()]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  delete db[input.trim()];
  save();
} else { process.exit(2); }
`;
  const file = path.join(bin, helperProgram(name));
  await writeFile(file, script);
  await chmod(file, 0o755);
}

async function seed(name: string, entries: Record<string, { Username: string; Secret: string }>): Promise<void> {
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(entries));
}

async function calls(): Promise<Array<{ helper: string; verb: string; input: string }>> {
  try {
    return (await readFile(path.join(dir, 'calls.log'), 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-credhelpers-'));
  bin = path.join(dir, 'bin');
  await mkdir(bin);
  // Only our bin: a real helper of this host can never answer.
  env = { PATH: bin };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('credential helpers', () => {
  it('credsStore answers get with the server URL on stdin; <token> means an identity token', async () => {
    await installHelper('fake');
    await seed('fake', {
      'registry.example:5000': { Username: 'alice', Secret: 's3cret' },
      'https://index.docker.io/v1/': { Username: '<token>', Secret: 'refresh-token' },
    });
    const cfg = path.join(dir, 'config.json');
    await writeFile(cfg, JSON.stringify({ credsStore: 'fake', auths: { 'registry.example:5000': { auth: b64('file:ignored') } } }));
    const creds = new DockerConfigCredentials({ readPaths: [cfg], env });
    expect(await creds.get('registry.example:5000')).toEqual({ username: 'alice', password: 's3cret' });
    expect(await creds.get('registry-1.docker.io')).toEqual({ identityToken: 'refresh-token' });
    // The helper covers every host: what it lacks is not looked up in the file.
    expect(await creds.get('quay.io')).toBeUndefined();
    expect((await calls()).map((c) => [c.verb, c.input])).toEqual([
      ['get', 'registry.example:5000'],
      ['get', 'https://index.docker.io/v1/'],
      ['get', 'quay.io'],
    ]);
  });

  it('credHelpers wins over credsStore for its registry; the next file answers when a helper has nothing', async () => {
    await installHelper('fake');
    await installHelper('other');
    await seed('fake', { 'a.example': { Username: 'from-store', Secret: '1' } });
    await seed('other', { 'ghcr.io': { Username: 'from-helper', Secret: '2' } });
    const own = path.join(dir, 'own.json');
    const docker = path.join(dir, 'docker.json');
    await writeFile(own, JSON.stringify({ credsStore: 'fake', credHelpers: { 'https://ghcr.io': 'other' } }));
    await writeFile(docker, JSON.stringify({ auths: { 'b.example': { auth: b64('bob:pw') } } }));
    const creds = new DockerConfigCredentials({ readPaths: [own, docker], env });
    expect(await creds.get('ghcr.io')).toEqual({ username: 'from-helper', password: '2' });
    expect(await creds.get('a.example')).toEqual({ username: 'from-store', password: '1' });
    expect(await creds.get('b.example')).toEqual({ username: 'bob', password: 'pw' });
    expect((await calls()).map((c) => `${c.helper} ${c.verb} ${c.input}`)).toEqual([
      'other get ghcr.io',
      'fake get a.example',
      'fake get b.example',
    ]);
  });

  it('login stores in the helper and leaves only an empty auths entry; logout erases', async () => {
    await installHelper('fake');
    const own = path.join(dir, 'own.json');
    await writeFile(own, JSON.stringify({ credsStore: 'fake', auths: { 'r.example': { auth: b64('old:plain') } } }));
    const creds = new DockerConfigCredentials({ readPaths: [own], env });
    await creds.login('r.example', 'carol', 'pw:with:colons');
    expect(JSON.parse(await readFile(path.join(dir, 'fake.json'), 'utf8'))).toEqual({ 'r.example': { Username: 'carol', Secret: 'pw:with:colons' } });
    expect(JSON.parse(await readFile(own, 'utf8'))).toEqual({ credsStore: 'fake', auths: { 'r.example': {} } });
    expect((await calls()).at(-1)).toEqual({ helper: 'fake', verb: 'store', input: JSON.stringify({ ServerURL: 'r.example', Username: 'carol', Secret: 'pw:with:colons' }) });
    expect(await creds.get('r.example')).toEqual({ username: 'carol', password: 'pw:with:colons' });

    expect(await creds.logout('r.example')).toBe(true);
    expect(JSON.parse(await readFile(path.join(dir, 'fake.json'), 'utf8'))).toEqual({});
    expect(JSON.parse(await readFile(own, 'utf8'))).toEqual({ credsStore: 'fake', auths: {} });
    expect(await creds.logout('r.example')).toBe(false);
  });

  it('login uses a credsStore from Docker\'s config.json when tsrun\'s own file names none', async () => {
    await installHelper('fake');
    const own = path.join(dir, 'own.json');
    const docker = path.join(dir, 'docker.json');
    await writeFile(docker, JSON.stringify({ credsStore: 'fake' }));
    const creds = new DockerConfigCredentials({ readPaths: [own, docker], env });
    await creds.login('docker.io', 'dave', 'pw');
    expect(JSON.parse(await readFile(path.join(dir, 'fake.json'), 'utf8'))).toEqual({ 'https://index.docker.io/v1/': { Username: 'dave', Secret: 'pw' } });
    expect(JSON.parse(await readFile(own, 'utf8'))).toEqual({ auths: { 'https://index.docker.io/v1/': {} } });
    expect(await creds.get('docker.io')).toEqual({ username: 'dave', password: 'pw' });
  });

  it('a helper that is not installed: passed over in Docker\'s config.json, an error in tsrun\'s own file', async () => {
    const own = path.join(dir, 'own.json');
    const docker = path.join(dir, 'docker.json');
    await writeFile(docker, JSON.stringify({ credsStore: 'desktop', auths: { 'r.example': { auth: b64('erin:pw') } } }));
    const creds = new DockerConfigCredentials({ readPaths: [own, docker], env });
    expect(await creds.get('r.example')).toEqual({ username: 'erin', password: 'pw' });
    await creds.login('s.example', 'frank', 'pw');
    expect(JSON.parse(await readFile(own, 'utf8')).auths['s.example'].auth).toBe(b64('frank:pw'));

    await writeFile(own, JSON.stringify({ credsStore: 'missing' }));
    const err = await rejection(creds.get('r.example'));
    expect(err.message).toBe('the credential helper docker-credential-missing named in the registry config is not installed (not found on PATH)');
    expect((await rejection(creds.login('r.example', 'x', 'y'))).message).toContain('docker-credential-missing');
  });

  it('a helper that fails is a clear error naming it; bad names are refused before anything runs', async () => {
    await installHelper('broken', { fail: true });
    const err = await rejection(helperGet('broken', 'r.example', { env }));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toBe('credential helper docker-credential-broken get failed (exit 3): keychain is locked');
    expect(() => helperProgram('../evil')).toThrow(/invalid credential helper name/);
  });
});
