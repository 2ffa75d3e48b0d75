// `tsrun network create|ls|inspect|rm|prune|connect|disconnect`: Docker's
// verbs over core's bridge networks.
import type { Command } from 'commander';
import { forEachRef, tsrunFor } from '../context.js';
import { collect } from '../options.js';
import { out } from '../write.js';

const labelsOf = (list: string[] = []) =>
  Object.fromEntries(list.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])));

const networksFor = async (cmd: Command) => (await tsrunFor(cmd)).networks();

/** Each field's column name (docker/cli's NetworkContext headers; Subnet and Gateway are tsrun's). */
const NETWORK_HEADER = {
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS',
  Label: (_key: string) => 'LABEL', Subnet: 'SUBNET', Gateway: 'GATEWAY', CreatedAt: 'CREATED AT',
};

export function registerNetwork(program: Command): void {
  const network = program.command('network').description('manage networks');

  network
    .command('create')
    .description('create a bridge network')
    .argument('<name>')
    .option('-d, --driver <driver>', 'network driver (only bridge)', 'bridge')
    .option('--subnet <cidr>', 'IPv4 subnet (default: a free /16 from 10.88.0.0 on)')
    .option('--gateway <ip>', 'gateway address in the subnet (default: its first address)')
    .option('--internal', 'no traffic in or out of the network, only between its containers')
    .option('--label <key=value>', 'set a label (repeatable)', collect)
    .action(async (name: string, flags: { driver: string; subnet?: string; gateway?: string; internal?: boolean; label?: string[] }, cmd: Command) => {
      const { TsrunError } = await import('../../errors.js');
      if (flags.driver !== 'bridge') throw new TsrunError('INVALID_ARGUMENT', `network driver ${JSON.stringify(flags.driver)} is not supported: only bridge`);
      const rec = await (await networksFor(cmd)).create({ name, subnet: flags.subnet, gateway: flags.gateway, internal: flags.internal, labels: labelsOf(flags.label) });
      out(`${rec.Id}\n`);
    });

  network
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('-q, --quiet', 'only network ids')
    .option('--no-trunc', 'full network ids')
    .option('--format <format>', "'table' (default), 'table TEMPLATE', 'json', or a Go template")
    .action(async (flags: { quiet?: boolean; trunc: boolean; format?: string }, cmd: Command) => {
      const { labelsText, listFormat, table, withLabelMethod } = await import('../format.js');
      const render = flags.quiet ? undefined : await listFormat(flags.format, NETWORK_HEADER);
      const nets = await networksFor(cmd);
      await nets.ready('bridge'); // Docker always lists its default network
      const list = await nets.list();
      const id = (i: string) => (flags.trunc ? i.slice(0, 12) : i);
      if (!render) return void out(list.map((n) => `${id(n.Id)}\n`).join(''));
      out(render(
        () => list.map((n) => withLabelMethod({
          ID: id(n.Id), Name: n.Name, Driver: n.Driver, Scope: 'local', IPv6: false, Internal: n.Internal, Labels: labelsText(n.Labels),
          Subnet: n.Subnet, Gateway: n.Gateway, CreatedAt: n.Created,
        }, n.Labels)),
        () => table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], list.map((n) => [id(n.Id), n.Name, n.Driver, 'local'])),
      ));
    });

  network
    .command('inspect')
    .description('show networks as JSON')
    .argument('<network...>')
    .option('-f, --format <template>', "a Go template run over each network (e.g. '{{.IPAM.Config}}')")
    .action(async (refs: string[], flags: { format?: string }, cmd: Command) => {
      const { inspectFormat } = await import('../format.js');
      const format = await inspectFormat(flags.format, [['Labels', ''], ['Options', ''], 'Containers']);
      const nets = await networksFor(cmd);
      const docs: unknown[] = [];
      await forEachRef(refs, async (r) => {
        const doc = await nets.inspect(r);
        return format ? format(doc).slice(0, -1) : void docs.push(doc);
      });
      if (!format) out(`${JSON.stringify(docs, null, 4)}\n`);
    });

  network
    .command('rm')
    .alias('remove')
    .description('remove networks (refused while a container is connected)')
    .argument('<network...>')
    .option('-f, --force', 'no error for a network that does not exist')
    .action(async (refs: string[], flags: { force?: boolean }, cmd: Command) => {
      const nets = await networksFor(cmd);
      const { TsrunError } = await import('../../errors.js');
      await forEachRef(refs, async (r) => {
        try {
          await nets.remove(r);
        } catch (err) {
          if (!(flags.force && err instanceof TsrunError && err.code === 'NETWORK_NOT_FOUND')) throw err;
        }
        return r;
      });
    });

  network
    .command('prune')
    .description('remove every user-defined network no container is connected to')
    .option('-f, --force', 'do not prompt for confirmation (tsrun never prompts)')
    .action(async (_flags: unknown, cmd: Command) => {
      const removed = await (await networksFor(cmd)).prune();
      if (removed.length) out(`Deleted Networks:\n${removed.map((n) => `${n}\n`).join('')}`);
    });

  network
    .command('connect')
    .description('connect a container to a network (now if it runs, and at every start)')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <address>', 'IPv4 address on the network')
    .option('--alias <alias>', 'another name peers on the network resolve (repeatable)', collect)
    .option('--mac-address <mac>', "MAC address of the container's interface on the network")
    .action(async (net: string, ref: string, flags: { ip?: string; alias?: string[]; macAddress?: string }, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      await c.connect(await c.resolve(ref), net, { ip: flags.ip, aliases: flags.alias, mac: flags.macAddress });
    });

  network
    .command('disconnect')
    .description('disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'accepted for Docker compatibility')
    .action(async (net: string, ref: string, _flags: unknown, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      await c.disconnect(await c.resolve(ref), net);
    });
}
