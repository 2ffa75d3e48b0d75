// Builds the core object a verb works on, from the global options.
import type { Command } from 'commander';
import { globalOptions } from './options.js';

export async function tsrunFor(cmd: Command) {
  const { Tsrun } = await import('../tsrun.js');
  const { root, runroot } = globalOptions(cmd);
  return new Tsrun({ root, runroot, env: process.env });
}

/** Runs `fn` for each container reference, printing what `print` returns; one failure does not stop the rest (Docker's multi-container verbs). */
export async function forEachRef(refs: string[], fn: (ref: string) => Promise<string | void>): Promise<void> {
  const { reportError } = await import('./errors.js');
  for (const ref of refs) {
    try {
      const out = await fn(ref);
      if (out !== undefined) process.stdout.write(`${out}\n`);
    } catch (err) {
      reportError(err, 1);
      process.exitCode = 1;
    }
  }
}
