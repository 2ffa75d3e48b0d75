// `-p` parsing, `-P`, host port choice.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatPortMapping, isHostPortFree, parsePublish, publishAllSpecs, resolvePorts } from '../../src/network/ports.js';

describe('parsePublish', () => {
  it.each([
    ['80', [{ hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    ['53/udp', [{ hostIp: '0.0.0.0', hostPort: 0, containerPort: 53, protocol: 'udp' }]],
    ['8080:80', [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['8080:80/TCP', [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1:8080:80/udp', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }]],
    ['127.0.0.1::80', [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    [':8080:80', [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    [
      '8000-8001:80-81',
      [
        { hostIp: '0.0.0.0', hostPort: 8000, containerPort: 80, protocol: 'tcp' },
        { hostIp: '0.0.0.0', hostPort: 8001, containerPort: 81, protocol: 'tcp' },
      ],
    ],
    [
      '80-81',
      [
        { hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, protocol: 'tcp' },
        { hostIp: '0.0.0.0', hostPort: 0, containerPort: 81, protocol: 'tcp' },
      ],
    ],
    ['8000-8010:80', [{ hostIp: '0.0.0.0', hostPort: 8000, hostPortEnd: 8010, containerPort: 80, protocol: 'tcp' }]],
  ])('%s', (spec, want) => {
    expect(parsePublish(spec)).toEqual(want);
  });

  it.each([
    ['99999:80', /invalid port mapping "99999:80": host port 99999 is out of range \(1-65535\)/],
    ['80:0', /container port 0 is out of range/],
    ['80:abc', /container port "abc" is not a number/],
    ['80/sctp', /protocol "sctp" is not supported/],
    ['1.2.3:80:80', /host address "1.2.3" is not an IPv4 address/],
    ['a:b:c:d', /expected \[IP:\]\[HOSTPORT:\]CONTAINERPORT/],
    ['8080:', /the container port is missing/],
    ['8000-8002:80-81', /differ in length/],
    ['90-80', /reversed/],
    ['', /container port is missing/],
  ])('rejects %j', (spec, msg) => {
    expect(() => parsePublish(spec)).toThrow(msg);
  });

  it('refuses IPv6 host addresses for now', () => {
    expect(() => parsePublish('[::1]:80:80')).toThrow(/IPv6/);
  });
});

describe('publishAllSpecs (-P)', () => {
  it('maps every exposed port to a random host port', () => {
    expect(publishAllSpecs({ '80/tcp': {}, '53/udp': {} })).toEqual([
      { hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 0, containerPort: 53, protocol: 'udp' },
    ]);
    expect(publishAllSpecs(undefined)).toEqual([]);
  });
});

describe('resolvePorts', () => {
  it('gives random host ports that nothing is bound to and no mapping holds', async () => {
    const got = await resolvePorts([...parsePublish('127.0.0.1::80'), ...parsePublish('127.0.0.1::81/udp')]);
    expect(got).toHaveLength(2);
    for (const m of got) {
      expect(m.hostPort).toBeGreaterThan(0);
      expect(await isHostPortFree('127.0.0.1', m.hostPort, m.protocol)).toBe(true);
    }
    expect(formatPortMapping(got[0])).toBe(`80/tcp -> 127.0.0.1:${got[0].hostPort}`);
  });

  it('refuses a host port another mapping holds (0.0.0.0 overlaps every address)', async () => {
    const held = [{ hostIp: '0.0.0.0', hostPort: 18080, containerPort: 80, protocol: 'tcp' as const }];
    await expect(resolvePorts(parsePublish('127.0.0.1:18080:80'), held)).rejects.toThrow(/18080\/tcp is already published/);
    await expect(resolvePorts(parsePublish('18080:80/udp'), held)).resolves.toHaveLength(1);
    await expect(resolvePorts([...parsePublish('18081:80'), ...parsePublish('18081:81')])).rejects.toThrow(/already published/);
  });

  it('picks the first free port of a host range', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const busy = (srv.address() as { port: number }).port;
    try {
      const [m] = await resolvePorts(parsePublish(`127.0.0.1:${busy}-${busy + 20}:80`));
      expect(m.hostPort).toBeGreaterThan(busy);
      expect(m.hostPort).toBeLessThanOrEqual(busy + 20);
    } finally {
      srv.close();
    }
  });
});
