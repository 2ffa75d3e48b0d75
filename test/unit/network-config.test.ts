// Network records and subnet choice against a fake host route/address list.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NetTools } from '../../src/network/exec.js';
import { chooseSubnet, hostPrefixes, networkStore, type HostPrefix, type NetworkRecord } from '../../src/network/config.js';
import type { Locker } from '../../src/util/lock.js';
import { rejection } from '../helpers/expect-error.js';

const noLock: Locker = (_p, fn) => fn();

// What `ip -j route show table all` and `ip -j addr show` print on a typical host.
const ROUTES = [
  { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
  { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link' },
  { dst: '10.88.0.0/16', dev: 'cni-podman0' },
  { type: 'local', dst: '192.0.2.2', dev: 'eth0', table: 'local' },
  { type: 'broadcast', dst: '192.0.2.255', dev: 'eth0', table: 'local' },
];
const ADDRS = [
  { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.2', prefixlen: 24 }] },
  { ifname: 'wg0', addr_info: [{ family: 'inet', local: '10.89.3.4', prefixlen: 32 }] },
];

function fakeTools(routes: unknown[] = ROUTES, addrs: unknown[] = ADDRS): NetTools & { calls: string[][] } {
  const calls: string[][] = [];
  const unused = () => Promise.reject(new Error('not expected in this test'));
  return {
    calls,
    ip: unused,
    ipJson: async <T>(args: string[]) => {
      calls.push(args);
      return (args.includes('route') ? routes : addrs) as T[];
    },
    nftScript: unused,
    nftJson: unused,
    ipBatchInNetns: unused,
    ipJsonInNetns: unused,
    readSysctl: unused,
    writeSysctl: unused,
  };
}

const rec = (name: string, subnet: string): NetworkRecord => ({ Name: name, Id: 'x', Driver: 'bridge', Subnet: subnet, Gateway: '', Internal: false, Bridge: 'b', Created: '', Labels: {} });

describe('hostPrefixes', () => {
  it('keeps unicast routes and interface addresses, drops default, local and loopback', async () => {
    const got = await hostPrefixes(fakeTools());
    expect(got).toEqual<HostPrefix[]>([
      { cidr: '192.0.2.0/24', dev: 'eth0', source: 'route' },
      { cidr: '10.88.0.0/16', dev: 'cni-podman0', source: 'route' },
      { cidr: '192.0.2.2/24', dev: 'eth0', source: 'address' },
      { cidr: '10.89.3.4/32', dev: 'wg0', source: 'address' },
    ]);
  });
});

describe('chooseSubnet', () => {
  it('takes 10.88.0.0/16 on a clean host', () => {
    expect(chooseSubnet({ host: [], networks: [] })).toBe('10.88.0.0/16');
  });

  it('skips candidates that overlap a host route, a host address or another tsrun network', async () => {
    const host = await hostPrefixes(fakeTools());
    // 10.88/16 has a route, 10.89/16 holds wg0's address, 10.90/16 is a tsrun network.
    expect(chooseSubnet({ host, networks: [rec('other', '10.90.5.0/24')] })).toBe('10.91.0.0/16');
  });

  it('a route inside a candidate counts, and so does a wider route around it', () => {
    expect(chooseSubnet({ host: [{ cidr: '10.88.200.0/24', source: 'route' }], networks: [] })).toBe('10.89.0.0/16');
    expect(chooseSubnet({ host: [{ cidr: '10.0.0.0/8', source: 'route' }], networks: [], candidates: ['10.88.0.0/16', '172.30.0.0/16'] })).toBe('172.30.0.0/16');
  });

  it('accepts a free --subnet and refuses an overlapping one, saying with what', () => {
    const host: HostPrefix[] = [{ cidr: '192.0.2.0/24', dev: 'eth0', source: 'route' }];
    expect(chooseSubnet({ requested: '10.199.1.0/24', host, networks: [] })).toBe('10.199.1.0/24');
    expect(() => chooseSubnet({ requested: '192.0.2.128/25', host, networks: [] })).toThrow('subnet 192.0.2.128/25 overlaps the host route 192.0.2.0/24 on eth0');
    expect(() => chooseSubnet({ requested: '10.199.0.0/16', host, networks: [rec('web', '10.199.7.0/24')] })).toThrow('subnet 10.199.0.0/16 overlaps tsrun network web (10.199.7.0/24)');
  });

  it('rejects malformed subnets', () => {
    expect(() => chooseSubnet({ requested: '10.199.1.5/24', host: [], networks: [] })).toThrow(/host bits are set \(did you mean 10\.199\.1\.0\/24\?\)/);
    expect(() => chooseSubnet({ requested: '10.199.1.0', host: [], networks: [] })).toThrow(/invalid subnet/);
    expect(() => chooseSubnet({ requested: '10.300.0.0/16', host: [], networks: [] })).toThrow(/invalid subnet/);
    expect(() => chooseSubnet({ requested: '10.1.1.0/31', host: [], networks: [] })).toThrow(/too small/);
  });

  it('fails clearly when every candidate is taken', () => {
    expect(() => chooseSubnet({ host: [{ cidr: '10.0.0.0/8', source: 'route' }], networks: [] })).toThrow(/no free subnet left.*pass --subnet/);
  });
});

describe('networkStore', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsrun-netcfg-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const now = () => new Date('2026-01-02T03:04:05Z');

  it('creates the default network `bridge` on tsrun0 once, on a subnet free on the host', async () => {
    const store = networkStore({ root, lock: noLock, tools: fakeTools(), now });
    const def = await store.ensureDefault();
    expect(def).toMatchObject({ Name: 'bridge', Driver: 'bridge', Bridge: 'tsrun0', Subnet: '10.90.0.0/16', Gateway: '10.90.0.1', Internal: false, Created: '2026-01-02T03:04:05.000Z', Labels: {} });
    expect(def.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.ensureDefault()).toEqual(def);
    expect(JSON.parse(readFileSync(join(root, 'networks', 'bridge', 'network.json'), 'utf8'))).toEqual(def);
  });

  it('creates user networks with their own bridge and subnet, lists, gets and removes them', async () => {
    const store = networkStore({ root, lock: noLock, tools: fakeTools([], []), now });
    const a = await store.create({ name: 'front', labels: { app: 'x' } });
    const b = await store.create({ name: 'back', subnet: '10.199.4.0/24', gateway: '10.199.4.254', internal: true });
    expect(a.Subnet).toBe('10.88.0.0/16');
    expect(a.Bridge).toBe(`tsr${a.Id.slice(0, 12)}`);
    expect(b).toMatchObject({ Subnet: '10.199.4.0/24', Gateway: '10.199.4.254', Internal: true });
    expect((await store.create({ name: 'third' })).Subnet).toBe('10.89.0.0/16');
    expect((await store.list()).map((n) => n.Name)).toEqual(['back', 'front', 'third']);
    expect((await rejection(store.create({ name: 'front' }))).code).toBe('NAME_IN_USE');
    expect((await rejection(store.create({ name: 'x', subnet: '10.88.1.0/24' }))).message).toMatch(/overlaps tsrun network front/);
    expect((await rejection(store.get('nosuch'))).message).toBe('network nosuch not found');
    await store.remove('front');
    expect(await store.find('front')).toBeNull();
  });

  it('refuses a network in use, a bad name, a bad gateway', async () => {
    const store = networkStore({ root, lock: noLock, tools: fakeTools([], []), now });
    await store.create({ name: 'busy', subnet: '10.199.5.0/24' });
    writeFileSync(join(root, 'networks', 'busy', 'leases.json'), JSON.stringify({ Leases: { '10.199.5.2': { ContainerId: 'abcdef0123456789' } } }));
    expect((await rejection(store.remove('busy'))).message).toBe('network busy has active endpoints: container(s) abcdef012345');
    await store.remove('busy', { force: true });
    expect((await rejection(store.create({ name: '../etc' }))).message).toMatch(/invalid network name/);
    expect((await rejection(store.create({ name: 'g', subnet: '10.199.6.0/24', gateway: '10.199.7.1' }))).message).toMatch(/gateway 10\.199\.7\.1 is not a usable address of 10\.199\.6\.0\/24/);
    expect((await rejection(store.create({ name: 'g', gateway: '10.199.7.1' }))).message).toMatch(/--gateway needs --subnet/);
    expect((await rejection(store.create({ name: 'g', bridge: 'a-very-long-bridge-name' }))).message).toMatch(/invalid bridge device name/);
    expect(await store.list()).toEqual([]);
  });
});
