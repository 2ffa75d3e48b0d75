// Builds the core object a verb works on, from the global options.
import type { Command } from 'commander';
import { join } from 'node:path';
import { envList, globalOptions } from './options.js';
import { out as writeOut } from './write.js';

/**
 * Where `login` writes credentials (TSRUN_AUTH_FILE, else
 * ~/.config/tsrun/auth.json), and Docker's own config.json, which pulls
 * read as well, as Podman does.
 */
export async function authFiles(): Promise<string[]> {
  // node:os only without HOME: every verb would otherwise load it (~0.5 ms).
  const home = process.env.HOME || (await import('node:os')).homedir();
  return [process.env.TSRUN_AUTH_FILE || join(home, '.config/tsrun/auth.json'), join(process.env.DOCKER_CONFIG || join(home, '.docker'), 'config.json')];
}

export async function tsrunFor(cmd: Command) {
  const { Tsrun } = await import('../tsrun.js');
  const { root, runroot, registryMirror, insecureRegistry, defaultNetwork, defaultSubnet, usernsRemap } = globalOptions(cmd);
  return new Tsrun({
    root,
    runroot,
    env: process.env,
    registryMirrors: registryMirror?.length ? registryMirror : envList(process.env.TSRUN_REGISTRY_MIRROR),
    insecureRegistries: [...envList(process.env.TSRUN_INSECURE_REGISTRIES), ...(insecureRegistry ?? [])],
    authFiles: await authFiles(),
    defaultNetwork,
    defaultSubnet,
    usernsRemap,
  });
}

/** Runs `fn` for each container reference, printing what `print` returns; one failure does not stop the rest (Docker's multi-container verbs). */
export async function forEachRef(refs: string[], fn: (ref: string) => Promise<string | void>): Promise<void> {
  const { reportError } = await import('./errors.js');
  for (const ref of refs) {
    try {
      const out = await fn(ref);
      if (out !== undefined) writeOut(`${out}\n`);
    } catch (err) {
      reportError(err, 1);
      process.exitCode = 1;
    }
  }
}
