// run/create's network flags → the request a container record keeps.
import { describe, expect, it } from 'vitest';
import type { NetworkRecord } from '../../src/network/config.js';
import { networkBuildOptions, networkRequest, type NetworkContext } from '../../src/runtime/container-network.js';
import { rejection } from '../helpers/expect-error.js';

const mynet: NetworkRecord = {
  Name: 'mynet', Id: 'f'.repeat(64), Driver: 'bridge', Subnet: '10.90.0.0/24', Gateway: '10.90.0.1', Internal: false,
  Bridge: 'tsrffffffffffff', Created: '', Labels: {},
};
const ctx: NetworkContext = {
  resolveContainer: async (ref) => (ref === 'web' ? 'a'.repeat(64) : Promise.reject(new Error(`No such container: ${ref}`))),
  findNetwork: async (name) => (name === 'mynet' ? mynet : null),
  defaultNetwork: 'bridge',
  exposedPorts: { '80/tcp': {}, '53/udp': {} },
};

describe('networkRequest', () => {
  it('defaults to the bridge network, publishing -p and -P ports', async () => {
    const r = await networkRequest({ publish: ['127.0.0.1:8080:80'], publishAll: true }, ctx);
    expect(r.mode).toBe('bridge');
    expect(r.networks).toEqual({ bridge: {} });
    expect(r.publish).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 0, containerPort: 53, protocol: 'udp' },
    ]);
  });

  it('a user-defined network takes --ip, --mac-address and aliases', async () => {
    const r = await networkRequest({ network: 'mynet', ip: '10.90.0.7', macAddress: '02:42:AA:BB:CC:DD', networkAlias: ['db', 'primary.db'] }, ctx);
    expect(r).toMatchObject({ mode: 'mynet', networks: { mynet: { ip: '10.90.0.7', mac: '02:42:aa:bb:cc:dd', aliases: ['db', 'primary.db'] } } });
  });

  it('none, host and container: have no networks; -p is dropped with host and refused otherwise', async () => {
    expect(await networkRequest({ network: 'none' }, ctx)).toMatchObject({ mode: 'none' });
    expect((await networkRequest({ network: 'host', publish: ['80'] }, ctx)).networks).toBeUndefined();
    expect(await networkRequest({ network: 'container:web' }, ctx)).toMatchObject({ mode: `container:${'a'.repeat(64)}` });
    expect((await rejection(networkRequest({ network: 'none', publish: ['80'] }, ctx))).message).toBe('conflicting options: port publishing and --network none');
    expect((await rejection(networkRequest({ network: 'host', ip: '10.0.0.2' }, ctx))).message).toMatch(/--ip, --mac-address and --network-alias need a bridge network/);
    // The configured default applies when --network is not given.
    expect(await networkRequest({}, { ...ctx, defaultNetwork: 'none' })).toMatchObject({ mode: 'none' });
  });

  it('refuses what Docker refuses, before anything is made', async () => {
    const cases: Array<[Parameters<typeof networkRequest>[0], string, RegExp]> = [
      [{ network: 'nosuch' }, 'NETWORK_NOT_FOUND', /network nosuch not found/],
      [{ ip: '10.88.0.5' }, 'INVALID_ARGUMENT', /user specified IP address is supported on user defined networks only/],
      [{ networkAlias: ['x'] }, 'INVALID_ARGUMENT', /aliases are supported only for containers in user defined networks/],
      [{ network: 'mynet', ip: '10.91.0.5' }, 'INVALID_ARGUMENT', /--ip 10\.91\.0\.5 is not a usable address of network mynet/],
      [{ network: 'mynet', ip: '10.90.0.1' }, 'INVALID_ARGUMENT', /is not a usable address .*gateway 10\.90\.0\.1/],
      [{ network: 'mynet', ip: '10.90.0.255' }, 'INVALID_ARGUMENT', /not a usable address/],
      [{ network: 'mynet', networkAlias: ['bad alias'] }, 'INVALID_ARGUMENT', /invalid --network-alias/],
      [{ macAddress: '01:00:5e:00:00:01' }, 'INVALID_ARGUMENT', /multicast/],
      [{ publish: ['99999:80'] }, 'INVALID_ARGUMENT', /host port 99999 is out of range/],
    ];
    for (const [flags, code, msg] of cases) {
      const err = await rejection(networkRequest(flags, ctx));
      expect(err.code, JSON.stringify(flags)).toBe(code);
      expect(err.message).toMatch(msg);
    }
  });
});

describe('networkBuildOptions', () => {
  const base = { extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] };
  it('container:X uses X\'s /etc files and host name, and refuses -h', () => {
    const o = networkBuildOptions({ mode: `container:${'a'.repeat(64)}`, ...base }, '/r/me', undefined, { dir: '/r/x', hostname: 'xhost' });
    expect(o).toEqual({
      network: { joinPath: '/proc/self/ns/net' },
      etcFiles: { hostname: '/r/x/hostname', hosts: '/r/x/hosts', resolvConf: '/r/x/resolv.conf' },
      hostname: 'xhost',
    });
    expect(() => networkBuildOptions({ mode: 'container:abc', ...base }, '/r/me', 'mine', { dir: '/r/x' })).toThrow('conflicting options: --hostname and --network container:abc');
  });

  it('a bridge network: a new namespace, its own files, the default host name', () => {
    expect(networkBuildOptions({ mode: 'bridge', networks: { bridge: {} }, ...base }, '/r/me', undefined)).toEqual({
      network: {},
      etcFiles: { hostname: '/r/me/hostname', hosts: '/r/me/hosts', resolvConf: '/r/me/resolv.conf' },
      hostname: undefined,
    });
  });
});
