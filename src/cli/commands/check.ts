// `tsrun check [--json]`: what this kernel offers tsrun, and whether
// containers can run here at all (exit code 1 when they cannot).
import type { Command } from 'commander';
import { out } from '../write.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('report which kernel features tsrun can use on this host')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      // Loaded here so other verbs do not pay for the probe at start-up.
      const { access, readFile } = await import('node:fs/promises');
      const { NAMESPACE_UNTESTED, probe } = await import('../../check/probe.js');
      const { formatCheckReport } = await import('../../check/report.js');
      const { native } = await import('../../native/binding.js');
      const report = await probe({
        readFile: (path) => readFile(path, 'utf8').catch(() => null),
        exists: (path) => access(path).then(() => true, () => false),
        // The addon loads on first use: when it is not built, the /proc and
        // /sys facts still print, which is when they help most.
        tryNamespace: (kind) => {
          try {
            return native.probeNamespace(kind);
          } catch {
            return NAMESPACE_UNTESTED;
          }
        },
        uid: process.getuid?.() ?? -1,
      });
      out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report, { unicode: process.stdout.isTTY === true }));
      if (!report.canRunContainers) process.exitCode = 1;
    });
}
