// `tsrun run` options + image config → OCI runtime spec, with Docker's
// rules for args, env, user, working directory and security defaults.
// The only I/O: the rootfs check, env files, and the rootfs's passwd/group.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { TsrunError } from '../errors.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NAMESPACES,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultDeviceRules,
  defaultMounts,
} from './defaults.js';
import { getEnv, mergeEnv, parseEnvOption, readEnvFile, type HostEnv } from './env.js';
import { OCI_VERSION, type LinuxResources, type OciMount, type OciNamespace, type OciProcess, type OciSpec } from './oci.js';
import { resolveExecUser } from './user.js';

/** The image config fields that shape the process (OCI image config names). */
export interface ImageProcessConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
}

export interface RunOptions {
  /** Absolute host path of the container's root filesystem. */
  rootfs: string;
  command: string[];
  /** --entrypoint: replaces the image entrypoint and drops the image cmd; '' clears it. */
  entrypoint?: string;
  /** Raw -e values: `KEY=VAL` or `KEY` (take the host's value). */
  env?: string[];
  /** --env-file paths, applied in order before -e. */
  envFiles?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  tty?: boolean;
  consoleSize?: { rows: number; cols: number };
  init?: boolean;
  readOnly?: boolean;
  image?: ImageProcessConfig;
  /** cgroup limits (spec/resources.ts parses Docker's flags); the default device rules are added. */
  resources?: LinuxResources;
  /** The network namespace: a new one (default), the host's, or one to join (`container:`). */
  network?: { host?: boolean; joinPath?: string };
  /** Files bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf (they must exist by start). */
  etcFiles?: { hostname: string; hosts: string; resolvConf: string };
}

export interface BuildContext {
  /** Container id; its first 12 characters are the default hostname, as in Docker. */
  id: string;
  /** The caller's environment, for `-e KEY` and env-file `KEY` lines. */
  hostEnv: HostEnv;
}

/** Annotation telling the runtime to run a minimal init as pid 1 (--init). */
export const INIT_ANNOTATION = 'org.tsrun.init';

// sethostname(2) rejects names longer than this (HOST_NAME_MAX).
const HOST_NAME_MAX = 64;

async function checkRootfs(rootfs: string): Promise<void> {
  if (!path.isAbsolute(rootfs)) throw new TsrunError('INVALID_ARGUMENT', `rootfs ${rootfs} must be an absolute path`);
  let isDir: boolean;
  try {
    // Following symlinks is fine here: the rootfs path comes from the
    // caller (trusted), not from image content.
    isDir = (await stat(rootfs)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TsrunError('ROOTFS_NOT_FOUND', `rootfs ${rootfs} does not exist`, { cause: err });
    }
    throw err;
  }
  if (!isDir) throw new TsrunError('ROOTFS_NOT_FOUND', `rootfs ${rootfs} is not a directory`);
}

/**
 * Docker's args rule: entrypoint + cmd, where --entrypoint replaces the
 * image entrypoint and also drops the image cmd (only the run command
 * follows it), and a non-empty run command replaces the image cmd.
 */
export function resolveArgs(opts: Pick<RunOptions, 'command' | 'entrypoint' | 'image'>): string[] {
  const image = opts.image ?? {};
  let args: string[];
  if (opts.entrypoint !== undefined) {
    args = [...(opts.entrypoint === '' ? [] : [opts.entrypoint]), ...opts.command];
  } else {
    const cmd = opts.command.length > 0 ? opts.command : (image.cmd ?? []);
    args = [...(image.entrypoint ?? []), ...cmd];
  }
  if (args.length === 0) throw new TsrunError('INVALID_ARGUMENT', 'no command specified');
  return args;
}

/** --workdir, else the image's WorkingDir, else '/'; must be absolute. */
export function resolveCwd(workdir: string | undefined, imageWorkingDir: string | undefined): string {
  const cwd = workdir || imageWorkingDir || '/';
  if (!path.posix.isAbsolute(cwd)) {
    throw new TsrunError('INVALID_ARGUMENT', `the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  }
  return path.posix.normalize(cwd).replace(/(.)\/$/, '$1');
}

function resolveHostname(hostname: string | undefined, id: string): string {
  const name = hostname || id.slice(0, 12);
  if (name === '' || name.length > HOST_NAME_MAX || name.includes('\0')) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid hostname ${JSON.stringify(name)}: must be 1-${HOST_NAME_MAX} characters`);
  }
  return name;
}

function consoleSizeOf(size: RunOptions['consoleSize']): OciProcess['consoleSize'] {
  if (size === undefined) return undefined;
  const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff; // struct winsize fields are u16
  if (!ok(size.rows) || !ok(size.cols)) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid console size ${size.rows}x${size.cols}`);
  }
  return { height: size.rows, width: size.cols };
}

function namespacesFor(network: RunOptions['network']): OciNamespace[] {
  return DEFAULT_NAMESPACES.filter((type) => !(type === 'network' && network?.host)).map((type) =>
    type === 'network' && network?.joinPath ? { type, path: network.joinPath } : { type },
  );
}

function etcMounts(files: RunOptions['etcFiles']): OciMount[] {
  if (!files) return [];
  const bind = (destination: string, source: string) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
  return [bind('/etc/hostname', files.hostname), bind('/etc/hosts', files.hosts), bind('/etc/resolv.conf', files.resolvConf)];
}

/** Builds the OCI runtime spec for `tsrun run`. */
export async function buildSpec(opts: RunOptions, ctx: BuildContext): Promise<OciSpec> {
  const image = opts.image ?? {};
  // Cheap, pure validation first so bad input fails before any I/O.
  const args = resolveArgs(opts);
  const cwd = resolveCwd(opts.workdir, image.workingDir);
  const hostname = resolveHostname(opts.hostname, ctx.id);
  const consoleSize = opts.tty ? consoleSizeOf(opts.consoleSize) : undefined;
  const envOptions = (opts.env ?? []).map((e) => parseEnvOption(e, ctx.hostEnv));

  await checkRootfs(opts.rootfs);
  const { user, home } = await resolveExecUser(opts.rootfs, opts.user || image.user);

  const fromFiles: string[] = [];
  for (const file of opts.envFiles ?? []) fromFiles.push(...(await readEnvFile(file, ctx.hostEnv)));

  // Defaults first so image and user values override them in place;
  // TERM sits with the defaults so `-e TERM=...` still wins.
  const base = [DEFAULT_PATH_ENV, ...(image.env ?? []), `HOSTNAME=${hostname}`, ...(opts.tty ? ['TERM=xterm'] : [])];
  const env = mergeEnv(base, [...fromFiles, ...envOptions]);
  // runc sets HOME from passwd at exec time when it is missing; we are the
  // runtime, so do it here where the passwd lookup already happened.
  if (getEnv(env, 'HOME') === undefined) env.push(`HOME=${home}`);

  const proc: OciProcess = {
    terminal: !!opts.tty,
    user,
    args,
    env,
    cwd,
    capabilities: {
      bounding: [...DEFAULT_CAPABILITIES],
      effective: [...DEFAULT_CAPABILITIES],
      permitted: [...DEFAULT_CAPABILITIES],
      // Empty on purpose (CVE-2022-24769): inheritable caps would let a
      // non-root exec'd file with file capabilities gain them.
      inheritable: [],
      ambient: [],
    },
    noNewPrivileges: true,
  };
  if (consoleSize) proc.consoleSize = consoleSize;

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: proc,
    root: { path: opts.rootfs, readonly: !!opts.readOnly },
    hostname,
    mounts: [...defaultMounts(), ...etcMounts(opts.etcFiles)],
    linux: {
      namespaces: namespacesFor(opts.network),
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      resources: { ...opts.resources, devices: [...defaultDeviceRules(), ...(opts.resources?.devices ?? [])] },
    },
  };
  if (opts.init) spec.annotations = { [INIT_ANNOTATION]: 'true' };
  return spec;
}
