// `tsrun info` (and `tsrun system info`): Docker's info over core's systemInfo.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { envList, globalOptions } from '../options.js';
import { out, writeFd } from '../write.js';

export function addInfo(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('display system-wide information')
    .option('-f, --format <format>', "'json' for the whole document as JSON, or a Go template ('{{.ContainersRunning}}')")
    .action(async (flags: { format?: string }, cmd: Command) => {
      const { docFormat, markMaps } = await import('../doc-format.js');
      const format = await docFormat(flags.format); // a bad template fails before any work
      const { systemInfo } = await import('../../system/info.js');
      const g = globalOptions(cmd);
      const info = await systemInfo(await tsrunFor(cmd), {
        registryMirrors: g.registryMirror?.length ? g.registryMirror : envList(process.env.TSRUN_REGISTRY_MIRROR),
        insecureRegistries: [...envList(process.env.TSRUN_INSECURE_REGISTRIES), ...(g.insecureRegistry ?? [])],
        usernsRemap: g.usernsRemap,
      });
      if (format.kind !== 'text') {
        const doc = { ...info, ClientInfo: { Debug: info.Debug, Version: info.ServerVersion, Context: 'default', Plugins: [], Warnings: null } };
        if (format.kind === 'json') return void out(`${JSON.stringify(doc)}\n`);
        await markMaps(doc.Runtimes, doc.RegistryConfig.IndexConfigs);
        return void out(format.render(doc));
      }
      const { infoText } = await import('../info-text.js');
      out(infoText(info));
      // Docker prints its warnings on stderr, after the report.
      for (const w of info.Warnings) writeFd(2, `${w}\n`);
    });
}

export function registerInfo(program: Command): void {
  addInfo(program, 'info');
}
