// The system verbs through the CLI: `info` and `version` (their JSON and
// Docker's human shape), `system df` against what the store holds, `system
// prune` (what goes, what stays, filters, bad input and a missing -f that
// removes nothing), the container/image prune filters, and `system reset`,
// which must leave no cgroup, bridge, nft rule, mount or file of its root.
// Subnets of this file: 10.171.53.0/24 .. 10.171.56.0/24.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupDirs, mountsMentioning } from '../helpers/lifecycle.js';
import { busybox, integrationSkipReason, missingTools, repo, sandbox, type Sandbox, fixtureTar } from '../helpers/tsrun.js';

const skip = integrationSkipReason('system');
const netSkip = skip || missingTools('system', ['ip', 'nft'], 'iproute2 nftables');

const made: Sandbox[] = [];
function box(): Sandbox {
  const sb = sandbox();
  made.push(sb);
  return sb;
}

async function ok(sb: Sandbox, args: string[], input?: Buffer): Promise<string> {
  const r = await sb.tsrun(args, input ? { input } : {});
  if (r.exitCode !== 0) throw new Error(`tsrun ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
  return String(r.stdout).trim();
}

let tarball: Buffer | undefined;
/** `tsrun import` of the busybox tree as NAME (with -c changes). */
async function importImage(sb: Sandbox, name: string, changes: string[] = []): Promise<string> {
  tarball ??= fixtureTar(busybox(), ['--numeric-owner']);
  return ok(sb, ['import', ...changes.flatMap((c) => ['-c', c]), '-', name], tarball);
}

const ids = async (sb: Sandbox) => (await ok(sb, ['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean).sort();
const imageIds = async (sb: Sandbox) => (await ok(sb, ['images', '-q', '--no-trunc'])).split('\n').filter(Boolean).sort();
const volumeNames = async (sb: Sandbox) => (await ok(sb, ['volume', 'ls', '-q'])).split('\n').filter(Boolean).sort();
// The network records under the root (as test/helpers/tsrun.ts finds them for cleanup).
const networkNames = async (sb: Sandbox) =>
  (existsSync(join(sb.root, 'networks')) ? readdirSync(join(sb.root, 'networks'), { withFileTypes: true }) : []).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** `system df --format json`: Type → its line. */
async function df(sb: Sandbox): Promise<Record<string, Record<string, string>>> {
  const lines = (await ok(sb, ['system', 'df', '--format', 'json'])).split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  return Object.fromEntries(lines.map((l) => [l.Type, l]));
}

describe.skipIf(skip)('system verbs', () => {
  afterEach(() => {
    for (const sb of made.splice(0)) sb.cleanup();
  }, 60_000);

  it('version: Client and Server in Docker\'s shape, and --format json', async () => {
    const sb = box();
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    const v = JSON.parse(await ok(sb, ['version', '--format', 'json']));
    expect(v.Client).toMatchObject({ Version: pkg.version, ApiVersion: '1.41', Os: 'linux', GoVersion: `node${process.versions.node}` });
    expect(v.Server.Components.map((c: { Name: string }) => c.Name)).toEqual(['Engine', 'tsrun-oci']);
    expect(v.Server.Components[0].Details.ApiVersion).toBe('1.41');
    const text = await ok(sb, ['version']);
    expect(text).toMatch(/^Client: tsrun\n Version: +\S+\n API version: +1\.41\n/);
    expect(text).toMatch(/\nServer: tsrun\n Engine:\n  Version: +/);
    expect(text).toContain(' tsrun-oci:');
    expect(await ok(sb, ['version', '-f', '{{.Client.ApiVersion}} {{(index .Server.Components 0).Name}}'])).toBe('1.41 Engine');
    expect(await ok(sb, ['-v'])).toBe('0.1.0');
  });

  it('info: counts that match what was made, the host facts, and Docker\'s human report', async () => {
    const sb = box();
    const empty = JSON.parse(await ok(sb, ['info', '--format', 'json']));
    expect(empty).toMatchObject({ Containers: 0, ContainersRunning: 0, ContainersStopped: 0, Images: 0 });
    await importImage(sb, 'base:1');
    await ok(sb, ['run', '-d', '--network', 'none', '--rootfs', busybox(), 'sleep', '1000']);
    await ok(sb, ['run', '--network', 'none', '--rootfs', busybox(), 'true']);
    await ok(sb, ['create', '--network', 'none', 'base:1', 'true']);
    const info = JSON.parse(await ok(sb, ['system', 'info', '--format', 'json']));
    expect(info).toMatchObject({
      Containers: 3, ContainersRunning: 1, ContainersPaused: 0, ContainersStopped: 2, Images: 1,
      Driver: 'overlay', DockerRootDir: sb.root, LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', OSType: 'linux', DefaultRuntime: 'tsrun-oci',
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'] },
    });
    const cgroup2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    expect(info.CgroupVersion).toBe(cgroup2 ? '2' : '1');
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    expect(info.OperatingSystem).toBe(pretty);
    expect(info.KernelVersion).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    expect(info.NCPU).toBeGreaterThan(0);
    expect(info.SecurityOptions).toContain('name=no-new-privileges');
    expect(info.ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const mirrored = JSON.parse(await ok(sb, ['--registry-mirror', 'https://mirror.example', '--insecure-registry', 'reg.example:5000', 'info', '--format', 'json']));
    expect(mirrored.RegistryConfig.Mirrors).toEqual(['https://mirror.example']);
    expect(mirrored.RegistryConfig.IndexConfigs['reg.example:5000']).toMatchObject({ Secure: false });

    const text = await ok(sb, ['info']);
    expect(text).toContain('\nServer:\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 1\n');
    expect(text).toContain(` Docker Root Dir: ${sb.root}\n`);
    expect(text).toContain(` Cgroup Version: ${cgroup2 ? 2 : 1}\n`);
    expect(await ok(sb, ['info', '-f', '{{.ContainersRunning}}/{{.Containers}} {{range $k, $v := .Runtimes}}{{$k}}{{end}}'])).toBe('1/3 tsrun-oci');
    const bad = await sb.tsrun(['info', '--format', '{{.Containers']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toBe('');
    expect(String(bad.stderr).split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('system df: images, writable layers and volumes as the store holds them; -v tables', async () => {
    const sb = box();
    const before = await df(sb);
    expect(before.Images).toMatchObject({ TotalCount: '0', Size: '0B' });
    await importImage(sb, 'base:1');
    const imageSize = JSON.parse((await ok(sb, ['images', '--format', 'json'])).split('\n')[0]).Size as string;
    await ok(sb, ['run', '--name', 'writer', '--network', 'none', '-v', 'data:/data', 'base:1', 'sh', '-c',
      'dd if=/dev/zero of=/big bs=1000 count=300 2>/dev/null && printf 12345 > /data/f']);
    const after = await df(sb);
    expect(after.Images).toMatchObject({ TotalCount: '1', Active: '1', Size: imageSize, Reclaimable: '0B (0%)' });
    expect(after.Containers).toMatchObject({ TotalCount: '1', Active: '0', Size: '300kB', Reclaimable: '300kB (100%)' });
    expect(after['Local Volumes']).toMatchObject({ TotalCount: '1', Active: '1', Size: '5B', Reclaimable: '0B (0%)' });
    expect(after['Build Cache']).toMatchObject({ TotalCount: '0', Size: '0B' });

    const table = (await ok(sb, ['system', 'df'])).split('\n');
    expect(table[0].split(/\s{2,}/)).toEqual(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE']);
    expect(table.slice(1).map((l) => l.split(/\s{2,}/)[0])).toEqual(['Images', 'Containers', 'Local Volumes', 'Build Cache']);
    expect(await ok(sb, ['system', 'df', '--format', 'table {{.Type}}\t{{.TotalCount}}'])).toBe(
      ['TYPE            TOTAL', 'Images          1', 'Containers      1', 'Local Volumes   1', 'Build Cache     0'].join('\n'));
    const verbose = await ok(sb, ['system', 'df', '-v']);
    expect(verbose).toMatch(/^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\nbase +1 /);
    expect(verbose).toMatch(/\nContainers space usage:\n\nCONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES\n[0-9a-f]{12} +base:1 .* 1 +300kB .* writer\n/);
    expect(verbose).toMatch(/\nLocal Volumes space usage:\n\nVOLUME NAME +LINKS +SIZE\ndata +1 +5B\n/);
    expect(verbose).toContain('\nBuild cache usage: 0B\n');
  });

  it('container and image prune take until= and label= filters; a bad one removes nothing', async () => {
    const sb = box();
    await importImage(sb, 'keep:1', ['LABEL tier=keep']);
    await importImage(sb, 'scratch:1', ['LABEL tier=scratch']);
    await ok(sb, ['run', '--name', 'from-keep', '--network', 'none', 'keep:1', 'true']);
    await ok(sb, ['run', '--name', 'from-scratch', '--network', 'none', 'scratch:1', 'true']);
    const all = await ids(sb);

    for (const bad of [['--filter', 'nope=1'], ['--filter', 'until=yesterday'], ['--filter', 'label']]) {
      for (const verb of [['container', 'prune', '-f'], ['image', 'prune', '-a', '-f']]) {
        const r = await sb.tsrun([...verb, ...bad]);
        expect(r.exitCode).toBe(1);
        expect(String(r.stderr).split('\n').filter(Boolean)).toHaveLength(1);
        expect(r.stdout).toBe('');
      }
    }
    expect(await ids(sb)).toEqual(all);

    // Both were created just now: an until= a day ago matches neither.
    expect(await ok(sb, ['container', 'prune', '-f', '--filter', 'until=24h'])).toBe('Total reclaimed space: 0B');
    // Go's µs too (U+00B5), through the bundle the CLI runs (read as latin1).
    expect(await ok(sb, ['container', 'prune', '-f', '--filter', 'until=86400000000\u00b5s'])).toBe('Total reclaimed space: 0B');
    const p = await ok(sb, ['container', 'prune', '-f', '--filter', 'label!=tier=keep']);
    expect(p.split('\n')[0]).toBe('Deleted Containers:');
    expect((await ok(sb, ['ps', '-a', '--format', 'json'])).split('\n').map((l) => JSON.parse(l).Names)).toEqual(['from-keep']);

    const keepId = JSON.parse(await ok(sb, ['image', 'inspect', 'keep:1']))[0].Id as string;
    const scratchId = JSON.parse(await ok(sb, ['image', 'inspect', 'scratch:1']))[0].Id as string;
    expect(await ok(sb, ['image', 'prune', '-a', '-f', '--filter', 'until=24h'])).toBe('Total reclaimed space: 0B');
    const ip = await ok(sb, ['image', 'prune', '-a', '-f', '--filter', 'label=tier=scratch']);
    expect(ip).toMatch(new RegExp(`^Deleted Images:\\ndeleted: ${scratchId}\\n\\nTotal reclaimed space: \\S+$`));
    expect(await imageIds(sb)).toEqual([keepId]);
  });

  it.skipIf(netSkip)('system prune: stopped containers, unused networks, dangling images; keeps what is used, volumes unless --volumes', async () => {
    const sb = box();
    const oldBase = await importImage(sb, 'base:1');
    const base = await importImage(sb, 'base:1'); // the first base:1 is now dangling
    await importImage(sb, 'spare:1');
    await ok(sb, ['network', 'create', '--subnet', '10.171.54.0/24', 'keepnet']);
    await ok(sb, ['network', 'create', '--subnet', '10.171.55.0/24', 'sparenet']);
    const running = await ok(sb, ['run', '-d', '--network', 'keepnet', 'base:1', 'sleep', '1000']);
    const stopped = await ok(sb, ['create', '--network', 'none', '-v', '/anon', 'base:1', 'true']);
    await ok(sb, ['rm', stopped]); // leaves its anonymous volume, now unused
    const exited = await ok(sb, ['create', '--network', 'none', '--rootfs', busybox(), 'true']);
    await ok(sb, ['volume', 'create', 'named']);
    const anon = (await volumeNames(sb)).find((n) => n !== 'named')!;
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    const state = async () => ({ ids: await ids(sb), images: await imageIds(sb), volumes: await volumeNames(sb), networks: await networkNames(sb) });
    const start = await state();

    // Bad input and an unanswered prompt remove nothing.
    const bad = await sb.tsrun(['system', 'prune', '-f', '--filter', 'nope=1']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe("tsrun: invalid filter 'nope'");
    const untilVolumes = await sb.tsrun(['system', 'prune', '-f', '--volumes', '--filter', 'until=1h']);
    expect(untilVolumes.exitCode).toBe(1);
    expect(untilVolumes.stderr).toBe('tsrun: the "until" filter is not supported with "--volumes"');
    const asked = await sb.tsrun(['system', 'prune']);
    expect(asked.exitCode).toBe(1);
    expect(asked.stdout).toBe([
      'WARNING! This will remove:', '  - all stopped containers', '  - all networks not used by at least one container',
      '  - all dangling images', '  - unused build cache', '', 'Are you sure you want to continue? [y/N] ',
    ].join('\n'));
    expect(asked.stderr).toBe('tsrun: system prune has been cancelled: no terminal to confirm on (use -f)');
    expect(await state()).toEqual(start);

    const r = await sb.tsrun(['system', 'prune', '-f']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Deleted Containers:\\n${exited}\\n\\nDeleted Networks:\\nsparenet\\n\\nDeleted Images:\\ndeleted: ${oldBase}\\n\\nTotal reclaimed space: \\S+$`));
    expect(await ids(sb)).toEqual([running]);
    expect(await imageIds(sb)).toEqual(start.images.filter((i) => i !== oldBase));
    expect(await imageIds(sb)).toContain(base);
    expect(await networkNames(sb)).toEqual(['keepnet']);
    expect(await volumeNames(sb)).toEqual(start.volumes);

    // -a: every image no container uses; --volumes: the unused anonymous volumes (Docker's rule), not named ones.
    const all = await ok(sb, ['system', 'prune', '-a', '--volumes', '-f']);
    expect(all).toContain(`Deleted Volumes:\n${anon}\n`);
    expect(await imageIds(sb)).toEqual([base]);
    expect(await volumeNames(sb)).toEqual(['named']);
    expect(await ids(sb)).toEqual([running]);
  });

  it.skipIf(netSkip)('system reset leaves no container, cgroup, bridge, nft rule, mount or file of its root', async () => {
    const sb = box();
    const subnet = ['--default-subnet', '10.171.53.0/24'];
    const id = await ok(sb, [...subnet, 'run', '-d', '-p', '80', '-v', 'vol:/srv', '--rootfs', busybox(), 'sleep', '1000']);
    await ok(sb, ['network', 'create', '--subnet', '10.171.56.0/24', 'resetnet']);
    const userBridge = JSON.parse(await ok(sb, ['network', 'inspect', 'resetnet']))[0].Options['com.docker.network.bridge.name'] as string;
    const defaultBridge = `tsr${createHash('sha256').update(sb.root).digest('hex').slice(0, 8)}0`;
    const linkNames = () => execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
    const rules = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(linkNames()).toContain(`${defaultBridge}:`);
    expect(linkNames()).toContain(`${userBridge}:`);
    expect(rules()).toContain(id);
    expect(cgroupDirs(id).length).toBeGreaterThan(0);

    // No terminal to answer the prompt: nothing happens.
    const asked = await sb.tsrun([...subnet, 'system', 'reset']);
    expect(asked.exitCode).toBe(1);
    expect(asked.stdout).toContain(`        - the root directory: "${sb.root}"\n`);
    expect(asked.stderr).toBe('tsrun: system reset has been cancelled: no terminal to confirm on (use -f)');
    expect(await ids(sb)).toEqual([id]);

    const r = await sb.tsrun([...subnet, 'system', 'reset', '-f']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Deleted Containers:\n${id}\n`);
    expect(cgroupDirs(id)).toEqual([]);
    expect(linkNames()).not.toContain(`${defaultBridge}:`);
    expect(linkNames()).not.toContain(`${userBridge}:`);
    const after = rules();
    for (const s of [id, defaultBridge, userBridge, '10.171.53.', '10.171.56.']) expect(after).not.toContain(s);
    expect([...mountsMentioning(sb.root), ...mountsMentioning(sb.runroot)]).toEqual([]);
    for (const dir of [sb.root, sb.runroot]) expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    // The emptied root works again from scratch.
    expect(JSON.parse(await ok(sb, ['info', '--format', 'json']))).toMatchObject({ Containers: 0, Images: 0 });
  });
});
