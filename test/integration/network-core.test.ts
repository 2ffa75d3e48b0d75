// The bridge-networking core on its own (not through `tsrun run` yet):
// a test network with its own bridge, subnet and nft table; two "containers"
// that are plain processes in new network namespaces (`unshare --net sleep`).
// Traffic goes only to loopback and to the namespaces made here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../src/native/binding.js';
import { fileLocker } from '../../src/util/lock.js';
import { hostTools, runCommand } from '../../src/network/exec.js';
import { chooseSubnet, hostPrefixes, networkStore, type NetworkRecord } from '../../src/network/config.js';
import { openIpam, type Ipam } from '../../src/network/ipam.js';
import { attachContainer, detachContainer, ensureBridge, hostVethName, removeBridge, type Attachment } from '../../src/network/bridge.js';
import { natManager } from '../../src/network/nat.js';
import { resolvePorts, parsePublish } from '../../src/network/ports.js';
import { integrationSkipReason, missingTools } from '../helpers/tsrun.js';

const baseSkip = integrationSkipReason('network-core');
const skip = baseSkip || missingTools('network-core', ['ip', 'nft', 'nsenter', 'unshare', 'busybox'], 'iproute2 nftables util-linux busybox');

const hex = randomBytes(2).toString('hex');
const bridgeName = `tsrt${hex}`;
const table = `tsrt${hex}`;
const netName = `tsrt-${hex}`;
const outerVeth = `tsro${hex}`;
const idA = randomBytes(32).toString('hex');
const idB = randomBytes(32).toString('hex');
const idC = randomBytes(32).toString('hex');
const fileIds = [idA, idB, idC];

// Other test files run containers (veths, rules in table ip tsrun) meanwhile:
// only the devices and the table this file makes are compared.
const linkNames = () =>
  (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>)
    .map((l) => l.ifname)
    .filter((n) => n.includes(hex) || fileIds.some((id) => n === hostVethName(id, netName)))
    .sort();
const ruleset = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(table)).join('\n');

async function inNetns(pid: number, cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return runCommand('nsenter', [`--net=/proc/${pid}/ns/net`, '--', ...cmd]);
}

function tcpRead(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`timeout connecting to ${host}:${port}`));
    }, timeoutMs);
    s.setEncoding('utf8').on('data', (d: string) => (data += d));
    s.on('end', () => {
      clearTimeout(t);
      resolve(data);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

describe.skipIf(skip)('network core (bridge, IPAM, NAT)', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsrun-net-'));
  const lock = fileLocker(native);
  const store = networkStore({ root, lock });
  const nat = natManager({ table, lock, lockPath: join(root, 'nft.lock') });
  const procs: ChildProcess[] = [];
  let linksBefore: string[];
  let rulesBefore: string;
  let forwardBefore: string;
  let net: NetworkRecord;
  let ipam: Ipam;
  let a: Attachment;
  let b: Attachment;
  let pidA: number;
  let pidB: number;

  async function waitNetns(pid: number): Promise<void> {
    const self = await runCommand('readlink', ['/proc/self/ns/net']);
    for (let i = 0; i < 100; i++) {
      const r = await runCommand('readlink', [`/proc/${pid}/ns/net`]);
      if (r.exitCode === 0 && r.stdout !== self.stdout) return;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`pid ${pid} never entered a new netns`);
  }

  function sleeper(): number {
    const p = spawn('unshare', ['--net', 'sleep', '120'], { stdio: 'ignore' });
    procs.push(p);
    return p.pid!;
  }

  beforeAll(async () => {
    linksBefore = linkNames();
    rulesBefore = ruleset();
    forwardBefore = await hostTools.readSysctl('net.ipv4.ip_forward');
    const candidates = Array.from({ length: 256 }, (_, i) => `10.199.${(parseInt(hex, 16) + i) % 256}.0/24`);
    const subnet = chooseSubnet({ host: await hostPrefixes(), networks: [], candidates });
    net = await store.create({ name: netName, subnet, bridge: bridgeName });
    ipam = openIpam({ root, network: net.Name, subnet: net.Subnet, gateway: net.Gateway, lock });
    pidA = sleeper();
    pidB = sleeper();
    // Wait until unshare has exec'd sleep in its new netns.
    for (const pid of [pidA, pidB]) await waitNetns(pid);
  });

  afterAll(async () => {
    // Total cleanup whatever happened above; every step tolerates "already gone".
    for (const p of procs) p.kill('SIGKILL');
    for (const id of [idA, idB]) await runCommand('ip', ['link', 'del', hostVethName(id, netName)]);
    await runCommand('ip', ['link', 'del', bridgeName]);
    await runCommand('ip', ['link', 'del', outerVeth]);
    await runCommand('nft', ['delete', 'table', 'ip', table]);
    if (forwardBefore !== undefined) await hostTools.writeSysctl('net.ipv4.ip_forward', forwardBefore);
    rmSync(root, { recursive: true, force: true });
  });

  it('brings up the bridge with the gateway address and the NAT rules in their own table', async () => {
    await ensureBridge(net);
    await ensureBridge(net); // idempotent
    await nat.ensureNetwork(net);
    await nat.ensureNetwork(net); // replaces, does not duplicate
    const addrs = await hostTools.ipJson<{ addr_info: Array<{ local: string; prefixlen: number }>; operstate: string }>(['-4', 'addr', 'show', 'dev', bridgeName]);
    expect(addrs[0].addr_info.map((x) => `${x.local}/${x.prefixlen}`)).toEqual([`${net.Gateway}/24`]);
    const t = execFileSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8' });
    expect(t.match(/masquerade/g)?.length).toBe(3);
    expect(t).toContain(`ip saddr ${net.Subnet} oifname != "${bridgeName}" masquerade`);
    expect(t).toContain('fib daddr type local jump ports');
    expect(await hostTools.readSysctl('net.ipv4.ip_forward')).toBe('1');
    expect(await hostTools.readSysctl(`net.ipv4.conf.${bridgeName}.route_localnet`)).toBe('1');
  });

  it('gives each container eth0 with its address, MAC and a default route via the gateway', async () => {
    a = await attachContainer({ net, ipam, containerId: idA, pid: pidA });
    b = await attachContainer({ net, ipam, containerId: idB, pid: pidB, mac: '02:aa:bb:cc:dd:ee' });
    expect(a.ip).not.toBe(b.ip);
    expect(a.hostVeth).toMatch(/^veth[0-9a-f]{8}$/);
    const links = await hostTools.ipJsonInNetns<{ ifname: string; address: string; addr_info: Array<{ local: string }> }>(pidB, ['-4', 'addr', 'show']);
    expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    const eth0 = links.find((l) => l.ifname === 'eth0')!;
    const link = await hostTools.ipJsonInNetns<{ address: string; operstate: string }>(pidB, ['link', 'show', 'eth0']);
    expect(link[0].address).toBe('02:aa:bb:cc:dd:ee');
    expect(link[0].operstate).toBe('UP');
    expect(eth0.addr_info.map((x) => x.local)).toEqual([b.ip]);
    const routes = await hostTools.ipJsonInNetns<{ dst: string; gateway?: string; dev: string }>(pidA, ['route', 'show']);
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: net.Gateway, dev: 'eth0' }));
    // The host veth is on the bridge.
    const master = await hostTools.ipJson<{ master?: string }>(['link', 'show', a.hostVeth]);
    expect(master[0].master).toBe(bridgeName);
    expect(Object.keys(await ipam.list()).sort()).toEqual([a.ip, b.ip].sort());
  });

  it('attach is idempotent for the same container', async () => {
    // A retry (say, after a CLI died midway) replaces the pair and keeps the address.
    const again = await attachContainer({ net, ipam, containerId: idA, pid: pidA });
    expect(again).toEqual(a);
    expect(Object.keys(await ipam.list())).toHaveLength(2);
  });

  it('a failing attach undoes what it did: no veth, no lease', async () => {
    const links = linkNames();
    // pid 2^22+1 does not exist (above the kernel's pid_max limit): `ip link add ... netns PID` fails.
    await expect(attachContainer({ net, ipam, containerId: idC, pid: 4194305 })).rejects.toThrow(/cannot connect container .* to network .*netns/);
    expect(linkNames()).toEqual(links);
    expect(Object.keys(await ipam.list())).toHaveLength(2);
    // Failing inside the namespace, after the pair exists: the kernel refuses an all-zero MAC.
    await expect(attachContainer({ net, ipam, containerId: idC, pid: pidA, ifName: 'eth9', mac: '00:00:00:00:00:00' })).rejects.toThrow(/cannot connect container .*address 00:00:00:00:00:00/);
    expect((await hostTools.ipJsonInNetns<{ ifname: string }>(pidA, ['link', 'show'])).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    expect(linkNames()).toEqual(links);
    expect(Object.keys(await ipam.list())).toHaveLength(2);
  });

  it('host ↔ container, container → gateway and container ↔ container all ping', async () => {
    expect((await runCommand('busybox', ['ping', '-c', '1', '-W', '2', a.ip])).exitCode).toBe(0);
    expect((await inNetns(pidA, ['busybox', 'ping', '-c', '1', '-W', '2', net.Gateway])).exitCode).toBe(0);
    expect((await inNetns(pidA, ['busybox', 'ping', '-c', '1', '-W', '2', b.ip])).exitCode).toBe(0);
    expect((await inNetns(pidB, ['busybox', 'ping', '-c', '1', '-W', '2', a.ip])).exitCode).toBe(0);
  });

  it('masquerades outbound traffic to an outside host (another netns with no route back to the subnet)', async () => {
    // The "outside host": its own netns behind a plain veth (not a bridge), on a
    // /30 that knows nothing of the container subnet, so a reply can only come
    // back if the container's source address was rewritten to the host's.
    const pidOut = sleeper();
    await waitNetns(pidOut);
    const candidates = Array.from({ length: 64 }, (_, i) => `10.199.${(parseInt(hex, 16) + 128 + i) % 256}.0/30`);
    const outer = chooseSubnet({ host: await hostPrefixes(), networks: [net], candidates });
    const base = outer.split('/')[0].split('.').map(Number);
    const hostSide = `${base[0]}.${base[1]}.${base[2]}.1`;
    const farSide = `${base[0]}.${base[1]}.${base[2]}.2`;
    await hostTools.ip(['link', 'add', outerVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pidOut)]);
    await hostTools.ip(['addr', 'add', `${hostSide}/30`, 'dev', outerVeth]);
    await hostTools.ip(['link', 'set', outerVeth, 'up']);
    await hostTools.ipBatchInNetns(pidOut, ['link set lo up', `addr add ${farSide}/30 dev eth0`, 'link set eth0 up']);
    const server = spawn('nsenter', [`--net=/proc/${pidOut}/ns/net`, '--', process.execPath, '-e', "require('net').createServer(s=>s.end(s.remoteAddress+'\\n')).listen(7000,()=>console.log('ready'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(server);
    await new Promise<void>((res, rej) => {
      server.stdout!.once('data', () => res());
      server.once('exit', (c) => rej(new Error(`server exited ${c}`)));
    });
    const r = await inNetns(pidA, [process.execPath, '-e', `const s=require('net').connect(7000,'${farSide}');s.pipe(process.stdout);s.on('error',e=>{console.error(e.message);process.exit(1)})`]);
    expect(r.stderr).toBe('');
    // The outside host saw the host's address, not the container's.
    expect(r.stdout.trim()).toMatch(new RegExp(`^(::ffff:)?${hostSide.replaceAll('.', '\\.')}$`));
    expect((await inNetns(pidA, ['busybox', 'ping', '-c', '1', '-W', '2', farSide])).exitCode).toBe(0);
    server.kill('SIGKILL');
    await hostTools.ip(['link', 'del', outerVeth]);
  });

  it('publishes a container port on 127.0.0.1 and on the gateway address, and removes it per container', async () => {
    const server = spawn('nsenter', [`--net=/proc/${pidB}/ns/net`, '--', process.execPath, '-e', "require('net').createServer(s=>s.end('hello from B\\n')).listen(8080,()=>console.log('ready'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(server);
    await new Promise<void>((res, rej) => {
      server.stdout!.once('data', () => res());
      server.once('exit', (c) => rej(new Error(`server exited ${c}`)));
    });
    const [local, any] = await resolvePorts([...parsePublish('127.0.0.1::8080'), ...parsePublish('8080')]);
    await nat.addPorts(idB, b.ip, [local, any]);
    expect(await nat.listPorts(idB)).toEqual([
      { ...local, containerId: idB, containerIp: b.ip },
      { ...any, containerId: idB, containerIp: b.ip },
    ]);
    // Publishing the same host port for another container is refused.
    await expect(nat.addPorts(idA, a.ip, [{ ...local }])).rejects.toThrow(/already published/);
    expect(await tcpRead('127.0.0.1', local.hostPort)).toBe('hello from B\n');
    expect(await tcpRead('127.0.0.1', any.hostPort)).toBe('hello from B\n');
    // From another namespace (container A) through the host's address on the bridge.
    const viaGw = await inNetns(pidA, [process.execPath, '-e', `const s=require('net').connect(${any.hostPort},'${net.Gateway}');s.pipe(process.stdout);s.on('error',e=>{console.error(e.message);process.exit(1)})`]);
    expect(viaGw.stderr).toBe('');
    expect(viaGw.stdout).toBe('hello from B\n');
    expect(await nat.removePorts(idB)).toBe(2);
    expect(await nat.removePorts(idB)).toBe(0);
    expect(await nat.listPorts()).toEqual([]);
    await expect(tcpRead('127.0.0.1', local.hostPort, 2000)).rejects.toThrow();
  });

  it('teardown leaves ip link, the nft ruleset and the leases as they were', async () => {
    await detachContainer({ net, ipam, containerId: idA });
    await detachContainer({ net, ipam, containerId: idB });
    await detachContainer({ net, ipam, containerId: idB }); // idempotent
    expect(await ipam.list()).toEqual({});
    await expect(store.remove(net.Name)).resolves.toMatchObject({ Name: netName });
    await nat.removeNetwork(net);
    await removeBridge(net);
    await removeBridge(net);
    await nat.removeAll();
    await nat.removeAll();
    expect(linkNames()).toEqual(linksBefore);
    expect(ruleset()).toBe(rulesBefore);
  });
});
