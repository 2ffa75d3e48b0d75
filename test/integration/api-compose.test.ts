// docker-compose 1.29 (Debian's) against the tsrun service (issue 15), with
// its default configuration: only DOCKER_HOST is set. The project
// (test/fixtures/compose) has a user network, a named volume, a published
// port, env and labels.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, loopbackGet, startService, type ApiService } from '../helpers/api-service.js';
import { hasTool, integrationSkipReason, repo, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('api-compose') || (hasTool('docker-compose') ? '' : 'no docker-compose (apt-get install docker-compose)');
if (skip && !integrationSkipReason('api-compose')) process.stderr.write(`[skip] api-compose: ${skip}\n`);
const PROJECT = 'tsrunapi';

describe.skipIf(skip)('docker-compose against the tsrun service', () => {
  let sb: Sandbox;
  let svc: ApiService;
  let dir: string;
  const compose = (...args: string[]) =>
    execa('docker-compose', ['-p', PROJECT, ...args], { cwd: dir, reject: false, stdin: 'ignore', env: { ...svc.env, COMPOSE_INTERACTIVE_NO_CLI: '1' } });

  beforeAll(async () => {
    sb = sandbox();
    await importBusybox(sb);
    svc = await startService(sb);
    dir = mkdtempSync(join(tmpdir(), 'tsrun-compose-'));
    copyFileSync(join(repo, 'test/fixtures/compose/docker-compose.yml'), join(dir, 'docker-compose.yml'));
  }, 60_000);
  afterAll(async () => {
    if (svc && dir) await compose('down', '-v', '-t', '1');
    await svc?.stop();
    sb?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('up -d starts both services on the project network, with the volume, port, env and labels', async () => {
    const up = await compose('up', '-d');
    expect(up.exitCode, up.stderr).toBe(0);
    const ps = await compose('ps');
    expect(ps.stdout).toMatch(new RegExp(`${PROJECT}_web_1 .* Up `));
    expect(ps.stdout).toMatch(new RegExp(`${PROJECT}_client_1 .* Up `));
    // The CLI sees what compose made, with compose's labels.
    const names = (await sb.tsrun(['ps', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Names}}'])).stdout.split('\n').sort();
    expect(names).toEqual([`${PROJECT}_client_1`, `${PROJECT}_web_1`]);
    expect((await sb.tsrun(['network', 'ls', '--format', '{{.Name}}'])).stdout).toContain(`${PROJECT}_back`);
    expect((await sb.tsrun(['volume', 'ls', '--format', '{{.Name}}'])).stdout).toContain(`${PROJECT}_data`);
    const env = await sb.tsrun(['inspect', '-f', '{{json .Config.Env}} {{index .Config.Labels "app.role"}}', `${PROJECT}_web_1`]);
    expect(env.stdout).toMatch(/GREETING=hello-from-web/);
    expect(env.stdout).toMatch(/ web$/);
  }, 120_000);

  it('publishes the port on loopback, and the services reach each other by service name', async () => {
    const port = await compose('port', 'web', '80');
    expect(port.stdout).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await loopbackGet(Number(port.stdout.split(':')[1]), '/index.html')).trim()).toBe('hello-from-web');
    const viaName = await compose('exec', '-T', 'client', 'wget', '-qO-', 'http://web/index.html');
    expect(viaName.stdout.trim(), viaName.stderr).toBe('hello-from-web');
    const logs = await compose('logs', '--no-color', 'client');
    expect(logs.stdout).toMatch(/client_1 +\| client-up/);
  }, 60_000);

  it('up again changes nothing; a changed command recreates that service only', async () => {
    const ids = async () => (await sb.tsrun(['ps', '-a', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Names}} {{.ID}}'])).stdout.split('\n').sort();
    const before = await ids();
    const again = await compose('up', '-d');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/is up-to-date/);
    expect(await ids()).toEqual(before);
    const yml = readFileSync(join(dir, 'docker-compose.yml'), 'utf8').replace('echo client-up;', 'echo client-changed;');
    writeFileSync(join(dir, 'docker-compose.yml'), yml);
    const changed = await compose('up', '-d');
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/Recreating tsrunapi_client_1/);
    const after = await ids();
    expect(after.find((l) => l.startsWith(`${PROJECT}_web_1 `))).toBe(before.find((l) => l.startsWith(`${PROJECT}_web_1 `)));
    expect(after.find((l) => l.startsWith(`${PROJECT}_client_1 `))).not.toBe(before.find((l) => l.startsWith(`${PROJECT}_client_1 `)));
    expect(after).toHaveLength(2);
  }, 120_000);

  it('down -v leaves nothing: no containers, network, volume or bridge', async () => {
    const bridge = (await sb.tsrun(['network', 'inspect', '-f', '{{index .Options "com.docker.network.bridge.name"}}', `${PROJECT}_back`])).stdout.trim();
    const down = await compose('down', '-v', '-t', '1');
    expect(down.exitCode, down.stderr).toBe(0);
    expect((await sb.tsrun(['ps', '-a', '-q'])).stdout).toBe('');
    expect((await sb.tsrun(['network', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain(`${PROJECT}_back`);
    expect((await sb.tsrun(['volume', 'ls', '-q'])).stdout).toBe('');
    if (bridge) expect((await execa('ip', ['-o', 'link', 'show', bridge], { reject: false })).exitCode).not.toBe(0);
  }, 60_000);
});
