// The /etc files' contents and the network flag parsers, without a kernel.
import { describe, expect, it } from 'vitest';
import { hostsFile, parseAddHost, parseDnsServer, parseNetworkMode, resolvConf } from '../../src/network/etc-files.js';

describe('resolvConf', () => {
  const host = '# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch corp.example\noptions edns0 trust-ad\n';

  it('drops loopback nameservers the container cannot reach and keeps search and options', () => {
    expect(resolvConf(host, {})).toBe('nameserver 192.0.2.1\nsearch corp.example\noptions edns0 trust-ad\n');
  });

  it('--dns, --dns-search and --dns-option replace their lines', () => {
    expect(resolvConf(host, { dns: ['198.51.100.7'], search: ['a.test', 'b.test'], options: ['ndots:2'] })).toBe(
      'nameserver 198.51.100.7\nsearch a.test b.test\noptions ndots:2\n',
    );
  });

  it('the host network keeps the host\'s loopback resolver', () => {
    expect(resolvConf(host, { keepLoopback: true })).toMatch(/^nameserver 127\.0\.0\.53\nnameserver 192\.0\.2\.1\n/);
  });
});

describe('hostsFile', () => {
  it('has localhost, the extra hosts, and the container\'s own name', () => {
    const text = hostsFile({ hostname: 'web', extraHosts: [{ host: 'db', ip: '10.0.0.2' }] });
    expect(text.startsWith('127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n')).toBe(true);
    expect(text.endsWith('10.0.0.2\tdb\n127.0.0.1\tweb\n')).toBe(true);
  });
});

describe('flag parsers', () => {
  it('--add-host takes HOST:IP, IPv6 with or without brackets', () => {
    expect(parseAddHost('db:10.0.0.2')).toEqual({ host: 'db', ip: '10.0.0.2' });
    expect(parseAddHost('v6:fd00::1')).toEqual({ host: 'v6', ip: 'fd00::1' });
    expect(parseAddHost('v6:[fd00::1]')).toEqual({ host: 'v6', ip: 'fd00::1' });
    for (const bad of ['db', ':10.0.0.2', 'db:', 'db:1.2.3', '-x:10.0.0.1']) expect(() => parseAddHost(bad)).toThrow(/invalid --add-host/);
  });

  it('--dns takes an address only', () => {
    expect(parseDnsServer('2001:db8::53')).toBe('2001:db8::53');
    expect(() => parseDnsServer('ns.example')).toThrow(/invalid --dns/);
  });

  it('--network: none, host, container:REF, or a bridge network by name; a bad name is refused', () => {
    expect(parseNetworkMode('none')).toEqual({ kind: 'none' });
    expect(parseNetworkMode('host')).toEqual({ kind: 'host' });
    expect(parseNetworkMode('container:abc')).toEqual({ kind: 'container', ref: 'abc' });
    expect(() => parseNetworkMode('container:')).toThrow(/invalid --network/);
    expect(parseNetworkMode('mynet')).toEqual({ kind: 'bridge', network: 'mynet' });
    expect(parseNetworkMode('default')).toEqual({ kind: 'bridge', network: 'bridge' });
    expect(() => parseNetworkMode('../x')).toThrow(/invalid --network/);
  });
});
