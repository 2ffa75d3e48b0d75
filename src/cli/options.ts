// Option helpers shared by the verbs.
import type { Command } from 'commander';

/** For repeatable options: `-e A -e B` → ['A', 'B']. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The global --root/--runroot, wherever on the command line they were given. */
export function globalOptions(cmd: Command): { root?: string; runroot?: string } {
  return cmd.optsWithGlobals() as { root?: string; runroot?: string };
}
