// `tsrun version`: Docker's Client and Server sections (`tsrun -v` stays the short form).
import type { Command } from 'commander';
import { out } from '../write.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('show the tsrun version information')
    .option('-f, --format <format>', "'json' for the whole document as JSON, or a Go template ('{{.Server.Version}}')")
    .action(async (flags: { format?: string }) => {
      const { docFormat, markMaps } = await import('../doc-format.js');
      const format = await docFormat(flags.format);
      const { versionInfo } = await import('../../system/version.js');
      const v = versionInfo();
      if (format.kind === 'json') return void out(`${JSON.stringify(v)}\n`);
      if (format.kind === 'template') {
        await markMaps(...v.Server.Components.map((c) => c.Details));
        return void out(format.render(v));
      }
      const { versionText } = await import('../version-text.js');
      out(versionText(v));
    });
}
