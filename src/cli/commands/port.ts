// `tsrun port CONTAINER [PORT[/PROTO]]`: the container's published ports, as
// the kernel's DNAT rules have them ("80/tcp -> 0.0.0.0:32768").
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function registerPort(program: Command): void {
  program
    .command('port')
    .description("list a container's published ports, or the host address of one")
    .argument('<container>')
    .argument('[port]', 'PORT[/PROTO] to look up')
    .action(async (ref: string, port: string | undefined, _flags: unknown, cmd: Command) => {
      const { formatPortMapping } = await import('../../network/ports.js');
      const { TsrunError } = await import('../../errors.js');
      const c = (await tsrunFor(cmd)).containers;
      const ports = (await c.ports(await c.resolve(ref))).sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol));
      if (port === undefined) return void out(ports.map((p) => `${formatPortMapping(p)}\n`).join(''));
      const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(port);
      if (!m) throw new TsrunError('INVALID_ARGUMENT', `invalid port ${JSON.stringify(port)}: expected PORT[/tcp|udp]`);
      const proto = m[2] ?? 'tcp';
      const hits = ports.filter((p) => p.containerPort === Number(m[1]) && p.protocol === proto);
      if (!hits.length) throw new TsrunError('INVALID_ARGUMENT', `no public port '${m[1]}/${proto}' published for ${ref}`);
      out(hits.map((p) => `${p.hostIp}:${p.hostPort}\n`).join(''));
    });
}
