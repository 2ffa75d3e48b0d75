// `tsrun check [--json]`: what this kernel offers tsrun, and whether
// containers can run here at all (exit code 1 when they cannot).

import { access, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { NAMESPACE_UNTESTED, probe, type NamespaceKind, type ProbeHost } from '../../check/probe.js';
import { formatCheckReport } from '../../check/report.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('report which kernel features tsrun can use on this host')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await probe(await realHost());
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report, { unicode: process.stdout.isTTY === true }));
      if (!report.canRunContainers) process.exitCode = 1;
    });
}

async function realHost(): Promise<ProbeHost> {
  return {
    readFile: (path) => readFile(path, 'utf8').catch(() => null),
    exists: (path) => access(path).then(() => true, () => false),
    tryNamespace: await namespaceProber(),
    uid: process.getuid?.() ?? -1,
  };
}

// Loaded here rather than at the top so `tsrun check` still reports the
// /proc and /sys facts when the addon is not built: that is when it helps most.
async function namespaceProber(): Promise<(flag: NamespaceKind) => number> {
  try {
    const { native } = await import('../../native/binding.js');
    return (flag) => {
      try {
        return native.probeNamespace(flag);
      } catch {
        return NAMESPACE_UNTESTED;
      }
    };
  } catch {
    return () => NAMESPACE_UNTESTED;
  }
}
