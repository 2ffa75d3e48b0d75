// `tsrun network create|ls|inspect|rm|prune|connect|disconnect`: Docker's
// verbs over core's bridge networks.
import type { Command } from 'commander';
import { forEachRef, tsrunFor } from '../context.js';
import { collect } from '../options.js';
import { out } from '../write.js';

const labelsOf = (list: string[] = []) =>
  Object.fromEntries(list.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])));

const networksFor = async (cmd: Command) => (await tsrunFor(cmd)).networks();

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
    .option('--format <format>', "'json' for one JSON object per network")
    .action(async (flags: { quiet?: boolean; trunc: boolean; format?: string }, cmd: Command) => {
      const nets = await networksFor(cmd);
      await nets.ready('bridge'); // Docker always lists its default network
      const list = await nets.list();
      const id = (i: string) => (flags.trunc ? i.slice(0, 12) : i);
      if (flags.quiet) return void out(list.map((n) => `${id(n.Id)}\n`).join(''));
      const { jsonLines, table, wantsJson } = await import('../format.js');
      if (wantsJson(flags.format)) {
        return void out(jsonLines(list.map((n) => ({
          ID: id(n.Id), Name: n.Name, Driver: n.Driver, Scope: 'local', Internal: n.Internal, Subnet: n.Subnet, Gateway: n.Gateway, CreatedAt: n.Created,
        }))));
      }
      out(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], list.map((n) => [id(n.Id), n.Name, n.Driver, 'local'])));
    });

  network
    .command('inspect')
    .description('show networks as JSON')
    .argument('<network...>')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const nets = await networksFor(cmd);
      const docs: unknown[] = [];
      await forEachRef(refs, async (r) => void docs.push(await nets.inspect(r)));
      out(`${JSON.stringify(docs, null, 4)}\n`);
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
