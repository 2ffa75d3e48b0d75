// Option helpers shared by the verbs.
import type { Command } from 'commander';

/** For repeatable options: `-e A -e B` → ['A', 'B']. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface GlobalFlags {
  /** --root and --runroot always have a value (their defaults: program.ts). */
  root: string;
  runroot: string;
  registryMirror?: string[];
  insecureRegistry?: string[];
  defaultNetwork?: string;
  defaultSubnet?: string;
  usernsRemap?: string;
}

/** The global options, wherever on the command line they were given. */
export function globalOptions(cmd: Command): GlobalFlags {
  return cmd.optsWithGlobals() as GlobalFlags;
}

/** A comma-separated environment list (TSRUN_INSECURE_REGISTRIES=a,b). */
export function envList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
