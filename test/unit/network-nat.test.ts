// nat.ts and bridge.ts against a fake NetTools that records what would run.
import { describe, expect, it } from 'vitest';
import type { NetTools, NftJson } from '../../src/network/exec.js';
import { natManager } from '../../src/network/nat.js';
import { attachContainer, detachContainer, ensureBridge, hostVethName, macForIp, validateMac } from '../../src/network/bridge.js';
import type { NetworkRecord } from '../../src/network/config.js';
import type { Ipam } from '../../src/network/ipam.js';
import { TsrunError } from '../../src/errors.js';

const net = (over: Partial<NetworkRecord> = {}): NetworkRecord => ({
  Name: 'web',
  Id: 'x',
  Driver: 'bridge',
  Subnet: '10.89.0.0/24',
  Gateway: '10.89.0.1',
  Internal: false,
  Bridge: 'tsrtest0',
  Created: '',
  Labels: {},
  ...over,
});

function fake(opts: { rules?: Array<{ chain: string; handle: number; comment?: string; expr?: unknown[] }>; links?: string[]; failIp?: RegExp; failBatch?: boolean } = {}) {
  const scripts: string[] = [];
  const ipCalls: string[] = [];
  const batches: Array<{ pid: number; commands: string[] }> = [];
  const sysctls: Record<string, string> = { 'net.ipv4.ip_forward': '0' };
  const links = new Set(opts.links ?? []);
  const tools: NetTools = {
    ip: async (args) => {
      const line = args.join(' ');
      ipCalls.push(line);
      if (opts.failIp?.test(line)) throw new TsrunError('CONTAINER_SETUP_FAILED', `ip ${line}: RTNETLINK answers: File exists`);
      if (args[0] === 'link' && args[1] === 'add') links.add(args[2]);
      if (args[0] === 'link' && args[1] === 'del') links.delete(args[2]);
      return '';
    },
    ipJson: async <T>() => [...links].map((ifname) => ({ ifname })) as T[],
    nftScript: async (s) => void scripts.push(s),
    nftJson: async (): Promise<NftJson | null> =>
      opts.rules ? { nftables: [{ table: { name: 'tsrun' } }, ...opts.rules.map((r) => ({ rule: { family: 'ip', table: 'tsrun', expr: [], ...r } }))] } : null,
    ipBatchInNetns: async (pid, commands) => {
      batches.push({ pid, commands });
      if (opts.failBatch) throw new TsrunError('CONTAINER_SETUP_FAILED', `nsenter --net=/proc/${pid}/ns/net -- ip -batch -: RTNETLINK answers: Invalid argument`);
    },
    ipJsonInNetns: async () => [],
    readSysctl: async (k) => sysctls[k] ?? '0',
    writeSysctl: async (k, v) => void (sysctls[k] = v),
  };
  return { tools, scripts, ipCalls, batches, sysctls, links };
}

describe('nat', () => {
  it('declares the table with flushed base chains (idempotent) and turns on ip_forward', async () => {
    const f = fake();
    await natManager({ tools: f.tools }).ensureBase();
    const s = f.scripts[0];
    expect(s).toMatch(/^add table ip tsrun\n/);
    expect(s).toContain('add chain ip tsrun output { type nat hook output priority -100; policy accept; }');
    expect(s).toContain('flush chain ip tsrun prerouting\n');
    expect(s).toContain('add rule ip tsrun output fib daddr type local jump ports\n');
    expect(s.indexOf('flush chain ip tsrun forward')).toBeLessThan(s.indexOf('add rule ip tsrun forward'));
    expect(f.sysctls['net.ipv4.ip_forward']).toBe('1');
  });

  it('a network gets masquerade, forward, guard rules tagged with its bridge device and route_localnet on its bridge', async () => {
    const f = fake({ rules: [{ chain: 'net-forward', handle: 7, comment: 'net tsrtest0' }, { chain: 'net-forward', handle: 8, comment: 'net tsrtest01' }] });
    await natManager({ tools: f.tools }).ensureNetwork(net());
    const s = f.scripts[1];
    expect(s).toContain('delete rule ip tsrun net-forward handle 7\n');
    expect(s).not.toContain('handle 8');
    expect(s).toContain('add rule ip tsrun net-postrouting ip saddr 10.89.0.0/24 oifname != "tsrtest0" masquerade comment "net tsrtest0"');
    expect(s).toContain('add rule ip tsrun net-postrouting oifname "tsrtest0" ip saddr 127.0.0.0/8 masquerade comment "net tsrtest0"');
    expect(s).toContain('add rule ip tsrun net-forward iifname "tsrtest0" accept comment "net tsrtest0"');
    // Isolation from other networks, published ports excepted, before the accept.
    const isolate = 'add rule ip tsrun net-forward iifname "tsrtest0" oifname @bridges oifname != "tsrtest0" ct status & dnat == 0 drop comment "net tsrtest0"';
    expect(s).toContain(isolate);
    expect(s.indexOf(isolate)).toBeLessThan(s.indexOf('net-forward iifname "tsrtest0" accept'));
    expect(s).toContain('add element ip tsrun bridges { "tsrtest0" }');
    expect(s).toContain('add rule ip tsrun net-guard iifname "tsrtest0" ip daddr 127.0.0.0/8 drop comment "net tsrtest0"');
    expect(f.sysctls['net.ipv4.conf.tsrtest0.route_localnet']).toBe('1');
  });

  it('an internal network is not masqueraded and cannot forward past its bridge', async () => {
    const f = fake();
    await natManager({ tools: f.tools, table: 'tsrt1' }).ensureNetwork(net({ Internal: true }));
    const s = f.scripts[1];
    expect(s).not.toContain('masquerade');
    expect(s).toContain('add rule ip tsrt1 net-forward iifname "tsrtest0" oifname != "tsrtest0" drop comment "net tsrtest0"');
    expect(f.sysctls['net.ipv4.conf.tsrtest0.route_localnet']).toBeUndefined();
  });

  it('port rules carry the container id and are listed and removed by it', async () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const f = fake({
      rules: [
        { chain: 'ports', handle: 11, comment: `ctr ${a} tcp 0.0.0.0 8080 80`, expr: [{ dnat: { addr: '10.89.0.2', port: 80 } }] },
        { chain: 'ports', handle: 12, comment: `ctr ${a} udp 127.0.0.1 5353 53`, expr: [{ dnat: { addr: '10.89.0.2', port: 53 } }] },
      ],
    });
    const nat = natManager({ tools: f.tools });
    expect(await nat.listPorts(a)).toEqual([
      { containerId: a, containerIp: '10.89.0.2', protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 },
      { containerId: a, containerIp: '10.89.0.2', protocol: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53 },
    ]);
    await expect(nat.addPorts(b, '10.89.0.3', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }])).rejects.toThrow(
      `host port 127.0.0.1:8080/tcp is already published by container ${a.slice(0, 12)}`,
    );
    await nat.addPorts(b, '10.89.0.3', [{ hostIp: '127.0.0.1', hostPort: 8081, containerPort: 80, protocol: 'tcp' }]);
    expect(f.scripts.at(-1)).toBe(`add rule ip tsrun ports ip daddr 127.0.0.1 tcp dport 8081 dnat to 10.89.0.3:80 comment "ctr ${b} tcp 127.0.0.1 8081 80"\n`);
    expect(await nat.removePorts(a)).toBe(2);
    expect(f.scripts.at(-1)).toBe('delete rule ip tsrun ports handle 11\ndelete rule ip tsrun ports handle 12\n');
  });

  it('rejects names that could break out of the nft script', () => {
    expect(() => natManager({ table: 'x; flush ruleset' })).toThrow(/invalid nft table name/);
  });
});

describe('bridge', () => {
  const ipam = (ip = '10.89.0.5'): Ipam & { released: string[] } => {
    const released: string[] = [];
    return { released, allocate: async () => ip, release: async (id) => (released.push(id), [ip]), releaseStale: async () => [], list: async () => ({}) };
  };
  const cid = 'c'.repeat(64);

  it('derives names and MACs', () => {
    expect(hostVethName(cid, 'web')).toMatch(/^veth[0-9a-f]{8}$/);
    expect(hostVethName(cid, 'web')).not.toBe(hostVethName(cid, 'other'));
    expect(macForIp('10.89.0.5')).toBe('02:42:0a:59:00:05');
    expect(validateMac('02:AA:bb:cc:dd:ee')).toBe('02:aa:bb:cc:dd:ee');
    expect(() => validateMac('01:00:5e:00:00:01')).toThrow(/multicast/);
    expect(() => validateMac('zz')).toThrow(/invalid MAC/);
  });

  it('ensureBridge creates the bridge only when missing', async () => {
    const f = fake({ links: ['tsrtest0'] });
    await ensureBridge(net(), f.tools);
    expect(f.ipCalls).toEqual(['addr replace 10.89.0.1/24 dev tsrtest0', 'link set tsrtest0 up']);
  });

  it('attach creates the peer inside the netns, configures it, and on an internal network adds no default route', async () => {
    const f = fake();
    const i = ipam();
    const att = await attachContainer({ net: net({ Internal: true }), ipam: i, containerId: cid, pid: 4242, tools: f.tools });
    const hv = hostVethName(cid, 'web');
    expect(att).toEqual({ network: 'web', ifName: 'eth0', hostVeth: hv, ip: '10.89.0.5', prefixLen: 24, gateway: '10.89.0.1', mac: '02:42:0a:59:00:05' });
    // One request makes the pair, puts the host end on the bridge and brings it up.
    expect(f.ipCalls).toEqual([`link add ${hv} mtu 1500 master tsrtest0 up type veth peer name eth0 mtu 1500 netns 4242`]);
    expect(f.batches).toEqual([{ pid: 4242, commands: ['link set lo up', 'link set eth0 address 02:42:0a:59:00:05', 'addr add 10.89.0.5/24 dev eth0', 'link set eth0 up'] }]);
    const f2 = fake();
    await attachContainer({ net: net(), ipam: ipam(), containerId: cid, pid: 4242, tools: f2.tools });
    expect(f2.batches[0].commands.at(-1)).toBe('route replace default via 10.89.0.1 dev eth0');
  });

  it('a failure midway deletes the veth and releases the lease', async () => {
    const f = fake({ failBatch: true });
    const i = ipam();
    await expect(attachContainer({ net: net(), ipam: i, containerId: cid, pid: 4242, tools: f.tools })).rejects.toThrow(/cannot connect container cccccccccccc to network web: nsenter .* ip -batch -: RTNETLINK answers/);
    expect(f.ipCalls.at(-1)).toBe(`link del ${hostVethName(cid, 'web')}`);
    expect(i.released).toEqual([cid]);
    expect(f.links.size).toBe(0);
  });

  it('a failed link add (the kernel made nothing) deletes nothing and releases the lease', async () => {
    const f = fake({ failIp: /^link add/ });
    const i = ipam();
    await expect(attachContainer({ net: net(), ipam: i, containerId: cid, pid: 4242, tools: f.tools })).rejects.toThrow(/cannot connect container cccccccccccc to network web: ip link add .* master tsrtest0 up type veth .*: RTNETLINK answers/);
    expect(f.ipCalls.filter((c) => c.startsWith('link del'))).toEqual([]);
    expect(i.released).toEqual([cid]);
  });

  it('detach is idempotent', async () => {
    const hv = hostVethName(cid, 'web');
    const f = fake({ links: [hv] });
    const i = ipam();
    await detachContainer({ net: net(), ipam: i, containerId: cid, tools: f.tools });
    await detachContainer({ net: net(), ipam: i, containerId: cid, tools: f.tools });
    expect(f.ipCalls).toEqual([`link del ${hv}`]);
    expect(i.released).toEqual([cid, cid]);
  });
});
