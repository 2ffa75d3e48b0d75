// Docker's `-p` forms:
//   CONTAINERPORT[/proto]                    random host port on 0.0.0.0
//   HOSTPORT:CONTAINERPORT[/proto]
//   IP:HOSTPORT:CONTAINERPORT[/proto]
//   IP::CONTAINERPORT[/proto]                random host port on IP
//   ranges: 8000-8002:80-82 (equal lengths), 80-82 (random host ports),
//           8000-8010:80 (the first free host port of the range)
// proto is tcp (default) or udp. IPv4 host addresses only.
// `-P` publishes every EXPOSEd port of the image on a random host port.
import { TsrunError } from '../errors.js';
import { parseIpv4 } from './ipv4.js';
import type { PortMapping, Protocol } from './nat.js';

export interface PortSpec {
  hostIp: string;
  /** 0: any free port (from hostPortEnd's range when set). */
  hostPort: number;
  /** With hostPort: a range to pick one free port from (`8000-8010:80`). */
  hostPortEnd?: number;
  containerPort: number;
  protocol: Protocol;
}

function bad(spec: string, why: string): never {
  throw new TsrunError('INVALID_ARGUMENT', `invalid port mapping ${JSON.stringify(spec)}: ${why}`);
}

function parsePort(spec: string, s: string, what: string): number {
  if (!/^\d{1,5}$/.test(s)) bad(spec, `${what} ${JSON.stringify(s)} is not a number`);
  const n = Number(s);
  if (n < 1 || n > 65535) bad(spec, `${what} ${n} is out of range (1-65535)`);
  return n;
}

function parseRange(spec: string, s: string, what: string): [number, number] {
  const m = /^([^-]+)-([^-]+)$/.exec(s);
  if (!m) return [parsePort(spec, s, what), parsePort(spec, s, what)];
  const a = parsePort(spec, m[1], what);
  const b = parsePort(spec, m[2], what);
  if (b < a) bad(spec, `${what} range ${s} is reversed`);
  return [a, b];
}

/** Parses one `-p` value into one spec per container port. */
export function parsePublish(spec: string): PortSpec[] {
  let rest = spec.trim();
  let protocol: Protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp') bad(spec, `protocol ${JSON.stringify(p)} is not supported (tcp or udp)`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  if (rest.startsWith('[')) throw new TsrunError('UNSUPPORTED', `invalid port mapping ${JSON.stringify(spec)}: IPv6 host addresses are not supported yet`);
  const parts = rest.split(':');
  let hostIp = '0.0.0.0';
  let hostPart = '';
  let ctrPart: string;
  if (parts.length === 1) ctrPart = parts[0];
  else if (parts.length === 2) [hostPart, ctrPart] = parts;
  else if (parts.length === 3) {
    [hostIp, hostPart, ctrPart] = parts;
    if (hostIp === '') hostIp = '0.0.0.0';
    if (parseIpv4(hostIp) === null) bad(spec, `host address ${JSON.stringify(hostIp)} is not an IPv4 address`);
  } else bad(spec, 'expected [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]');
  if (ctrPart === '') bad(spec, 'the container port is missing');
  const [c0, c1] = parseRange(spec, ctrPart, 'container port');
  const count = c1 - c0 + 1;
  if (hostPart === '') return Array.from({ length: count }, (_, i) => ({ hostIp, hostPort: 0, containerPort: c0 + i, protocol }));
  const [h0, h1] = parseRange(spec, hostPart, 'host port');
  if (count === 1 && h1 > h0) return [{ hostIp, hostPort: h0, hostPortEnd: h1, containerPort: c0, protocol }];
  if (h1 - h0 + 1 !== count) bad(spec, `the host range ${hostPart} and the container range ${ctrPart} differ in length`);
  return Array.from({ length: count }, (_, i) => ({ hostIp, hostPort: h0 + i, containerPort: c0 + i, protocol }));
}

/** `-P`: the image's ExposedPorts keys ("80/tcp", "53/udp", "8080") on random host ports. */
export function publishAllSpecs(exposed: Record<string, unknown> | undefined): PortSpec[] {
  return Object.keys(exposed ?? {}).flatMap((k) => parsePublish(k));
}

// net and dgram load when a port is published, not with every verb that parses -p.
async function sockets() {
  const [{ createServer }, { createSocket }] = await Promise.all([import('node:net'), import('node:dgram')]);
  return { createServer, createSocket };
}

/** True when nothing on this host is bound to ip:port (we bind it for a moment). */
export async function isHostPortFree(hostIp: string, port: number, protocol: Protocol): Promise<boolean> {
  const { createServer, createSocket } = await sockets();
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind({ address: hostIp, port, exclusive: true }, () => s.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: hostIp, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A free port chosen by the kernel (bind to port 0). */
async function ephemeralPort(hostIp: string, protocol: Protocol): Promise<number> {
  const { createServer, createSocket } = await sockets();
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind({ address: hostIp, port: 0, exclusive: true }, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
      return;
    }
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: hostIp, port: 0, exclusive: true }, () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/**
 * Turns specs into concrete mappings: random host ports become ports no
 * local socket is bound to and no mapping in `inUse` holds. Call under the
 * same lock as nat.addPorts so two containers do not pick the same port.
 */
export async function resolvePorts(specs: PortSpec[], inUse: PortMapping[] = []): Promise<PortMapping[]> {
  const taken = (ip: string, port: number, proto: Protocol, list: PortMapping[]) =>
    list.some((m) => m.protocol === proto && m.hostPort === port && (m.hostIp === ip || m.hostIp === '0.0.0.0' || ip === '0.0.0.0'));
  const out: PortMapping[] = [];
  for (const s of specs) {
    const all = [...inUse, ...out];
    let hostPort = s.hostPort;
    if (s.hostPort !== 0 && s.hostPortEnd !== undefined) {
      hostPort = 0;
      for (let p = s.hostPort; p <= s.hostPortEnd && hostPort === 0; p++) {
        if (!taken(s.hostIp, p, s.protocol, all) && (await isHostPortFree(s.hostIp, p, s.protocol))) hostPort = p;
      }
      if (hostPort === 0) throw new TsrunError('PORT_IN_USE', `no free host port in ${s.hostPort}-${s.hostPortEnd}/${s.protocol}`);
    } else if (hostPort === 0) {
      for (let i = 0; i < 50 && hostPort === 0; i++) {
        const p = await ephemeralPort(s.hostIp, s.protocol);
        if (!taken(s.hostIp, p, s.protocol, all)) hostPort = p;
      }
      if (hostPort === 0) throw new TsrunError('PORT_IN_USE', `no free host port for ${s.containerPort}/${s.protocol}`);
    } else if (taken(s.hostIp, hostPort, s.protocol, all)) {
      throw new TsrunError('PORT_IN_USE', `host port ${s.hostIp}:${hostPort}/${s.protocol} is already published`);
    }
    out.push({ hostIp: s.hostIp, hostPort, containerPort: s.containerPort, protocol: s.protocol });
  }
  return out;
}

/** `tsrun port` lines: "80/tcp -> 0.0.0.0:32768". */
export function formatPortMapping(m: PortMapping): string {
  return `${m.containerPort}/${m.protocol} -> ${m.hostIp}:${m.hostPort}`;
}
