// Networks, volumes and events through `tsrun system service`, driven by the
// real docker CLI 20.10 (and raw requests where the CLI hides the status):
// what a Docker user does, what Docker answers to bad input, and nothing
// left on the host afterwards. Subnets only from 10.174.0.0/16; traffic only
// between containers made here.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../src/network/bridge.js';
import { dockerCliSkipReason, DOCKER, importBusybox, startService, type ApiService } from '../helpers/api-service.js';
import { integrationSkipReason, missingTools, sandbox, type Sandbox } from '../helpers/tsrun.js';

const FILE = 'api-networks-volumes';
const skip = integrationSkipReason(FILE) || dockerCliSkipReason(FILE) || missingTools(FILE, ['ip', 'nft'], 'iproute2 nftables');

// The sandbox's default bridge, should anything make it (network ls does, as Docker always lists it).
const DEFAULT_SUBNET = '10.174.250.0/24';
const IMAGE = 'localhost/busybox';

const links = () => execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
/** Devices holding an address of 10.174.0.0/16, the range only this file uses. */
const ourDevices = () => execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).split('\n').filter((l) => /\sinet 10\.174\./.test(l)).map((l) => l.split(/\s+/)[1]);
const ruleset = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });

describe.skipIf(skip)('networks, volumes and events through the Docker Engine API', () => {
  let sb: Sandbox;
  let svc: ApiService;
  /** Every bridge device and container id made here, checked gone at the end. */
  const bridges = new Set<string>();
  const containerIds = new Set<string>();

  const docker = async (args: string[]) => {
    const r = await svc.docker(args);
    return { code: r.exitCode, out: String(r.stdout).trim(), err: String(r.stderr).trim() };
  };
  const ok = async (args: string[]) => {
    const r = await docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return r.out;
  };
  /** A network's bridge device: Docker does not show it for user networks, tsrun's own inspect does. */
  const bridgeOf = async (ref: string) => {
    const r = await sb.tsrun(['network', 'inspect', '-f', '{{index .Options "com.docker.network.bridge.name"}}', ref]);
    if (r.exitCode !== 0) throw new Error(`tsrun network inspect ${ref} exited ${r.exitCode}: ${r.stderr}`);
    return String(r.stdout).trim();
  };
  const netInspect = async (ref: string) => {
    const doc = JSON.parse(await ok(['network', 'inspect', ref]))[0];
    bridges.add(await bridgeOf(ref));
    return doc;
  };

  beforeAll(async () => {
    sb = sandbox();
    await importBusybox(sb);
    svc = await startService(sb, ['--default-subnet', DEFAULT_SUBNET]);
  });

  afterAll(async () => {
    await svc?.stop();
    sb?.cleanup();
    // Nothing of ours on the host: bridges, veths on them, nft rules naming our containers or bridges.
    const l = links();
    for (const b of bridges) expect(l).not.toContain(`${b}:`);
    const rules = ruleset();
    for (const id of containerIds) expect(rules).not.toContain(id);
    for (const b of bridges) expect(rules).not.toContain(`"${b}"`);
  });

  it('network create, ls (with filters), inspect, rm and prune through the docker CLI', async () => {
    const id = await ok(['network', 'create', '--subnet', '10.174.10.0/24', '--label', 'a=b', 'apinet']);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const doc = await netInspect('apinet');
    expect(doc).toMatchObject({
      Name: 'apinet', Id: id, Scope: 'local', Driver: 'bridge', EnableIPv6: false, Internal: false, Attachable: false, Ingress: false,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.174.10.0/24', Gateway: '10.174.10.1' }] },
      Containers: {}, Labels: { a: 'b' }, ConfigFrom: { Network: '' }, ConfigOnly: false,
    });
    // Only the options it was made with (compose compares them at every up).
    expect(doc.Options).toEqual({});
    const dev = await bridgeOf('apinet');
    expect(links()).toContain(`${dev}:`);

    // Docker's predefined networks are listed beside it; the label filter keeps only it.
    const ls = await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    expect(ls.split('\n').sort()).toEqual(['apinet bridge local', 'bridge bridge local', 'host host local', 'none null local']);
    expect(await ok(['network', 'ls', '--filter', 'label=a=b', '--format', '{{.Name}}'])).toBe('apinet');
    expect(await ok(['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}'])).toBe('apinet');
    expect(await ok(['network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}'])).toBe('apinet');
    expect((await ok(['network', 'ls', '--filter', 'type=builtin', '--format', '{{.Name}}'])).split('\n').sort()).toEqual(['bridge', 'host', 'none']);
    expect(await ok(['network', 'ls', '-q', '--filter', `id=${id.slice(0, 10)}`])).toBe(id.slice(0, 12));
    // Both shapes of the filters JSON.
    for (const filters of ['{"label":{"a=b":true}}', '{"label":["a=b"]}']) {
      const r = await svc.fetch('GET', `/networks?filters=${encodeURIComponent(filters)}`);
      expect(r.status).toBe(200);
      expect(r.json().map((n: { Name: string }) => n.Name)).toEqual(['apinet']);
    }
    // The short id and the inspect of a predefined one.
    expect((await netInspect(id.slice(0, 12))).Name).toBe('apinet');
    expect(JSON.parse(await ok(['network', 'inspect', 'host']))[0]).toMatchObject({ Name: 'host', Driver: 'host', IPAM: { Config: [] } });

    // A name taken: Docker's 409 and message; nothing new made.
    const dup = await docker(['network', 'create', '--subnet', '10.174.11.0/24', 'apinet']);
    expect(dup.code).toBe(1);
    expect(dup.err).toBe('Error response from daemon: network with name apinet already exists');
    expect((await svc.fetch('POST', '/networks/create', { Name: 'apinet', CheckDuplicate: true })).status).toBe(409);

    // prune: the unused user networks (with a label filter, only those with it).
    await ok(['network', 'create', '--subnet', '10.174.12.0/24', '--label', 'keep=1', 'kept']);
    await netInspect('kept');
    const pruned = await ok(['network', 'prune', '-f', '--filter', 'label=a=b']);
    expect(pruned).toBe('Deleted Networks:\napinet');
    expect(links()).not.toContain(`${dev}:`);
    expect(await ok(['network', 'rm', 'kept'])).toBe('kept');
    expect(await ok(['network', 'ls', '--filter', 'type=custom', '-q'])).toBe('');
  });

  it('bad network requests: Docker status codes and messages, and nothing left behind', async () => {
    const before = ourDevices();
    const unknown = await svc.fetch('GET', '/networks/nosuchnet');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toEqual({ message: 'network nosuchnet not found' });
    expect((await docker(['network', 'inspect', 'nosuchnet'])).err).toBe('Error: No such network: nosuchnet');
    expect((await svc.fetch('DELETE', '/networks/nosuchnet')).status).toBe(404);

    const overlay = await docker(['network', 'create', '-d', 'overlay', 'ov']);
    expect(overlay.code).toBe(1);
    expect(overlay.err).toMatch(/^Error response from daemon: This node is not a swarm manager\./);
    expect((await svc.fetch('POST', '/networks/create', { Name: 'ov', Driver: 'overlay' })).status).toBe(403);
    const plugin = await svc.fetch('POST', '/networks/create', { Name: 'ov', Driver: 'weave' });
    expect([plugin.status, plugin.json().message]).toEqual([404, 'plugin "weave" not found']);
    const v6 = await svc.fetch('POST', '/networks/create', { Name: 'v6', EnableIPv6: true });
    expect(v6.status).toBe(400);
    expect((await svc.fetch('POST', '/networks/create', { Name: 'host' })).status).toBe(403);
    expect((await svc.fetch('POST', '/networks/create', '{"Name": ')).status).toBe(400);
    const badSubnet = await docker(['network', 'create', '--subnet', '10.174.13.0/33', 'bad']);
    expect(badSubnet.code).toBe(1);
    const rmBridge = await docker(['network', 'rm', 'bridge']);
    expect(rmBridge.err).toBe('Error response from daemon: bridge is a pre-defined network and cannot be removed');
    const badFilter = await svc.fetch('GET', `/networks?filters=${encodeURIComponent('{"color":["red"]}')}`);
    expect([badFilter.status, badFilter.json().message]).toEqual([400, "invalid filter 'color'"]);
    expect((await svc.fetch('GET', `/networks?filters=${encodeURIComponent('{"type":["odd"]}')}`)).status).toBe(400);

    expect(await ok(['network', 'ls', '--filter', 'type=custom', '-q'])).toBe('');
    expect(ourDevices()).toEqual(before);
    expect(readdirSync(`${sb.root}/networks`, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)).toEqual(['bridge']);
  });

  it('containers on a user network resolve each other by name, short id and alias; connect, disconnect, rm in use', async () => {
    await ok(['network', 'create', '--subnet', '10.174.14.0/24', 'appnet']);
    await ok(['network', 'create', '--subnet', '10.174.15.0/24', 'sidenet']);
    await netInspect('appnet');
    await netInspect('sidenet');
    const a = await ok(['run', '-d', '--network', 'appnet', '--name', 'alpha', IMAGE, 'sleep', '60']);
    containerIds.add(a);
    const ping = (net: string, host: string) => ok(['run', '--rm', '--network', net, IMAGE, 'sh', '-c', `ping -c1 -W2 ${host} >/dev/null && echo ok-${host}`]);
    expect(await ping('appnet', 'alpha')).toBe('ok-alpha');
    expect(await ping('appnet', a.slice(0, 12))).toBe(`ok-${a.slice(0, 12)}`);
    // Aliases given at create (compose's NetworkingConfig) are resolved too.
    const made = await svc.fetch('POST', '/containers/create?name=dbc', {
      Image: IMAGE, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'appnet' }, NetworkingConfig: { EndpointsConfig: { appnet: { Aliases: ['db'] } } },
    });
    expect(made.status).toBe(201);
    containerIds.add(made.json().Id);
    await ok(['start', 'dbc']);
    expect(await ping('appnet', 'db')).toBe('ok-db');
    expect(await ok(['rm', '-f', 'dbc'])).toBe('dbc');

    // The network shows its member as Docker does.
    const doc = await netInspect('appnet');
    expect(Object.keys(doc.Containers)).toEqual([a]);
    expect(doc.Containers[a]).toMatchObject({ Name: 'alpha', IPv4Address: expect.stringMatching(/^10\.174\.14\.\d+\/24$/), IPv6Address: '' });
    expect(doc.Containers[a].EndpointID).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.Containers[a].MacAddress).toMatch(/^02:42:0a:ae:0e:[0-9a-f]{2}$/);

    // Removing a network in use: Docker's 403 and message.
    const busy = await docker(['network', 'rm', 'appnet']);
    expect(busy.err).toBe(`Error response from daemon: error while removing network: network appnet id ${doc.Id} has active endpoints`);
    expect((await svc.fetch('DELETE', '/networks/appnet')).status).toBe(403);

    // connect with an alias: peers on the second network reach it by that alias and by its short id.
    await ok(['network', 'connect', '--alias', 'web', 'sidenet', 'alpha']);
    expect(await ping('sidenet', 'web')).toBe('ok-web');
    expect(await ping('sidenet', a.slice(0, 12))).toBe(`ok-${a.slice(0, 12)}`);
    expect(Object.keys((await netInspect('sidenet')).Containers)).toEqual([a]);
    const twice = await svc.fetch('POST', '/networks/sidenet/connect', { Container: 'alpha' });
    expect(twice.status).toBe(409);
    expect((await svc.fetch('POST', '/networks/sidenet/connect', { Container: 'nosuch' })).status).toBe(404);
    expect((await svc.fetch('POST', '/networks/host/connect', { Container: 'alpha' })).status).toBe(400);

    await ok(['network', 'disconnect', 'sidenet', 'alpha']);
    expect((await netInspect('sidenet')).Containers).toEqual({});
    const gone = await docker(['run', '--rm', '--network', 'sidenet', IMAGE, 'ping', '-c1', '-W1', 'web']);
    expect(gone.code).toBe(1);
    expect(gone.err).toBe("ping: bad address 'web'");
    expect((await svc.fetch('POST', '/networks/sidenet/disconnect', { Container: 'alpha' })).status).toBe(400);
    // Force: a container that no longer exists leaves nothing to do.
    expect((await svc.fetch('POST', '/networks/sidenet/disconnect', { Container: 'nosuch', Force: true })).status).toBe(200);

    expect(await ok(['rm', '-f', 'alpha'])).toBe('alpha');
    for (const net of ['appnet', 'sidenet']) expect(links()).not.toContain(`${hostVethName(a, net)}@`);
    expect(await ok(['network', 'rm', 'appnet', 'sidenet'])).toBe('appnet\nsidenet');
  });

  it('volume create, ls, inspect, rm and prune through the docker CLI; data kept across runs', async () => {
    expect(await ok(['volume', 'create', '--label', 'x=y', 'data1'])).toBe('data1');
    const vol = JSON.parse(await ok(['volume', 'inspect', 'data1']))[0];
    expect(vol).toMatchObject({ Name: 'data1', Driver: 'local', Scope: 'local', Labels: { x: 'y' }, Mountpoint: `${sb.root}/volumes/data1/_data` });
    expect(vol.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const gen = await ok(['volume', 'create']);
    expect(gen).toMatch(/^[0-9a-f]{64}$/);
    expect((await ok(['volume', 'ls', '-q'])).split('\n').sort()).toEqual([gen, 'data1'].sort());
    expect(await ok(['volume', 'ls', '-q', '--filter', 'label=x=y'])).toBe('data1');
    expect(await ok(['volume', 'ls', '-q', '--filter', 'name=ata'])).toBe('data1');
    for (const filters of ['{"label":{"x=y":true}}', '{"label":["x=y"]}']) {
      const r = await svc.fetch('GET', `/volumes?filters=${encodeURIComponent(filters)}`);
      expect(r.status).toBe(200);
      expect(r.json()).toMatchObject({ Volumes: [{ Name: 'data1' }], Warnings: null });
    }
    // The API's own create answers 201 with the volume.
    const made = await svc.fetch('POST', '/volumes/create', { Name: 'apivol', Labels: { k: 'v' } });
    expect(made.status).toBe(201);
    expect(made.json()).toMatchObject({ Name: 'apivol', Driver: 'local', Labels: { k: 'v' }, Scope: 'local' });

    // Data written by one run is read by the next.
    expect(await ok(['run', '--rm', '--network', 'none', '-v', 'data1:/data', IMAGE, 'sh', '-c', 'echo hi > /data/f'])).toBe('');
    expect(await ok(['run', '--rm', '--network', 'none', '-v', 'data1:/data', IMAGE, 'cat', '/data/f'])).toBe('hi');

    // In use by a container (even one not running): Docker's 409, and prune spares it.
    const user = await ok(['create', '--network', 'none', '-v', 'data1:/data', IMAGE, 'true']);
    containerIds.add(user);
    const inUse = await svc.fetch('DELETE', '/volumes/data1');
    expect(inUse.status).toBe(409);
    expect(inUse.json().message).toMatch(/^remove data1: volume is in use - \[/);
    expect((await docker(['volume', 'rm', 'data1'])).code).toBe(1);
    expect(await ok(['volume', 'ls', '-q', '--filter', 'dangling=false'])).toBe('data1');

    // API 1.41's prune (the CLI's) removes every unused volume, named ones too, and says how much it freed.
    const pruned = await ok(['volume', 'prune', '-f']);
    expect(pruned).toMatch(/^Deleted Volumes:\n/);
    expect(pruned.split('\n').slice(1, 3).sort()).toEqual([gen, 'apivol'].sort());
    expect(pruned).toMatch(/Total reclaimed space: 0B$/);
    expect(await ok(['volume', 'ls', '-q'])).toBe('data1');
    await ok(['rm', user]);
    const report = await svc.fetch('POST', '/v1.41/volumes/prune');
    expect(report.json()).toEqual({ VolumesDeleted: ['data1'], SpaceReclaimed: 3 });
    // 1.42 and later prune only anonymous volumes unless asked for all.
    await ok(['volume', 'create', 'named']);
    expect((await svc.fetch('POST', '/v1.42/volumes/prune')).json()).toEqual({ VolumesDeleted: null, SpaceReclaimed: 0 });
    expect((await svc.fetch('POST', `/v1.42/volumes/prune?filters=${encodeURIComponent('{"all":["true"]}')}`)).json().VolumesDeleted).toEqual(['named']);
  });

  it('bad volume requests: unknown (404), other drivers, bad filters', async () => {
    const unknown = await svc.fetch('GET', '/volumes/nosuchvol');
    expect([unknown.status, unknown.json().message]).toEqual([404, 'get nosuchvol: no such volume']);
    expect((await docker(['volume', 'inspect', 'nosuchvol'])).err).toBe('Error: No such volume: nosuchvol');
    expect((await svc.fetch('DELETE', '/volumes/nosuchvol')).status).toBe(404);
    expect((await svc.fetch('DELETE', '/volumes/nosuchvol?force=1')).status).toBe(204);
    const driver = await docker(['volume', 'create', '-d', 'nfs', 'x']);
    expect(driver.err).toBe('Error response from daemon: error looking up volume plugin nfs: plugin "nfs" not found');
    expect((await svc.fetch('POST', '/volumes/create', { Name: 'x', DriverOpts: { type: 'tmpfs' } })).status).toBe(400);
    expect((await svc.fetch('POST', '/volumes/create', { Name: '../x' })).status).toBe(400);
    expect((await svc.fetch('GET', `/volumes?filters=${encodeURIComponent('{"dangling":["maybe"]}')}`)).status).toBe(400);
    expect(await ok(['volume', 'ls', '-q'])).toBe('');
  });

  it('events: --since/--until lists a container\'s create, start and die; a live follow sees a network made meanwhile', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = await ok(['run', '-d', '--network', 'none', '--name', 'evt', IMAGE, 'true']);
    containerIds.add(id);
    expect(await ok(['wait', id])).toBe('0');
    const until = Math.floor(Date.now() / 1000) + 1;
    const past = await ok(['events', '--since', String(since), '--until', String(until), '--filter', 'container=evt', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}']);
    expect(past.split('\n')).toEqual(['create', 'start', 'die'].map((a) => `container ${a} ${id} evt`));
    const json = JSON.parse((await ok(['events', '--since', String(since), '--until', String(until), '--filter', 'event=die', '--filter', `container=${id}`, '--format', '{{json .}}'])).split('\n')[0]);
    expect(json).toMatchObject({ Type: 'container', Action: 'die', status: 'die', id, from: IMAGE, scope: 'local', Actor: { ID: id, Attributes: { exitCode: '0', name: 'evt' } } });
    await ok(['rm', id]);

    // Live: the destroy happens only after the stream showed the create, so it reached the client as it happened.
    const follow = spawn(DOCKER, ['events', '--since', String(since), '--filter', 'type=network', '--filter', 'network=livenet', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'], { env: { ...process.env, ...svc.env } });
    let seen = '';
    follow.stdout.on('data', (d) => (seen += d));
    const lines = (n: number) => new Promise<void>((resolve, reject) => {
      const check = () => {
        // Whole lines only: a line may arrive in two reads.
        if (seen.split('\n').length - 1 < n) return;
        follow.stdout.off('data', check);
        resolve();
      };
      follow.stdout.on('data', check);
      follow.once('exit', (c) => reject(new Error(`docker events exited ${c}: ${seen}`)));
      check();
    });
    await ok(['network', 'create', '--subnet', '10.174.16.0/24', 'livenet']);
    await lines(1);
    await ok(['network', 'rm', 'livenet']);
    await lines(2);
    expect(seen.trim().split('\n')).toEqual(['network create livenet', 'network destroy livenet']);
    follow.kill();

    // The service stops following when a client goes away: no journal file stays open in it.
    const pid = servicePid(svc.socket);
    for (let i = 0; i < 20 && openJournalFds(pid) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(openJournalFds(pid)).toBe(0);
  });

  it('GET /events sends its headers at once, and bad times or filters are 400', async () => {
    // No event follows this request: the response arrives only if the headers were flushed.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: svc.socket, path: '/events' }, (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    const bad = await svc.fetch('GET', `/events?filters=${encodeURIComponent('{"type":["spaceship"]}')}`);
    expect([bad.status, bad.json().message]).toEqual([400, "invalid filter 'type=spaceship'"]);
    expect((await svc.fetch('GET', '/events?since=yesterday')).status).toBe(400);
    expect((await svc.fetch('GET', '/events?since=200&until=100')).status).toBe(400);
  });

  it('docker system df', async () => {
    const r = await docker(['system', 'df']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+0\s/);
  });
});

/** The pid of the service listening on `socket`. */
function servicePid(socket: string): number {
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes(`unix://${socket}`) && cmd.includes('service')) return Number(p);
    } catch {
      // gone
    }
  }
  throw new Error(`no process serves ${socket}`);
}

function openJournalFds(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (/\/events\/events(\.1)?\.jsonl$/.test(readlinkSync(`/proc/${pid}/fd/${fd}`))) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}
