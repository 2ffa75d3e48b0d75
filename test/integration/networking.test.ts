// Bridge networking through the CLI, as a Docker user meets it: the default
// bridge with NAT, published ports, user-defined networks that resolve
// names, connect/disconnect, and cleanup that leaves nothing behind.
// Traffic goes only to loopback, to the containers made here and to a
// network namespace made here that plays an outside host.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseSubnet, hostPrefixes } from '../../src/network/config.js';
import { hostVethName } from '../../src/network/bridge.js';
import { natManager } from '../../src/network/nat.js';
import { busybox, integrationSkipReason, missingTools, sandbox, type Sandbox, fixtureTar } from '../helpers/tsrun.js';

const baseSkip = integrationSkipReason('networking');
const skip = baseSkip || missingTools('networking', ['ip', 'nft', 'nsenter', 'curl', 'busybox'], 'iproute2 nftables util-linux curl busybox-static');

const hex = randomBytes(2).toString('hex');
const outsideNs = `tsrt-out-${hex}`;
const outerVeth = `tsro${hex}`;
const IMAGE = 'web:1';

interface Link { ifname: string; master?: string }
const links = (): Link[] => JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Link[];
const ruleset = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });

describe.skipIf(skip)('bridge networking through the CLI', () => {
  let sb: Sandbox;
  let bridge: string;
  const ids: string[] = [];
  const procs: ChildProcess[] = [];
  let hostSide = '';
  let farSide = '';

  const tsrun = (args: string[]) => sb.tsrun(args);
  async function ok(args: string[]): Promise<string> {
    const r = await tsrun(args);
    if (r.exitCode !== 0) throw new Error(`tsrun ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
    return String(r.stdout).trim();
  }
  async function runD(args: string[]): Promise<string> {
    const id = await ok(['run', '-d', ...args]);
    ids.push(id);
    return id;
  }
  const inspect = async (ref: string) => JSON.parse(await ok(['inspect', ref]))[0];
  const leases = (net = 'bridge') => {
    const f = join(sb.root, 'networks', net, 'leases.json');
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { Leases: Record<string, { ContainerId: string }> }).Leases : {};
  };
  /** What this sandbox's containers hold on the host: veths (by name or on our bridges) and nft rules naming them. */
  function ours(bridges: string[], containerIds: string[], networks: string[]): { links: string[]; rules: string[] } {
    const veths = new Set(containerIds.flatMap((id) => networks.map((n) => hostVethName(id, n))));
    return {
      links: links().filter((l) => veths.has(l.ifname) || (l.master && bridges.includes(l.master))).map((l) => l.ifname),
      rules: ruleset().split('\n').filter((line) => containerIds.some((id) => line.includes(id))),
    };
  }
  async function waitHttp(url: string): Promise<string> {
    for (let i = 0; ; i++) {
      try {
        return execFileSync('curl', ['-sf', '--max-time', '2', url], { encoding: 'utf8' });
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  async function waitListening(ctr: string, port: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await tsrun(['exec', ctr, 'sh', '-c', `netstat -ltn | grep -q ':${port} '`])).exitCode === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${ctr} never listened on ${port}`);
  }
  const httpd = (body: string) => ['sh', '-c', `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 80 -h /www`];

  beforeAll(async () => {
    sb = sandbox();
    // An image that EXPOSEs 80 (for -P), from the busybox tree.
    const tarball = fixtureTar(busybox(), ['--numeric-owner']);
    const imp = await sb.tsrun(['import', '-c', 'EXPOSE 80', '-', IMAGE], { input: tarball });
    expect(imp.exitCode, String(imp.stderr)).toBe(0);
    await ok(['network', 'ls']); // makes the default network
    bridge = JSON.parse(readFileSync(join(sb.root, 'networks/bridge/network.json'), 'utf8')).Bridge;

    // The outside host: a netns behind a plain veth on a /30 that has no route
    // to any container subnet, so its replies come back only through NAT.
    execFileSync('ip', ['netns', 'add', outsideNs]);
    const candidates = Array.from({ length: 64 }, (_, i) => `10.198.${(parseInt(hex, 16) + i * 4) % 256}.0/30`);
    const outer = chooseSubnet({ host: await hostPrefixes(), networks: [], candidates });
    const [a, b, c] = outer.split('/')[0].split('.');
    hostSide = `${a}.${b}.${c}.1`;
    farSide = `${a}.${b}.${c}.2`;
    execFileSync('ip', ['link', 'add', outerVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outsideNs]);
    execFileSync('ip', ['addr', 'add', `${hostSide}/30`, 'dev', outerVeth]);
    execFileSync('ip', ['link', 'set', outerVeth, 'up']);
    execFileSync('ip', ['-n', outsideNs, '-batch', '-'], { input: `link set lo up\naddr add ${farSide}/30 dev eth0\nlink set eth0 up\n` });
  });

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    try { execFileSync('ip', ['link', 'del', outerVeth], { stdio: 'ignore' }); } catch { /* gone */ }
    try { execFileSync('ip', ['netns', 'del', outsideNs], { stdio: 'ignore' }); } catch { /* gone */ }
    sb?.cleanup();
  });

  it('the default bridge: eth0 with an address of its subnet, a default route, and NAT to an outside host', async () => {
    // The outside host answers with the address it sees the client come from.
    const server = spawn('ip', ['netns', 'exec', outsideNs, process.execPath, '-e', "require('net').createServer(s=>s.end(s.remoteAddress+'\\n')).listen(7000,()=>console.log('ready'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(server);
    await new Promise<void>((res, rej) => {
      server.stdout!.once('data', () => res());
      server.once('exit', (c) => rej(new Error(`server exited ${c}`)));
    });
    const r = await tsrun(['run', '--rm', IMAGE, 'sh', '-c', `ip -o -4 addr show eth0; ip route; nc ${farSide} 7000 </dev/null`]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const net = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0];
    const [subnet, gateway] = [net.IPAM.Config[0].Subnet, net.IPAM.Config[0].Gateway];
    const prefix = subnet.split('/')[1];
    expect(r.stdout).toMatch(new RegExp(`eth0\\s+inet ${subnet.split('.').slice(0, 2).join('\\.')}\\.\\d+\\.\\d+/${prefix}`));
    expect(r.stdout).toContain(`default via ${gateway} dev eth0`);
    // Masqueraded: the outside host saw the host's address on its link.
    expect(r.stdout.trim().split('\n').pop()).toMatch(new RegExp(`^(::ffff:)?${hostSide.replaceAll('.', '\\.')}$`));
    // A firewall reload dropped the network's rules: the next start puts them back.
    await natManager().removeNetwork(JSON.parse(readFileSync(join(sb.root, 'networks/bridge/network.json'), 'utf8')));
    expect(ruleset()).not.toContain(`"net ${bridge}"`);
    const again = await tsrun(['run', '--rm', IMAGE, 'nc', farSide, '7000']);
    expect(again.stdout).toMatch(new RegExp(`^(::ffff:)?${hostSide.replaceAll('.', '\\.')}$`));
    expect(ruleset()).toContain(`"net ${bridge}"`);
    server.kill('SIGKILL');
  });

  it('-p 18080:80 serves busybox httpd on 127.0.0.1 and to another network namespace; stop releases it', async () => {
    const id = await runD(['--name', 'web', '-p', '18080:80', IMAGE, ...httpd('hello-18080')]);
    expect(await waitHttp('http://127.0.0.1:18080/')).toBe('hello-18080\n');
    // From the outside host's namespace, to the host's address on its link.
    const far = execFileSync('ip', ['netns', 'exec', outsideNs, 'curl', '-sf', '--max-time', '3', `http://${hostSide}:18080/`], { encoding: 'utf8' });
    expect(far).toBe('hello-18080\n');
    expect(await ok(['port', 'web'])).toBe('80/tcp -> 0.0.0.0:18080');
    expect(await ok(['port', 'web', '80'])).toBe('0.0.0.0:18080');
    expect(await ok(['ps', '--filter', 'name=web'])).toMatch(/\s0\.0\.0\.0:18080->80\/tcp\s+web$/m);
    const doc = await inspect('web');
    expect(doc.NetworkSettings.Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '18080' }] });
    expect(doc.NetworkSettings.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(Object.values(leases())).toContainEqual(expect.objectContaining({ ContainerId: id }));
    const net = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0];
    expect(net.Containers[id]).toMatchObject({ Name: 'web', IPv4Address: `${doc.NetworkSettings.IPAddress}/${doc.NetworkSettings.IPPrefixLen}` });

    await ok(['stop', '-t', '1', 'web']);
    expect(Object.values(leases()).some((l) => l.ContainerId === id)).toBe(false);
    expect(await ok(['port', 'web'])).toBe('');
    expect(ours([bridge], [id], ['bridge'])).toEqual({ links: [], rules: [] });
    expect(() => execFileSync('curl', ['-sf', '--max-time', '1', 'http://127.0.0.1:18080/'])).toThrow();
    expect((await inspect('web')).NetworkSettings.IPAddress).toBe('');
    // A start publishes it again.
    await ok(['start', 'web']);
    expect(await waitHttp('http://127.0.0.1:18080/')).toBe('hello-18080\n');
    await ok(['rm', '-f', 'web']);
  });

  it('-p 80 and -P pick free host ports that `tsrun port` reports', async () => {
    await runD(['--name', 'rnd', '-p', '80', IMAGE, ...httpd('random')]);
    const line = await ok(['port', 'rnd']);
    const m = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(await waitHttp(`http://127.0.0.1:${m![1]}/`)).toBe('random\n');
    await runD(['--name', 'all', '-P', IMAGE, ...httpd('all')]);
    const all = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(await ok(['port', 'all']));
    expect(all).not.toBeNull();
    expect(all![1]).not.toBe(m![1]);
    expect(await waitHttp(`http://127.0.0.1:${all![1]}/`)).toBe('all\n');
    await ok(['rm', '-f', 'rnd', 'all']);
  });

  it('a user-defined network resolves names and aliases; the default bridge does not', async () => {
    await ok(['network', 'create', 'appnet']);
    // nc -ll: one listener that serves every connection (a `while nc -l` loop has gaps between clients).
    await runD(['--name', 'echo', '--network', 'appnet', '--network-alias', 'db', IMAGE, 'nc', '-ll', '-p', '7000', '-e', 'echo', 'pong']);
    await waitListening('echo', 7000);
    const r = await tsrun(['run', '--rm', '--network', 'appnet', IMAGE, 'sh', '-c', 'echo | nc echo 7000; echo | nc db 7000; ping -c1 -W2 echo >/dev/null && echo ping-ok']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('pong\npong\nping-ok');
    // The peer learned the newcomer's name too, and forgot it when it left.
    const hosts = await ok(['exec', 'echo', 'cat', '/etc/hosts']);
    expect(hosts).toContain('# tsrun network appnet: peers');
    const def = await tsrun(['run', '--rm', IMAGE, 'sh', '-c', 'ping -c1 -W1 echo']);
    expect(def.exitCode).not.toBe(0);
    expect(def.stderr + def.stdout).toMatch(/bad address 'echo'/);
    const doc = JSON.parse(await ok(['network', 'inspect', 'appnet']))[0];
    expect(Object.values(doc.Containers).map((c: any) => c.Name)).toEqual(['echo']);
    expect((await tsrun(['network', 'rm', 'appnet'])).stderr).toMatch(/network appnet has active endpoints: container\(s\) [0-9a-f]{12}/);
    await ok(['rm', '-f', 'echo']);
    await ok(['network', 'rm', 'appnet']);
  });

  it('--ip, --mac-address, and network connect/disconnect of a running container', async () => {
    await ok(['network', 'create', '--subnet', '10.197.77.0/24', 'fixed']);
    await ok(['network', 'create', 'second']);
    await runD(['--name', 'pinned', '--network', 'fixed', '--ip', '10.197.77.50', '--mac-address', '02:42:aa:bb:cc:dd', IMAGE, 'sleep', '600']);
    const out = await ok(['exec', 'pinned', 'ip', '-o', 'link', 'show', 'eth0']);
    expect(out).toContain('02:42:aa:bb:cc:dd');
    expect(await ok(['exec', 'pinned', 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).toContain('10.197.77.50/24');
    await runD(['--name', 'other', '--network', 'second', IMAGE, 'sleep', '600']);
    await ok(['network', 'connect', '--alias', 'pin', 'second', 'pinned']);
    // Connect refuses: twice, a missing network, a container on --network none.
    expect((await tsrun(['network', 'connect', 'second', 'pinned'])).stderr).toMatch(/already connected to network second/);
    expect((await tsrun(['network', 'connect', 'nosuch', 'pinned'])).stderr).toMatch(/network nosuch not found/);
    await runD(['--name', 'isolated', '--network', 'none', IMAGE, 'sleep', '600']);
    expect((await tsrun(['network', 'connect', 'second', 'isolated'])).stderr).toMatch(/uses network mode none and cannot be connected/);
    expect((await tsrun(['network', 'disconnect', 'second', 'isolated'])).stderr).toMatch(/not connected to network second/);
    expect(await ok(['exec', 'pinned', 'ip', '-o', 'link', 'show', 'eth1'])).toContain('eth1');
    expect((await tsrun(['exec', 'other', 'ping', '-c1', '-W2', 'pin'])).exitCode).toBe(0);
    expect(Object.keys((await inspect('pinned')).NetworkSettings.Networks)).toEqual(['fixed', 'second']);
    await ok(['network', 'disconnect', 'second', 'pinned']);
    expect((await tsrun(['exec', 'pinned', 'ip', 'link', 'show', 'eth1'])).exitCode).not.toBe(0);
    expect((await tsrun(['exec', 'other', 'ping', '-c1', '-W1', 'pin'])).exitCode).not.toBe(0);
    expect(Object.keys((await inspect('pinned')).NetworkSettings.Networks)).toEqual(['fixed']);
    // The address is taken while pinned holds it.
    const taken = await tsrun(['run', '--rm', '--network', 'fixed', '--ip', '10.197.77.50', IMAGE, 'true']);
    expect(taken.exitCode).toBe(125);
    expect(taken.stderr).toMatch(/address 10\.197\.77\.50 is already in use on network fixed/);
    await ok(['rm', '-f', 'pinned', 'other', 'isolated']);
    await ok(['network', 'rm', 'fixed', 'second']);
  });

  it('networks are isolated from each other (but for published ports); an --internal one reaches only its members', async () => {
    await ok(['network', 'create', 'blue']);
    await ok(['network', 'create', '--internal', 'inner']);
    await runD(['--name', 'bluesrv', '--network', 'blue', '-p', '18082:80', IMAGE, ...httpd('blue')]);
    await runD(['--name', 'innersrv', '--network', 'inner', IMAGE, ...httpd('inner')]);
    const blueIp = (await inspect('bluesrv')).NetworkSettings.Networks.blue.IPAddress;
    const gw = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0].IPAM.Config[0].Gateway;
    await waitHttp('http://127.0.0.1:18082/');
    await waitListening('innersrv', 80);
    // From the default bridge: not to blue's address, yet to its published port.
    const fromDefault = await tsrun(['run', '--rm', IMAGE, 'sh', '-c', `timeout 3 wget -qO- http://${blueIp}/ || echo blocked; timeout 3 wget -qO- http://${gw}:18082/`]);
    expect(fromDefault.stdout).toBe('blocked\nblue');
    // On the internal network: the peer by name, but not the outside host.
    const inner = await tsrun(['run', '--rm', '--network', 'inner', IMAGE, 'sh', '-c', `timeout 3 wget -qO- http://innersrv/; nc -w 2 ${farSide} 7000 </dev/null || echo no-way-out`]);
    expect(inner.stdout).toBe('inner\nno-way-out');
    await ok(['rm', '-f', 'bluesrv', 'innersrv']);
    await ok(['network', 'rm', 'blue', 'inner']);
  });

  it('20 parallel run -d get 20 distinct addresses; after rm, links, rules and leases are as before', async () => {
    const before = { leases: leases(), ...ours([bridge], [], []) };
    const started = await Promise.all(Array.from({ length: 20 }, () => sb.tsrun(['run', '-d', '-p', '80', IMAGE, 'sleep', '600'])));
    for (const r of started) expect(r.exitCode, String(r.stderr)).toBe(0);
    const batch = started.map((r) => String(r.stdout).trim());
    ids.push(...batch);
    const addrs = await Promise.all(batch.map(async (id) => (await inspect(id)).NetworkSettings.IPAddress as string));
    expect(new Set(addrs).size).toBe(20);
    expect(Object.keys(leases()).length).toBe(Object.keys(before.leases).length + 20);
    const ports = await Promise.all(batch.map((id) => ok(['port', id])));
    expect(new Set(ports).size).toBe(20);
    const rm = await tsrun(['rm', '-f', ...batch]);
    expect(rm.exitCode, String(rm.stderr)).toBe(0);
    expect(leases()).toEqual(before.leases);
    expect(ours([bridge], batch, ['bridge'])).toEqual({ links: before.links, rules: [] });
    // 40 CLI processes and 20 containers on two cores, beside the other
    // worker's tests: ~30 s was seen; this checks correctness, not speed.
  }, 120_000);

  it('a SIGKILLed monitor, then rm -f: no veth, lease or rule is left', async () => {
    const id = await runD(['-p', '80', IMAGE, 'sleep', '600']);
    const { monitorPid } = JSON.parse(readFileSync(join(sb.runroot, 'containers', id, 'state.json'), 'utf8'));
    process.kill(monitorPid, 'SIGKILL');
    await ok(['rm', '-f', id]);
    expect(Object.values(leases()).some((l) => l.ContainerId === id)).toBe(false);
    expect(ours([bridge], [id], ['bridge'])).toEqual({ links: [], rules: [] });
  });

  it('a SIGKILLed attached CLI, then rm -f: no veth, lease or rule is left', async () => {
    const cli = sb.tsrun(['run', '--name', 'fg', '-p', '80', IMAGE, 'sleep', '600']);
    let id = '';
    for (let i = 0; i < 100 && !id; i++) {
      const r = await tsrun(['inspect', 'fg']).catch(() => null);
      const doc = r && r.exitCode === 0 ? JSON.parse(String(r.stdout))[0] : null;
      if (doc?.State?.Running) id = doc.Id;
      else await new Promise((res) => setTimeout(res, 100));
    }
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    cli.kill('SIGKILL');
    await cli.catch(() => {});
    await ok(['rm', '-f', 'fg']);
    expect(Object.values(leases()).some((l) => l.ContainerId === id)).toBe(false);
    expect(ours([bridge], [id], ['bridge'])).toEqual({ links: [], rules: [] });
  });

  it('a container that exits on its own is cleaned up by its monitor', async () => {
    const id = await runD(['-p', '80', IMAGE, 'true']);
    for (let i = 0; i < 100 && Object.values(leases()).some((l) => l.ContainerId === id); i++) await new Promise((r) => setTimeout(r, 100));
    expect(Object.values(leases()).some((l) => l.ContainerId === id)).toBe(false);
    expect(ours([bridge], [id], ['bridge'])).toEqual({ links: [], rules: [] });
  });

  it('bad input: one clear line, exit 125, and nothing created', async () => {
    const records = () => execFileSync('ls', [join(sb.root, 'containers')], { encoding: 'utf8' });
    // User-defined networks' bridges (tsr + 12 hex); other test files' roots only make default ones (tsr + 8 hex + 0).
    const networkLinks = () => links().map((l) => l.ifname).filter((n) => /^tsr[0-9a-f]{12}$/.test(n));
    const before = { records: records(), leases: leases(), links: networkLinks() };
    const cases: Array<[string[], RegExp]> = [
      [['-p', '99999:80'], /invalid port mapping "99999:80": host port 99999 is out of range/],
      [['-p', '80:99999'], /container port 99999 is out of range/],
      [['--network', 'nosuch'], /network nosuch not found/],
      [['--ip', '10.88.0.99'], /user specified IP address is supported on user defined networks only/],
      [['--network-alias', 'x'], /aliases are supported only for containers in user defined networks/],
      [['--mac-address', 'zz:zz'], /invalid MAC address/],
      [['--network', 'none', '-p', '80'], /conflicting options: port publishing and --network none/],
    ];
    for (const [flags, msg] of cases) {
      const r = await tsrun(['run', '--rm', ...flags, IMAGE, 'true']);
      expect(r.exitCode, flags.join(' ')).toBe(125);
      expect(r.stderr).toMatch(msg);
      expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
    }
    // A host port some process already listens on.
    const holder = await runD(['-p', '18081:80', IMAGE, 'sleep', '600']);
    const clash = await tsrun(['run', '--rm', '-p', '18081:80', IMAGE, 'true']);
    expect(clash.exitCode).toBe(125);
    expect(clash.stderr).toMatch(/host port 0\.0\.0\.0:18081\/tcp is already published|18081.*already/);
    await ok(['rm', '-f', holder]);
    // Networks: an overlapping subnet, a bad name, the default network.
    const net = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0];
    const overlap = await tsrun(['network', 'create', '--subnet', net.IPAM.Config[0].Subnet, 'clash']);
    expect(overlap.exitCode).toBe(1);
    expect(overlap.stderr).toMatch(/overlaps tsrun network bridge|overlaps the host route/);
    expect((await tsrun(['network', 'create', '../x'])).stderr).toMatch(/invalid network name/);
    expect((await tsrun(['network', 'rm', 'nosuch'])).stderr).toMatch(/network nosuch not found/);
    expect((await tsrun(['network', 'ls', '-q'])).stdout.trim().split('\n')).toHaveLength(1);
    expect(records()).toBe(before.records);
    expect(leases()).toEqual(before.leases);
    expect(networkLinks()).toEqual(before.links);
  });

  it('--default-subnet puts the default network where the user says, and refuses one that overlaps a host route', async () => {
    const other = sandbox();
    try {
      const tarball = fixtureTar(busybox(), ['--numeric-owner']);
      expect((await other.tsrun(['import', '-', IMAGE], { input: tarball })).exitCode).toBe(0);
      const clash = await other.tsrun(['--default-subnet', `${farSide.split('.').slice(0, 3).join('.')}.0/24`, 'run', '--rm', IMAGE, 'true']);
      expect(clash.exitCode).toBe(125);
      expect(clash.stderr).toMatch(new RegExp(`overlaps the host (route|address) .*${outerVeth}`));
      expect(existsSync(join(other.root, 'networks/bridge'))).toBe(false);
      const r = await other.tsrun(['--default-subnet', '10.196.42.0/24', 'run', '--rm', IMAGE, 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/inet 10\.196\.42\.\d+\/24/);
      // Changed later: the unused default network moves.
      const moved = await other.tsrun(['--default-subnet', '10.196.43.0/24', 'run', '--rm', IMAGE, 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
      expect(moved.stdout).toMatch(/inet 10\.196\.43\.\d+\/24/);
    } finally {
      other.cleanup();
    }
  });

  it('network ls, inspect and prune', async () => {
    await ok(['network', 'create', '--internal', '--label', 'team=a', 'spare']);
    const ls = await ok(['network', 'ls']);
    expect(ls).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/m);
    expect(ls).toMatch(/^[0-9a-f]{12}\s+spare\s+bridge\s+local$/m);
    const json = (await ok(['network', 'ls', '--format', 'json'])).split('\n').map((l) => JSON.parse(l));
    expect(json.map((n) => n.Name)).toEqual(['bridge', 'spare']);
    expect(json[1]).toMatchObject({ Driver: 'bridge', Scope: 'local', Internal: true });
    expect(await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).toBe('bridge bridge\nspare bridge');
    const doc = JSON.parse(await ok(['network', 'inspect', 'spare']))[0];
    expect(doc).toMatchObject({ Name: 'spare', Driver: 'bridge', Internal: true, Labels: { team: 'a' }, Containers: {} });
    const dev = doc.Options['com.docker.network.bridge.name'];
    expect(links().some((l) => l.ifname === dev)).toBe(true);
    expect(await ok(['network', 'prune', '-f'])).toBe('Deleted Networks:\nspare');
    expect(links().some((l) => l.ifname === dev)).toBe(false);
    expect(ruleset()).not.toContain(`"net ${dev}"`);
  });

  it('the default network can be removed when no container uses it, and comes back on next use', async () => {
    const id = await runD([IMAGE, 'sleep', '600']);
    expect((await tsrun(['network', 'rm', 'bridge'])).stderr).toMatch(/network bridge has active endpoints: container\(s\) [0-9a-f]{12}/);
    await ok(['rm', '-f', id]);
    expect(await ok(['network', 'rm', 'bridge'])).toBe('bridge');
    expect(links().some((l) => l.ifname === bridge)).toBe(false);
    expect(ruleset()).not.toContain(`"${bridge}"`);
    expect((await tsrun(['run', '--rm', IMAGE, 'true'])).exitCode).toBe(0);
    expect(links().some((l) => l.ifname === bridge)).toBe(true);
  });
});
